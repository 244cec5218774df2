"""A service's portfolio entry: the action that keeps it with its value claims, the
database's invariants, the form, the edit page and who may keep it."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse

from esm.models import DepartmentRole, Event, EventKind
from esm.permissions import can
from services.actions import service_portfolio_update
from services.forms import ServicePortfolioForm
from services.models import Service, ServiceValueClaim
from tests.conftest import _person
from tests.esm.factories import UserFactory
from tests.services.factories import ServiceFactory

pytestmark = pytest.mark.django_db

MANAGER = DepartmentRole.Role.MANAGER


@pytest.fixture
def owner(sales_department):
    """Accountable for an IT service from outside IT."""
    return _person("owner", department=sales_department)


@pytest.fixture
def service(it_department, owner):
    found = ServiceFactory(
        name="Laptops",
        slug="laptops",
        department=it_department,
        owner=owner,
        fixed_yearly_cost=Decimal("1200.00"),
    )
    ServiceValueClaim.objects.create(service=found, factor="cost", claim="Cheaper than leasing.")
    ServiceValueClaim.objects.create(service=found, factor="revenue", claim="Sales stay on.")
    return found


@pytest.fixture
def hr_manager(hr_department):
    return _person("hr_manager", department=hr_department, roles=[(hr_department, MANAGER)])


def _claims(service):
    return dict(service.value_claims.values_list("factor", "claim"))


def _entry(service):
    """What the portfolio holds of `service`, to compare before and after a refusal."""
    service = Service.objects.get(pk=service.pk)
    return (
        service.status,
        service.outcome,
        service.owner_id,
        service.fixed_yearly_cost,
        service.decision_pending,
        service.review_every_months,
        _claims(service),
    )


# The action ----------------------------------------------------------------------------


def test_update_sets_the_fields_and_claims_updates_and_withdraws(service, executive):
    service_portfolio_update(
        by=None,
        service=service,
        changes={
            "status": Service.Status.PIPELINE,
            "owner": executive,
            "activities_before": "The hiring manager agrees a start date.",
            "fixed_yearly_cost": Decimal("250.50"),
            "decision_pending": Service.Decision.INVEST,
            "decision_note": "Whether to lease.",
            "review_every_months": 6,
        },
        claims={
            "cost": "  Half the price of leasing.  ",
            "productivity": "Ready on day one.",
            "revenue": "   ",
        },
    )

    service = Service.objects.get(pk=service.pk)
    assert (service.status, service.owner, service.decision_pending) == (
        "pipeline",
        executive,
        "invest",
    )
    assert service.fixed_yearly_cost == Decimal("250.50")
    assert service.review_every_months == 6
    assert service.activities_before == "The hiring manager agrees a start date."
    # Updated (trimmed), created, and withdrawn (blank text).
    assert _claims(service) == {
        "cost": "Half the price of leasing.",
        "productivity": "Ready on day one.",
    }


def test_update_withdraws_a_claim_left_out(service):
    service_portfolio_update(by=None, service=service, changes={}, claims={"cost": "Cheaper."})

    assert _claims(service) == {"cost": "Cheaper."}
    assert ServiceValueClaim.objects.filter(service=service).count() == 1


def test_update_refuses_a_retired_service_waiting_for_a_decision_and_changes_nothing(service):
    before = _entry(service)

    with pytest.raises(ValidationError) as refused:
        service_portfolio_update(
            by=None,
            service=service,
            changes={
                "status": Service.Status.RETIRED,
                "decision_pending": Service.Decision.CHANGE,
                "fixed_yearly_cost": Decimal(0),
            },
            claims={"productivity": "Faster."},
        )

    assert set(refused.value.message_dict) == {"decision_pending"}
    assert _entry(service) == before


def test_update_refuses_a_negative_fixed_cost_by_field(service):
    before = _entry(service)

    with pytest.raises(ValidationError) as refused:
        service_portfolio_update(
            by=None, service=service, changes={"fixed_yearly_cost": Decimal(-1)}, claims={}
        )

    assert "fixed_yearly_cost" in refused.value.message_dict
    assert _entry(service) == before


def test_update_refuses_fields_outside_the_entry(service):
    before = _entry(service)

    with pytest.raises(ValueError, match="name"):
        service_portfolio_update(by=None, service=service, changes={"name": "Renamed"}, claims={})

    assert Service.objects.get(pk=service.pk).name == "Laptops"
    assert _entry(service) == before


def test_update_refuses_an_unknown_value_factor(service):
    before = _entry(service)

    with pytest.raises(ValueError, match="fame"):
        service_portfolio_update(
            by=None, service=service, changes={}, claims={"fame": "Everyone knows."}
        )

    assert _entry(service) == before


# The database's invariants -------------------------------------------------------------


@pytest.mark.parametrize(
    "fields",
    [
        {"status": "retired", "decision_pending": "invest"},
        {"fixed_yearly_cost": Decimal("-0.01")},
        {"review_every_months": 0},
        {"review_every_months": 37},
    ],
    ids=["retired-with-decision", "negative-fixed-cost", "review-never", "review-too-rare"],
)
def test_database_refuses_an_invalid_entry(service, fields):
    with pytest.raises(IntegrityError), transaction.atomic():
        Service.objects.filter(pk=service.pk).update(**fields)


def test_database_accepts_the_bounds(service):
    Service.objects.filter(pk=service.pk).update(
        status="retired", decision_pending="", review_every_months=36, fixed_yearly_cost=0
    )
    Service.objects.filter(pk=service.pk).update(review_every_months=1)


def test_database_holds_one_claim_per_factor(service):
    with pytest.raises(IntegrityError), transaction.atomic():
        ServiceValueClaim.objects.create(service=service, factor="cost", claim="Again.")


# The form ------------------------------------------------------------------------------


def _data(service, **changes):
    data = {
        "status": service.status,
        "outcome": service.outcome,
        "owner": "",
        "activities_before": "",
        "activities_after": "",
        "fixed_yearly_cost": str(service.fixed_yearly_cost),
        "decision_pending": "",
        "decision_note": "",
        "review_every_months": str(service.review_every_months),
        "claim_revenue": "",
        "claim_cost": "",
        "claim_productivity": "",
        "claim_differentiation": "",
        "claim_satisfaction": "",
    }
    return data | changes


def test_form_shows_the_owner_by_username_and_the_claims(service):
    form = ServicePortfolioForm(instance=service)

    assert form["owner"].value() == "owner"
    assert form["claim_cost"].value() == "Cheaper than leasing."
    assert form["claim_productivity"].value() == ""


@pytest.mark.parametrize("typed", ["executive", "EXECUTIVE", "executive@example.com"])
def test_form_takes_the_owner_by_username_or_email(service, executive, typed):
    executive.email = "executive@example.com"
    executive.save(update_fields=["email"])

    form = ServicePortfolioForm(_data(service, owner=typed), instance=service)

    assert form.is_valid(), form.errors
    assert form.changes()["owner"] == executive


def test_form_names_an_unknown_owner_beside_the_field(service):
    form = ServicePortfolioForm(_data(service, owner="nobody"), instance=service)

    assert not form.is_valid()
    assert form.errors["owner"] == ["No colleague has that username or e-mail address."]


def test_form_hands_the_claims_by_factor(service):
    form = ServicePortfolioForm(_data(service, claim_satisfaction="Happier."), instance=service)

    assert form.is_valid(), form.errors
    assert form.claims() == {
        "revenue": "",
        "cost": "",
        "productivity": "",
        "differentiation": "",
        "satisfaction": "Happier.",
    }


# The edit page -------------------------------------------------------------------------


def _url(service):
    return reverse("service_portfolio_edit", args=[service.slug])


@pytest.mark.parametrize("persona", ["owner", "department_manager", "superuser"])
def test_keepers_edit_the_entry_and_land_on_its_portfolio_page(client, service, persona, request):
    client.force_login(request.getfixturevalue(persona))

    assert client.get(_url(service)).status_code == 200
    response = client.post(
        _url(service),
        _data(
            service,
            owner="owner",
            fixed_yearly_cost="99.00",
            decision_pending="change",
            claim_productivity="Ready on day one.",
        ),
    )

    assert response.status_code == 302
    assert response["Location"] == reverse("portfolio_service", args=["laptops"])
    service = Service.objects.get(pk=service.pk)
    assert (service.fixed_yearly_cost, service.decision_pending) == (Decimal("99.00"), "change")
    assert _claims(service) == {"productivity": "Ready on day one."}


@pytest.mark.parametrize("persona", ["it_agent", "hr_manager", "employee", "executive"])
def test_others_are_refused_and_nothing_changes(client, service, persona, request):
    client.force_login(request.getfixturevalue(persona))
    before = _entry(service)

    assert client.get(_url(service)).status_code == 403
    response = client.post(_url(service), _data(service, fixed_yearly_cost="0", owner="owner"))

    assert response.status_code == 403
    assert _entry(service) == before


def test_unknown_service_is_404(client, department_manager):
    client.force_login(department_manager)

    assert client.get(reverse("service_portfolio_edit", args=["nowhere"])).status_code == 404


def test_error_re_renders_with_the_message_beside_the_field(client, service, owner):
    client.force_login(owner)
    before = _entry(service)

    response = client.post(
        _url(service),
        _data(service, owner="owner", status="retired", decision_pending="invest"),
    )

    assert response.status_code == 200
    form = response.context["form"]
    assert form.errors["decision_pending"] == ["A retired service waits for no decision."]
    page = response.content.decode()
    field = page.index('name="decision_pending"')
    assert page.index("A retired service waits for no decision.", field) < page.index(
        'name="decision_note"'
    )
    assert _entry(service) == before


def test_empty_post_shows_the_required_fields(client, service, owner):
    client.force_login(owner)
    before = _entry(service)

    response = client.post(_url(service), {})

    assert response.status_code == 200
    assert "status" in response.context["form"].errors
    assert _entry(service) == before


# The rule ------------------------------------------------------------------------------


def test_rule_lets_the_owner_the_departments_managers_and_admins_keep_the_entry(
    service, owner, department_manager, superuser, it_agent, hr_manager, employee, executive
):
    rule = "services.change_service_portfolio"
    assert can(owner, rule, service)
    assert can(department_manager, rule, service)
    assert can(superuser, rule, service)
    assert not can(it_agent, rule, service)
    assert not can(hr_manager, rule, service)
    assert not can(employee, rule, service)
    assert not can(executive, rule, service)


def test_rule_refuses_an_owner_no_longer_active(service, owner):
    owner.is_active = False
    owner.save(update_fields=["is_active"])

    assert not can(owner, "services.change_service_portfolio", service)


def test_rule_refuses_an_owner_of_another_service(service, it_department):
    other = ServiceFactory(department=it_department, owner=UserFactory())

    assert not can(service.owner, "services.change_service_portfolio", other)


def test_update_records_who_changed_which_fields_and_claims(service, executive):
    before_status, before_claim = service.status, _claims(service).get("cost", "")

    service_portfolio_update(
        by=executive,
        service=service,
        changes={"status": Service.Status.PIPELINE},
        claims={"cost": "Cheaper."},
    )

    [event] = Event.objects.filter(kind=EventKind.CONFIG_CHANGED)
    assert (event.subject_type, event.subject_id, event.actor) == (
        "services.service",
        service.pk,
        executive,
    )
    assert event.payload["via"] == "service_portfolio_update"
    assert event.payload["changes"]["status"] == [before_status, Service.Status.PIPELINE]
    assert event.payload["changes"]["claim_cost"] == [before_claim, "Cheaper."]


def test_an_update_that_changes_nothing_records_nothing(service, executive):
    service_portfolio_update(by=executive, service=service, changes={}, claims=_claims(service))

    assert not Event.objects.exists()
