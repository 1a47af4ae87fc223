"""A reminder's text and buttons (notifications/reminders.py) in the user's language and time."""

from __future__ import annotations

from datetime import UTC, datetime

from crm.services import tasks
from notifications.reminders import TaskAction


def test_reminder_text_in_the_users_language() -> None:
    from notifications.reminders import default_i18n, reminder_keyboard, reminder_text

    delivery = tasks.Delivery(
        task_id=5,
        title="Позвонить <Ивану>",
        kind="manual",
        due_at=datetime(2025, 3, 9, 13, 0, tzinfo=UTC),
        late=True,
        assignee_id=1,
        chat_id=1,
        language="ru",
        timezone="America/New_York",
        company_id=3,
        company_name="Ромашка",
    )
    text = reminder_text(delivery, default_i18n())
    assert text.splitlines() == [
        "⏰ Напоминание: <b>Позвонить &lt;Ивану&gt;</b>",
        "Клиент: Ромашка",
        "С опозданием: срок был 09.03.2025 09:00.",
    ]
    keyboard = reminder_keyboard(delivery, default_i18n())
    assert [b.text for row in keyboard.inline_keyboard for b in row][-1] == "Открыть карточку"
    assert TaskAction.unpack(keyboard.inline_keyboard[-1][0].callback_data or "").action == "open"
