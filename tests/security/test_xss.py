"""Hostile text, typed into every field a person can write, never runs where it is shown.

The demo enterprise is loaded (its catalog, value streams, journeys, reports and scripted
requests with their comments, hand-offs and consults), then every text a person can write
is overwritten with a classic cross-site-scripting payload: names arriving by SCIM, request
subjects and answers, comments and notes, articles, consult questions, hand-off reasons,
findings, value claims, portfolio notes, attachment names, e-mail-in subjects. Every page
reachable by following links as each kind of person is then parsed with an HTML parser:
no script element, event-handler attribute or `javascript:` URL may carry the payload's
marker. E-mails, CSV exports (formula injection) and the XES export (well-formed XML) are
checked the same way.
"""

from __future__ import annotations

import itertools
import re
import xml.etree.ElementTree as ET
from collections import deque
from io import StringIO
from urllib.parse import urlsplit

import pytest
from django.apps import apps
from django.contrib.auth import get_user_model
from django.core import mail
from django.core.management import call_command
from django.db import models
from django.urls import Resolver404, resolve, reverse

from esm.models import DepartmentRole, Profile
from reporting.delivery import subscription_email
from reporting.models import Report, Subscription
from services import notifications
from services.markdown import render_markdown
from services.models import Comment, ServiceRequest
from tests.security.hostile import (
    EVERYTHING,
    FORMULA,
    MARKER,
    PAYLOADS,
    csv_cells,
    executable_markup,
)
from valuestreams.exports import ExportRow, event_log_csv, event_log_xes
from valuestreams.models import ValueStream

pytestmark = pytest.mark.django_db


# The fields people write (by hand, by SCIM or by e-mail); identifiers, keys and secrets are
# left alone: they are never typed free text.
WRITTEN = {
    "auth.User": ["first_name", "last_name"],
    "esm.Department": ["name", "description"],
    "esm.Profile": ["job_title"],
    "esm.Location": ["name"],
    "esm.DirectoryGroup": ["display_name"],
    "services.Category": ["name"],
    "services.Service": ["name", "outcome", "activities_before", "activities_after",
                         "decision_note"],
    "services.ServiceValueClaim": ["claim"],
    "services.CatalogItem": ["name", "summary", "description"],
    "services.FormField": ["label", "help_text", "pattern_message"],
    "services.ServiceRequest": ["subject", "resolution"],
    "services.Approval": ["comment"],
    "services.Comment": ["body"],
    "services.Attachment": ["name"],
    "services.ExperienceRating": ["comment"],
    "services.Queue": ["name", "description"],
    "services.FulfilmentTask": ["title", "handoff_reason", "resolution"],
    "services.CannedReply": ["title", "body"],
    "services.PlanStep": ["name"],
    "services.Consult": ["question", "answer"],
    "services.Article": ["title", "body"],
    "services.InboundMessage": ["sender", "subject", "reason"],
    "valuestreams.ValueStream": ["name", "outcome", "customer"],
    "valuestreams.Stage": ["name"],
    "journeys.JourneyMap": ["name", "goal"],
    "journeys.JourneyStage": ["name"],
    "journeys.Touchpoint": ["name", "description", "notes"],
    "journeys.Finding": ["title", "description"],
    "reporting.Audience": ["name", "wants_to_know", "why", "acts_by"],
    "reporting.Objective": ["title", "description"],
    "reporting.Measure": ["name", "definition", "decision", "decision_maker"],
    "reporting.Report": ["name", "narrative"],
    "reporting.ServiceReview": ["value", "changes"],
    "reporting.ReportFeedback": ["decision", "missing"],
    "reporting.ReadinessAssessment": ["evidence"],
    "reporting.TribalGroup": ["name", "description"],
    "reporting.RolloutStep": ["title", "lessons_learned"],
}  # fmt: skip
WRITTEN_JSON_KEYS = {"display", "reason", "note", "comment", "question", "answer", "body"}

# One page per route: a route renders its fields through one template, so a second page of
# it shows the same fields again with other rows.
PAGES_PER_ROUTE = 1
PAGES_PER_PERSON = 120


def _payload(number: int, field: models.Field) -> str:
    if isinstance(field, models.TextField):
        return EVERYTHING
    text = PAYLOADS[number % len(PAYLOADS)]
    return text[: field.max_length] if field.max_length else text


def _poisoned(value: object, number: int) -> object:
    if isinstance(value, dict):
        return {
            key: PAYLOADS[number % len(PAYLOADS)]
            if key in WRITTEN_JSON_KEYS and isinstance(item, str)
            else _poisoned(item, number)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [_poisoned(item, number + offset) for offset, item in enumerate(value)]
    return value


def _poison_everything() -> None:
    counter = itertools.count()
    for label, names in WRITTEN.items():
        model = apps.get_model(label)
        fields = [model._meta.get_field(name) for name in names]
        for row in model.objects.all():
            for field in fields:
                setattr(row, field.attname, _payload(next(counter), field))
            model.objects.filter(pk=row.pk).update(
                **{f.attname: getattr(row, f.attname) for f in fields}
            )
    for service_request in ServiceRequest.objects.all():
        service_request.answers = _poisoned(service_request.answers, next(counter))
        service_request.save(update_fields=["answers"])


@pytest.fixture(scope="module")
def hostile_world(django_db_setup, django_db_blocker):
    """The demo enterprise without its weeks of history, every written text made hostile;
    committed once for the module and emptied again afterwards."""
    with django_db_blocker.unblock():
        call_command("flush", interactive=False, verbosity=0)
        try:
            call_command("seed_demo", password="x", without_history=True, stdout=StringIO())
            _poison_everything()
            yield
        finally:
            call_command("flush", interactive=False, verbosity=0)


# -- what counts as executable -------------------------------------------------------------


def test_the_checker_finds_what_an_unescaped_payload_would_run():
    found = executable_markup("<p>" + "".join(PAYLOADS) + "</p>")

    assert len(found) >= 5


def test_markdown_keeps_no_executable_markup_of_any_payload():
    html = str(render_markdown(EVERYTHING))

    assert executable_markup(html) == []
    assert "<script" not in html
    assert "<iframe" not in html


# -- every page, as every kind of person -----------------------------------------------------


def _personas() -> dict[str, object]:
    User = get_user_model()
    agent = DepartmentRole.objects.filter(role=DepartmentRole.Role.AGENT).first().user
    manager = DepartmentRole.objects.filter(role=DepartmentRole.Role.MANAGER).first().user
    executive = Profile.objects.filter(is_executive=True).first().user
    requester = ServiceRequest.objects.order_by("pk").first().requester
    superuser, _ = User.objects.get_or_create(
        username="xss-root", defaults={"is_staff": True, "is_superuser": True}
    )
    return {
        "requester": requester,
        "agent": agent,
        "manager": manager,
        "executive": executive,
        "superuser": superuser,
    }


START_PAGES = ["home", "my_requests", "workspace", "dashboards"]
NOT_FOLLOWED = ("/account/sign-out", "/account/password", "/api/", "/static/", "/scim/")


def _route(path: str) -> str | None:
    try:
        match = resolve(path)
    except Resolver404:
        return None
    return match.view_name


def _crawl(client) -> tuple[dict[str, list[str]], list[str], int]:
    """Pages reached by following links from the start pages: what each would run, the
    ones that failed, and how many showed the marker (as text)."""
    queue = deque(reverse(name) for name in START_PAGES)
    seen: set[str] = set()
    per_route: dict[str, int] = {}
    problems: dict[str, list[str]] = {}
    failures: list[str] = []
    showing = 0
    while queue and len(seen) < PAGES_PER_PERSON:
        path = queue.popleft()
        route = _route(urlsplit(path).path)
        if path in seen or route is None or per_route.get(route, 0) >= PAGES_PER_ROUTE:
            continue
        seen.add(path)
        per_route[route] = per_route.get(route, 0) + 1
        response = client.get(path)
        if response.status_code >= 500:
            failures.append(f"{path}: {response.status_code}")
            continue
        if "html" not in response.get("Content-Type", "") or response.status_code != 200:
            continue
        html = response.content.decode()
        if found := executable_markup(html):
            problems[path] = found
        showing += MARKER in html
        for href in re.findall(r'href="([^"#]+)', html):
            target = urlsplit(href.replace("&amp;", "&"))
            if target.netloc or not target.path.startswith("/"):
                continue
            if target.path.startswith(NOT_FOLLOWED):
                continue
            queue.append(target.path + (f"?{target.query}" if target.query else ""))
    return problems, failures, showing


@pytest.mark.parametrize("persona", ["requester", "agent", "manager", "executive", "superuser"])
def test_no_page_runs_hostile_text(client, hostile_world, persona):
    client.force_login(_personas()[persona])

    problems, failures, showing = _crawl(client)

    assert problems == {}
    assert failures == []
    assert showing >= 5  # the hostile text is really on the pages, shown as text


def test_the_request_page_shows_hostile_answers_as_text(client, hostile_world):
    service_request = ServiceRequest.objects.exclude(answers=[]).order_by("pk").first()
    client.force_login(service_request.requester)

    html = client.get(reverse("request_detail", args=[service_request.reference])).text

    assert executable_markup(html) == []
    assert "&lt;script&gt;" in html or "&lt;img" in html or "&lt;svg" in html


# -- e-mails ------------------------------------------------------------------------------------


def test_e_mails_carry_hostile_text_as_text_on_one_subject_line(hostile_world, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    mail.outbox = []
    comments = Comment.objects.filter(is_internal=False).order_by("pk")[:5]
    for comment in comments:
        notifications.send("public_reply", comment.pk)
    for service_request in ServiceRequest.objects.order_by("pk")[:5]:
        notifications.send("request_resolved", service_request.pk)

    assert mail.outbox
    for message in mail.outbox:
        assert "\n" not in message.subject
        assert "\r" not in message.subject
        for content, kind in getattr(message, "alternatives", []):
            if "html" in kind:
                assert executable_markup(content) == []
    assert any(MARKER in message.body for message in mail.outbox)


def test_the_report_e_mail_in_html_runs_nothing(hostile_world):
    subscription = Subscription.objects.first()
    if subscription is None:
        pytest.skip("the demo subscribes nobody")
    message = subscription_email(subscription, now=subscription.created_at)

    html = next(content for content, kind in message.alternatives if "html" in kind)
    assert executable_markup(html) == []


# -- exports --------------------------------------------------------------------------------------


def _hostile_rows() -> list[ExportRow]:
    return [
        ExportRow(
            case_id="REQ-000001",
            activity=payload,
            timestamp="2025-01-01T00:00:00.000+00:00",
            department=PAYLOADS[(number + 1) % len(PAYLOADS)] + "\x0b\x1b",
            resource=PAYLOADS[(number + 2) % len(PAYLOADS)],
            lifecycle="complete",
            event="handed_off",
            stage=PAYLOADS[(number + 3) % len(PAYLOADS)],
        )
        for number, payload in enumerate(PAYLOADS)
    ]


def test_the_event_log_csv_neutralises_formulas():
    cells = csv_cells("".join(event_log_csv(_hostile_rows())))

    assert sum(MARKER in cell for cell in cells) == 4 * len(PAYLOADS)
    assert [cell for cell in cells if FORMULA.match(cell)] == []


def test_the_event_log_xes_is_well_formed_whatever_the_names():
    xes = "".join(event_log_xes(_hostile_rows(), log_name=EVERYTHING + "\x00"))

    root = ET.fromstring(xes)  # noqa: S314  (our own export)
    values = [element.get("value", "") for element in root.iter()]
    assert sum(MARKER in value for value in values) == 4 * len(PAYLOADS) + 1


def test_the_event_log_csv_download_neutralises_formulas(client, hostile_world):
    client.force_login(_personas()["superuser"])
    stream = ValueStream.objects.order_by("pk").first()

    response = client.get(reverse("valuestreams-api:stream-export-csv", args=[stream.slug]))

    assert response.status_code == 200
    cells = csv_cells(b"".join(response.streaming_content).decode())
    assert [cell for cell in cells if FORMULA.match(cell)] == []


def test_the_report_csv_neutralises_formulas(client, hostile_world):
    client.force_login(_personas()["superuser"])
    for report in Report.objects.all()[:3]:
        response = client.get(reverse("report_export", args=[report.slug]))
        if response.status_code != 200:
            continue
        cells = csv_cells(response.content.decode())
        assert [cell for cell in cells if FORMULA.match(cell)] == []


def test_the_xes_export_is_well_formed_xml_carrying_the_text(client, hostile_world):
    client.force_login(_personas()["superuser"])
    stream = ValueStream.objects.order_by("pk").first()

    response = client.get(reverse("valuestreams-api:stream-export-xes", args=[stream.slug]))

    assert response.status_code == 200
    root = ET.fromstring(b"".join(response.streaming_content))  # noqa: S314  (our own export)
    values = [element.get("value", "") for element in root.iter()]
    assert any(MARKER in value for value in values)
