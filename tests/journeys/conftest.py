"""A week of a new hire's journey, built through the real actions and worked out by hand (all
times UTC, which is London time in November).

Touchpoint "Record" is linked to the item "New starter record" (HR, one human step
`hr-record`) and to an article. Touchpoint "Laptop" is linked to a value-stream stage made
of the step `it-setup` of the item "Laptop" (IT, an up-front approval by the requester's
manager): its cases come through the stage, not through an item link.

Case A, Mon 2 Nov (Record): the employee opened the form at 08:50.
  09:00 submitted (size M); the task queued   10:00 HR claims (queue 1 h)
  11:00 HR asks for missing information (an agent's words, never the employee's feelings)
  13:00 the employee answers "Here it is, thanks, great"   14:00 HR resolves: 5 h.
  Rated 5.
Case B, Tue 3 Nov (Record):
  09:00 submitted (size M)   09:30 HR claims (queue 0.5 h)   10:00 HR hands it to IT
  10:30 IT claims (queue 0.5 h)   11:00 IT sends it back   12:00 HR resolves: resolved.
  13:00 the employee reopens: "Still not working, this is terrible"; queued to HR again
  14:00 HR claims (queue 1 h)   15:00 HR resolves: 6 h from submission. Rated 2.
Case C, Wed 4 Nov (Record):
  09:00 submitted (size L)   10:00 HR claims (queue 1 h)   11:00 HR consults IT
  12:00 IT answers (1 h waiting on another department)   13:00 HR resolves: 4 h.
Case D, Thu 5 Nov (Laptop):
  09:00 submitted: the manager is asked   11:00 approves (2 h); the task queued
  12:00 IT claims (queue 1 h)   13:00 IT resolves: 4 h.

Beside the cases: on Monday someone else opened the Record form and left it (2 starts, 1
abandoned); on Wednesday two people read the article from the Record form, one of them
raised case C half an hour later (2 reads, 1 deflection).

So, Record: 3 cases, resolution 4, 5, 6 h (p50 5, p85 6, mean 5); team wait 1 + 2 + 2 h
of 15 h (1/3); per request 1/3 handoff, bounce, consult, reopen, missing information;
ratings 5 and 2 (response 2/3, mean 3.5, low share 1/2); sentiment of the employee's
comments 2/3 (A) and -5/6 (B), so -1/12 over the cases; answers M, M, L: 2 distinct sets.
Laptop: 1 case, 4 h, approval 2 h, wait 1 h.
"""

import datetime as dt

import pytest

from esm import clock
from journeys.models import Touchpoint
from journeys.rollups import journey_refresh
from services import actions
from services.models import Approval, Consult, FulfilmentTask
from tests.esm.factories import BusinessCalendarFactory
from tests.journeys.factories import JourneyMapFactory, JourneyStageFactory, TouchpointFactory
from tests.services.automation_doubles import plan_step
from tests.services.factories import (
    ApprovalStepFactory,
    ArticleFactory,
    CatalogItemFactory,
    QueueFactory,
)
from tests.valuestreams.factories import StageFactory, ValueStreamFactory
from valuestreams.models import StageStep

MON = dt.datetime(2026, 11, 2, tzinfo=dt.UTC)
TUE, WED, THU = (MON + dt.timedelta(days=n) for n in (1, 2, 3))


def at(day, hour, minute=0):
    return day + dt.timedelta(hours=hour, minutes=minute)


def approx(value):
    return pytest.approx(value, abs=1e-6)


def task(service_request, **filters):
    return FulfilmentTask.objects.filter(
        service_request=service_request, consult__isnull=True, **filters
    ).latest("pk")


class Journey:
    def __init__(self, journey, touchpoints, items, article, people):
        self.journey, self.touchpoints, self.items = journey, touchpoints, items
        self.article, self.people = article, people

    def submit(self, item, key, size=None):
        answers = [{"key": "size", "label": "Size", "kind": "text", "value": size, "display": size}]
        service_request, _ = actions.service_request_submit(
            item=self.items[item],
            raised_by=self.people["employee"],
            subject="Onboard Kim",
            answers=answers if size else [],
            submission_key=key,
        )
        return service_request

    def refresh(self, full=True):
        return journey_refresh(journey=self.journey, full=full)


@pytest.fixture
def journey(
    employee, manager, hr_agent, it_agent, hr_department, it_department, outsider, test_actions
):
    BusinessCalendarFactory(name="Company", is_default=True)
    for department in (hr_department, it_department):
        QueueFactory(department=department, slug=f"{department.slug}-queue", is_default=True)
    record_item = CatalogItemFactory(
        name="New starter record", department=hr_department, service__department=hr_department
    )
    plan_step(record_item, "hr-record", kind="human")
    laptop = CatalogItemFactory(
        name="Laptop", department=it_department, service__department=it_department
    )
    ApprovalStepFactory(item=laptop)
    it_setup = plan_step(laptop, "it-setup", kind="human")
    stream = ValueStreamFactory(owner=it_agent)
    stream.items.add(laptop)
    setup_stage = StageFactory(stream=stream, name="Set up", department=it_department)
    StageStep.objects.create(stage=setup_stage, plan_step=it_setup)
    article = ArticleFactory(department=hr_department)

    journey = JourneyMapFactory(owner=hr_agent)
    before = JourneyStageFactory(journey=journey, name="Before day one", position=0)
    first_day = JourneyStageFactory(journey=journey, name="First day", position=1)
    record = TouchpointFactory(stage=before, name="Record")
    record.items.add(record_item)
    record.articles.add(article)
    laptop_point = TouchpointFactory(stage=first_day, name="Laptop")
    laptop_point.stream_stages.add(setup_stage)
    TouchpointFactory(stage=first_day, name="Welcome lunch", channel=Touchpoint.Channel.IN_PERSON)
    people = {
        "employee": employee,
        "manager": manager,
        "hr_agent": hr_agent,
        "it_agent": it_agent,
        "outsider": outsider,
        "it_queue": it_department.queues.get(),
    }
    return Journey(
        journey,
        {"record": record, "laptop": laptop_point},
        {"record": record_item, "laptop": laptop},
        article,
        people,
    )


def case_a(j, now):
    p = j.people
    now.to(at(MON, 8, 50))
    actions.form_start_record(item=j.items["record"], person=p["employee"])
    now.to(at(MON, 9))
    a = j.submit("record", "a", "M")
    now.to(at(MON, 10))
    actions.form_start_record(item=j.items["record"], person=p["outsider"])
    actions.task_claim(task=task(a), agent=p["hr_agent"])
    now.to(at(MON, 11))
    actions.task_ask(
        task=task(a),
        agent=p["hr_agent"],
        question="Sorry, this form is terrible: which size?",
        missing_information=True,
    )
    now.to(at(MON, 13))
    actions.comment_add(service_request=a, author=p["employee"], body="Here it is, thanks, great")
    now.to(at(MON, 14))
    actions.task_resolve(task=task(a), agent=p["hr_agent"], resolution="Done")
    now.to(at(MON, 15))
    actions.service_request_rate(service_request=a, user=p["employee"], score=5)
    return a


def case_b(j, now):
    p = j.people
    now.to(at(TUE, 9))
    b = j.submit("record", "b", "M")
    now.to(at(TUE, 9, 30))
    actions.task_claim(task=task(b), agent=p["hr_agent"])
    now.to(at(TUE, 10))
    received = actions.task_hand_off(
        task=task(b), agent=p["hr_agent"], to_queue=p["it_queue"], reason="Account first"
    )
    now.to(at(TUE, 10, 30))
    actions.task_claim(task=received, agent=p["it_agent"])
    now.to(at(TUE, 11))
    actions.task_send_back(
        task=FulfilmentTask.objects.get(pk=received.pk), agent=p["it_agent"], missing="Start date"
    )
    now.to(at(TUE, 12))
    actions.task_resolve(
        task=task(b, department=j.items["record"].department), agent=p["hr_agent"], resolution="Ok"
    )
    now.to(at(TUE, 13))
    actions.service_request_reopen(
        service_request=b, user=p["employee"], reason="Still not working, this is terrible"
    )
    now.to(at(TUE, 14))
    actions.task_claim(task=task(b), agent=p["hr_agent"])
    now.to(at(TUE, 15))
    actions.task_resolve(task=task(b), agent=p["hr_agent"], resolution="Fixed")
    now.to(at(TUE, 16))
    actions.service_request_rate(service_request=b, user=p["employee"], score=2)
    return b


def case_c(j, now):
    p = j.people
    now.to(at(WED, 8))
    actions.article_view_record(article=j.article, user=p["outsider"], from_item=j.items["record"])
    now.to(at(WED, 8, 30))
    actions.article_view_record(article=j.article, user=p["employee"], from_item=j.items["record"])
    now.to(at(WED, 9))
    c = j.submit("record", "c", "L")
    now.to(at(WED, 10))
    actions.task_claim(task=task(c), agent=p["hr_agent"])
    now.to(at(WED, 11))
    actions.task_consult(task=task(c), agent=p["hr_agent"], to_queue=p["it_queue"], question="?")
    now.to(at(WED, 12))
    actions.consult_answer(consult=Consult.objects.get(), agent=p["it_agent"], answer="Yes")
    now.to(at(WED, 13))
    actions.task_resolve(task=task(c), agent=p["hr_agent"], resolution="Done")
    return c


def case_d(j, now):
    p = j.people
    now.to(at(THU, 9))
    d = j.submit("laptop", "d")
    now.to(at(THU, 11))
    actions.approval_decide(
        approval=Approval.objects.get(service_request=d), user=p["manager"], approve=True
    )
    now.to(at(THU, 12))
    actions.task_claim(task=task(d), agent=p["it_agent"])
    now.to(at(THU, 13))
    actions.task_resolve(task=task(d), agent=p["it_agent"], resolution="Done")
    return d


@pytest.fixture
def week(journey):
    with clock.travel(at(MON, 8)) as now:
        journey.cases = [f(journey, now) for f in (case_a, case_b, case_c, case_d)]
        now.to(at(MON + dt.timedelta(days=7), 9))
        journey.refresh()
    return journey
