"""Tasks and reminders: /remind (and the cards' ⏰ Remind), a reminder's buttons, /today
with its planned interactions (Done, 🗓 Move), /tasks.
"""

from aiogram import Router

from handlers.cards.view import CardRows
from handlers.tasks import listing, move, remind, reminder, today

CARD_ROWS = CardRows(
    company=(remind.company_remind,),
    contact=(remind.contact_remind,),
    deal=(remind.deal_remind,),
)

__all__ = ["CARD_ROWS", "setup"]


def setup() -> Router:
    router = Router(name="tasks")
    router.include_routers(
        remind.setup(), reminder.setup(), today.setup(), move.setup(), listing.setup()
    )
    return router
