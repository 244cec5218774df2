"""The whole request body's cap: a request declaring more than REQUEST_BODY_MAX_BYTES is
answered 413 before any of it is read, and nothing is saved."""

import pytest
from django.urls import reverse

from services.models import ServiceRequest
from tests.services.factories import CatalogItemFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def small_limit(settings):
    settings.REQUEST_BODY_MAX_BYTES = 1000


def _post_declaring(client, url, declared: int):
    """A POST of a few bytes that says it carries `declared`: reading it would fail (the
    test client refuses to read past what was sent), so a 413 proves nothing read it."""
    return client.generic(
        "POST",
        url,
        data=b"subject=hello",
        content_type="application/x-www-form-urlencoded",
        CONTENT_LENGTH=str(declared),
    )


def test_a_page_refuses_a_body_declared_too_large_without_reading_it(client, employee, small_limit):
    item = CatalogItemFactory()
    client.force_login(employee)

    response = _post_declaring(client, reverse("catalog_item", args=[item.slug]), 5_000_000)

    assert response.status_code == 413
    assert "Too large to send" in response.text
    assert "Content-Security-Policy" in response.headers
    assert not ServiceRequest.objects.exists()


def test_the_api_refuses_it_in_json(client, employee, small_limit):
    client.force_login(employee)

    response = _post_declaring(client, reverse("api:requests"), 5_000_000)

    assert response.status_code == 413
    assert "larger than" in response.json()["detail"]
    assert not ServiceRequest.objects.exists()


def test_a_body_within_the_cap_goes_on_to_the_view(client, employee, small_limit):
    client.force_login(employee)

    response = client.post(reverse("api:requests"), {}, content_type="application/json")

    assert response.status_code == 400  # the view read it, and refused its content
