"""Marketing events: /event, the New event dialog, the card, invitees (by segment),
invitation emails (queued in the outbox), edits and cancellation (the invitees are
mailed), attendance and the preparation tasks.
"""

from aiogram import Router

from handlers.events import attendance, changes, failures, inviting, listing, new, preparation


def setup() -> Router:
    router = Router(name="events")
    router.include_routers(
        listing.setup(),
        new.setup(),
        inviting.setup(),
        attendance.setup(),
        preparation.setup(),
        failures.setup(),
        changes.setup(),
    )
    return router
