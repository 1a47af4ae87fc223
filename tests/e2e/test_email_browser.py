"""The invitation email and the RSVP page in a real headless Chromium, at phone and at
desktop width: the buttons are drawn, nothing runs off a phone's screen, and a browser
opening the RSVP link records nothing."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from aiohttp.test_utils import TestServer
from PIL import Image

from tests.fixtures import browser
from tests.fixtures.outbox import client_for, invitation, status_of
from tests.fixtures.services import service_missing

GREEN = (0x1E, 0x8E, 0x3E)  # the Yes button
RED = (0xC0, 0x39, 0x2B)  # the No button's border and text
BACKGROUND = (0xEE, 0xF1, 0xF5)


@pytest.fixture
def chromium() -> str:
    found = browser.chromium()
    if found is None:
        service_missing("Chromium", f"{browser.CHROMIUM} is absent (apt-get install chromium)")
    assert found is not None
    return found


def right_edge_is_background(path: Path) -> bool:
    """Nothing runs off the right edge: the last columns are the page's background."""
    with Image.open(path) as image:
        rgb = image.convert("RGB")
        width, height = rgb.size
        column = [rgb.getpixel((width - 3, y)) for y in range(0, height, 8)]
    return all(
        all(abs(int(c) - int(b)) <= 6 for c, b in zip(pixel, BACKGROUND, strict=True))  # type: ignore[arg-type]
        for pixel in column
    )


@pytest.mark.parametrize("size", [browser.PHONE, browser.DESKTOP], ids=["phone", "desktop"])
async def test_the_invitation_email_renders_with_both_buttons(chromium, tmp_path, size):
    page = tmp_path / "email.html"
    page.write_text(browser.sample_event_html(), encoding="utf-8")
    shot = await asyncio.to_thread(browser.screenshot, page.as_uri(), tmp_path / "email.png", size)
    with Image.open(shot.path) as image:
        assert image.size == size
    assert browser.colour_share(shot.path, GREEN) > 0.003
    assert browser.colour_share(shot.path, RED) > 0.0005
    assert right_edge_is_background(shot.path)


async def test_a_browser_opening_the_rsvp_link_sees_the_event_and_records_nothing(
    chromium, db, tmp_path
):
    _event, invitee = await invitation(db)
    client = client_for(db)
    server: TestServer = client.server  # type: ignore[assignment]
    async with client:
        url = str(server.make_url(f"/rsvp/{invitee.token}/yes"))
        for name, size in (("phone", browser.PHONE), ("desktop", browser.DESKTOP)):
            shot = await asyncio.to_thread(
                browser.screenshot, url, tmp_path / f"rsvp-{name}.png", size
            )
            assert browser.colour_share(shot.path, GREEN) > 0.003, name
        assert await status_of(db, invitee.id) == "invited"
        # the person presses the button (the form posts)
        resp = await client.post(f"/rsvp/{invitee.token}/yes")
        assert resp.status == 200
    assert await status_of(db, invitee.id) == "accepted"
