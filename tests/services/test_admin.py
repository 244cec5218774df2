"""The admin edits fulfilment plans with their catalog item."""

import pytest
from django.urls import reverse

from services.models import PlanStep
from tests.esm.factories import TEST_PASSWORD
from tests.services.factories import CatalogItemFactory

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
