"""The forms that shape report definitions in the portal: measures, audiences, reports with
their ordered measures, the MVGO tree and the departments' cost rates.

Report definitions have no workflow, so these forms are their write layer (as the admin
is): each checks the rules a definition must keep beside the field they concern, and saves
in one transaction with the event that records who changed what (`esm.changes`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import Q

from esm import changes
from esm.forms import bounded_formfield
from esm.models import Department
from reporting.measures import REGISTRY
from reporting.models import (
    Audience,
    CostRate,
    Measure,
    Objective,
    Report,
    ReportMeasure,
    Snapshot,
)
from reporting.selectors import OBJECTIVE_RANK, objective_descendant_ids
from services.forms import PERSON_NAME_LENGTH

User = get_user_model()

DEPARTMENT_AUDIENCES = (Audience.Members.DEPARTMENT_STAFF, Audience.Members.DEPARTMENT_MANAGERS)
"""The members rules that read per department: only they can be narrowed to departments."""

SHARE_UNITS = ("%",)
"""Units whose values are shares stored between 0 and 1 (0.9 reads "90%")."""


def _text(rows: int = 3) -> forms.Textarea:
    return forms.Textarea(attrs={"rows": rows})


# --- Measures ---------------------------------------------------------------------------------


class MeasureForm(forms.ModelForm):
    """A measure's definition. A measure over data the portal holds is computed by one of
    the registered functions and takes its key (one measure per function); a measure over
    data held elsewhere has a free key and shows no number."""

    function = forms.ChoiceField(
        required=False,
        label="Computed by",
        help_text="The function that computes it from the portal's data. Each function "
        "serves one measure; those already in use are not offered.",
    )

    field_order = [
        "name",
        "definition",
        "kind",
        "decision",
        "decision_maker",
        "unit",
        "direction",
        "target",
        "act_at",
        "threshold",
        "cadence",
        "objective",
        "value_factor",
        "source_controlled",
        "data_source",
        "function",
        "key",
    ]

    class Meta:
        formfield_callback = bounded_formfield
        model = Measure
        fields = [
            "key",
            "name",
            "definition",
            "kind",
            "unit",
            "target",
            "direction",
            "decision",
            "decision_maker",
            "threshold",
            "act_at",
            "cadence",
            "objective",
            "value_factor",
            "data_source",
            "source_controlled",
        ]
        labels = {
            "key": "Key (data held elsewhere)",
            "act_at": "Point of acting",
            "source_controlled": "The portal holds its data",
            "value_factor": "Business value it evidences",
            "threshold": "When they act, in words",
        }
        help_texts = {
            "key": "Only for a measure over data the portal does not hold: letters, digits, "
            "hyphens and underscores. A computed measure takes its function's key.",
            "target": 'For a share (unit "%"), between 0 and 1: 0.9 is 90%.',
            "threshold": 'e.g. "Below 85% for two weeks running".',
            "act_at": "The value at which the decision maker acts, beyond the target: below "
            "it when higher is better, above it when lower is. Between the two the measure "
            "is watched.",
        }
        widgets = {
            "definition": _text(),
            "decision": _text(2),
        }

    def __init__(self, *args: Any, used_keys: Iterable[str] = (), **kwargs: Any) -> None:
        """`used_keys`: the keys other measures hold, whose functions are not offered."""
        super().__init__(*args, **kwargs)
        taken = set(used_keys) - {self.instance.key}
        self.computed_as = (self.instance.key, self.instance.source_controlled)
        self.fields["function"].choices = [("", "None: the data is held outside the portal")] + [
            (key, f"{key}: {registered.description}")
            for key, registered in sorted(REGISTRY.items())
            if key not in taken
        ]
        self.fields["key"].required = False
        self.fields["objective"].empty_label = "No objective yet"
        self.fields["value_factor"].choices = [("", "None"), *Measure.ValueFactor.choices]
        self.fields["kind"].choices = [("", "Choose a kind..."), *Measure.Kind.choices]
        self.fields["direction"].choices = Measure.Direction.choices
        if self.instance.pk and self.instance.source_controlled and self.instance.key in REGISTRY:
            self.initial["function"] = self.instance.key
            self.initial["key"] = ""

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        self._clean_key(data)
        self._clean_share(data)
        self._clean_act_at(data)
        return data

    def _clean_key(self, data: dict[str, Any]) -> None:
        function, key = data.get("function"), data.get("key")
        if "key" in self.errors:
            return
        if data.get("source_controlled"):
            if not function:
                self.add_error(
                    "function", "Choose the function that computes it: the portal holds its data."
                )
            elif key and key != function:
                self.add_error("key", f"A computed measure takes its function's key, {function}.")
            else:
                data["key"] = function
        elif function:
            self.add_error(
                "function",
                "The portal holds none of its data, so nothing computes it: leave this empty "
                "or tick that the portal holds its data.",
            )
        elif not key:
            self.add_error("key", "Name it with a key, e.g. survey_engagement.")

    def _clean_share(self, data: dict[str, Any]) -> None:
        if (data.get("unit") or "").strip() not in SHARE_UNITS:
            return
        for name in ("target", "act_at"):
            value = data.get(name)
            if value is not None and not 0 <= value <= 1:
                self.add_error(name, "A share: between 0 and 1 (0.9 is 90%).")

    def _clean_act_at(self, data: dict[str, Any]) -> None:
        act_at, target, direction = data.get("act_at"), data.get("target"), data.get("direction")
        if act_at is None or "act_at" in self.errors or not direction:
            return
        if target is None:
            self.add_error("act_at", "Set a target first: the point of acting lies beyond it.")
        elif direction == Measure.Direction.HIGHER and act_at >= target:
            self.add_error(
                "act_at",
                f"Higher is better, so they act below the target: give less than {target:g}.",
            )
        elif direction == Measure.Direction.LOWER and act_at <= target:
            self.add_error(
                "act_at",
                f"Lower is better, so they act above the target: give more than {target:g}.",
            )

    def save_as(self, *, creator: AbstractBaseUser) -> Measure:
        """Save, a new measure owned by `creator` (an existing one keeps its owner). A
        measure given another function, or whose data leaves the portal, loses the
        snapshots the old one computed: its line must not join two different numbers."""
        if self.instance.pk is None:
            self.instance.owner = creator
        recomputed = self.instance.pk is not None and self.computed_as != (
            self.instance.key,
            self.instance.source_controlled,
        )
        before = changes.snapshot_stored(self.instance)
        with transaction.atomic():
            measure = self.save()
            if recomputed:
                Snapshot.objects.filter(measure=measure).delete()
            changes.change_record(subject=measure, actor=creator, before=before, via="measure_save")
        return measure


# --- Audiences --------------------------------------------------------------------------------


# Enough for any audience; the names are looked up in one query, one condition each.
MAX_PEOPLE = 200


class PeopleField(forms.CharField):
    """Colleagues typed as usernames or e-mail addresses, one a line (or comma-separated)."""

    widget = forms.Textarea(attrs={"rows": 3, "placeholder": "username or e-mail, one a line"})

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", MAX_PEOPLE * (PERSON_NAME_LENGTH + 1))
        super().__init__(**kwargs)

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, (list, tuple)):
            # By name: the relation's own order is whatever the database returns.
            return "\n".join(
                sorted(
                    person.get_username() if hasattr(person, "get_username") else str(person)
                    for person in value
                )
            )
        return value

    def clean(self, value: Any) -> list[AbstractBaseUser]:
        text = super().clean(value) or ""
        names = list(dict.fromkeys(n.lower() for n in text.replace(",", " ").split()))
        if not names:
            return []
        if len(names) > MAX_PEOPLE:
            raise forms.ValidationError(f"Name at most {MAX_PEOPLE} colleagues.")
        if too_long := [name for name in names if len(name) > PERSON_NAME_LENGTH]:
            raise forms.ValidationError(
                "No username or e-mail address is that long: %(names)s.",
                params={"names": ", ".join(name[:40] + "…" for name in too_long)},
            )
        query = Q()
        for name in names:
            query |= Q(username__iexact=name) | Q(email__iexact=name)
        people = list(User.objects.filter(query, is_active=True).order_by("username"))
        chosen, unknown = [], []
        for name in names:
            matches = [
                p for p in people if name in (p.get_username().lower(), (p.email or "").lower())
            ]
            if len(matches) == 1:
                chosen.append(matches[0])
            else:
                unknown.append(name)
        if unknown:
            raise forms.ValidationError(
                "No active colleague (or more than one) has the username or e-mail %(names)s.",
                params={"names": ", ".join(unknown)},
            )
        return list(dict.fromkeys(chosen))


class AudienceForm(forms.ModelForm):
    people = PeopleField(
        required=False,
        label="Chosen people",
        help_text="Only for an audience of chosen people: their usernames or e-mail addresses.",
    )

    class Meta:
        formfield_callback = bounded_formfield
        model = Audience
        fields = [
            "name",
            "slug",
            "members",
            "departments",
            "people",
            "wants_to_know",
            "why",
            "acts_by",
            "cadence",
        ]
        labels = {
            "slug": "Address",
            "members": "Who belongs",
            "wants_to_know": "What it wants to know",
            "why": "Why it needs to know it",
            "acts_by": "What it does with the answer",
        }
        help_texts = {
            "slug": "Letters, digits and hyphens, unique among audiences.",
            "departments": "For department staff or managers only: narrow the audience to "
            "these departments (none: every department).",
            "wants_to_know": 'e.g. "What waits on us and which targets are at risk."',
            "why": 'e.g. "They staff the queues and own the targets."',
            "acts_by": 'e.g. "Rebalancing work between people; fixing a handoff."',
        }
        widgets = {
            "departments": forms.CheckboxSelectMultiple,
            "wants_to_know": _text(2),
            "why": _text(2),
            "acts_by": _text(2),
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["departments"].queryset = Department.objects.order_by("name")
        self.fields["members"].choices = [("", "Choose who belongs..."), *Audience.Members.choices]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        members = data.get("members")
        if not members:
            return data
        if members == Audience.Members.CUSTOM:
            if not data.get("people") and "people" not in self.errors:
                self.add_error("people", "Name at least one person: the audience is chosen people.")
        elif data.get("people"):
            self.add_error(
                "people", "Only an audience of chosen people lists people; its rule decides."
            )
        if data.get("departments") and members not in DEPARTMENT_AUDIENCES:
            self.add_error(
                "departments",
                "Only an audience of department staff or department managers reads per "
                "department: leave these empty.",
            )
        return data

    def save_as(self, *, creator: AbstractBaseUser) -> Audience:
        if self.instance.pk is None:
            self.instance.owner = creator
        before = changes.snapshot_stored(self.instance)
        with transaction.atomic():
            audience = self.save()
            changes.change_record(
                subject=audience, actor=creator, before=before, via="audience_save"
            )
            return audience


# --- Reports and their lines ------------------------------------------------------------------


class ReportForm(forms.ModelForm):
    class Meta:
        formfield_callback = bounded_formfield
        model = Report
        fields = ["name", "slug", "audience", "narrative", "cadence"]
        labels = {"slug": "Address"}
        help_texts = {
            "slug": "Letters, digits and hyphens: the dashboard lives at /dashboards/<address>/.",
            "narrative": "The story in a few lines: what the audience decides with it.",
            "cadence": 'How often it is read, e.g. "weekly".',
        }
        widgets = {"narrative": _text()}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["audience"].empty_label = "Choose the audience..."


class LoadedChoiceField(forms.ModelChoiceField):
    """A choice among objects loaded once for a whole formset: a plain `ModelChoiceField`
    queries once per line to render and once per line to validate."""

    def __init__(self, objects: Sequence[Any], *, label: Any, **kwargs: Any) -> None:
        super().__init__(queryset=Measure.objects.none(), **kwargs)
        self.objects = {str(o.pk): o for o in objects}
        self.choices = [("", self.empty_label)] + [(str(o.pk), label(o)) for o in objects]

    def to_python(self, value: Any) -> Any:
        if value in self.empty_values:
            return None
        key = str(value.pk if hasattr(value, "pk") else value)
        if key not in self.objects:
            raise forms.ValidationError(
                self.error_messages["invalid_choice"], code="invalid_choice"
            )
        return self.objects[key]


def measure_label(measure: Measure) -> str:
    return f"{measure.name} ({measure.get_kind_display().lower()})"


class ReportLineForm(forms.Form):
    position = forms.IntegerField(min_value=0, max_value=32767, label="Order")
    measure = forms.Field()

    def __init__(self, *args: Any, measures: Sequence[Measure], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["measure"] = LoadedChoiceField(
            measures, label=measure_label, empty_label="Choose a measure..."
        )


class BaseReportLineFormSet(forms.BaseFormSet):
    def add_fields(self, form: forms.Form, index: int | None) -> None:
        super().add_fields(form, index)
        form.fields[forms.formsets.DELETION_FIELD_NAME].label = "Take off"

    def clean(self) -> None:
        if any(self.errors):
            return
        seen: dict[int, int] = {}
        for number, form in enumerate(self.forms, start=1):
            measure = form.cleaned_data.get("measure")
            if measure is None or self._should_delete_form(form):
                continue
            if measure.pk in seen:
                form.add_error(
                    "measure", f"{measure.name} is already line {seen[measure.pk]}: once is enough."
                )
            else:
                seen[measure.pk] = number
        if not seen:
            raise forms.ValidationError(
                "Put at least one measure on the report: it tells its story with them."
            )

    def chosen(self) -> list[Measure]:
        """The measures kept, in the order given (ties: as listed)."""
        kept = [
            (form.cleaned_data["position"], number, form.cleaned_data["measure"])
            for number, form in enumerate(self.forms)
            if not self._should_delete_form(form) and form.cleaned_data.get("measure")
        ]
        return [measure for _, _, measure in sorted(kept, key=lambda k: k[:2])]


ReportLineFormSet = forms.formset_factory(
    ReportLineForm, formset=BaseReportLineFormSet, extra=3, can_delete=True, max_num=50
)
"""The report's measures in order: one line each, three blank lines to add more."""


def report_line_formset(
    *, data: Any = None, report: Report | None, measures: Sequence[Measure]
) -> BaseReportLineFormSet:
    """The lines of `report` (none for a new one), choosing among `measures`."""
    initial = []
    if report is not None:
        loaded = {m.pk: m for m in measures}
        lines = report.lines.order_by("position", "id").values_list("measure_id", flat=True)
        initial = [
            {"measure": loaded.get(measure_id, measure_id), "position": number}
            for number, measure_id in enumerate(lines, start=1)
        ]
    next_position = len(initial) + 1
    formset = ReportLineFormSet(
        data, initial=initial, prefix="lines", form_kwargs={"measures": measures}
    )
    for offset, form in enumerate(formset.extra_forms):
        form.fields["position"].initial = next_position + offset
    return formset


@transaction.atomic
def report_save(
    *, form: ReportForm, lines: BaseReportLineFormSet, creator: AbstractBaseUser
) -> Report:
    """Save the report and replace its lines with the measures chosen, numbered 0, 1, ...
    Replacing (not updating) lines lets two measures swap places without meeting the
    one-measure-once constraint halfway. A new report is owned by `creator`."""
    if form.instance.pk is None:
        form.instance.owner = creator
    before = changes.snapshot_stored(form.instance)
    if before is not None:
        before["measures"] = _report_lines(form.instance)
    report = form.save()
    report.lines.all().delete()
    ReportMeasure.objects.bulk_create(
        ReportMeasure(report=report, measure=measure, position=position)
        for position, measure in enumerate(lines.chosen())
    )
    changes.change_record(
        subject=report,
        actor=creator,
        before=before,
        via="report_save",
        related={"measures": _report_lines(report)},
    )
    return report


def _report_lines(report: Report) -> list[str]:
    """The report's measures in their order (the order is part of the report)."""
    return [
        str(line.measure) for line in report.lines.select_related("measure").order_by("position")
    ]


# --- Objectives -------------------------------------------------------------------------------


class ObjectiveForm(forms.ModelForm):
    """A node of the MVGO tree. Its parent ranks above it (a goal sits under a vision or the
    mission), and never below it: no node hangs from itself or its descendants."""

    class Meta:
        formfield_callback = bounded_formfield
        model = Objective
        fields = ["level", "parent", "title", "description"]
        labels = {"parent": "Serves"}
        help_texts = {
            "parent": "The mission, vision or goal above it; none for the mission itself."
        }
        widgets = {"description": _text()}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk is None:
            self.initial.setdefault("level", Objective.Level.OBJECTIVE)
        parent = self.fields["parent"]
        parent.queryset = Objective.objects.all()
        parent.empty_label = "Nothing: it is at the top"
        below = {self.instance.pk} | self._descendants() if self.instance.pk else set()
        offered = sorted(
            (o for o in Objective.objects.all() if o.pk not in below),
            key=lambda o: (OBJECTIVE_RANK[o.level], o.title),
        )
        parent.widget.choices = [("", parent.empty_label)] + [(o.pk, str(o)) for o in offered]

    def _descendants(self) -> set[int]:
        if not hasattr(self, "_descendant_ids"):
            self._descendant_ids = objective_descendant_ids(self.instance)
        return self._descendant_ids

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        level, parent = data.get("level"), data.get("parent")
        if not level:
            return data
        if parent is not None:
            if self.instance.pk and parent.pk == self.instance.pk:
                self.add_error("parent", "It cannot serve itself.")
            elif self.instance.pk and parent.pk in self._descendants():
                self.add_error(
                    "parent", f"{parent.title} serves it already: it cannot serve {parent.title}."
                )
            elif OBJECTIVE_RANK[parent.level] >= OBJECTIVE_RANK[level]:
                self.add_error("parent", _misplaced(level, parent))
        if self.instance.pk:
            misplaced = [
                child.title
                for child in self.instance.children.all()
                if OBJECTIVE_RANK[child.level] <= OBJECTIVE_RANK[level]
            ]
            if misplaced:
                self.add_error(
                    "level",
                    f"{', '.join(misplaced)} serve{'s' if len(misplaced) == 1 else ''} it and "
                    f"would no longer sit below it.",
                )
        return data

    def save_as(self, *, creator: AbstractBaseUser) -> Objective:
        if self.instance.pk is None:
            self.instance.owner = creator
        before = changes.snapshot_stored(self.instance)
        with transaction.atomic():
            objective = self.save()
            changes.change_record(
                subject=objective, actor=creator, before=before, via="objective_save"
            )
            return objective


def _a(level: str) -> str:
    return f"an {level}" if level[0] in "aeiou" else f"a {level}"


def _misplaced(level: str, parent: Objective) -> str:
    above = [
        value
        for value, _ in Objective.Level.choices
        if OBJECTIVE_RANK[value] < OBJECTIVE_RANK[level]
    ]
    if not above:
        return "A mission serves nothing above it: leave this empty."
    return (
        f"{_a(level).capitalize()} serves {' or '.join(_a(value) for value in above)}, "
        f"not {_a(parent.level)}."
    )


# --- Cost rates -------------------------------------------------------------------------------


class CostRatesForm(forms.Form):
    """The hourly rate of each department the person may price, one field each (named
    `rate_<department id>`); an empty field means no rate is known."""

    def __init__(
        self,
        *args: Any,
        departments: Sequence[tuple[Department, CostRate | None]],
        currency: str,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.departments = {d.pk: (d, rate) for d, rate in departments}
        for department, rate in departments:
            self.fields[f"rate_{department.pk}"] = forms.DecimalField(
                label=f"{department.name} ({currency} an hour)",
                required=False,
                max_digits=8,
                decimal_places=2,
                min_value=Decimal("0.01"),
                initial=rate.hourly_rate if rate else None,
                help_text="Leave empty if unknown: its hours are then not costed.",
                widget=forms.NumberInput(attrs={"step": "0.01", "min": "0.01"}),
            )

    @transaction.atomic
    def save(self, *, by: AbstractBaseUser) -> list[Department]:
        """Write the rates that changed, as `by`; return the departments whose rate
        changed."""
        changed = []
        for pk, (department, rate) in self.departments.items():
            value = self.cleaned_data.get(f"rate_{pk}")
            current = rate.hourly_rate if rate else None
            if value == current:
                continue
            stored = CostRate.objects.filter(department=department).first()
            if value is None:
                if stored is not None:
                    changes.deletion_record(subject=stored, actor=by, via="cost_rates_save")
                    stored.delete()
            else:
                before = changes.snapshot(stored) if stored is not None else None
                saved, _ = CostRate.objects.update_or_create(
                    department=department, defaults={"hourly_rate": value}
                )
                changes.change_record(subject=saved, actor=by, before=before, via="cost_rates_save")
            changed.append(department)
        return changed


# --- Service reviews --------------------------------------------------------------------------


class ServiceReviewForm(forms.Form):
    """The accountable customer's periodic review: the questions a business owner answers,
    not a requester's star rating."""

    NEEDS = [
        (1, "1: not at all"),
        (2, "2: poorly"),
        (3, "3: partly"),
        (4, "4: mostly"),
        (5, "5: fully"),
    ]

    reviewed_on = forms.DateField(
        label="Reviewed on", widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    needs_met = forms.TypedChoiceField(
        label="Did the service meet the business's needs?",
        choices=NEEDS,
        coerce=int,
        widget=forms.RadioSelect,
    )
    value = forms.CharField(label="What value did it bring?", max_length=2000, widget=_text(4))
    changes = forms.CharField(
        label="What should change?", required=False, max_length=2000, widget=_text(4)
    )
