from services.models.automation import AutomationRun, PlanStep, StepRun
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
    "AutomationRun",
    "CannedReply",
    "CatalogItem",
    "Category",
    "Comment",
    "Entitlement",
    "ExperienceRating",
    "FormField",
    "FulfilmentTask",
    "PlanStep",
    "Priority",
    "Queue",
    "Service",
    "ServiceRequest",
    "SlaPolicy",
    "SlaStatus",
    "SlaTarget",
    "StepRun",
    "pk_from_reference",
    "reference_for",
]
