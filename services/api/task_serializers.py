"""Input and output shapes of the staff API: queues and the fulfilment tasks in them.

Outputs read only what the selectors load; the SLA clock and the age of a task come from
the view's context (`now`, and one business-hours schedule per department), so a page of
tasks costs the same whatever its length. Inputs check the shape of a call; the actions
decide whether the task's state allows it.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from esm.api import InputSerializer
from services import sla
from services.api.serializers import (
    AnswerOutputSerializer,
    CommentOutputSerializer,
    DepartmentOutputSerializer,
    EndToEndOutputSerializer,
    PersonOutputSerializer,
)
from services.models import ClockState, FulfilmentTask, Priority

EXPECTED_VERSION_HELP = (
    "The task's `version` when you read it. When given and the task changed since, nothing "
    "is saved and the answer is 409, saying who changed what."
)


def _expected_version() -> serializers.IntegerField:
    return serializers.IntegerField(
        min_value=1, required=False, allow_null=True, default=None, help_text=EXPECTED_VERSION_HELP
    )


# Queues --------------------------------------------------------------------------------


class QueueListOutputSerializer(serializers.Serializer):
    slug = serializers.SlugField()
    name = serializers.CharField()
    description = serializers.CharField()
    department = DepartmentOutputSerializer()
    is_default = serializers.BooleanField(help_text="Where the department's new requests arrive.")
    open_count = serializers.IntegerField(help_text="Open tasks.")
    unclaimed_count = serializers.IntegerField(help_text="Open tasks nobody is working on.")
    breached_count = serializers.IntegerField(help_text="Open tasks past their SLA.")


class QueueRefOutputSerializer(serializers.Serializer):
    slug = serializers.SlugField()
    name = serializers.CharField()
    department = DepartmentOutputSerializer()


# Tasks ---------------------------------------------------------------------------------


class CatalogItemRefOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField(help_text="What the queue's `catalog_item` filter takes.")
    slug = serializers.SlugField()
    name = serializers.CharField()


class SlaOutputSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=ClockState.choices)
    time_left_seconds = serializers.IntegerField(
        allow_null=True,
        help_text="Business time left to the resolution target, in the department's working "
        "hours; negative once overdue, frozen while paused, null without an SLA.",
    )
    response_due_at = serializers.DateTimeField(allow_null=True)
    resolution_due_at = serializers.DateTimeField(allow_null=True)
    responded_at = serializers.DateTimeField(allow_null=True)
    paused_since = serializers.DateTimeField(
        allow_null=True, help_text="Set while the task waits on the employee."
    )


class TaskEndToEndOutputSerializer(EndToEndOutputSerializer):
    time_left_seconds = serializers.IntegerField(
        allow_null=True,
        help_text="Business time left to the request's end-to-end target, in the company's "
        "working hours; negative once overdue, frozen while paused, null without a target.",
    )


# The nested outputs of a row that its method fields build, made once for every row: a
# serializer made for each row copies its declared fields every time, and five of them a
# row were most of the cost of a page of tasks.
_PERSON = PersonOutputSerializer()
_CATALOG_ITEM = CatalogItemRefOutputSerializer()
_DEPARTMENT = DepartmentOutputSerializer()
_TASK_END_TO_END = TaskEndToEndOutputSerializer()
_SLA = SlaOutputSerializer()


class TaskListOutputSerializer(serializers.Serializer):
    """One row of a queue. Needs `now`, `schedules` (`calendars.Schedules`) and
    `company_schedule` in context."""

    id = serializers.IntegerField()
    reference = serializers.CharField(
        source="service_request.reference", help_text="The request's reference, REQ-000123."
    )
    title = serializers.CharField()
    state = serializers.ChoiceField(choices=FulfilmentTask.State.choices)
    state_display = serializers.CharField(source="get_state_display")
    priority = serializers.ChoiceField(choices=Priority.choices)
    assignee = PersonOutputSerializer(allow_null=True, help_text="Who is working on it.")
    requester = serializers.SerializerMethodField(
        help_text="Null on a consult about a confidential case you may not see."
    )
    catalog_item = serializers.SerializerMethodField(
        help_text="Null on a consult about a confidential case you may not see."
    )
    consult_from = serializers.SerializerMethodField(
        help_text="On a consult task: the department asking; null on an ordinary task."
    )
    created_at = serializers.DateTimeField()
    age_seconds = serializers.SerializerMethodField(help_text="Seconds since the task was queued.")
    sla = serializers.SerializerMethodField(help_text="The task's department target.")
    end_to_end = serializers.SerializerMethodField(
        help_text="The request's end-to-end target: the employee's whole wait, across handoffs."
    )
    version = serializers.IntegerField(help_text="Send it back as `expected_version`.")

    def _case_hidden(self, task: FulfilmentTask) -> bool:
        # Rows carry the `case_hidden` annotation; a task's detail passes it in context.
        return self.context.get("case_hidden", getattr(task, "case_hidden", False))

    @extend_schema_field(PersonOutputSerializer(allow_null=True))
    def get_requester(self, task: FulfilmentTask) -> dict[str, Any] | None:
        if self._case_hidden(task):
            return None
        return _PERSON.to_representation(task.service_request.requester)

    @extend_schema_field(CatalogItemRefOutputSerializer(allow_null=True))
    def get_catalog_item(self, task: FulfilmentTask) -> dict[str, Any] | None:
        if self._case_hidden(task):
            return None
        return _CATALOG_ITEM.to_representation(task.service_request.catalog_item)

    @extend_schema_field(DepartmentOutputSerializer(allow_null=True))
    def get_consult_from(self, task: FulfilmentTask) -> dict[str, Any] | None:
        consult = getattr(task, "consult", None)
        return None if consult is None else _DEPARTMENT.to_representation(consult.from_department)

    def get_age_seconds(self, task: FulfilmentTask) -> int:
        return int((self.context["now"] - task.created_at).total_seconds())

    @extend_schema_field(TaskEndToEndOutputSerializer(allow_null=True))
    def get_end_to_end(self, task: FulfilmentTask) -> dict[str, Any] | None:
        if self._case_hidden(task):
            return None  # the request's promise is part of the confidential case
        service_request = task.service_request
        reading = sla.end_to_end_read(
            service_request, self.context["company_schedule"], now=self.context["now"]
        )
        clock = {
            "status": reading.status,
            "due_at": reading.due_at,
            "paused_since": service_request.end_to_end_paused_at,
            "breached_at": service_request.end_to_end_breached_at,
            "time_left_seconds": (
                None if reading.left is None else int(reading.left.total_seconds())
            ),
        }
        return _TASK_END_TO_END.to_representation(clock)

    @extend_schema_field(SlaOutputSerializer)
    def get_sla(self, task: FulfilmentTask) -> dict[str, Any]:
        schedule = self.context["schedules"].of(task.department_id)
        reading = sla.clock_read(task, schedule, now=self.context["now"])
        clock = {
            "status": reading.status,
            "time_left_seconds": (
                None if reading.left is None else int(reading.left.total_seconds())
            ),
            "response_due_at": task.response_due_at,
            "resolution_due_at": task.resolution_due_at,
            "responded_at": task.responded_at,
            "paused_since": task.sla_paused_at,
        }
        return _SLA.to_representation(clock)


class TaskRequestOutputSerializer(serializers.Serializer):
    """The request a task fulfils, as the agent needs it: who, what, and the answers."""

    reference = serializers.CharField()
    subject = serializers.CharField()
    # Plain text, as in the requests API: an enum here would collide with the task's states.
    state = serializers.CharField(help_text="The request's state (not the task's).")
    state_display = serializers.CharField(source="get_state_display")
    priority = serializers.ChoiceField(choices=Priority.choices)
    item = CatalogItemRefOutputSerializer(source="catalog_item")
    requester = PersonOutputSerializer(help_text="The person the request is for.")
    raised_by = PersonOutputSerializer(help_text="Who submitted it.")
    is_confidential = serializers.BooleanField()
    submitted_at = serializers.DateTimeField()
    answers = AnswerOutputSerializer(many=True)


class ConsultOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    state = serializers.CharField(help_text="`open`, `answered` or `withdrawn`.")
    from_department = DepartmentOutputSerializer(help_text="The department that asks.")
    to_department = DepartmentOutputSerializer(help_text="The department asked.")
    asking_task = serializers.IntegerField(
        source="asking_task_id",
        help_text="The waiting task (readable by its department's staff only).",
    )
    consult_task = serializers.IntegerField(
        source="consult_task_id", help_text="The task that answers it, in the asked queue."
    )
    question = serializers.CharField()
    asked_by = PersonOutputSerializer()
    asked_at = serializers.DateTimeField()
    answer = serializers.CharField()
    answered_by = PersonOutputSerializer(allow_null=True)
    answered_at = serializers.DateTimeField(allow_null=True)
    withdrawn_at = serializers.DateTimeField(allow_null=True)


class HandedOffFromOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    department = DepartmentOutputSerializer()


class TaskDetailOutputSerializer(TaskListOutputSerializer):
    """A task with its request. Also needs `handoff_queues` (where it may go) in context."""

    queue = QueueRefOutputSerializer()
    department = DepartmentOutputSerializer()
    updated_at = serializers.DateTimeField()
    claimed_at = serializers.DateTimeField(allow_null=True)
    done_at = serializers.DateTimeField(allow_null=True)
    resolution = serializers.CharField()
    handed_off_from = HandedOffFromOutputSerializer(
        allow_null=True, help_text="The task whose work was handed to this one."
    )
    handoff_reason = serializers.CharField()
    service_request = serializers.SerializerMethodField(
        help_text="Null on a consult about a confidential case, for the consulted department: "
        "it sees the question and its answer, never the case."
    )
    consult = serializers.SerializerMethodField(
        help_text="The consult this task answers; null for an ordinary task."
    )
    consults_asked = serializers.SerializerMethodField(
        help_text="The questions this task asked other departments."
    )
    handoff_queues = serializers.SerializerMethodField(
        help_text="Queues this task may be handed off to (`to_queue` of hand-off)."
    )

    @extend_schema_field(TaskRequestOutputSerializer(allow_null=True))
    def get_service_request(self, task: FulfilmentTask) -> dict[str, Any] | None:
        if self.context["case_hidden"]:
            return None
        return TaskRequestOutputSerializer(task.service_request).data

    @extend_schema_field(ConsultOutputSerializer(allow_null=True))
    def get_consult(self, task: FulfilmentTask) -> dict[str, Any] | None:
        consult = self.context["consult"]
        return None if consult is None else ConsultOutputSerializer(consult).data

    @extend_schema_field(ConsultOutputSerializer(many=True))
    def get_consults_asked(self, task: FulfilmentTask) -> list[dict[str, Any]]:
        return ConsultOutputSerializer(self.context["consults_asked"], many=True).data

    @extend_schema_field(QueueRefOutputSerializer(many=True))
    def get_handoff_queues(self, task: FulfilmentTask) -> list[dict[str, Any]]:
        return QueueRefOutputSerializer(self.context["handoff_queues"], many=True).data


class TaskRefOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    state = serializers.ChoiceField(choices=FulfilmentTask.State.choices)
    version = serializers.IntegerField(help_text="Send it back as `expected_version`.")


class TaskCommentOutputSerializer(CommentOutputSerializer):
    """A reply, note or question, with the task as it stands after it."""

    task = serializers.SerializerMethodField(
        help_text="The task after the change: its new state and version."
    )

    @extend_schema_field(TaskRefOutputSerializer)
    def get_task(self, comment: Any) -> dict[str, Any]:
        return TaskRefOutputSerializer(self.context["task"]).data


# Inputs --------------------------------------------------------------------------------


class TaskClaimInputSerializer(InputSerializer):
    expected_version = _expected_version()


class TaskAssignInputSerializer(InputSerializer):
    assignee = serializers.CharField(
        max_length=150, help_text="Username of an agent or manager of the task's department."
    )
    expected_version = _expected_version()


class TaskUnassignInputSerializer(InputSerializer):
    expected_version = _expected_version()


class TaskReplyInputSerializer(InputSerializer):
    body = serializers.CharField(max_length=10_000, help_text="The employee reads it.")
    expected_version = _expected_version()


class TaskNoteInputSerializer(InputSerializer):
    body = serializers.CharField(
        max_length=10_000, help_text="Internal: only staff of the department read it."
    )


class TaskAskInputSerializer(InputSerializer):
    question = serializers.CharField(max_length=10_000)
    missing_information = serializers.BooleanField(
        default=False,
        help_text="True when the request arrived without something the department needs "
        "(counts against its %C&A); false for an ordinary question.",
    )
    expected_version = _expected_version()


class TaskConsultInputSerializer(InputSerializer):
    to_queue = serializers.SlugField(
        max_length=100, help_text="Slug of a queue of another department."
    )
    question = serializers.CharField(max_length=10_000, help_text="The other department reads it.")
    expected_version = _expected_version()


class TaskConsultAnswerInputSerializer(InputSerializer):
    answer = serializers.CharField(max_length=10_000, help_text="The asking department reads it.")
    expected_version = _expected_version()


class TaskConsultWithdrawInputSerializer(InputSerializer):
    expected_version = _expected_version()


class TaskResolveInputSerializer(InputSerializer):
    resolution = serializers.CharField(max_length=10_000, help_text="The employee reads it.")
    expected_version = _expected_version()


class TaskHandOffInputSerializer(InputSerializer):
    to_queue = serializers.SlugField(max_length=100, help_text="Slug of the receiving queue.")
    reason = serializers.CharField(
        max_length=5000, help_text="Why, so the receiving team can pick it up."
    )
    expected_version = _expected_version()


class TaskSendBackInputSerializer(InputSerializer):
    missing = serializers.CharField(
        max_length=5000, help_text="What the sender must complete before handing it over again."
    )
    expected_version = _expected_version()


class TaskPriorityInputSerializer(InputSerializer):
    priority = serializers.ChoiceField(choices=Priority.choices)
    expected_version = _expected_version()
