"""The email of an outbox row, as bytes for SMTP.

An invitation is `multipart/mixed`: a `multipart/alternative` of text/plain, text/html and
`text/calendar; method=REQUEST` (CANCEL for a cancellation), plus the same .ics as an
attachment (RFC 6047), with `List-Unsubscribe` and `List-Unsubscribe-Post:
List-Unsubscribe=One-Click` (RFC 8058). A mailing has the text and the HTML. The
Message-ID is the row's own, the same for every attempt.

Why not `email.message.EmailMessage`: building and flattening one invitation with it took
7-9 ms of CPU here (its content manager encodes each part several ways to choose one),
which made the sender CPU-bound at ~100 emails/s whatever the number of connections
(bench/bench_outbox.py). The structure of our emails is fixed, so it is written directly:
every body in base64 (binascii, in C), header values from `email.utils.formataddr` and
`email.header.Header` (RFC 2047 for anything not plain ASCII), CR and LF refused in
headers. Tests parse every email with the `email` package's strict default policy.
"""

from __future__ import annotations

import base64
import hashlib
import uuid
from email.header import Header
from email.utils import formataddr, formatdate, parseaddr
from functools import lru_cache

from crm.services.mail import links
from crm.services.outbox import Outgoing, message_domain
from crm.settings import Settings

CRLF = "\r\n"


def _message_id(item: Outgoing, settings: Settings) -> str:
    if item.message_id:
        return item.message_id
    # rows queued before Message-IDs were stored: derived from the dedupe key, stable too
    digest = hashlib.sha256(item.dedupe_key.encode()).hexdigest()[:32]
    return f"<{digest}@{message_domain(settings.smtp_from)}>"


def _clean(value: str) -> str:
    return " ".join(value.replace("\r", " ").replace("\n", " ").split())


def _text_header(value: str) -> str:
    value = _clean(value)
    if value.isascii() and len(value) < 70:
        return value
    return Header(value, "utf-8", maxlinelen=76).encode(linesep=CRLF)


def _address(name: str, address: str) -> str:
    return formataddr((_clean(name), _clean(address)), charset="utf-8")


def sender_of(item: Outgoing, settings: Settings) -> tuple[str, str]:
    """(From header, envelope sender)."""
    return _sender(item.sender_name, settings.smtp_from)


@lru_cache(maxsize=64)
def _sender(sender_name: str | None, smtp_from: str) -> tuple[str, str]:
    name, address = parseaddr(smtp_from)
    address = address or smtp_from
    return _address(sender_name or name, address), address


def _part(content_type: str, body: str | bytes, extra: str = "") -> str:
    data = body.encode("utf-8") if isinstance(body, str) else body
    encoded = base64.encodebytes(data).decode("ascii").replace("\n", CRLF)
    return (
        f"Content-Type: {content_type}{CRLF}{extra}"
        f"Content-Transfer-Encoding: base64{CRLF}{CRLF}{encoded}"
    )


def _multipart(subtype: str, parts: list[str]) -> str:
    boundary = f"=_{subtype}_{uuid.uuid4().hex}"
    body = "".join(f"--{boundary}{CRLF}{p}" for p in parts)
    head = f'Content-Type: multipart/{subtype}; boundary="{boundary}"{CRLF}{CRLF}'
    return f"{head}{body}--{boundary}--{CRLF}"


def build_message(item: Outgoing, settings: Settings) -> bytes:
    """The whole message (headers and body) with CRLF line ends."""
    from_header, _envelope = sender_of(item, settings)
    to = _clean(item.to_addr)
    headers = [
        f"From: {from_header}",
        f"To: {to if to.isascii() else _address('', to)}",
        f"Subject: {_text_header(item.subject)}",
        f"Date: {formatdate(localtime=False)}",
        f"Message-ID: {_clean(_message_id(item, settings))}",
        "MIME-Version: 1.0",
    ]
    if item.unsubscribe_token:
        url = links(settings.public_base_url, item.unsubscribe_token)["unsubscribe_url"]
        headers.append(f"List-Unsubscribe: <{_clean(url)}>")
        headers.append("List-Unsubscribe-Post: List-Unsubscribe=One-Click")
    text = _part('text/plain; charset="utf-8"', item.body_text)
    alternatives = [text]
    if item.body_html:
        alternatives.append(_part('text/html; charset="utf-8"', item.body_html))
    if item.ics:
        method = "CANCEL" if item.kind == "cancel" else "REQUEST"
        alternatives.append(_part(f'text/calendar; charset="utf-8"; method={method}', item.ics))
    body = _multipart("alternative", alternatives) if len(alternatives) > 1 else text
    if item.ics:
        name = "cancel.ics" if item.kind == "cancel" else "invitation.ics"
        attachment = _part(
            f'application/ics; name="{name}"',
            item.ics,
            f'Content-Disposition: attachment; filename="{name}"{CRLF}',
        )
        body = _multipart("mixed", [body, attachment])
    return (CRLF.join(headers) + CRLF + body).encode("ascii")
