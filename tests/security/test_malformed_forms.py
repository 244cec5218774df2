"""Malformed input to every page form an employee, agent or manager posts: the form comes back
with the error beside the field (400, or 409/413 where the project answers so) or a clear
4xx, never a 500, and nothing is saved.

The forms are not listed by hand. Each page is fetched as the person who uses it, every POST
form on it is read from the HTML (its action, and each input with its type, limits, choices
and hidden values), and one bad value per field type is sent at a time over an otherwise
valid submission: text longer than the field allows or holding a NUL, a required field left
out, a number that is not one or out of range, a date that does not exist, a choice that is
not offered (including ids of real objects the person may not pick, such as the HR queue
or another department's consult), a tampered hidden id or stale version, a file of a refused
type. The valid submission itself is first sent once and rolled back, so each refusal is
known to come from the one bad field.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.apps import apps
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.test import Client, TestCase
from django.urls import reverse

from journeys.models import Touchpoint
from services import actions
from services.models import Approval, FormField
from tests.security.world import World
from tests.services.factories import (
    ApprovalStepFactory,
    CatalogItemFactory,
    FormFieldFactory,
)
from tests.valuestreams.factories import StageFactory
from valuestreams.models import ValueStream

pytestmark = pytest.mark.django_db

REFUSED = {400, 403, 404, 405, 409, 413}
APPS = {"esm", "services", "journeys", "valuestreams", "reporting"}
# Filled in for a required box the page leaves empty, by the kind of value it takes.
ORDINARY = {"text": "Ordinary words", "number": "3", "date": "2031-06-03"}
# Hidden fields that only say where to go back to (a list's page): any value is harmless.
# Formset bounds are the server's own, never read back from the post.
NAVIGATION = {"page"}
SERVER_SIDE = ("-MIN_NUM_FORMS", "-MAX_NUM_FORMS")
# A formset's row counts are counts, not ids: posting fewer rows is how a row is removed.
ROW_COUNTS = ("-TOTAL_FORMS", "-INITIAL_FORMS")
FORMSET_ROW = re.compile(r"-\d+-")  # an extra row of a formset is left empty
# A note adds to a task without changing it, so it does not check the version it was
# written against (services.views.workspace.OPERATIONS); every other task form does, through
# the same check: a page's first versioned form has its version tampered with, the others not.
NOT_VERSIONED = {"note"}
TEXT_TYPES = {"text", "textarea", "email", "url", "search", "tel", "password"}


# -- reading the forms of a page -------------------------------------------------------------


@dataclass
class Input:
    name: str
    kind: str  # an input type, "textarea", "select" or "button"
    required: bool = False
    attrs: dict[str, str] = field(default_factory=dict)
    options: list[str] = field(default_factory=list)
    chosen: list[str] = field(default_factory=list)
    multiple: bool = False


@dataclass
class PageForm:
    action: str
    inputs: dict[str, Input] = field(default_factory=dict)

    def add(self, item: Input, *, value: str | None, chosen: bool) -> None:
        known = self.inputs.get(item.name)
        if known is None:
            self.inputs[item.name] = known = item
        elif item.kind in {"checkbox", "radio", "button"}:
            known.multiple = known.multiple or item.kind == "checkbox"
        if value is not None:
            known.options.append(value)
            if chosen:
                known.chosen.append(value)


class _Forms(HTMLParser):
    """Every form posted by the page, with what each of its inputs takes."""

    def __init__(self, page: str) -> None:
        super().__init__(convert_charrefs=True)
        self.page = page
        self.forms: list[PageForm] = []
        self.by_id: dict[str, PageForm] = {}
        self.current: PageForm | None = None
        self.select: Input | None = None
        self.option: str | None = None
        self.textarea: Input | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = {name: value or "" for name, value in attrs}
        if tag == "form":
            posted = found.get("method", "get").lower() == "post"
            self.current = PageForm(found.get("action") or self.page) if posted else None
            if self.current is not None:
                self.forms.append(self.current)
                self.by_id[found.get("id", "")] = self.current
            return
        # An input may belong to a form elsewhere on the page (the queue's bulk selection).
        form = self.by_id.get(found["form"]) if "form" in found else self.current
        if form is None or not found.get("name") or found["name"] == "csrfmiddlewaretoken":
            if tag == "option" and self.select is not None:
                self._option(found)
            return
        name, required = found["name"], "required" in found
        if tag == "input":
            kind = found.get("type", "text").lower()
            if kind in {"submit", "image", "reset"}:
                kind = "button" if "value" in found else ""
            if not kind:
                return
            item = Input(name, kind, required, found)
            checked = kind not in {"checkbox", "radio"} or "checked" in found
            if kind == "file":
                form.add(item, value=None, chosen=False)
            else:
                form.add(item, value=found.get("value", "on" if kind == "checkbox" else ""),
                         chosen=checked and kind != "button")  # fmt: skip
        elif tag == "button" and found.get("type", "submit") == "submit" and "value" in found:
            form.add(Input(name, "button", False, found), value=found["value"], chosen=False)
        elif tag == "textarea":
            self.textarea = Input(name, "textarea", required, found)
            form.add(self.textarea, value=None, chosen=False)
            self.textarea.chosen = [""]
        elif tag == "select":
            self.select = Input(name, "select", required, found, multiple="multiple" in found)
            form.add(self.select, value=None, chosen=False)
        elif tag == "option" and self.select is not None:
            self._option(found)

    def _option(self, found: dict[str, str]) -> None:
        assert self.select is not None
        self.select.options.append(found.get("value", ""))
        if "selected" in found:
            self.select.chosen.append(found.get("value", ""))

    def handle_data(self, data: str) -> None:
        if self.textarea is not None:
            # A newline right after <textarea> is not part of its value.
            text = self.textarea.chosen[0] + data
            self.textarea.chosen = [
                text.removeprefix("\n") if not self.textarea.chosen[0] else text
            ]

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self.current = None
        elif tag == "select":
            self.select = None
        elif tag == "textarea":
            self.textarea = None


def page_forms(html: str, page: str) -> list[PageForm]:
    parser = _Forms(page)
    parser.feed(html)
    parser.close()
    return [form for form in parser.forms if any(i.kind != "button" for i in form.inputs.values())]


# -- a valid submission, and one bad value per field ---------------------------------------------


def _value_kind(item: Input) -> str:
    if item.kind in {"number", "range"}:
        return "number"
    if item.kind in {"date", "datetime-local", "month", "week", "time"}:
        return "date"
    return "text"


def valid_data(form: PageForm, filled: dict[str, str]) -> dict[str, Any] | None:
    data: dict[str, Any] = {}
    for name, item in form.inputs.items():
        if item.kind == "file":
            continue
        if item.kind == "button":
            data[name] = item.options[0]
            continue
        values = [value for value in item.chosen if value != ""]
        if name in filled and (item.kind != "select" or filled[name] in item.options):
            values = [filled[name]]
        if (
            item.kind == "select"
            and not values
            and not item.multiple
            and not FORMSET_ROW.search(name)
        ):
            values = [option for option in item.options if option][:1]
        if item.kind == "radio" and not values:
            values = [item.options[0]]
        if not values and item.required and item.kind == "select":
            return None  # nothing can be chosen here (no queue to hand off to): not postable
        if not values and item.required:
            values = [ORDINARY[_value_kind(item)]]
        if values:
            data[name] = values if item.multiple else values[0]
    return data


def _numeric(value: str) -> bool:
    return value.lstrip("-").isdigit()


def bad_values(item: Input, foreign_ids: list[str]) -> list[tuple[str, Any]]:
    """(what is wrong, the value) for one field; `None` as the value leaves the field out."""
    cases: list[tuple[str, Any]] = []
    kind = item.kind
    offered = set(item.options)
    if item.required and kind != "hidden":
        cases.append(("left out", None))
    if kind in TEXT_TYPES or kind == "textarea":
        limit = int(item.attrs.get("maxlength") or 0)
        cases.append(("too long", "x" * (limit + 1 if limit else 1_000_001)))
        cases.append(("NUL", "a\x00b"))
        if item.required:
            cases.append(("blank", "   "))
        if item.attrs.get("pattern"):
            cases.append(("off pattern", "!! no pattern matches this !!"))
    elif kind == "number":
        # "NaN" is no whole number, and a float field parses it: both must refuse it.
        cases.append(("not finite", "NaN"))
        if item.attrs.get("step") != "any":  # a float takes 1e40; a whole number may not
            cases.append(("huge", "9" * 40))
        if item.attrs.get("max"):
            cases.append(("over the maximum", str(float(item.attrs["max"]) + 1)))
        elif item.attrs.get("min"):
            cases.append(("under the minimum", str(float(item.attrs["min"]) - 1)))
    elif kind in {"date", "datetime-local"}:
        cases.append(("no such date", "2025-02-30"))
    elif kind in {"select", "radio", "checkbox", "button"}:
        if kind == "checkbox" and not item.multiple:
            return cases  # a single box is on or off: any value is "on"
        unknown: Any = "not-one-of-the-choices"
        cases.append(("unknown choice", [unknown] if item.multiple else unknown))
        if any(_numeric(option) for option in offered):
            for foreign in [pk for pk in foreign_ids if pk not in offered][:1]:
                cases.append((f"id {foreign} not offered", [foreign] if item.multiple else foreign))
    elif kind == "hidden" and item.name not in NAVIGATION and not item.name.endswith(SERVER_SIDE):
        value = item.chosen[0] if item.chosen else ""
        if _numeric(value):
            cases += [("not a number", "abc"), ("overflow", str(2**64))]
            if item.name == "version":
                cases.append(("stale version", str(int(value) - 1)))
                cases.append(("future version", str(int(value) + 1)))
            elif not item.name.endswith(ROW_COUNTS):
                foreign = [pk for pk in foreign_ids if pk != value][:1]
                cases += [(f"id {pk} tampered in", pk) for pk in foreign]
        else:
            cases.append(("too long", "x" * 100_001))
    elif kind == "file":
        cases.append(("program", SimpleUploadedFile("run.exe", b"MZ\x90\x00", "application/pdf")))
        cases.append(("not what its name says", SimpleUploadedFile("a.pdf", b"plain words")))
    return cases


# -- what "nothing saved" means ------------------------------------------------------------------


def fingerprint() -> dict[str, str]:
    """Every row of the portal's own tables, hashed per table: a refused post may change none
    of them (the event log included)."""
    tables = {}
    for model in apps.get_models():
        if model._meta.app_label not in APPS or model._meta.proxy:
            continue
        digest = hashlib.sha256()
        for row in model.objects.order_by("pk").values_list():
            digest.update(repr(row).encode())
        tables[model._meta.label] = digest.hexdigest()
    return tables


def _post(client: Client, form: PageForm, data: dict[str, Any]) -> Any:
    return client.post(form.action, data)


def _accepted(response: Any) -> bool:
    return response.status_code < 400 and not (
        response.status_code == 200 and b"error" in response.content
    )


def _error_beside(response: Any, item: Input) -> bool:
    """Whether the re-rendered page marks the field (or, for a hidden one, the form)."""
    html = response.content.decode(errors="replace")
    if response.status_code != 200:
        return True  # a clear 4xx
    if item.kind in {"hidden", "button"}:
        return "error" in html
    for block in html.split('class="field has-error"')[1:]:
        if f'name="{item.name}"' in block.split('class="field', 1)[0]:
            return True
    return f'name="{item.name}"' in html and 'class="error"' in html


# -- the world the forms are posted in ----------------------------------------------------------


@dataclass
class Pages:
    world: World
    by_persona: list[tuple[str, str]]
    filled: dict[str, str]
    foreign_ids: list[str]


def _every_kind(world: World) -> str:
    """A catalog item asking one question of every kind, with limits where a kind has them."""
    it = world.it_queue.department
    item = CatalogItemFactory(department=it, service__department=it, slug="every-kind")
    kinds = FormField.Kind
    FormFieldFactory(item=item, key="code", kind=kinds.TEXT, required=True, pattern="[A-Z]{3}",
                     max_value=3)  # fmt: skip
    FormFieldFactory(item=item, key="story", kind=kinds.LONG_TEXT)
    FormFieldFactory(item=item, key="count", kind=kinds.NUMBER, min_value=1, max_value=10)
    FormFieldFactory(item=item, key="day", kind=kinds.DATE, required=True)
    FormFieldFactory(item=item, key="size", kind=kinds.CHOICE, choices="S\nM\nL", required=True)
    FormFieldFactory(item=item, key="extras", kind=kinds.MULTI_CHOICE, choices="Bag\nMouse",
                     max_value=1)  # fmt: skip
    FormFieldFactory(item=item, key="urgent", kind=kinds.YES_NO)
    FormFieldFactory(item=item, key="colleague", kind=kinds.PERSON)
    FormFieldFactory(item=item, key="file", kind=kinds.ATTACHMENT)
    return item.slug


def _resolved_request(world: World) -> str:
    employee, agent = world.people["employee"], world.people["it_agent"]
    service_request, _ = actions.service_request_submit(
        item=world.it_case.service_request.catalog_item,
        raised_by=employee,
        subject="A resolved one",
        answers=[],
        submission_key="resolved-for-forms",
    )
    task = actions.task_claim(task=service_request.tasks.get(), agent=agent)
    actions.task_resolve(task=task, agent=agent, resolution="Done")
    return service_request.reference


def _pending_approval(world: World) -> None:
    it = world.it_queue.department
    item = CatalogItemFactory(department=it, service__department=it, slug="approved-item")
    ApprovalStepFactory(item=item)
    actions.service_request_submit(
        item=item,
        raised_by=world.people["employee"],
        subject="Needs a yes",
        answers=[],
        submission_key="approval-for-forms",
    )
    assert Approval.objects.filter(state=Approval.State.PENDING).exists()


@pytest.fixture(scope="module")
def pages(world: World, django_db_blocker) -> Pages:
    with django_db_blocker.unblock(), TestCase.captureOnCommitCallbacks(execute=False):
        every_kind = _every_kind(world)
        resolved = _resolved_request(world)
        _pending_approval(world)
        # A task handed from IT to HR offers "send back"; the HR agent holds it.
        handed = actions.task_hand_off(
            task=world.it_case.task,
            agent=world.people["it_agent"],
            to_queue=world.hr_queue,
            reason="HR decides this",
        )
        world.it_case.task.refresh_from_db()
        # A second stage, so a handoff target has two ends.
        equip = StageFactory(stream=ValueStream.objects.get(slug=world.stream_slug), name="Equip",
                     department=world.it_queue.department, parallel_group=99)  # fmt: skip
        touchpoint = Touchpoint.objects.get(stage__journey__slug=world.journey_slug)
    it_request = world.it_case.service_request.reference
    stream, journey, report = world.stream_slug, world.journey_slug, world.report_slug
    service = world.it_case.service_request.catalog_item.service.slug
    hr_task, point = world.hr_case.task, touchpoint.pk
    by_persona = [
        ("employee", reverse("catalog_item", args=[every_kind])),
        ("employee", reverse("request_detail", args=[it_request])),
        ("employee", reverse("request_detail", args=[resolved])),
        ("line_manager", reverse("approvals")),
        ("hr_agent", reverse("task_detail", args=[handed.pk])),
        ("hr_agent", reverse("task_detail", args=[hr_task.pk])),
        ("it_agent", reverse("task_detail", args=[world.consult.consult_task_id])),
        ("it_agent", reverse("queue_detail", args=[world.it_queue.slug])),
        ("it_agent", reverse("article_edit", args=[world.draft.slug])),
        ("it_manager", reverse("valuestream_edit", args=[stream])),
        ("it_manager", reverse("valuestream_stages", args=[stream])),
        ("it_manager", reverse("valuestream_handoffs", args=[stream])),
        ("it_manager", reverse("journey_edit", args=[journey])),
        ("it_manager", reverse("journey_stages", args=[journey])),
        ("it_manager", f"{reverse('journey_finding_new', args=[journey])}?touchpoint={point}"),
        ("it_manager", reverse("report_edit", args=[report])),
        ("it_manager", reverse("report_feedback", args=[report])),
        ("it_manager", reverse("report_subscription", args=[report])),
        ("superuser", reverse("service_portfolio_edit", args=[service])),
        ("superuser", reverse("measure_new")),
        ("superuser", reverse("audience_new")),
        ("superuser", reverse("objective_new")),
        ("superuser", reverse("cost_rates")),
    ]  # fmt: skip
    hidden = [world.hr_case.task, world.consult, world.hr_queue, world.hr_case.service_request]
    return Pages(
        world=world,
        by_persona=by_persona,
        filled={
            "owner": "it_manager",
            "colleague": "line_manager",
            "slug": "a-fresh-slug",
            "key": "automation_rate",
            "function": "automation_rate",
            "parent": "",
            "decision": "Moved two agents",
            "field_code": "ABC",
            "field_day": "2031-06-03",
            "field_size": "M",
            "tasks": str(world.consult.consult_task_id),
            "assignee": str(world.people["it_agent"].pk),
            "to_stage": str(equip.pk),
        },
        foreign_ids=sorted({str(thing.pk) for thing in hidden} | {"987654"}),
    )


def _cases(pages: Pages, persona: str, page: str) -> tuple[list[str], list[str], list[str]]:
    """(bad values accepted, answers that were not a clear refusal, refusals without an
    error beside the field) for every form of one page."""
    client = pages.world.clients[persona]
    response = client.get(page)
    assert response.status_code == 200, f"{persona} cannot open {page}"
    forms = page_forms(response.content.decode(), urlsplit(page).path)
    assert forms, f"{page} has no form"
    accepted, unclear, unmarked = [], [], []
    before = fingerprint()
    version_tried = False
    for form in forms:
        base = valid_data(form, pages.filled)
        if base is None:
            continue
        with transaction.atomic():
            answer = _post(client, form, base)
            transaction.set_rollback(True)
        if answer.status_code == 409:
            continue  # the task's state refuses the action: its fields are tried on another page
        if not _accepted(answer):
            errors = re.findall(
                r'class="(?:error|form-errors)[^>]*>\s*(?:<p>)?([^<]*)', answer.text
            )
            marked = re.findall(r'has-error">\s*<label for="([^"]*)', answer.text)
            unclear.append(f"{form.action} refuses {base}: {answer.status_code} {errors} {marked}")
            continue
        versioned = "version" in form.inputs and (
            form.action.rstrip("/").rsplit("/", 1)[-1] not in NOT_VERSIONED
        )
        for name, item in form.inputs.items():
            if name == "version" and (version_tried or not versioned):
                continue
            for what, value in bad_values(item, pages.foreign_ids):
                data = {key: val for key, val in base.items() if key != name}
                if value is not None:
                    data[name] = value
                answer = _post(client, form, data)
                label = f"{form.action} {name}: {what} -> {answer.status_code}"
                if answer.status_code < 400 and answer.status_code != 200:
                    accepted.append(label)
                elif answer.status_code not in REFUSED | {200}:
                    unclear.append(label)
                elif not _error_beside(answer, item):
                    unmarked.append(label)
        version_tried = version_tried or versioned
    after = fingerprint()
    changed = [label for label, digest in after.items() if before.get(label) != digest]
    assert changed == [], f"a post on {page} saved something; accepted: {accepted}"
    return accepted, unclear, unmarked


@pytest.mark.parametrize("number", range(23))
def test_bad_values_in_page_forms_are_refused_beside_the_field_and_save_nothing(pages, number):
    persona, page = pages.by_persona[number]

    accepted, unclear, unmarked = _cases(pages, persona, page)

    assert accepted == []
    assert unclear == []
    assert unmarked == []
