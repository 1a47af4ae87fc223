"""Who reads which report.

The managers report compares people (revenue, plan, bonus, lateness of each): it is for
heads and directors. Every other report is scoped by `scope.reach`, so anyone may read it
and sees what their reach holds.
"""

from __future__ import annotations

from crm.access import Actor
from crm.errors import AccessDenied
from crm.models.enums import Role

LEADERS = frozenset({Role.HEAD, Role.DIRECTOR})
LEADERS_ONLY = frozenset({"managers"})  # the report names the menus and /report use


def may_read(actor: Actor, report: str) -> bool:
    """Whether the actor is offered (and may run) the report called `report`."""
    return report not in LEADERS_ONLY or actor.role in LEADERS


def check_may_read(actor: Actor, report: str) -> None:
    """AccessDenied unless `may_read`: for the report's own entry, whatever led to it."""
    if not may_read(actor, report):
        raise AccessDenied("report")
