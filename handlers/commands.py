"""The bot's commands: one table for /help (filtered by role, handlers/help.py) and for
Telegram's command menu (bot/commands.py sets it). A new command gets its line here.
"""

from __future__ import annotations

from dataclasses import dataclass

from crm.models.enums import Role
from handlers.words import N_

EVERYONE = frozenset(Role)
LEADERS = frozenset({Role.HEAD, Role.DIRECTOR})


@dataclass(frozen=True)
class Command:
    name: str
    description: str  # msgid
    usage: str = ""  # msgid of the arguments, "" when there are none
    roles: frozenset[Role] = EVERYONE
    # words for managers when theirs differ (e.g. a report only leaders may open)
    manager_description: str = ""
    manager_usage: str = ""

    def description_for(self, role: Role) -> str:
        if role is Role.MANAGER and self.manager_description:
            return self.manager_description
        return self.description

    def usage_for(self, role: Role) -> str:
        if role is Role.MANAGER and self.manager_usage:
            return self.manager_usage
        return self.usage


COMMANDS: tuple[Command, ...] = (
    Command("help", N_("what the bot can do")),
    Command("company", N_("add a company"), N_("name; industry; territory")),
    Command("contact", N_("add a contact"), N_("name; phone; email; company")),
    Command("find", N_("search companies, contacts and deals"), N_("text")),
    Command(
        "log",
        N_("log a call, meeting, email, message or visit"),
        N_("who; call|meeting|email|message|visit; in|out; summary[; when]"),
    ),
    Command("deal", N_("open a deal"), N_("company; title; amount")),
    Command("deals", N_("your open deals by stage")),
    Command("approvals", N_("discounts and payment terms to approve"), roles=LEADERS),
    Command("remind", N_("set a reminder"), N_("when; text")),
    Command("today", N_("today's agenda")),
    Command("tasks", N_("your open tasks")),
    Command("claim", N_("file a client claim"), N_("company; text")),
    Command("claims", N_("open claims")),
    Command(
        "event",
        N_("a marketing event: invite clients by email"),
        N_("title; when; place"),
    ),
    Command("mailing", N_("a personalised email to a group of clients")),
    Command(
        "claims_settings",
        N_("claim causes and SLA days"),
        N_("cause; name | sla; priority; days"),
        frozenset({Role.DIRECTOR}),
    ),
    Command("invite", N_("an invite link for a colleague"), N_("manager|head|director"), LEADERS),
    Command("team", N_("your team"), roles=LEADERS),
    Command("reassign", N_("hand all clients of one manager to another"), N_("from; to"), LEADERS),
    Command("duplicates", N_("find and merge duplicate companies and contacts"), roles=LEADERS),
    Command("import", N_("import companies, contacts or sales from a CSV/XLSX file")),
    Command("export", N_("an XLSX file of everything you can see")),
    Command(
        "settings",
        N_("language, timezone, digest time"),
        manager_description=N_("language and timezone"),  # the daily digest is for leaders
    ),
    Command("business", N_("your client chats logged by Telegram Business")),
    Command(
        "playbook",
        N_("typical plans of work for new deals, claims and events"),
        N_("deal|claim|event; name; step +days; …"),
        frozenset({Role.DIRECTOR}),
    ),
    Command("status", N_("is the reminder scheduler running"), roles=frozenset({Role.DIRECTOR})),
    Command(
        "report",
        N_("analytics: ABC, XYZ, funnel, forecast, managers and more, with charts"),
        N_("abc|xyz|matrix|funnel|forecast|managers|inquiries|forgotten|claims"),
        manager_description=N_("analytics: ABC, XYZ, funnel, forecast and more, with charts"),
        manager_usage=N_("abc|xyz|matrix|funnel|forecast|inquiries|forgotten|claims"),
    ),
    Command("digest", N_("the daily digest, now"), roles=LEADERS),
)


def commands_for(role: Role) -> list[Command]:
    return [c for c in COMMANDS if role in c.roles]
