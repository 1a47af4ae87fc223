"""Jinja2 templates (a package so that setuptools ships the *.j2 files)."""
