"""One error hierarchy for the domain; the bot turns each into a polite message.

Each error carries a `code` (the key of the message in the locale catalogues) and
the parameters to fill in, so that the domain never decides the user's language.
"""

from __future__ import annotations

from typing import Any


class CRMError(Exception):
    """`final`: whether asking the user for the input again cannot help. A refusal of
    the record's state or of access (a deal closed meanwhile, a record out of reach) stays
    whatever is typed, so a dialog that asked for the input ends with it; bad input
    (InvalidInput) is the one a user can correct by typing it again."""

    code = "error"
    final = True

    def __init__(self, message: str = "", **params: Any) -> None:
        super().__init__(message or self.code)
        self.params = params


class AccessDenied(CRMError):
    """Raised alike whether the record is someone else's or does not exist at all."""

    code = "access_denied"

    def __init__(self, entity: str = "record") -> None:
        super().__init__(f"{entity} not found or not accessible", entity=entity)
        self.entity = entity


class NotRegistered(CRMError):
    code = "not_registered"


class InvalidInput(CRMError):
    """Bad input for one named field; `reason` says what is wrong with it."""

    code = "invalid_input"
    final = False

    def __init__(self, field: str, reason: str, **params: Any) -> None:
        super().__init__(f"{field}: {reason}", field=field, reason=reason, **params)
        self.field = field
        self.reason = reason


class Conflict(CRMError):
    code = "conflict"

    def __init__(self, reason: str, **params: Any) -> None:
        super().__init__(reason, reason=reason, **params)
        self.reason = reason


class ApprovalRequired(CRMError):
    """A discount above the manager's limit: a head has to approve it."""

    code = "approval_required"


class InviteInvalid(CRMError):
    """An invite code that cannot register anyone: `reason` is unknown, used or expired."""

    code = "invite_invalid"

    def __init__(self, reason: str) -> None:
        super().__init__(f"invite {reason}", reason=reason)
        self.reason = reason


class AlreadyServed(CRMError):
    """A new record duplicates a client someone out of the actor's reach serves.

    Only who serves it is told (the curator's name and department); `kind` and
    `entity_id` let the user ask for the client (crm/services/duplicates/requests.py).
    """

    code = "already_served"

    def __init__(self, kind: str, entity_id: int, curator: str, department: str | None) -> None:
        super().__init__(
            f"{kind} {entity_id} is served by {curator}",
            curator=curator,
            department=department or "",
        )
        self.kind, self.entity_id = kind, entity_id
        self.curator, self.department = curator, department
