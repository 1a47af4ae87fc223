"""Headless Chromium (Debian's package) for looking at what a client sees: the invitation
email and the RSVP pages, at phone and at desktop width.

    python -m tests.browser docs/     writes docs/invitation-phone.png and
                                      docs/rsvp-desktop.png from a made-up invitation
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
)
PHONE = (390, 844)
DESKTOP = (1280, 900)


def chromium() -> str | None:
    found = CHROMIUM if Path(CHROMIUM).exists() else shutil.which("chromium")
    return found


@dataclass(frozen=True)
class Shot:
    path: Path
    width: int
    height: int


def screenshot(url: str, path: Path, size: tuple[int, int], timeout: float = 90) -> Shot:
    """A PNG of `url` (http:// or file://) at `size` (width, height) CSS pixels."""
    binary = chromium()
    if binary is None:
        raise RuntimeError("chromium is not installed")
    with tempfile.TemporaryDirectory(prefix="chatcrm-chromium-") as profile:
        subprocess.run(
            [
                binary,
                *FLAGS,
                f"--user-data-dir={profile}",
                f"--window-size={size[0]},{size[1]}",
                f"--screenshot={path}",
                url,
            ],
            check=True,
            capture_output=True,
            timeout=timeout,
        )
    return Shot(path, *size)


def colour_share(path: Path, colour: tuple[int, int, int], tolerance: int = 12) -> float:
    """The share of the image's pixels within `tolerance` of `colour`."""
    import numpy as np
    from PIL import Image

    with Image.open(path) as image:
        pixels = np.asarray(image.convert("RGB"), dtype=np.int16)
    near = (np.abs(pixels - np.array(colour, dtype=np.int16)) <= tolerance).all(axis=2)
    return float(near.mean())


def sample_event_html(company: str = "Romashka LLC") -> str:
    from crm.models import Event
    from crm.services.mail import InvitationData, render_invitation

    now = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    event = Event(
        id=1,
        uid="sample@chatcrm",
        sequence=0,
        title="Spring seminar: packaging for retail",
        starts_at=now + timedelta(days=3),
        ends_at=now + timedelta(days=3, hours=2),
        place="Moscow, Tverskaya 7, hall A",
        topic="New materials, the season's prices and a tour of the line.",
        responsible_id=1,
    )
    return render_invitation(
        InvitationData(
            event=event,
            token="sampletokensampletokensample0000",
            contact_name="Ivan Petrov",
            contact_email="ivan@example.com",
            organizer_name="Anna Smirnova",
            sender="events@romashka.example",
            language="en",
            timezone="Europe/Moscow",
            base_url="https://crm.romashka.example",
            now=now,
            company_name=company,
            signature="Anna Smirnova\nEvents, Romashka LLC",
        )
    ).html


def write_docs(folder: Path) -> list[Path]:
    """The email at phone width and an RSVP page (served from a file) at desktop width."""
    from notifications import rsvp_web

    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        email = Path(tmp) / "email.html"
        email.write_text(sample_event_html(), encoding="utf-8")
        page = Path(tmp) / "rsvp.html"
        page.write_text(
            rsvp_web._env()
            .get_template("rsvp_page.html.j2")
            .render(
                lang="en",
                heading="Ivan Petrov, will you come?",
                message="",
                event={
                    "title": "Spring seminar: packaging for retail",
                    "when": "05.03.2026 12:00 – 14:00 (Europe/Moscow)",
                    "place": "Moscow, Tverskaya 7, hall A",
                },
                change_url="",
                change_text="",
                form_action="/rsvp/x/yes",
                button="Yes, I will come",
                button_kind="yes",
                cancelled=False,
            ),
            encoding="utf-8",
        )
        shots = [
            screenshot(email.as_uri(), folder / "invitation-phone.png", PHONE),
            screenshot(page.as_uri(), folder / "rsvp-desktop.png", DESKTOP),
        ]
    return [s.path for s in shots]


if __name__ == "__main__":
    for written in write_docs(Path(sys.argv[1] if len(sys.argv) > 1 else "docs")):
        print(written)
