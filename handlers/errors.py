"""The words of every domain error: one renderer, in the user's language.

`describe(exc)` turns a crm error into one polite line; handlers use it inside a dialog
(to ask again), and bot/errors.py answers with it whatever error a handler lets through.
To give a new field or reason its words, add it to FIELDS / REASONS / CONFLICTS below
(msgids marked with N_) and run `python -m bot.i18n_tools`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from typing import Any

from aiogram.utils.i18n import gettext as _

from crm.errors import (
    AccessDenied,
    AlreadyServed,
    ApprovalRequired,
    Conflict,
    CRMError,
    InvalidInput,
    InviteInvalid,
    NotRegistered,
)
from handlers.words import N_


def not_registered_text() -> str:
    return _(
        "This bot is for staff only. Ask your manager for an invite link, then open it to start."
    )


# the field names services put into InvalidInput, in words
FIELDS: dict[str, str] = {
    "name": N_("Name"),
    "phone": N_("Phone"),
    "email": N_("Email"),
    "inn": N_("Tax id (INN)"),
    "industry": N_("Industry"),
    "territory": N_("Territory"),
    "stage": N_("Stage"),
    "credit_limit": N_("Credit limit"),
    "payment_deferral_days": N_("Payment deferral"),
    "parent_id": N_("Parent company"),
    "parent": N_("Parent company"),
    "deferral_days": N_("Payment deferral"),
    "paid_on": N_("Paid on"),
    "tags": N_("Tags"),
    "notes": N_("Notes"),
    "company": N_("Company"),
    "company_name": N_("Company"),
    "contact": N_("Contact"),
    "position": N_("Position"),
    "birthday": N_("Birthday"),
    "decision_role": N_("Role in the decision"),
    "telegram": N_("Telegram username"),
    "tg_username": N_("Telegram username"),
    "deal": N_("Deal"),
    "title": N_("Title"),
    "amount": N_("Amount"),
    "price": N_("Price"),
    "quantity": N_("Quantity"),
    "discount": N_("Discount"),
    "discount_pct": N_("Discount"),
    "probability": N_("Probability"),
    "expected_close": N_("Expected close"),
    "source": N_("Source"),
    "next_step": N_("Next step"),
    "product": N_("Product"),
    "summary": N_("Summary"),
    "kind": N_("Kind"),
    "direction": N_("Direction"),
    "when": N_("When"),
    "due_at": N_("Due date"),
    "text": N_("Text"),
    "priority": N_("Priority"),
    "status": N_("Status"),
    "place": N_("Place"),
    "budget": N_("Budget"),
    "language": N_("Language"),
    "timezone": N_("Timezone"),
    "digest_time": N_("Digest time"),
    "role": N_("Role"),
    "department": N_("Department"),
    "days": N_("Days"),
    "reply_sla": N_("Reply time"),
    "working_hours": N_("Working hours"),
    "manager": N_("Manager"),
    "file": N_("File"),
    "lost_reason": N_("Reason"),
    "product_id": N_("Product"),
    "contact_id": N_("Contact"),
    "to_manager_id": N_("Manager"),
    "attachment": N_("Attachment"),
    "resolution": N_("Resolution"),
    "compensation": N_("Compensation"),
    "cause": N_("Cause"),
    "steps": N_("Steps"),
    "step": N_("Step"),
    "offset_days": N_("Day of the step"),
    "sla_days": N_("SLA, days"),
    "code": N_("Code"),
    # events (crm/services/events/, handlers/events/)
    "segment": N_("Segment"),
    "invitee": N_("Invitee"),
    "answer": N_("Answer"),
    "ends_at": N_("End time"),
    "topic": N_("Topic"),
    "task": N_("Task"),
    # imports (crm/services/imports/)
    "date": N_("Date"),
    "cost": N_("Cost"),
    "ref": N_("Document number"),
    # mailings (crm/services/mailings.py) and how the company writes (company_settings)
    "subject": N_("Subject"),
    "body": N_("Text"),
    "template": N_("Template"),
    "sender_name": N_("Sender name"),
    "signature": N_("Signature"),
    # reports (crm/analytics)
    "period": N_("Period"),
    "months": N_("Months"),
    "top": N_("How many to show"),
    "thresholds": N_("ABC thresholds"),
}

# InvalidInput reasons; {placeholders} come from the error's params
REASONS: dict[str, str] = {
    "empty": N_("this cannot be empty."),
    "too_long": N_("this is too long (at most {max} characters)."),
    "bad_characters": N_("this contains characters that are not allowed."),
    "invalid": N_("this value is not valid."),
    "not_a_number": N_("this is not a number."),
    "negative": N_("this cannot be negative."),
    "too_large": N_("this number is too large."),
    "out_of_range": N_("this must be between {min} and {max}."),
    "unknown_value": N_("this must be one of: {allowed}."),
    "unknown_field": N_("there is no such field."),
    "too_many": N_("too many values (at most {max})."),
    "cycle": N_("a company cannot belong to itself."),
    "duplicate": N_("this already exists."),
    "not_found": N_("nothing like this was found."),
    "unknown_timezone": N_(
        "this is not a timezone or a city I know, try e.g. Europe/Moscow or Moscow."
    ),
    "invalid_time": N_("write the time as HH:MM, e.g. 09:30."),
    "in_the_past": N_("this is in the past."),
    "not_understood": N_("this could not be understood."),
    "ambiguous": N_("several match “{name}”: write more of the name or the @username."),
    "same_manager": N_("this is the same person."),
    "same_record": N_("a record cannot be merged with itself."),
    "inactive": N_("this person no longer works here."),
    "not_of_company": N_("this contact is not of the deal's company."),
    "past": N_("this is in the past."),
    "unparsed": N_("this could not be understood."),
    "not_positive": N_("this must be more than zero."),
    "too_many_rows": N_("it has more than {max} rows."),
    "unreadable": N_("it could not be read: save it as CSV or XLSX."),
    "unsupported_format": N_("only CSV and XLSX files can be read."),
    "bad_header": N_("the columns were not recognised: the first row must name them."),
    "bomb": N_("it unpacks to {size_mb} MB or more, more than the {max_mb} MB that may be read."),
    "too_big": N_("reading it needs more than {max_mb} MB of memory."),
    "encoding": N_("its text is not Russian or English: it looks like {encoding}."),
    "mixed_encoding": N_("row {row} is in another encoding than the rows before it ({encoding})."),
    "naive_datetime": N_("the time has no timezone."),
    "not_whole_months": N_("the period must be whole months."),
}

# (field, reason) pairs that read better with words of their own
FIELD_REASONS: dict[tuple[str, str], str] = {
    ("phone", "invalid"): N_("this does not look like a phone number."),
    ("email", "invalid"): N_("this does not look like an email address."),
    ("inn", "invalid"): N_("a tax id has 10 or 12 digits."),
    ("inn", "checksum"): N_("this tax id has a wrong check digit: look for a typo."),
    ("manager", "not_found"): N_("nobody called “{name}” in your team."),
    ("product_id", "unknown"): N_("this product is not in the catalogue."),
    ("when", "ambiguous"): N_("this can mean more than one time; write the date and time."),
    ("when", "unparsed"): N_(
        "this could not be understood: write e.g. “tomorrow at 15:00”, “in 2 hours”, “25.12 10:00”."
    ),
    ("paid_on", "unparsed"): N_(
        "I could not read a date here: write it like 05.12, yesterday or 3 days ago."
    ),
    ("paid_on", "in_future"): N_("this day has not come yet."),
    ("when", "bad_clock"): N_(
        "there is no {time} on a clock: hours go from 0 to 23 and minutes from 0 to 59."
    ),
    ("expected_close", "unparsed"): N_(
        "this could not be understood as a date: write e.g. “25.12”, “next friday”, "
        "“in 2 weeks”."
    ),
    ("expected_close", "past"): N_("this day has already passed."),
    ("attachment", "too_large"): N_("this file is larger than {max_mb} MB: send a smaller one."),
    ("template", "syntax"): N_("there is a mistake at line {line}: {detail}."),
    ("template", "unknown_field"): N_("it names a field that does not exist ({detail})."),
    ("template", "invalid"): N_("it asks for something a template may not do."),
    ("compensation", "not_allowed"): N_("compensation is given only when a claim is resolved."),
    ("parent_id", "cycle"): N_(
        "a company cannot belong to itself or to a company that belongs to it."
    ),
}

CONFLICTS: dict[str, str] = {
    "deal_closed": N_("This deal is already closed."),
    "chat_decided": N_("This chat has already been decided on."),
    "cannot_write": N_(
        "You cannot write to this client in Telegram from here: their chat is not logged by "
        "your Telegram Business connection, or the bot may not reply for you."
    ),
    "amount_follows_lines": N_(
        "This deal's amount is the total of its products: change the products instead."
    ),
    "discount_not_approved": N_(
        "A discount in this deal waits for approval or was rejected: the deal cannot be won yet."
    ),
    "not_pending": N_("This discount has already been decided."),
    "own_request": N_("You set this discount yourself: another head or a director decides on it."),
    "task_closed": N_("This task is already closed."),
    "interaction_not_planned": N_("This interaction is already done."),
    "transition": N_("This status change is not possible for the claim now."),
    "open_tasks": N_(
        "The investigation plan still has open tasks ({count}): "
        "close them before resolving the claim."
    ),
    "claim_closed": N_("This claim is already closed."),
    "claim_closed_edit": N_(
        "This claim is closed: its cause and priority stay as they were decided. "
        "A head or a director can reopen it first."
    ),
    "priority_lower": N_(
        "Only a head or a director may lower a claim's priority: it moves the due date later."
    ),
    "task_not_open": N_("This task is already closed."),
    "duplicate": N_("This already exists."),
    "within_reach": N_("This client is within your reach: open it instead of asking for it."),
    "request_decided": N_("This request has already been decided."),
    "merge_undone": N_("This merge has already been undone."),
    "merge_too_old": N_("A merge can be undone within {days} days only."),
    "request_stale": N_(
        "This request no longer fits: the client changed hands, or who asked no longer works here."
    ),
    "event_started": N_("This event has already started: it can no longer be changed."),
    "event_cancelled": N_("This event is cancelled."),
    "terms_not_approved": N_(
        "The payment terms of this deal wait for a head's approval or were rejected: "
        "the deal cannot be won yet."
    ),
    "terms_need_approval": N_(
        "This deal takes the client past its credit limit or allowed deferral: "
        "set its payment terms to ask a head's approval first."
    ),
    "not_won": N_("This deal is not won: there is no payment to mark."),
    "already_paid": N_("This payment is already marked paid."),
    "terms_decided": N_("These payment terms have already been decided."),
    "own_terms": N_(
        "You set these payment terms yourself: another head or a director decides on them."
    ),
}
INVITE_REASONS: dict[str, str] = {
    "unknown": N_("This invite code is not valid. Ask for a new invite link."),
    "used": N_("This invite code has already been used. Ask for a new invite link."),
    "expired": N_("This invite code has expired. Ask for a new invite link."),
}

Renderer = Callable[[Any], str]
_RENDERERS: dict[type[CRMError], Renderer] = {}


def renders(error_type: type[CRMError]) -> Callable[[Renderer], Renderer]:
    """Register the words for an error class (the nearest class in the MRO wins)."""

    def decorator(func: Renderer) -> Renderer:
        _RENDERERS[error_type] = func
        return func

    return decorator


def _fill(template: str, params: dict[str, Any]) -> str:
    values: defaultdict[str, str] = defaultdict(str)
    for key, value in params.items():
        values[key] = ", ".join(map(str, value)) if isinstance(value, list | tuple) else str(value)
    return template.format_map(values)


def field_name(field: str) -> str:
    msgid = FIELDS.get(field)
    return _(msgid) if msgid else field.replace("_", " ").capitalize()


@renders(InvalidInput)
def _invalid(exc: InvalidInput) -> str:
    msgid = FIELD_REASONS.get((exc.field, exc.reason)) or REASONS.get(exc.reason)
    reason = _fill(_(msgid), exc.params) if msgid else _("this value is not accepted.")
    return f"{field_name(exc.field)}: {reason}"


@renders(AccessDenied)
def _denied(exc: AccessDenied) -> str:
    return _("Not found, or you have no access to it.")


@renders(NotRegistered)
def _not_registered(exc: NotRegistered) -> str:
    return not_registered_text()


@renders(InviteInvalid)
def _invite(exc: InviteInvalid) -> str:
    return _(INVITE_REASONS.get(exc.reason, INVITE_REASONS["unknown"]))


@renders(Conflict)
def _conflict(exc: Conflict) -> str:
    msgid = CONFLICTS.get(exc.reason)
    if msgid:
        return _fill(_(msgid), exc.params)
    return _("This cannot be done in the current state of the record.")


@renders(AlreadyServed)
def _served(exc: AlreadyServed) -> str:
    if exc.department:
        return _("This client is already served by {curator} ({department}).").format(
            curator=exc.curator, department=exc.department
        )
    return _("This client is already served by {curator}.").format(curator=exc.curator)


@renders(ApprovalRequired)
def _approval(exc: ApprovalRequired) -> str:
    return _("This discount is above your limit: a head has to approve it.")


def describe(exc: CRMError) -> str:
    """The user's words for a domain error, in the current locale."""
    for cls in type(exc).__mro__:
        render = _RENDERERS.get(cls)  # type: ignore[arg-type]
        if render is not None:
            return render(exc)
    return _("This cannot be done.")
