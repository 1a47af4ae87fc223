"""One budget for Telegram's limits: every Bot API call the bot makes goes through here.

    governor = install_governor(bot, Limits(rate=settings.telegram_rate))
    with lane(Lane.FANOUT):            # reminders, digests
        await bot.send_message(...)    # paced, retried, in its chat's order

See `bot.governor.core` for what it does with each call, `bot.governor.lanes` for how
a call gets its lane and `bot.governor.limits` for the numbers.
"""

from bot.governor.core import (
    Governor,
    GovernorStats,
    governor_of,
    install_governor,
    paced_chat,
)
from bot.governor.lanes import Lane, answering, lane, lane_for
from bot.governor.limits import Limits, is_group

__all__ = [
    "Governor",
    "GovernorStats",
    "Lane",
    "Limits",
    "answering",
    "governor_of",
    "install_governor",
    "is_group",
    "lane",
    "lane_for",
    "paced_chat",
]
