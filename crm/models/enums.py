"""The closed vocabularies of the domain. Stored as short strings."""

from enum import StrEnum


class Role(StrEnum):
    MANAGER = "manager"
    HEAD = "head"
    DIRECTOR = "director"


class CompanyStage(StrEnum):
    POTENTIAL = "potential"
    ONE_TIME = "one_time"
    REGULAR = "regular"
    LOST = "lost"


class DecisionRole(StrEnum):
    DECISION_MAKER = "decision_maker"
    INFLUENCER = "influencer"
    USER = "user"
    GATEKEEPER = "gatekeeper"


class InteractionKind(StrEnum):
    CALL = "call"
    MEETING = "meeting"
    EMAIL = "email"
    MESSAGE = "message"
    VISIT = "visit"


class Direction(StrEnum):
    IN = "in"
    OUT = "out"


class InteractionStatus(StrEnum):
    PLANNED = "planned"
    DONE = "done"


class DealStage(StrEnum):
    LEAD = "lead"
    QUALIFIED = "qualified"
    PROPOSAL = "proposal"
    NEGOTIATION = "negotiation"
    WON = "won"
    LOST = "lost"

    @property
    def is_closed(self) -> bool:
        return self in (DealStage.WON, DealStage.LOST)


OPEN_STAGES = (DealStage.LEAD, DealStage.QUALIFIED, DealStage.PROPOSAL, DealStage.NEGOTIATION)
# the funnel's stages in order; a deal's `reached_rank` is the index of the furthest it reached
FUNNEL_STAGES = (*OPEN_STAGES, DealStage.WON)


def funnel_rank(stage: str) -> int:
    """0 lead … 4 won; lost (and anything unknown) ranks as lead: it reaches nothing more."""
    return FUNNEL_STAGES.index(DealStage(stage)) if stage in FUNNEL_STAGES else 0


DEFAULT_PROBABILITY = {
    DealStage.LEAD: 10,
    DealStage.QUALIFIED: 25,
    DealStage.PROPOSAL: 50,
    DealStage.NEGOTIATION: 75,
    DealStage.WON: 100,
    DealStage.LOST: 0,
}


class ApprovalStatus(StrEnum):
    NOT_NEEDED = "not_needed"
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


class TaskStatus(StrEnum):
    OPEN = "open"
    DONE = "done"
    CANCELLED = "cancelled"


class PlaybookKind(StrEnum):
    DEAL = "deal"
    CLAIM = "claim"
    EVENT = "event"
    REPLY = "reply"  # its steps are texts to send a client in Telegram


class ClaimPriority(StrEnum):
    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    CRITICAL = "critical"


class ClaimStatus(StrEnum):
    NEW = "new"
    INVESTIGATING = "investigating"
    RESOLVED = "resolved"
    REJECTED = "rejected"


class InviteeStatus(StrEnum):
    INVITED = "invited"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    ATTENDED = "attended"
    NO_SHOW = "no_show"


class EmailStatus(StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    CANCELLED = "cancelled"  # never sent: the event was cancelled first


class SearchKind(StrEnum):
    COMPANY = "company"
    CONTACT = "contact"
    DEAL = "deal"
    CONVERSATION = "conversation"  # a logged Telegram chat; found, it opens its contact


class ChatStatus(StrEnum):
    PENDING = "pending"
    LINKED = "linked"
    STOPPED = "stopped"
