"""The request form of a catalog item, built from its form fields (data, not code).

Conditional fields are decided on the server: a field whose condition is not met is
neither required nor stored, whatever the browser sent.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator, Sequence
from decimal import Decimal
from typing import Any

from django import forms
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import UploadedFile
from django.core.validators import RegexValidator
from django.db.models import Q, QuerySet
from django.utils.choices import BaseChoiceIterator

from esm.form_renderer import LongSelect
from esm.forms import bounded_formfield
from services.models import (
    CatalogItem,
    Consult,
    FormField,
    FulfilmentTask,
    Priority,
    Queue,
    Service,
    ValueFactor,
)
from services.uploads import upload_content_matches, upload_extension, upload_name_clean

User = get_user_model()

YES, NO = "yes", "no"


class TooLarge(forms.ValidationError):
    """An upload over the size limit: pages answer it with 413."""


def validate_upload(upload: UploadedFile) -> None:
    limit = settings.ATTACHMENT_MAX_BYTES
    if upload.size > limit:
        raise TooLarge(
            f"{upload.name} is {upload.size / 1_048_576:.1f} MB; files may be at most "
            f"{limit / 1_048_576:.0f} MB.",
            code="too_large",
        )
    name = upload_name_clean(upload.name)
    extension = upload_extension(name)
    if extension not in settings.ATTACHMENT_ALLOWED_EXTENSIONS:
        allowed = ", ".join(sorted(settings.ATTACHMENT_ALLOWED_EXTENSIONS))
        raise forms.ValidationError(
            f"{name}: .{extension or '?'} files are not accepted. Allowed: {allowed}.",
            code="file_type",
        )
    if not upload_content_matches(extension, upload):
        raise forms.ValidationError(
            f"{name} is not a .{extension} file: its content is of another type. "
            "Save it in the format its name says and attach it again.",
            code="file_content",
        )


def upload_too_large(form: forms.Form) -> bool:
    """Whether the form refused an upload for its size: pages and the API answer 413."""
    return any(
        error.code == "too_large" for errors in form.errors.as_data().values() for error in errors
    )


# The longest username or e-mail address anyone can have (an address's limit, RFC 5321).
PERSON_NAME_LENGTH = 254


class PersonField(forms.CharField):
    """A colleague, typed as username or e-mail address."""

    def __init__(self, **kwargs: Any) -> None:
        # Longer text names nobody, and would reach the database as a pattern it refuses.
        kwargs.setdefault("max_length", PERSON_NAME_LENGTH)
        super().__init__(**kwargs)

    def clean(self, value: Any) -> Any:
        text = super().clean(value)
        if not text:
            return None
        person = User.objects.filter(
            Q(username__iexact=text) | Q(email__iexact=text), is_active=True
        )
        found = list(person[:2])
        if len(found) != 1:
            raise forms.ValidationError("No colleague has that username or e-mail address.")
        return found[0]


def _bound(field: FormField, value: Decimal | None) -> int | None:
    return int(value) if value is not None else None


def _django_field(field: FormField) -> forms.Field:
    common: dict[str, Any] = {"label": field.label, "help_text": field.help_text, "required": False}
    kind = FormField.Kind
    if field.kind in (kind.TEXT, kind.LONG_TEXT):
        validators = []
        if field.pattern:
            validators.append(
                RegexValidator(
                    f"^(?:{field.pattern})$",
                    message=field.pattern_message or "Please use the expected format.",
                )
            )
        return forms.CharField(
            min_length=_bound(field, field.min_value),
            max_length=_bound(field, field.max_value)
            or (5000 if field.kind == kind.LONG_TEXT else 255),
            validators=validators,
            widget=forms.Textarea(attrs={"rows": 4}) if field.kind == kind.LONG_TEXT else None,
            **common,
        )
    if field.kind == kind.NUMBER:
        return forms.DecimalField(
            min_value=field.min_value, max_value=field.max_value, max_digits=14, **common
        )
    if field.kind == kind.DATE:
        return forms.DateField(widget=forms.DateInput(attrs={"type": "date"}), **common)
    if field.kind == kind.CHOICE:
        options = [("", "Choose...")] + [(option, option) for option in field.choice_list]
        return forms.ChoiceField(choices=options, **common)
    if field.kind == kind.MULTI_CHOICE:
        return forms.MultipleChoiceField(
            choices=[(option, option) for option in field.choice_list],
            widget=forms.CheckboxSelectMultiple,
            **common,
        )
    if field.kind == kind.YES_NO:
        return forms.ChoiceField(
            choices=[(YES, "Yes"), (NO, "No")], widget=forms.RadioSelect, **common
        )
    if field.kind == kind.PERSON:
        return PersonField(
            widget=forms.TextInput(attrs={"placeholder": "username or e-mail"}), **common
        )
    return forms.FileField(validators=[validate_upload], **common)


def _matches(answer: Any, expected: str) -> bool:
    if answer in (None, "", []):
        return False
    if isinstance(answer, list):
        return expected in answer
    return str(answer).strip().lower() == expected.strip().lower()


class RequestForm(forms.Form):
    """Subject, optional on-behalf person, then the item's own questions in order."""

    subject = forms.CharField(max_length=200, help_text="A few words that say what you need.")
    submission_key = forms.CharField(widget=forms.HiddenInput, max_length=64)

    def __init__(self, *args: Any, item: CatalogItem, **kwargs: Any) -> None:
        kwargs.setdefault("initial", {}).setdefault("submission_key", uuid.uuid4().hex)
        super().__init__(*args, **kwargs)
        self.item = item
        # Prefetched by the selector: iterating costs no query.
        self.item_fields: list[FormField] = list(item.fields.all())
        if item.allow_on_behalf:
            self.fields["on_behalf_of"] = PersonField(
                required=False,
                label="On behalf of",
                help_text="Leave empty when the request is for you.",
            )
        for field in self.item_fields:
            self.fields[self.name_of(field)] = _django_field(field)
            self.fields[self.name_of(field)].form_field = field

    @staticmethod
    def name_of(field: FormField) -> str:
        return f"field_{field.key}"

    def visible(self, field: FormField, answers: dict[str, Any]) -> bool:
        controller = field.show_when_field_id
        if controller is None:
            return True
        parent = next((f for f in self.item_fields if f.pk == controller), None)
        if parent is None or parent.key not in answers:
            return False
        return _matches(answers[parent.key], field.show_when_value)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        answers: dict[str, Any] = {}
        # Fields come in form order, so a controlling field is decided before its dependents.
        for field in self.item_fields:
            name = self.name_of(field)
            if not self.visible(field, answers):
                cleaned.pop(name, None)
                self.errors.pop(name, None)
                continue
            value = cleaned.get(name)
            empty = value is None or value in ("", [])
            if field.required and empty and name not in self.errors:
                self.add_error(name, "This field is required.")
                continue
            if field.kind == FormField.Kind.MULTI_CHOICE and value:
                self._check_picks(field, name, value)
            if value not in (None, "", []):
                answers[field.key] = value
        self.answers = answers
        return cleaned

    def _check_picks(self, field: FormField, name: str, value: list[str]) -> None:
        if field.min_value is not None and len(value) < field.min_value:
            self.add_error(name, f"Pick at least {int(field.min_value)}.")
        if field.max_value is not None and len(value) > field.max_value:
            self.add_error(name, f"Pick at most {int(field.max_value)}.")

    @property
    def too_large(self) -> bool:
        """Whether an upload was refused for its size (the page answers 413)."""
        return upload_too_large(self)

    def answer_rows(self) -> list[dict[str, Any]]:
        """The answers as stored on the request, uploads excluded (they become attachments)."""
        rows = []
        for field in self.item_fields:
            if field.key not in self.answers or field.kind == FormField.Kind.ATTACHMENT:
                continue
            value = self.answers[field.key]
            rows.append(
                {"key": field.key, "label": field.label, "kind": field.kind, **_stored(value)}
            )
        return rows

    def uploads(self) -> list[tuple[str, UploadedFile]]:
        return [
            (field.key, self.answers[field.key])
            for field in self.item_fields
            if field.kind == FormField.Kind.ATTACHMENT and field.key in self.answers
        ]


def _stored(value: Any) -> dict[str, Any]:
    if isinstance(value, User):
        return {"value": value.pk, "display": value.get_full_name() or value.get_username()}
    if isinstance(value, list):
        return {"value": value, "display": ", ".join(value)}
    if isinstance(value, Decimal):
        return {"value": str(value), "display": f"{value.normalize():f}"}
    if hasattr(value, "isoformat"):
        return {"value": value.isoformat(), "display": f"{value.day} {value:%B %Y}"}
    return {"value": value, "display": "Yes" if value == YES else "No" if value == NO else value}


class CommentForm(forms.Form):
    body = forms.CharField(
        label="Comment", widget=forms.Textarea(attrs={"rows": 3}), max_length=10_000
    )
    attachment = forms.FileField(required=False, validators=[validate_upload])


class ApprovalDecisionForm(forms.Form):
    decision = forms.ChoiceField(choices=[("approve", "Approve"), ("reject", "Reject")])
    comment = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}), required=False, max_length=5000
    )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if cleaned.get("decision") == "reject" and not cleaned.get("comment"):
            self.add_error("comment", "Say why, so the employee knows what to do next.")
        return cleaned


class RatingForm(forms.Form):
    score = forms.TypedChoiceField(
        choices=[(n, str(n)) for n in range(5, 0, -1)],
        coerce=int,
        widget=forms.RadioSelect,
        label="How was it?",
    )
    comment = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}), required=False, max_length=5000
    )


class ReasonForm(forms.Form):
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}), required=False, max_length=5000
    )


# --- Staff workspace ---------------------------------------------------------------------


class TaskForm(forms.Form):
    """Every form on the task page carries the version the agent saw (optimistic check)."""

    # Bounded like the column: a tampered number past it is a form error, not a database one.
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1, max_value=2**31 - 1)


class TaskTextForm(TaskForm):
    body = forms.CharField(widget=forms.Textarea(attrs={"rows": 4}), max_length=10_000)

    def __init__(self, *args: Any, label: str = "Message", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["body"].label = label


class TaskAskForm(TaskTextForm):
    """A question for the employee; says whether the work arrived incomplete (%C&A)."""

    missing_information = forms.BooleanField(
        required=False,
        label="The request arrived without something we need",
        help_text="Counts against the request's completeness, unlike an ordinary question.",
    )


def offer_listed(field: forms.ModelChoiceField, listed: Sequence[Any] | None) -> None:
    """Offer `listed`, rows of the field's queryset the page has already read, as its
    choices: a model choice field otherwise reads its queryset again to render."""
    if listed is not None:
        offer_named(field, [(row.pk, field.label_from_instance(row)) for row in listed])


def offer_named(field: forms.ModelChoiceField, named: Sequence[tuple[int, str]] | None) -> None:
    """Offer `named`, (id, label) pairs of the field's queryset the page has already read,
    as its choices. What is posted is still checked against the queryset."""
    if named is not None:
        field.choices = _Offered([("", field.empty_label), *named])


class _Offered(BaseChoiceIterator):
    """Choices already as (value, label) pairs, taken as they are: a plain list is
    normalized anew at each assignment, one call per option (a department's hundreds of
    agents on every task and queue page)."""

    def __init__(self, choices: list[tuple[Any, Any]]) -> None:
        self.choices = choices

    def __iter__(self) -> Iterator[tuple[Any, Any]]:
        return iter(self.choices)


def offer_agents(
    form: forms.Form,
    agents: Callable[[], QuerySet[Any]],
    named: Sequence[tuple[int, str]] | None,
) -> None:
    """Offer the `assignee` field's people: `named` when the page has read them, else
    `agents()`; a posted choice is checked against `agents()`. A form drawn empty builds no
    query: the task and queue pages draw one at every visit."""
    field = form.fields["assignee"]
    if form.is_bound or named is None:
        field.queryset = agents()
    offer_named(field, named)


class TaskConsultForm(TaskForm):
    to_queue = forms.ModelChoiceField(
        queryset=Queue.objects.none(), label="Ask", empty_label="Choose a department..."
    )
    question = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=10_000,
        help_text="The task waits for the answer; the other department sees only this "
        "question on a confidential case.",
    )

    def __init__(
        self, *args: Any, queues: Any, listed: Sequence[Queue] | None = None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["to_queue"].queryset = queues
        self.fields["to_queue"].label_from_instance = lambda queue: (
            f"{queue.department.name}: {queue.name}"
        )
        offer_listed(self.fields["to_queue"], listed)


class TaskConsultWithdrawForm(TaskForm):
    consult = forms.ModelChoiceField(
        queryset=Consult.objects.none(),
        widget=forms.HiddenInput,
        error_messages={"invalid_choice": "That consult is no longer open."},
    )

    def __init__(self, *args: Any, consults: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["consult"].queryset = consults


class TaskAssignForm(TaskForm):
    assignee = forms.ModelChoiceField(
        queryset=User.objects.none(), empty_label="Choose...", widget=LongSelect
    )

    def __init__(
        self,
        *args: Any,
        agents: Callable[[], QuerySet[Any]],
        named: Sequence[tuple[int, str]],
        **kwargs: Any,
    ) -> None:
        """`agents`: who may be assigned, built only to check what is posted; `named`: their
        (id, name), as `selectors.department_agent_names` reads them, to offer."""
        super().__init__(*args, **kwargs)
        offer_agents(self, agents, named)


class TaskHandOffForm(TaskForm):
    to_queue = forms.ModelChoiceField(
        queryset=Queue.objects.none(), label="Hand off to", empty_label="Choose a queue..."
    )
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=5000,
        help_text="What the next team needs to know.",
    )

    def __init__(
        self, *args: Any, queues: Any, listed: Sequence[Queue] | None = None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["to_queue"].queryset = queues
        self.fields["to_queue"].label_from_instance = lambda queue: (
            f"{queue.department.name}: {queue.name}"
        )
        offer_listed(self.fields["to_queue"], listed)


class TaskPriorityForm(TaskForm):
    priority = forms.ChoiceField(choices=Priority.choices)


class QueueBulkForm(forms.Form):
    """Assign or re-prioritise several tasks of one queue at once."""

    ASSIGN, PRIORITY = "assign", "priority"

    tasks = forms.ModelMultipleChoiceField(
        queryset=FulfilmentTask.objects.none(), widget=forms.MultipleHiddenInput
    )
    action = forms.ChoiceField(choices=[(ASSIGN, "Assign to"), (PRIORITY, "Set priority")])
    assignee = forms.ModelChoiceField(
        queryset=User.objects.none(),
        required=False,
        empty_label="(person)",
        widget=LongSelect(attrs={"aria-label": "Assignee"}),
    )
    priority = forms.ChoiceField(choices=[("", "---"), *Priority.choices], required=False)

    def __init__(
        self,
        *args: Any,
        tasks: Any,
        agents: Callable[[], QuerySet[Any]],
        named: Sequence[tuple[int, str]] | None = None,
        **kwargs: Any,
    ) -> None:
        """`agents` and `named` as `TaskAssignForm` takes them."""
        super().__init__(*args, **kwargs)
        self.fields["tasks"].queryset = tasks
        offer_agents(self, agents, named)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if cleaned.get("action") == self.ASSIGN and not cleaned.get("assignee"):
            self.add_error("assignee", "Choose who gets the tasks.")
        if cleaned.get("action") == self.PRIORITY and not cleaned.get("priority"):
            self.add_error("priority", "Choose a priority.")
        return cleaned


class ArticleForm(forms.Form):
    """An article as its department's staff edit it; the statuses offered are the editor's."""

    title = forms.CharField(max_length=200)
    body = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 16}),
        max_length=50_000,
        help_text="Markdown: # headings, **bold**, - lists, [links](https://…). HTML is removed.",
    )
    related_items = forms.ModelMultipleChoiceField(
        queryset=CatalogItem.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Related services",
        help_text="The article is suggested on these items' pages.",
    )
    status = forms.ChoiceField(choices=[])

    def __init__(
        self, *args: Any, items: Any, statuses: list[str], labels: dict[str, str], **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["related_items"].queryset = items  # type: ignore[attr-defined]
        self.fields["related_items"].label_from_instance = (  # type: ignore[attr-defined]
            lambda item: f"{item.name} ({item.department.name})"
        )
        self.fields["status"].choices = [(status, labels[status]) for status in statuses]  # type: ignore[attr-defined]


class ServicePortfolioForm(forms.ModelForm):
    """A service's portfolio entry and its value claims, one box per value factor."""

    owner = PersonField(
        required=False,
        label="Accountable owner",
        help_text="Username or e-mail address; they need not work in the department.",
    )

    class Meta:
        formfield_callback = bounded_formfield
        model = Service
        fields = [
            "status",
            "outcome",
            "owner",
            "activities_before",
            "activities_after",
            "fixed_yearly_cost",
            "decision_pending",
            "decision_note",
            "review_every_months",
        ]
        labels = {
            "status": "Lifecycle",
            "activities_before": "Before the department's part",
            "activities_after": "After the department's part",
            "decision_pending": "Decision waited for",
            "fixed_yearly_cost": f"Fixed costs a year ({settings.REPORTING_CURRENCY})",
            "review_every_months": "Review every (months)",
        }
        widgets = {
            name: forms.Textarea(attrs={"rows": 3})
            for name in ("outcome", "activities_before", "activities_after", "decision_note")
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        service = self.instance
        if service.owner_id and not self.is_bound:
            self.initial["owner"] = service.owner.username
        claims = {claim.factor: claim.claim for claim in service.value_claims.all()}
        for factor, label in ValueFactor.choices:
            self.fields[f"claim_{factor}"] = forms.CharField(
                label=f"Value claim: {label.lower()}",
                required=False,
                max_length=2000,
                initial=claims.get(factor, ""),
                widget=forms.Textarea(attrs={"rows": 2}),
            )

    def changes(self) -> dict[str, Any]:
        return {name: self.cleaned_data[name] for name in self.Meta.fields}

    def claims(self) -> dict[str, str]:
        return {factor: self.cleaned_data[f"claim_{factor}"] for factor in ValueFactor.values}
