"""The outbox worker: sends the queued emails over SMTP (aiosmtplib).

Every 30 s in the leader process (`setup(dp)` joins the reminders scheduler, as
notifications/claims_notify.py does) `deliver_due` claims a batch of due rows
(crm.services.outbox.claim_due: a conditional UPDATE, so two workers never send the same
row; it sets their `claimed_at`), sends them one after another over one connection, and
records each outcome: sent (`sent_at`), or back to pending with the error and
`next_attempt_at` = the failure + the backoff (failed after 5 attempts).

Without SMTP_HOST mail is disabled: the rows wait as pending and the worker does nothing.
SMTP_TLS: port 465 means TLS from the start, any other port STARTTLS; SMTP_TLS=false sends
in clear (a local relay). A login is made when SMTP_USER is set. The error kept on a row
never holds the password.

An invitation is `multipart/mixed`: a `multipart/alternative` of text/plain, text/html and
`text/calendar; method=REQUEST`, plus the same .ics as an attachment (RFC 6047), with
`List-Unsubscribe` and `List-Unsubscribe-Post: List-Unsubscribe=One-Click` (RFC 8058).
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import formatdate, parseaddr

import aiosmtplib
from aiogram import Dispatcher

from crm.models import utcnow
from crm.services import outbox
from crm.services.mail import links
from crm.services.outbox import Outgoing
from crm.settings import Settings
from crm.storage import Database

log = logging.getLogger(__name__)

OUTBOX_JOB = "email:outbox"
OUTBOX_SECONDS = 30.0
BATCH = 20
SMTP_TIMEOUT = 30.0


@dataclass(frozen=True)
class DeliveryReport:
    claimed: int = 0
    sent: int = 0
    failed: int = 0  # attempts that failed (the row is retried later or failed for good)


def _domain(settings: Settings) -> str:
    address = parseaddr(settings.smtp_from)[1] or settings.smtp_from
    return address.rpartition("@")[2] or "chatcrm.local"


def build_message(item: Outgoing, settings: Settings) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = settings.smtp_from
    msg["To"] = item.to_addr
    msg["Subject"] = item.subject
    msg["Date"] = formatdate(localtime=False)
    digest = hashlib.sha256(item.dedupe_key.encode()).hexdigest()[:32]
    msg["Message-ID"] = f"<{digest}@{_domain(settings)}>"  # the same for every attempt
    if item.unsubscribe_token:
        url = links(settings.public_base_url, item.unsubscribe_token)["unsubscribe_url"]
        msg["List-Unsubscribe"] = f"<{url}>"
        msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    msg.set_content(item.body_text)
    if item.body_html:
        msg.add_alternative(item.body_html, subtype="html")
    if item.ics:
        msg.add_alternative(item.ics, subtype="calendar", params={"method": "REQUEST"})
        msg.add_attachment(
            item.ics.encode("utf-8"),
            maintype="application",
            subtype="ics",
            filename="invitation.ics",
        )
    return msg


def describe_error(exc: BaseException, settings: Settings) -> str:
    """The error as kept on the row: its kind and message, never the password."""
    text = f"{type(exc).__name__}: {exc}".strip()
    secret = settings.smtp_password.get_secret_value() if settings.smtp_password else ""
    if secret:
        text = text.replace(secret, "***")
    return text[: outbox.ERROR_MAX]


def smtp_client(settings: Settings, timeout: float = SMTP_TIMEOUT) -> aiosmtplib.SMTP:
    implicit = settings.smtp_tls and settings.smtp_port == 465
    return aiosmtplib.SMTP(
        hostname=settings.smtp_host,
        port=settings.smtp_port,
        use_tls=implicit,
        start_tls=bool(settings.smtp_tls) and not implicit,
        timeout=timeout,
    )


async def _connect(settings: Settings, seconds: float) -> aiosmtplib.SMTP:
    client = smtp_client(settings, seconds)
    await client.connect()
    if settings.smtp_user:
        password = settings.smtp_password.get_secret_value() if settings.smtp_password else ""
        await client.login(settings.smtp_user, password)
    return client


async def _close(client: aiosmtplib.SMTP | None) -> None:
    if client is None:
        return
    try:
        await client.quit()
    except Exception:
        client.close()


async def deliver_due(
    database: Database,
    settings: Settings,
    *,
    now: datetime | None = None,
    batch: int = BATCH,
    smtp_timeout: float = SMTP_TIMEOUT,
) -> DeliveryReport:
    """Claim and send one batch of due emails; does nothing while mail is disabled."""
    if not settings.mail_enabled:
        return DeliveryReport()
    moment = now or utcnow()
    items = await outbox.claim_due(database.uow(), now=moment, limit=batch)
    if not items:
        return DeliveryReport()
    sent = failed = 0
    client: aiosmtplib.SMTP | None = None
    try:
        for item in items:
            try:
                message = build_message(item, settings)
                for attempt in (1, 2):  # a dropped connection is reopened once
                    if client is None:
                        client = await _connect(settings, smtp_timeout)
                    try:
                        await client.send_message(message)
                        break
                    except aiosmtplib.SMTPServerDisconnected:
                        client.close()
                        client = None
                        if attempt == 2:
                            raise
            except Exception as exc:  # this row is retried later; the others go on
                error = describe_error(exc, settings)
                log.warning("email %s: not sent (%s)", item.id, error)
                failed_at = now if now is not None else utcnow()  # the backoff starts here
                await outbox.mark_failed(database.uow(), item.id, error, now=failed_at)
                failed += 1
                if isinstance(exc, aiosmtplib.SMTPException | OSError | TimeoutError):
                    await _close(client)
                    client = None
                continue
            await outbox.mark_sent(database.uow(), item.id, now=utcnow())
            sent += 1
    finally:
        await _close(client)
    return DeliveryReport(claimed=len(items), sent=sent, failed=failed)


# ------------------------------------------------------------------ the periodic job


async def on_startup(dispatcher: Dispatcher, database: Database, settings: Settings) -> None:
    if not settings.mail_enabled:
        log.info("mail disabled (no SMTP_HOST): emails wait in the outbox")

    async def job() -> None:
        try:
            report = await deliver_due(database, settings)
        except Exception:
            log.exception("the outbox worker failed")
            return
        if report.claimed:
            log.info("outbox: %s sent, %s failed", report.sent, report.failed)

    runtime = dispatcher.workflow_data.get("reminders")
    scheduler = getattr(runtime, "scheduler", None)
    if scheduler is not None and hasattr(scheduler, "add_periodic"):
        scheduler.add_periodic(OUTBOX_JOB, job, OUTBOX_SECONDS)
        return
    from notifications.claims_notify import EscalationScheduler  # a leader-elected scheduler

    own = EscalationScheduler(database, job, OUTBOX_SECONDS)
    dispatcher.workflow_data["email_outbox"] = own
    await own.start()


async def on_shutdown(dispatcher: Dispatcher) -> None:
    own = dispatcher.workflow_data.pop("email_outbox", None)
    if own is not None:
        await own.stop()


def setup(dp: Dispatcher) -> None:
    """Send the outbox every 30 s while the bot runs (in the leader process only)."""
    dp.startup.register(on_startup)
    dp.shutdown.register(on_shutdown)
