"""The email of an outbox row, as it goes over SMTP.

An invitation is `multipart/mixed`: a `multipart/alternative` of text/plain, text/html and
`text/calendar; method=REQUEST` (CANCEL for a cancellation), plus the same .ics as an
attachment (RFC 6047), with `List-Unsubscribe` and `List-Unsubscribe-Post:
List-Unsubscribe=One-Click` (RFC 8058). A mailing has the text, the HTML and the
unsubscribe headers. The Message-ID is the row's own, the same for every attempt.
"""

from __future__ import annotations

import hashlib
from email.message import EmailMessage
from email.utils import formataddr, formatdate, parseaddr

from crm.services.mail import links
from crm.services.outbox import Outgoing, message_domain
from crm.settings import Settings


def _message_id(item: Outgoing, settings: Settings) -> str:
    if item.message_id:
        return item.message_id
    # rows queued before Message-IDs were stored: derived from the dedupe key, stable too
    digest = hashlib.sha256(item.dedupe_key.encode()).hexdigest()[:32]
    return f"<{digest}@{message_domain(settings.smtp_from)}>"


def build_message(item: Outgoing, settings: Settings) -> EmailMessage:
    msg = EmailMessage()
    if item.sender_name:
        msg["From"] = formataddr((item.sender_name, parseaddr(settings.smtp_from)[1]))
    else:
        msg["From"] = settings.smtp_from
    msg["To"] = item.to_addr
    msg["Subject"] = item.subject
    msg["Date"] = formatdate(localtime=False)
    msg["Message-ID"] = _message_id(item, settings)
    if item.unsubscribe_token:
        url = links(settings.public_base_url, item.unsubscribe_token)["unsubscribe_url"]
        msg["List-Unsubscribe"] = f"<{url}>"
        msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    msg.set_content(item.body_text)
    if item.body_html:
        msg.add_alternative(item.body_html, subtype="html")
    if item.ics:
        method = "CANCEL" if item.kind == "cancel" else "REQUEST"
        msg.add_alternative(item.ics, subtype="calendar", params={"method": method})
        msg.add_attachment(
            item.ics.encode("utf-8"),
            maintype="application",
            subtype="ics",
            filename="cancel.ics" if item.kind == "cancel" else "invitation.ics",
        )
    return msg


