"""Payment terms and receivables: a deal's deferral, the head's approval of risky terms,
the due date of a won deal's sale, "Paid", and what is overdue.

Rules decided here (the issue leaves them open):
- A deal's deferral is its own (`deals.deferral_days`) or else the company's
  (`companies.payment_deferral_days`, none: 0 days, payment on the day of the sale).
- Terms need a head's approval when the deal's deferral is beyond the company's, or when
  the client's unpaid won amount (sales with a due date and no paid date) plus this deal
  would pass the company's credit limit (no limit: no credit check). Setting such terms
  asks for the approval (the deal's `terms_approval` becomes pending), as a discount above
  the limit does; the same heads decide it in /approvals, never on a deal of their own
  nor on terms they set (a head who sets terms on their department's deal: another head
  of it is asked, else the directors). The decision is told to who asked and to the
  deal's curator.
  A deal whose terms wait or were rejected cannot be won; a deal that would pass the
  credit limit on winning without approved terms is refused with that reason.
- A won deal's sale is due `sold_on + deferral`. "Paid" marks the sale of a won deal (or
  an imported sale) paid on a day; marking and deciding are audited.
- Overdue: unpaid with a due date before today (the reader's). Ageing by days overdue:
  0–30, 31–60, 61–90, over 90.
"""

from crm.services.payments.receivables import (
    Debt,
    Overdue,
    OverduePayment,
    Receivables,
    curators_overdue,
    mark_paid,
    overdue,
    receivables,
)
from crm.services.payments.rules import (
    BLOCKING,
    BUCKETS,
    DEFERRAL_MAX,
    PaymentActions,
    bucket_of,
    deferral_of,
    overdue_amount,
    overdue_query,
    paid_day,
    payment_actions,
    risks,
    unpaid_amount,
)
from crm.services.payments.terms import (
    PendingTerms,
    TermsView,
    approvers_of,
    decide_terms,
    on_win,
    pending_terms,
    pending_terms_count,
    requester,
    set_terms,
    terms_view,
    told_of_decision,
)

__all__ = [
    "BLOCKING",
    "BUCKETS",
    "DEFERRAL_MAX",
    "Debt",
    "Overdue",
    "OverduePayment",
    "PaymentActions",
    "PendingTerms",
    "Receivables",
    "TermsView",
    "approvers_of",
    "bucket_of",
    "curators_overdue",
    "decide_terms",
    "deferral_of",
    "mark_paid",
    "on_win",
    "overdue",
    "overdue_amount",
    "overdue_query",
    "paid_day",
    "payment_actions",
    "pending_terms",
    "pending_terms_count",
    "receivables",
    "requester",
    "risks",
    "set_terms",
    "terms_view",
    "told_of_decision",
    "unpaid_amount",
]
