"""All tables of ChatCRM; importing this package registers them on `Base.metadata`."""

from crm.models.base import Base, UTCDateTime, utcnow
from crm.models.business import BusinessChat, BusinessConnection, BusinessMessage
from crm.models.claims import Claim, ClaimAttachment, ClaimCause
from crm.models.clients import Company, Contact, Interaction, Product
from crm.models.deals import Deal, DealLine, DealStageChange
from crm.models.duplicates import ClientRequest, MergeLog, NotDuplicate
from crm.models.marketing import Event, EventInvitee, Inquiry, Sale
from crm.models.people import Department, Invite, Manager
from crm.models.rollups import (
    CompanySalesMonth,
    DealCreatedDay,
    DealCreatedMonth,
    DealPipeline,
    ManagerSalesMonth,
)
from crm.models.system import (
    AppSetting,
    AuditEntry,
    DigestLog,
    FSMRecord,
    Mailing,
    OutboundEmail,
    OutboundEmailBody,
    SearchEntry,
    SearchTerm,
)
from crm.models.work import Playbook, PlaybookStep, Task

__all__ = [
    "AppSetting",
    "AuditEntry",
    "Base",
    "BusinessChat",
    "BusinessConnection",
    "BusinessMessage",
    "Claim",
    "ClaimAttachment",
    "ClaimCause",
    "ClientRequest",
    "Company",
    "CompanySalesMonth",
    "Contact",
    "Deal",
    "DealCreatedDay",
    "DealCreatedMonth",
    "DealLine",
    "DealPipeline",
    "DealStageChange",
    "Department",
    "DigestLog",
    "Event",
    "EventInvitee",
    "FSMRecord",
    "Inquiry",
    "Interaction",
    "Invite",
    "Mailing",
    "Manager",
    "ManagerSalesMonth",
    "MergeLog",
    "NotDuplicate",
    "OutboundEmail",
    "OutboundEmailBody",
    "Playbook",
    "PlaybookStep",
    "Product",
    "Sale",
    "SearchEntry",
    "SearchTerm",
    "Task",
    "UTCDateTime",
    "utcnow",
]
