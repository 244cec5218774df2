"""The admin edits fulfilment plans with their catalog item."""

import pytest
from django.urls import reverse

from services.models import DirectoryAccount, PlanStep, SentMessage
from tests.esm.factories import TEST_PASSWORD
from tests.services.factories import CatalogItemFactory, ServiceRequestFactory

pytestmark = pytest.mark.django_db


def test_the_item_admin_offers_registered_actions_and_only_its_own_steps(client, superuser):
    item, other = CatalogItemFactory(), CatalogItemFactory()
    PlanStep.objects.create(
        item=item, key="mine", name="Mine", kind="human", department=item.department
    )
    PlanStep.objects.create(
        item=other, key="theirs", name="Theirs", kind="human", department=other.department
    )
    client.login(username=superuser.username, password=TEST_PASSWORD)

    page = client.get(reverse("admin:services_catalogitem_change", args=[item.pk]))

    assert page.status_code == 200
    html = page.content.decode()
    assert "it.create_account" in html
    assert ">Mine<" in html or "Mine</option>" in html
    assert "Theirs</option>" not in html


def test_records_of_confidential_cases_are_hidden_from_admins_outside_the_department(
    client, superuser, hr_agent, hr_department, employee
):
    hr_agent.is_staff = True
    hr_agent.save()
    case = ServiceRequestFactory(
        requester=employee,
        catalog_item=CatalogItemFactory(department=hr_department, is_confidential=True),
    )
    SentMessage.objects.create(
        key="k1", template="welcome_pack", recipients="x@example.com", service_request=case
    )
    DirectoryAccount.objects.create(
        first_name="Kim", last_name="Tan", username="kim.tan", service_request=case
    )
    client.login(username=superuser.username, password=TEST_PASSWORD)

    for name in ("servicerequest", "sentmessage", "directoryaccount"):
        page = client.get(reverse(f"admin:services_{name}_changelist"))
        assert page.status_code == 200
        assert page.context["cl"].result_count == 0, name
