"""What the outbox keeps of an SMTP error (notifications/email.py): never the password."""

from __future__ import annotations

from crm.settings import Settings
from notifications import email as mailer


def test_the_error_kept_never_holds_the_password():
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        smtp_host="127.0.0.1",
        smtp_port=25,
        smtp_tls=False,
        smtp_from="Events <events@example.com>",
        public_base_url="https://crm.example.com",
        smtp_user="crm",
        smtp_password="s3cret-pw",
    )
    error = mailer.describe_error(RuntimeError("auth failed for crm:s3cret-pw"), settings)
    assert "s3cret-pw" not in error and "RuntimeError" in error
