from services.models.catalog import (
    ApprovalStep,
    CatalogItem,
    Category,
    Entitlement,
    FormField,
    Priority,
    Service,
    SlaPolicy,
    SlaTarget,
)
from services.models.knowledge import Article, ArticleFeedback, ArticleView
from services.models.requests import (
    Approval,
    Attachment,
    Comment,
    ExperienceRating,
    ServiceRequest,
    pk_from_reference,
    reference_for,
)
from services.models.tasks import CannedReply, FulfilmentTask, Queue, SlaStatus

__all__ = [
    "Approval",
    "ApprovalStep",
    "Article",
    "ArticleFeedback",
    "ArticleView",
    "Attachment",
    "CannedReply",
    "CatalogItem",
    "Category",
    "Comment",
    "Entitlement",
    "ExperienceRating",
    "FormField",
    "FulfilmentTask",
    "Priority",
    "Queue",
    "Service",
    "ServiceRequest",
    "SlaPolicy",
    "SlaStatus",
    "SlaTarget",
    "pk_from_reference",
    "reference_for",
]
