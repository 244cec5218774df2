"""The nine signs that a department is ready to extend service management to its work.

Each sign is a question. Five are answered from the portal's own data, four from the
latest `ReadinessAssessment` an owner recorded (the portal cannot see a sponsor or a
culture). A data-drawn sign with no data to judge falls back to the latest assessment,
and says so. Every answer carries its evidence, shown beside it. The rules:

1. ``outcome_reports``: *Do the department's reports show business outcomes, not only
   outputs?* Its reports are those whose audience names the department or whose owner is
   its staff (agent or manager). Yes when one of them holds an outcome or experience
   measure; partly when it has reports of outputs only; no when it has none.
2. ``owned_by_business``: *Are its services owned by someone outside its own staff?* Of
   its live services with an owner, those whose owner holds no role (agent or manager) in
   the department. Yes at half or more, partly for some, no for none.
3. ``consistent_experience``: *Do employees get a consistent experience across its
   services?* The mean daily `experience_rating` snapshot of each of its services over
   the last WINDOW_DAYS; the spread is the best service's mean minus the worst's. Yes
   within 0.75 of a point, partly within 1.5, no beyond; fewer than two rated services
   cannot be judged.
4. ``lean_processes``: *Are its processes lean?* Over the value-stream stages it owns,
   cases started in the last WINDOW_DAYS: flow efficiency = process time / (process time
   + queue, department and automation wait), and %C&A = 1 - flawed / received. Yes when
   flow efficiency >= 25 % and %C&A >= 85 %, partly when one holds, no when neither.
5. ``successes_published``: *Does it publish its successes?* Its published knowledge
   articles plus its journey findings marked done. Yes at three or more, partly for one
   or two, no for none.
6. ``business_sponsor`` (assessed): *Does a senior business sponsor own the ambition?*
7. ``service_mindset`` (assessed): *Do its people see their work as services with
   customers and outcomes?*
8. ``shared_platform`` (assessed): *Is it willing to leave its own tools and inboxes for
   the shared platform?*
9. ``capacity_to_change`` (assessed): *Has it the people and time to change how it works?*

Every sign costs a fixed number of queries whatever the number of departments: each
data-drawn rule is one or two grouped queries over all departments, the assessments one
more.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.db.models import Avg, Count, Exists, OuterRef, Q, Sum

from esm import clock
from esm.models import Department, DepartmentRole
from journeys.models import Finding
from reporting.models import Measure, ReadinessAssessment, Report, ReportMeasure, Snapshot
from services.models import Article, Service
from valuestreams.models import CaseStage

WINDOW_DAYS = 90
YES, PARTLY, NO = (
    ReadinessAssessment.Answer.YES,
    ReadinessAssessment.Answer.PARTLY,
    ReadinessAssessment.Answer.NO,
)
OUTCOME_KINDS = (Measure.Kind.OUTCOME, Measure.Kind.EXPERIENCE)
SPREAD_YES, SPREAD_PARTLY = 0.75, 1.5
FLOW_EFFICIENCY_LEAN, COMPLETE_ACCURATE_LEAN = 0.25, 0.85
SUCCESSES_YES = 3


@dataclass(frozen=True)
class Answer:
    answer: str
    """"yes", "partly" or "no"; "" when neither the data nor anyone has answered yet."""
    evidence: str
    from_data: bool
    assessed: ReadinessAssessment | None = None

    @property
    def label(self) -> str:
        return ReadinessAssessment.Answer(self.answer).label if self.answer else "Not answered"


Rule = Callable[[list[int]], dict[int, Answer]]
"""Department ids in, an answer for those the data can judge out (the rest: assessment)."""


@dataclass(frozen=True)
class Sign:
    key: str
    question: str
    rule: Rule | None = None
    """None: only an owner's assessment answers it."""


@dataclass(frozen=True)
class SignAnswer:
    sign: Sign
    answer: Answer


def _since() -> dt.datetime:
    return clock.now() - dt.timedelta(days=WINDOW_DAYS)


def outcome_reports(department_ids: list[int]) -> dict[int, Answer]:
    has_outcome = Exists(
        ReportMeasure.objects.filter(report=OuterRef("pk"), measure__kind__in=OUTCOME_KINDS)
    )
    reports = Report.objects.annotate(has_outcome=has_outcome)
    # A report is the department's when its audience names the department or its owner
    # works there: two paths, so two small queries of (department, report) pairs.
    pairs = {
        (department, pk, outcome)
        for path in ("audience__departments", "owner__department_roles__department")
        for department, pk, outcome in reports.filter(
            **{f"{path}__in": department_ids}
        ).values_list(path, "pk", "has_outcome")
    }
    counted: dict[int, dict[int, bool]] = defaultdict(dict)
    for department, pk, outcome in pairs:
        counted[department][pk] = outcome
    answers = {}
    for pk in department_ids:
        found = counted.get(pk, {})
        with_outcomes = sum(found.values())
        if not found:
            answers[pk] = Answer(NO, "No report is read for it or kept by its staff.", True)
        elif with_outcomes:
            answers[pk] = Answer(
                YES,
                f"{with_outcomes} of its {len(found)} reports show outcome or experience measures.",
                True,
            )
        else:
            answers[pk] = Answer(PARTLY, f"Its {len(found)} reports show outputs only.", True)
    return answers


def owned_by_business(department_ids: list[int]) -> dict[int, Answer]:
    staff = DepartmentRole.objects.filter(user=OuterRef("owner"), department=OuterRef("department"))
    rows = (
        Service.objects.filter(
            department__in=department_ids, status=Service.Status.LIVE, owner__isnull=False
        )
        .values("department")
        .annotate(owned=Count("pk"), outside=Count("pk", filter=~Q(Exists(staff))))
    )
    answers = {}
    for row in rows:
        outside, owned = row["outside"], row["owned"]
        answer = YES if outside * 2 >= owned else PARTLY if outside else NO
        answers[row["department"]] = Answer(
            answer, f"{outside} of its {owned} owned live services are owned outside it.", True
        )
    for pk in department_ids:
        answers.setdefault(pk, Answer(NO, "None of its live services has an owner.", True))
    return answers


def consistent_experience(department_ids: list[int]) -> dict[int, Answer]:
    rows = (
        Snapshot.objects.filter(
            measure__key="experience_rating",
            service__department__in=department_ids,
            day__gte=_since().date(),
            value__isnull=False,
        )
        .values("service__department", "service__name")
        .annotate(mean=Avg("value"))
    )
    means: dict[int, list[tuple[float, str]]] = defaultdict(list)
    for row in rows:
        means[row["service__department"]].append((row["mean"], row["service__name"]))
    answers = {}
    for pk, rated in means.items():
        if len(rated) < 2:
            continue
        (low, worst), (high, best) = min(rated), max(rated)
        spread = high - low
        answer = YES if spread <= SPREAD_YES else PARTLY if spread <= SPREAD_PARTLY else NO
        answers[pk] = Answer(
            answer,
            f"Mean ratings of its {len(rated)} rated services run from {low:.1f} ({worst}) "
            f"to {high:.1f} ({best}): a spread of {spread:.1f}.",
            True,
        )
    return answers


def lean_processes(department_ids: list[int]) -> dict[int, Answer]:
    rows = (
        CaseStage.objects.filter(stage__department__in=department_ids, started_at__gte=_since())
        .values("stage__department")
        .annotate(
            process=Sum("process_minutes"),
            waited=Sum("queue_wait_minutes")
            + Sum("department_wait_minutes")
            + Sum("automation_wait_minutes"),
            received=Sum("received"),
            flawed=Sum("flawed"),
        )
    )
    answers = {}
    for row in rows:
        worked = (row["process"] or 0) + (row["waited"] or 0)
        if not worked or not row["received"]:
            continue
        efficiency = (row["process"] or 0) / worked
        complete = 1 - (row["flawed"] or 0) / row["received"]
        held = (efficiency >= FLOW_EFFICIENCY_LEAN) + (complete >= COMPLETE_ACCURATE_LEAN)
        answers[row["stage__department"]] = Answer(
            (NO, PARTLY, YES)[held],
            f"Its value-stream stages: flow efficiency {efficiency:.0%}, "
            f"%C&A {complete:.0%} (last {WINDOW_DAYS} days).",
            True,
        )
    return answers


def successes_published(department_ids: list[int]) -> dict[int, Answer]:
    articles = dict(
        Article.objects.published()
        .filter(department__in=department_ids)
        .values_list("department")
        .annotate(Count("pk"))
    )
    findings = dict(
        Finding.objects.filter(
            status=Finding.Status.DONE, touchpoint__department__in=department_ids
        )
        .values_list("touchpoint__department")
        .annotate(Count("pk"))
    )
    answers = {}
    for pk in department_ids:
        written, done = articles.get(pk, 0), findings.get(pk, 0)
        total = written + done
        answers[pk] = Answer(
            YES if total >= SUCCESSES_YES else PARTLY if total else NO,
            f"{written} published knowledge articles, {done} journey findings done.",
            True,
        )
    return answers


SIGNS: tuple[Sign, ...] = (
    Sign(
        "outcome_reports",
        "Do its reports show business outcomes, not only outputs?",
        outcome_reports,
    ),
    Sign(
        "owned_by_business",
        "Are its services owned by someone outside its own staff?",
        owned_by_business,
    ),
    Sign(
        "consistent_experience",
        "Do employees get a consistent experience across its services?",
        consistent_experience,
    ),
    Sign(
        "lean_processes",
        "Are its processes lean (flow efficiency and %C&A)?",
        lean_processes,
    ),
    Sign("successes_published", "Does it publish its successes?", successes_published),
    Sign("business_sponsor", "Does a senior business sponsor own the ambition?"),
    Sign("service_mindset", "Do its people see their work as services with customers?"),
    Sign("shared_platform", "Will it leave its own tools and inboxes for the shared platform?"),
    Sign("capacity_to_change", "Has it the people and time to change how it works?"),
)
SIGN_KEYS = {sign.key: sign for sign in SIGNS}
SIGN_CHOICES = [(sign.key, sign.question) for sign in SIGNS]


def latest_assessments(department_ids: Iterable[int]) -> dict[tuple[int, str], ReadinessAssessment]:
    """The latest assessment of each (department, sign): one query, newest first."""
    latest: dict[tuple[int, str], ReadinessAssessment] = {}
    for assessment in (
        ReadinessAssessment.objects.filter(department__in=list(department_ids))
        .select_related("assessed_by")
        .order_by("-assessed_on", "-created_at", "-pk")
    ):
        latest.setdefault((assessment.department_id, assessment.sign), assessment)
    return latest


def _assessed(assessment: ReadinessAssessment | None, fallback: bool) -> Answer:
    if assessment is None:
        return Answer(
            "", "No data and no assessment yet." if fallback else "Not assessed yet.", False
        )
    who = assessment.assessed_by.get_full_name() or assessment.assessed_by.get_username()
    return Answer(
        assessment.answer,
        f"{assessment.evidence} ({who}, {assessment.assessed_on:%d %b %Y})",
        False,
        assessment,
    )


def department_readiness(departments: Iterable[Department]) -> dict[int, list[SignAnswer]]:
    """The nine signs answered for each department, in SIGNS order."""
    ids = [department.pk for department in departments]
    drawn = {sign.key: sign.rule(ids) for sign in SIGNS if sign.rule is not None}
    assessed = latest_assessments(ids)
    readiness: dict[int, list[SignAnswer]] = {}
    for pk in ids:
        answers = []
        for sign in SIGNS:
            answer = drawn.get(sign.key, {}).get(pk)
            if answer is None:
                answer = _assessed(assessed.get((pk, sign.key)), fallback=sign.rule is not None)
            answers.append(SignAnswer(sign, answer))
        readiness[pk] = answers
    return readiness


def signs_yes(answers: list[SignAnswer]) -> int:
    return sum(1 for answer in answers if answer.answer.answer == YES)
