"""SMTP for the outbox: connections, the rate cap, and what a failure means.

aiosmtplib speaks SMTP in turn on one connection, so throughput comes from a few
connections each sending in turn (`SMTP_CONNECTIONS`); `RateLimiter` spaces the sends of
all of them (`SMTP_RATE`). `classify` sorts an exception into what the outbox does with
the row (RFC 5321: 4xx transient, 5xx permanent for that recipient; a dead connection or
a refused login concerns every row, not this one).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import Enum

import aiosmtplib

from crm.services import outbox
from crm.settings import Settings

SMTP_TIMEOUT = 30.0


class Verdict(Enum):
    RETRY = "retry"  # this row, later (4xx, an unknown error)
    FAIL = "fail"  # this row, never (5xx for the recipient or the message)
    CONNECTION = "connection"  # the server or the connection: pause the outbox


@dataclass(frozen=True)
class Failure:
    verdict: Verdict
    code: int | None
    reason: str


def describe_error(exc: BaseException, settings: Settings) -> str:
    """The error as kept on the row: its kind and message, never the password."""
    text = f"{type(exc).__name__}: {exc}".strip()
    secret = settings.smtp_password.get_secret_value() if settings.smtp_password else ""
    if secret:
        text = text.replace(secret, "***")
    return text[: outbox.ERROR_MAX]


def _reply(code: int, message: str) -> str:
    return f"{code} {message}".strip()[: outbox.ERROR_MAX]


def classify(exc: BaseException, settings: Settings) -> Failure:
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused) and exc.recipients:
        exc = exc.recipients[0]
    if isinstance(
        exc,
        aiosmtplib.SMTPSenderRefused
        | aiosmtplib.SMTPAuthenticationError
        | aiosmtplib.SMTPHeloError
        | aiosmtplib.SMTPConnectResponseError,
    ):
        return Failure(Verdict.CONNECTION, exc.code, _reply(exc.code, exc.message))
    if isinstance(exc, aiosmtplib.SMTPResponseException):  # recipient or data refused
        reply = _reply(exc.code, exc.message)
        if exc.code == 421:  # "service not available, closing channel"
            return Failure(Verdict.CONNECTION, exc.code, reply)
        if 500 <= exc.code < 600:
            return Failure(Verdict.FAIL, exc.code, reply)
        return Failure(Verdict.RETRY, exc.code, reply)
    if isinstance(exc, aiosmtplib.SMTPNotSupported | OSError | TimeoutError):
        return Failure(Verdict.CONNECTION, None, describe_error(exc, settings))
    if isinstance(exc, aiosmtplib.SMTPException):  # disconnected, timeouts
        return Failure(Verdict.CONNECTION, None, describe_error(exc, settings))
    return Failure(Verdict.RETRY, None, describe_error(exc, settings))


def smtp_client(settings: Settings, timeout: float = SMTP_TIMEOUT) -> aiosmtplib.SMTP:
    implicit = settings.smtp_tls and settings.smtp_port == 465
    return aiosmtplib.SMTP(
        hostname=settings.smtp_host,
        port=settings.smtp_port,
        use_tls=implicit,
        start_tls=bool(settings.smtp_tls) and not implicit,
        timeout=timeout,
    )


async def connect(settings: Settings, seconds: float = SMTP_TIMEOUT) -> aiosmtplib.SMTP:
    client = smtp_client(settings, seconds)
    await client.connect()
    if settings.smtp_user:
        password = settings.smtp_password.get_secret_value() if settings.smtp_password else ""
        await client.login(settings.smtp_user, password)
    return client


async def transmit(
    client: aiosmtplib.SMTP,
    sender: str,
    recipient: str,
    message: bytes,
    before_data: Callable[[], Awaitable[None]],
) -> None:
    """One email on an open connection: MAIL, RCPT, then `before_data`, then DATA (the
    server accepts the message at the end of DATA). A refusal resets the envelope."""
    if client.last_ehlo_response is None:
        await client.ehlo()
    options = [f"SIZE={len(message)}"] if client.supports_extension("size") else []
    try:
        await client.mail(sender, options=options)
        await client.rcpt(recipient)
        await before_data()
        await client.data(message)
    except aiosmtplib.SMTPResponseException:
        with contextlib.suppress(ConnectionError, aiosmtplib.SMTPResponseException):
            await client.rset()
        raise


async def close(client: aiosmtplib.SMTP | None) -> None:
    if client is None:
        return
    try:
        await asyncio.wait_for(client.quit(), 5)
    except Exception:
        client.close()


class RateLimiter:
    """At most `rate` acquisitions per second in all, evenly spaced (None: no cap)."""

    def __init__(self, rate: float | None) -> None:
        self.interval = 1.0 / rate if rate else 0.0
        self._next = 0.0

    async def acquire(self) -> None:
        if not self.interval:
            return
        now = time.monotonic()
        slot = max(now, self._next)
        self._next = slot + self.interval
        if slot > now:
            await asyncio.sleep(slot - now)
