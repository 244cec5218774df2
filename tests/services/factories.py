import datetime as dt
import uuid

import factory

from esm import clock
from services.models import (
    Approval,
    ApprovalStep,
    Article,
    CatalogItem,
    Category,
    Entitlement,
    FormField,
    Service,
    ServiceRequest,
)
from tests.esm.factories import DepartmentFactory, UserFactory


class CategoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Category
        django_get_or_create = ["slug"]

    name = factory.Sequence(lambda n: f"Category {n}")
    slug = factory.Sequence(lambda n: f"category-{n}")


class ServiceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Service

    name = factory.Sequence(lambda n: f"Service {n}")
    slug = factory.Sequence(lambda n: f"service-{n}")
    outcome = "People get what they need to do their work."
    department = factory.SubFactory(DepartmentFactory)
    category = factory.SubFactory(CategoryFactory)


class CatalogItemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CatalogItem

    service = factory.SubFactory(ServiceFactory)
    name = factory.Sequence(lambda n: f"Item {n}")
    slug = factory.Sequence(lambda n: f"item-{n}")
    summary = "Ask for something useful."
    description = "Tell us what you need."
    department = factory.SelfAttribute("service.department")


class EntitlementFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Entitlement

    item = factory.SubFactory(CatalogItemFactory)


class FormFieldFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = FormField

    item = factory.SubFactory(CatalogItemFactory)
    key = factory.Sequence(lambda n: f"field-{n}")
    label = factory.Sequence(lambda n: f"Question {n}")
    kind = FormField.Kind.TEXT
    position = factory.Sequence(lambda n: n)


class ApprovalStepFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ApprovalStep

    item = factory.SubFactory(CatalogItemFactory)
    approver = ApprovalStep.Approver.REQUESTER_MANAGER
    position = factory.Sequence(lambda n: n)


class ArticleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Article

    title = factory.Sequence(lambda n: f"How to do thing {n}")
    slug = factory.Sequence(lambda n: f"article-{n}")
    body = "Step one. Step two."
    department = factory.SubFactory(DepartmentFactory)
    status = Article.Status.PUBLISHED


class ServiceRequestFactory(factory.django.DjangoModelFactory):
    """A request as stored; tests of behaviour go through `service_request_submit` instead."""

    class Meta:
        model = ServiceRequest

    catalog_item = factory.SubFactory(CatalogItemFactory)
    requester = factory.SubFactory(UserFactory)
    raised_by = factory.SelfAttribute("requester")
    subject = factory.Sequence(lambda n: f"Request {n}")
    state = ServiceRequest.State.SUBMITTED
    priority = factory.SelfAttribute("catalog_item.default_priority")
    department = factory.SelfAttribute("catalog_item.department")
    is_confidential = factory.SelfAttribute("catalog_item.is_confidential")
    submission_key = factory.LazyFunction(lambda: uuid.uuid4().hex)


class ApprovalFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Approval

    service_request = factory.SubFactory(ServiceRequestFactory)
    position = factory.Sequence(lambda n: n + 1)
    label = "Approver"
    state = Approval.State.PENDING


# --- Queues, fulfilment tasks, SLA policies, canned replies ------------------------------
# Models named by label: this block is appended to the module and imports nothing new.


class QueueFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "services.Queue"

    department = factory.SubFactory(DepartmentFactory)
    name = factory.Sequence(lambda n: f"Queue {n}")
    slug = factory.Sequence(lambda n: f"queue-{n}")
    is_default = False


class SlaPolicyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "services.SlaPolicy"

    name = factory.Sequence(lambda n: f"SLA policy {n}")


class SlaTargetFactory(factory.django.DjangoModelFactory):
    """Normal priority: first response within an hour, resolution within a business day."""

    class Meta:
        model = "services.SlaTarget"

    policy = factory.SubFactory(SlaPolicyFactory)
    priority = "normal"
    response_minutes = 60
    resolution_minutes = 480


class FulfilmentTaskFactory(factory.django.DjangoModelFactory):
    """A task as stored, with no SLA clock; behaviour tests open tasks through the actions."""

    class Meta:
        model = "services.FulfilmentTask"

    service_request = factory.SubFactory(ServiceRequestFactory, state="in_progress")
    queue = factory.SubFactory(
        QueueFactory, department=factory.SelfAttribute("..service_request.department")
    )
    department = factory.SelfAttribute("queue.department")
    title = factory.SelfAttribute("service_request.subject")
    priority = factory.SelfAttribute("service_request.priority")
    state = "queued"


class ConsultFactory(factory.django.DjangoModelFactory):
    """A consult as stored, answered now: the asking task in a queue of `from_department`,
    the question in one of `to_department`, both on one request, asked two hours before
    the answer. `state="open", answered_by=None, answered_at=None` leaves it open."""

    class Meta:
        model = "services.Consult"

    from_department = factory.SubFactory(DepartmentFactory)
    to_department = factory.SubFactory(DepartmentFactory)
    asking_task = factory.SubFactory(
        FulfilmentTaskFactory,
        queue=factory.SubFactory(
            QueueFactory, department=factory.SelfAttribute("...from_department")
        ),
    )
    consult_task = factory.SubFactory(
        FulfilmentTaskFactory,
        service_request=factory.SelfAttribute("..asking_task.service_request"),
        queue=factory.SubFactory(
            QueueFactory, department=factory.SelfAttribute("...to_department")
        ),
    )
    question = "Which one?"
    asked_by = factory.SubFactory(UserFactory)
    state = "answered"
    answered_by = factory.SubFactory(UserFactory)
    answered_at = factory.LazyFunction(clock.now)
    asked_at = factory.LazyAttribute(
        lambda consult: (consult.answered_at or clock.now()) - dt.timedelta(hours=2)
    )


class CannedReplyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "services.CannedReply"

    department = factory.SubFactory(DepartmentFactory)
    title = factory.Sequence(lambda n: f"Canned reply {n}")
    body = "Hello {name}, we are on {reference} and will be back to you today."
