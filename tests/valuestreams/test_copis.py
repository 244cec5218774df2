"""A stream read from the outside in (COPIS), derived from its stages, plan steps and items."""

import pytest
from django.urls import reverse

from services.models import ApprovalStep, PlanStep
from tests.esm.factories import UserFactory
from tests.services.factories import ApprovalStepFactory, CatalogItemFactory, FormFieldFactory
from tests.valuestreams.factories import StageFactory, ValueStreamFactory
from valuestreams.models import StageStep
from valuestreams.selectors import value_stream_copis

pytestmark = pytest.mark.django_db

HUMAN, AUTOMATED = PlanStep.Kind.HUMAN, PlanStep.Kind.AUTOMATED


def _step(item, key, name, department, kind=HUMAN, after=(), **extra):
    step = PlanStep.objects.create(
        item=item, key=key, name=name, department=department, kind=kind, **extra
    )
    step.after.set(after)
    return step


def _stage(stream, name, department, group, steps):
    stage = StageFactory(stream=stream, name=name, department=department, parallel_group=group)
    for step in steps:
        StageStep.objects.create(stage=stage, plan_step=step)
    return stage


@pytest.fixture
def owner(db):
    return UserFactory(username="stream_owner")


@pytest.fixture
def onboarding(owner, hr_department, it_department, facilities_department):
    """HR records the hire; IT (account, then laptop) and Facilities (desk) work side by
    side; HR welcomes the hire once both are done."""
    item = CatalogItemFactory(
        name="New hire", department=hr_department, service__department=hr_department
    )
    FormFieldFactory(item=item, key="first_name", label="First name", required=True)
    FormFieldFactory(item=item, key="last_name", label="Last name", required=True)
    FormFieldFactory(item=item, key="location", label="Office")
    FormFieldFactory(item=item, key="start_date", label="Start date")
    ApprovalStepFactory(item=item, approver=ApprovalStep.Approver.REQUESTER_MANAGER)
    stream = ValueStreamFactory(
        name="Onboarding",
        slug="onboarding",
        owner=owner,
        customer="New hires",
        outcome="A new hire productive on day one",
    )
    stream.items.add(item)

    record = _step(item, "record", "Create the employee record", hr_department)
    account = _step(
        item,
        "account",
        "Directory account",
        it_department,
        kind=AUTOMATED,
        action="it.create_account",
        after=[record],
    )
    laptop = _step(item, "laptop", "Prepare the laptop", it_department, after=[account])
    desk = _step(
        item,
        "desk",
        "Book the desk",
        facilities_department,
        kind=AUTOMATED,
        action="facilities.book_desk",
        params={"location": "answer:location"},
        after=[record],
    )
    welcome = _step(item, "welcome", "Welcome on day one", hr_department, after=[laptop, desk])

    _stage(stream, "Record", hr_department, 1, [record])
    _stage(stream, "Equipment", it_department, 2, [account, laptop])
    _stage(stream, "Workplace", facilities_department, 2, [desk])
    _stage(stream, "Welcome", hr_department, 3, [welcome])
    return stream


def test_copis_reads_the_stream_from_its_customer_back_to_its_suppliers(onboarding):
    copis = value_stream_copis(stream=onboarding)

    assert (copis.customer, copis.outcome) == ("New hires", "A new hire productive on day one")
    assert [stage.name for stage in copis.outputs] == [
        "Welcome",
        "Workplace",
        "Equipment",
        "Record",
    ]
    assert [step.name for step in copis.outputs[2].steps] == [
        "Directory account",
        "Prepare the laptop",
    ]
    assert [[(s.name, s.department) for s in group] for group in copis.process] == [
        [("Record", "HR")],
        [("Equipment", "IT"), ("Workplace", "Facilities")],
        [("Welcome", "HR")],
    ]

    (item,) = copis.inputs
    assert [field.label for field in item.fields] == [
        "First name",
        "Last name",
        "Office",
        "Start date",
    ]
    assert item.approvals == ("The requester's manager",)
    needs = {stage.name: stage for stage in copis.stages}
    assert needs["Equipment"].reads == ("First name", "Last name")
    assert needs["Equipment"].waits_for == ("Create the employee record (Record, HR)",)
    assert needs["Workplace"].reads == ("Office",)
    assert needs["Welcome"].waits_for == (
        "Prepare the laptop (Equipment, IT)",
        "Book the desk (Workplace, Facilities)",
    )
    assert needs["Record"].items == ("New hire",)

    suppliers = {supplier.name: supplier for supplier in copis.suppliers}
    assert list(suppliers) == [
        "The requester",
        "The requester's manager",
        "HR",
        "IT",
        "Automation: Create a directory account",
        "Facilities",
        "Automation: Book a desk",
    ]
    assert (suppliers["The requester"].role, suppliers["The requester"].supplies) == (
        "answers the form of",
        ("New hire",),
    )
    assert suppliers["The requester's manager"].supplies == ("New hire",)
    automation = suppliers["Automation: Create a directory account"]
    assert (automation.role, automation.supplies) == ("runs in the stage", ("Equipment",))
    assert (suppliers["HR"].role, suppliers["HR"].supplies) == (
        "owns the stages",
        ("Record", "Welcome"),
    )


def test_a_human_step_worked_by_another_department_names_that_department(
    onboarding, sales_department
):
    item = onboarding.items.get()
    stage = onboarding.stages.get(name="Record")
    StageStep.objects.create(
        stage=stage, plan_step=_step(item, "sign", "Sign the contract", sales_department)
    )

    suppliers = value_stream_copis(stream=onboarding).suppliers

    assert ("Sales", "works the step", ("Sign the contract (Record)",)) in [
        (s.name, s.role, s.supplies) for s in suppliers
    ]


def test_an_empty_stream_reads_as_just_its_customer(owner):
    stream = ValueStreamFactory(owner=owner)

    copis = value_stream_copis(stream=stream)

    assert copis.customer == "New hires"
    assert (copis.outputs, copis.process, copis.inputs, copis.suppliers) == ((), (), (), ())


def test_copis_costs_the_same_queries_however_big_the_stream(
    onboarding, hr_department, it_department, django_assert_max_num_queries
):
    with django_assert_max_num_queries(6) as small:
        value_stream_copis(stream=onboarding)

    for n in range(3):
        item = CatalogItemFactory(department=it_department)
        onboarding.items.add(item)
        FormFieldFactory(item=item)
        ApprovalStepFactory(item=item)
        first = _step(item, f"a{n}", f"Automated {n}", it_department, AUTOMATED, action="x.y")
        second = _step(item, f"h{n}", f"Human {n}", hr_department, after=[first])
        _stage(onboarding, f"Extra {n}", it_department, 4 + n, [first, second])

    with django_assert_max_num_queries(6) as large:
        copis = value_stream_copis(stream=onboarding)

    assert len(large.captured_queries) == len(small.captured_queries)
    assert len(copis.outputs) == 7


# -- the page -----------------------------------------------------------------------------------


def test_the_page_lists_customer_stages_inputs_and_suppliers(client, it_agent, onboarding):
    client.force_login(it_agent)

    response = client.get(reverse("valuestream_copis", args=["onboarding"]))

    assert response.status_code == 200
    page = response.content.decode()
    assert "SIPOC read backwards" in page
    for text in (
        "New hires",
        "A new hire productive on day one",
        "Equipment",
        "Workplace",
        "(side by side)",
        "Start date",
        "The requester&#x27;s manager",
        "Automation: Create a directory account",
        "Prepare the laptop (Equipment, IT)",
    ):
        assert text in page
    # A reader sees the view, not the links that shape the stream.
    assert reverse("valuestream_edit", args=["onboarding"]) not in page


def test_the_owner_finds_the_pages_that_shape_the_stream(client, owner, onboarding):
    client.force_login(owner)

    page = client.get(reverse("valuestream_copis", args=["onboarding"])).content.decode()

    assert reverse("valuestream_stages", args=["onboarding"]) in page
    assert reverse("valuestream_handoffs", args=["onboarding"]) in page


def test_the_page_escapes_what_people_typed(client, owner, hr_department):
    stream = ValueStreamFactory(
        slug="x", owner=owner, customer="<script>alert(1)</script>", outcome="<b>day one</b>"
    )
    StageFactory(stream=stream, name="R&D <i>lab</i>", department=hr_department)
    client.force_login(owner)

    page = client.get(reverse("valuestream_copis", args=["x"])).content.decode()

    assert "<script>alert(1)" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&lt;b&gt;day one&lt;/b&gt;" in page
    assert "R&amp;D &lt;i&gt;lab&lt;/i&gt;" in page


def test_employees_and_outsiders_find_no_copis(client, employee, outsider, onboarding):
    for person in (employee, outsider):
        client.force_login(person)
        assert client.get(reverse("valuestream_copis", args=["onboarding"])).status_code == 404


def test_the_page_keeps_a_constant_number_of_queries(
    client, it_agent, onboarding, it_department, django_assert_max_num_queries
):
    client.force_login(it_agent)
    with django_assert_max_num_queries(14) as small:
        client.get(reverse("valuestream_copis", args=["onboarding"]))

    for n in range(3):
        item = CatalogItemFactory(department=it_department)
        onboarding.items.add(item)
        FormFieldFactory(item=item)
        _stage(
            onboarding,
            f"Extra {n}",
            it_department,
            4 + n,
            [_step(item, f"s{n}", "S", it_department)],
        )

    with django_assert_max_num_queries(14) as large:
        client.get(reverse("valuestream_copis", args=["onboarding"]))

    assert len(large.captured_queries) == len(small.captured_queries)
