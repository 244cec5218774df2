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

__all__ = [
    "Approval",
    "ApprovalStep",
    "Article",
    "ArticleFeedback",
    "ArticleView",
    "Attachment",
    "CatalogItem",
    "Category",
    "Comment",
    "Entitlement",
    "ExperienceRating",
    "FormField",
    "Priority",
    "Service",
    "ServiceRequest",
    "SlaPolicy",
    "SlaTarget",
    "pk_from_reference",
    "reference_for",
]
