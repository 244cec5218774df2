"""Input and output shapes of the services API, one pair per operation.

Output serializers read only what the selectors load (`select_related`/`prefetch_related`),
so a list costs the same number of queries whatever its length. Input serializers check
the shape of a call; the business rules stay in forms (answers) and actions (states).
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.fields import empty
from rest_framework.utils import html

from esm.api import InputSerializer
from services import sla
from services.markdown import render_markdown
from services.models import CatalogItem, ClockState, FormField, ServiceRequest


class PersonOutputSerializer(serializers.Serializer):
    username = serializers.CharField()
    name = serializers.SerializerMethodField()

    def get_name(self, user: Any) -> str:
        return user.get_full_name() or user.get_username()


class DepartmentOutputSerializer(serializers.Serializer):
    slug = serializers.SlugField()
    name = serializers.CharField()


class CategoryOutputSerializer(serializers.Serializer):
    slug = serializers.SlugField()
    name = serializers.CharField()


class ServiceRefOutputSerializer(serializers.Serializer):
    slug = serializers.SlugField()
    name = serializers.CharField()


# Catalog -------------------------------------------------------------------------------


class CatalogServiceListOutputSerializer(serializers.Serializer):
    slug = serializers.SlugField()
    name = serializers.CharField()
    outcome = serializers.CharField(help_text="The business outcome the service delivers.")
    department = DepartmentOutputSerializer()
    category = CategoryOutputSerializer(allow_null=True)
    owner = PersonOutputSerializer(allow_null=True, help_text="Accountable for the outcome.")


class CatalogItemListOutputSerializer(serializers.Serializer):
    slug = serializers.SlugField()
    name = serializers.CharField()
    summary = serializers.CharField()
    service = ServiceRefOutputSerializer()
    department = DepartmentOutputSerializer(help_text="The department that fulfils it.")
    category = CategoryOutputSerializer(source="service.category", allow_null=True)
    expected_days = serializers.IntegerField(help_text="Expected fulfilment, in working days.")
    default_priority = serializers.CharField()
    is_confidential = serializers.BooleanField()
    allow_on_behalf = serializers.BooleanField()


class ShowWhenOutputSerializer(serializers.Serializer):
    field = serializers.SlugField(help_text="Key of the controlling field.")
    value = serializers.CharField(help_text="The answer of that field that shows this one.")


class FormFieldOutputSerializer(serializers.Serializer):
    key = serializers.SlugField(help_text="The key of this answer in `answers`.")
    label = serializers.CharField()
    kind = serializers.ChoiceField(choices=FormField.Kind.choices)
    required = serializers.BooleanField()
    help_text = serializers.CharField()
    choices = serializers.ListField(child=serializers.CharField(), source="choice_list")
    min = serializers.DecimalField(
        source="min_value",
        max_digits=12,
        decimal_places=2,
        allow_null=True,
        help_text="Number: smallest value. Text: fewest characters. Multiple choice: fewest picks.",
    )
    max = serializers.DecimalField(
        source="max_value",
        max_digits=12,
        decimal_places=2,
        allow_null=True,
        help_text="Number: largest value. Text: most characters. Multiple choice: most picks.",
    )
    pattern = serializers.CharField(help_text="Text: a regular expression the answer must match.")
    show_when = serializers.SerializerMethodField(
        help_text="Only asked (and only required) when another field has a given answer."
    )

    @extend_schema_field(ShowWhenOutputSerializer(allow_null=True))
    def get_show_when(self, form_field: FormField) -> dict[str, str] | None:
        if form_field.show_when_field_id is None:
            return None
        # Keys of the item's fields, from the prefetched list: no query per field.
        key = self.context["field_keys"].get(form_field.show_when_field_id)
        return {"field": key, "value": form_field.show_when_value} if key else None


class CatalogItemDetailOutputSerializer(CatalogItemListOutputSerializer):
    description = serializers.CharField(help_text="Markdown.")
    description_html = serializers.SerializerMethodField(help_text="The description, sanitized.")
    fields = serializers.SerializerMethodField(
        method_name="form_fields_of", help_text="The request form, in order."
    )

    def get_description_html(self, item: CatalogItem) -> str:
        return str(render_markdown(item.description))

    @extend_schema_field(FormFieldOutputSerializer(many=True))
    def form_fields_of(self, item: CatalogItem) -> list[dict[str, Any]]:
        form_fields = list(item.fields.all())
        keys = {form_field.pk: form_field.key for form_field in form_fields}
        return FormFieldOutputSerializer(
            form_fields, many=True, context={**self.context, "field_keys": keys}
        ).data


# Requests ------------------------------------------------------------------------------


@extend_schema_field(
    {
        "type": "object",
        "additionalProperties": {},
        "description": "Answers keyed by form-field key. In JSON: strings, numbers, true/false "
        "for yes/no questions, lists for multiple choice. In multipart/form-data: one part "
        "`answers.<key>` per answer (repeat it for several choices); files only this way.",
    }
)
class AnswersField(serializers.Field):
    """An object of answers in JSON; `answers.<key>` parts in multipart (DRF's dotted form)."""

    default_error_messages = {"not_a_dict": "Send an object keyed by form-field key."}

    def get_value(self, dictionary: Any) -> Any:
        if html.is_html_input(dictionary):
            parts = html.parse_html_dict(dictionary, prefix=self.field_name)
            return {key: values[0] if len(values) == 1 else values for key, values in parts.lists()}
        return dictionary.get(self.field_name, empty)

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        if not isinstance(data, dict):
            self.fail("not_a_dict")
        return data

    def to_representation(self, value: Any) -> Any:
        return value


class ServiceRequestCreateInputSerializer(InputSerializer):
    item = serializers.SlugField(help_text="Slug of the catalog item.")
    subject = serializers.CharField(max_length=200)
    answers = AnswersField(required=False, default=dict)
    on_behalf_of = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        help_text="Username or e-mail of the person it is for, when the item allows it.",
    )
    submission_key = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        max_length=64,
        help_text="Makes the call idempotent: sent again with the same key, the first "
        "request comes back (200) instead of a new one. Defaults to the Idempotency-Key "
        "header.",
    )


class EndToEndOutputSerializer(serializers.Serializer):
    status = serializers.ChoiceField(
        choices=ClockState.choices,
        help_text="The state of the end-to-end target, as every page shows it.",
    )
    due_at = serializers.DateTimeField(
        allow_null=True, help_text="When we aim to finish (moves only after a pause)."
    )
    paused_since = serializers.DateTimeField(
        allow_null=True, help_text="Set while the request waits on the employee."
    )
    breached_at = serializers.DateTimeField(allow_null=True)


# Made once for every service request listed: a serializer made for each row copies its
# declared fields.
_END_TO_END = EndToEndOutputSerializer()


def end_to_end_output(service_request: ServiceRequest) -> dict[str, Any]:
    """The end-to-end target of a request; its state needs no calendar."""
    reading = sla.end_to_end_read(service_request, None)
    return _END_TO_END.to_representation(
        {
            "status": reading.status,
            "due_at": reading.due_at,
            "paused_since": service_request.end_to_end_paused_at,
            "breached_at": service_request.end_to_end_breached_at,
        }
    )


class ServiceRequestListOutputSerializer(serializers.Serializer):
    reference = serializers.CharField(help_text="REQ-000123")
    subject = serializers.CharField()
    state = serializers.CharField()
    state_display = serializers.CharField(source="get_state_display")
    priority = serializers.CharField()
    item = ServiceRefOutputSerializer(source="catalog_item")
    department = DepartmentOutputSerializer()
    requester = PersonOutputSerializer(help_text="The person the request is for.")
    is_confidential = serializers.BooleanField()
    submitted_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    end_to_end = serializers.SerializerMethodField(
        help_text="The end-to-end target: the promise from submission to resolution."
    )

    @extend_schema_field(EndToEndOutputSerializer)
    def get_end_to_end(self, service_request: ServiceRequest) -> dict[str, Any]:
        return end_to_end_output(service_request)


class AnswerOutputSerializer(serializers.Serializer):
    key = serializers.CharField()
    label = serializers.CharField()
    kind = serializers.CharField()
    value = serializers.JSONField()
    display = serializers.CharField()


class ApprovalOutputSerializer(serializers.Serializer):
    position = serializers.IntegerField()
    label = serializers.CharField(help_text="Who approves, in words.")
    state = serializers.CharField()
    decided_by = PersonOutputSerializer(allow_null=True)
    decided_at = serializers.DateTimeField(allow_null=True)
    comment = serializers.CharField()


class AttachmentOutputSerializer(serializers.Serializer):
    name = serializers.CharField()
    content_type = serializers.CharField()
    size = serializers.IntegerField(help_text="Bytes.")
    field_key = serializers.CharField(help_text="The form field it answers, if any.")
    created_at = serializers.DateTimeField()


class RatingOutputSerializer(serializers.Serializer):
    score = serializers.IntegerField(min_value=1, max_value=5)
    comment = serializers.CharField()
    created_at = serializers.DateTimeField()


class ServiceRequestDetailOutputSerializer(ServiceRequestListOutputSerializer):
    raised_by = PersonOutputSerializer(help_text="Who submitted it.")
    answers = AnswerOutputSerializer(many=True)
    resolution = serializers.CharField()
    resolved_at = serializers.DateTimeField(allow_null=True)
    closed_at = serializers.DateTimeField(allow_null=True)
    approvals = ApprovalOutputSerializer(many=True, source="approvals.all")
    attachments = AttachmentOutputSerializer(many=True, source="attachments.all")
    rating = RatingOutputSerializer(allow_null=True)


class ServiceRequestCancelInputSerializer(InputSerializer):
    reason = serializers.CharField(required=False, allow_blank=True, default="", max_length=5000)


class ServiceRequestRateInputSerializer(InputSerializer):
    score = serializers.IntegerField(min_value=1, max_value=5)
    comment = serializers.CharField(required=False, allow_blank=True, default="", max_length=5000)


# Comments ------------------------------------------------------------------------------


class CommentCreateInputSerializer(InputSerializer):
    body = serializers.CharField(max_length=10_000)


class CommentOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    author = PersonOutputSerializer()
    body = serializers.CharField(help_text="Plain text as written: escape it when showing it.")
    is_internal = serializers.BooleanField(help_text="Staff-only note (staff see these only).")
    created_at = serializers.DateTimeField()
