"""Marketing events: the event, its preparation plan, invitees by segment, RSVP, attendance.

An event is visible to whoever may see its responsible manager (the manager who created
it, their head, the directors). Invitees are contacts the actor may see, with an email
and no opt-out; each gets an unguessable token (secrets.token_urlsafe) that the RSVP and
unsubscribe links carry: the client never logs in, the token is the only key.

Preparation tasks come from the default event playbook (or a built-in plan). Event steps
count BACK from the start: a step "+N days" is due at 09:00 in the responsible
manager's timezone N local days before the event's day (N = 0: 09:00 of the event's day,
or the start itself if that is earlier); a due time already past when the event is
created becomes the creation time, so a late event gets its whole plan as due now.

Invitation emails go through the outbox (`crm.services.outbox`): one row per invitee
and per version of the event (its SEQUENCE), so pressing "send" twice sends nothing twice.

The package: inputs.py (what an event is made of, the checks), reading.py (access,
loading, the views and lists), creating.py (an event and its preparation plan),
invitees.py (by segment), invitations.py (the emails through the outbox), answers.py (the
client's RSVP by token), attendance.py.
"""

from __future__ import annotations

from crm.services.events.answers import RsvpView, invitation, respond, unsubscribe
from crm.services.events.attendance import mark_attendance
from crm.services.events.creating import create, plan_due
from crm.services.events.inputs import (
    ANSWERS,
    ATTENDANCE,
    DEFAULT_DURATION,
    DEFAULT_PLAN,
    MAX_DURATION,
    PLACE_MAX,
    PLAN_KIND,
    SEGMENT_KINDS,
    SEGMENT_STAGES,
    TITLE_MAX,
    TOKEN_BYTES,
    TOPIC_MAX,
    EventInput,
    Segment,
    clean,
    clean_segment,
)
from crm.services.events.invitations import SendResult, dedupe_key, send_invitations
from crm.services.events.invitees import (
    AddResult,
    InviteeRow,
    add_invitees,
    list_invitees,
    segment_companies,
    segment_values,
)
from crm.services.events.reading import (
    EMAIL_STATE,
    QUEUED,
    RECENT_DAYS,
    EventView,
    email_counts,
    get,
    list_recent,
    list_upcoming,
    scope,
)

__all__ = [
    "ANSWERS",
    "ATTENDANCE",
    "DEFAULT_DURATION",
    "DEFAULT_PLAN",
    "EMAIL_STATE",
    "MAX_DURATION",
    "PLACE_MAX",
    "PLAN_KIND",
    "QUEUED",
    "RECENT_DAYS",
    "SEGMENT_KINDS",
    "SEGMENT_STAGES",
    "TITLE_MAX",
    "TOKEN_BYTES",
    "TOPIC_MAX",
    "AddResult",
    "EventInput",
    "EventView",
    "InviteeRow",
    "RsvpView",
    "Segment",
    "SendResult",
    "add_invitees",
    "clean",
    "clean_segment",
    "create",
    "dedupe_key",
    "email_counts",
    "get",
    "invitation",
    "list_invitees",
    "list_recent",
    "list_upcoming",
    "mark_attendance",
    "plan_due",
    "respond",
    "scope",
    "segment_companies",
    "segment_values",
    "send_invitations",
    "unsubscribe",
]
