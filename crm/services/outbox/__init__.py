"""The outbox: every email is a row first, then sent.

`queue` (queueing.py) writes a row and its body row inside the caller's transaction (its
`dedupe_key` is unique, so queuing the same email twice writes nothing the second time)
with a Message-ID of its own that every attempt carries. Once that transaction commits,
the worker is woken: in this process through `subscribe` callbacks, in the others through
PostgreSQL's NOTIFY on NOTIFY_CHANNEL (SQLite has no such thing: the worker there polls
every second).

The worker (notifications/outbox_worker.py):

1. `claim` (claiming.py): in one transaction, puts back rows whose lease ran out (a
   worker was killed mid-send: `claimed_at` older than the lease), and claims a batch of
   due rows with a conditional UPDATE (pending → sending, attempts + 1; PostgreSQL: FOR
   UPDATE SKIP LOCKED), so two workers never claim the same row; one more SELECT reads
   the batch's bodies (a table of their own: see OutboundEmail). Rows of a recipient who
   opted out meanwhile are failed instead of claimed. A live worker `renew`s the lease of
   the rows it still holds.
2. sends each row and records the outcome (marking.py): `mark_sent_on` (many rows in one
   statement, its SQL written once), `mark_failed` (a 4xx: back to pending with the
   backoff for its attempts, failed after MAX_ATTEMPTS; a 5xx: `permanent`, failed now,
   with the server's code and reason), or `release` (the connection failed: the row goes
   back to pending without spending its attempt).

A crash between the server's acceptance and marking repeats at most the messages in
flight, with the same Message-ID; every other path sends a row once. `health`
(reading.py) is what /healthz, `chatcrm status` and `chatcrm outbox` show.
"""

from crm.models import OutboundEmail
from crm.services.outbox.claiming import (
    Claimed,
    Reclaimed,
    claim,
    reclaim_stuck,
    renew,
)
from crm.services.outbox.common import (
    BACKOFF,
    ERROR_MAX,
    INTERRUPTED,
    KINDS,
    LEASE,
    MAX_ATTEMPTS,
    NOTIFY_CHANNEL,
    OPTED_OUT,
    TOKEN_BYTES,
    Outgoing,
    backoff,
    message_domain,
    new_message_id,
    new_token,
    subscribe,
    unsubscribe,
)
from crm.services.outbox.marking import (
    MARK_CHUNK,
    mark_failed,
    mark_sent_on,
    mark_sent_statement,
    release,
    retry_failed,
)
from crm.services.outbox.queueing import queue
from crm.services.outbox.reading import Health, health

__all__ = [
    "BACKOFF",
    "ERROR_MAX",
    "INTERRUPTED",
    "KINDS",
    "LEASE",
    "MARK_CHUNK",
    "MAX_ATTEMPTS",
    "NOTIFY_CHANNEL",
    "OPTED_OUT",
    "TOKEN_BYTES",
    "Claimed",
    "Health",
    "OutboundEmail",
    "Outgoing",
    "Reclaimed",
    "backoff",
    "claim",
    "health",
    "mark_failed",
    "mark_sent_on",
    "mark_sent_statement",
    "message_domain",
    "new_message_id",
    "new_token",
    "queue",
    "reclaim_stuck",
    "release",
    "renew",
    "retry_failed",
    "subscribe",
    "unsubscribe",
]
