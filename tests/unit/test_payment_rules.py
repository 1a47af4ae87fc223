"""The pure rules of payments: which payment buttons a deal card offers, and how a typed
paid day is read (crm/services/payments/)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from crm.access import Actor
from crm.errors import AccessDenied, Conflict, InvalidInput
from crm.models import Deal, Sale
from crm.models.enums import Role
from crm.services import payments


def test_the_paid_day_is_read_as_remind_reads_dates_and_never_ahead() -> None:
    now = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
    assert payments.paid_day("yesterday", "Europe/Moscow", now) == date(2026, 12, 6)
    assert payments.paid_day("вчера", "Europe/Moscow", now) == date(2026, 12, 6)
    assert payments.paid_day("01.12", "Europe/Moscow", now) == date(2026, 12, 1)
    assert payments.paid_day("today", "Europe/Moscow", now) == date(2026, 12, 7)
    for text, reason in (("tomorrow", "in_future"), ("abc", "unparsed"), ("32.13", "unparsed")):
        with pytest.raises(InvalidInput) as bad:
            payments.paid_day(text, "Europe/Moscow", now)
        assert (bad.value.field, bad.value.reason) == ("paid_on", reason)


def test_the_card_offers_terms_on_an_open_deal_and_paid_on_an_unpaid_won_one() -> None:
    actor = Actor(id=1, role=Role.MANAGER, department_id=None, name="Anna")
    open_deal, won = Deal(stage="lead"), Deal(stage="won")
    unpaid, paid = Sale(paid_on=None), Sale(paid_on=date(2026, 12, 1))
    assert payments.payment_actions(actor, open_deal, None) == payments.PaymentActions(terms=True)
    assert payments.payment_actions(actor, won, unpaid) == payments.PaymentActions(paid=True)
    assert payments.payment_actions(actor, won, paid) == payments.PaymentActions()
    assert payments.payment_actions(actor, Deal(stage="lost"), None) == payments.PaymentActions()


def test_only_bad_input_is_worth_asking_again() -> None:
    """A deferral out of range can be typed again; a closed deal or one out of reach
    stays refused whatever is typed, so the question asking for it ends."""
    assert not InvalidInput("deferral_days", "out_of_range", min=0, max=365).final
    assert not InvalidInput("paid_on", "in_future").final
    assert Conflict("deal_closed", stage="lost").final
    assert Conflict("already_paid").final
    assert AccessDenied("deal").final
