"""Admins tune the score weights and review findings in the admin."""

import pytest
from django.urls import reverse

from journeys.models import Finding, FrictionWeight
from tests.esm.factories import TEST_PASSWORD
from tests.journeys.factories import TouchpointFactory

pytestmark = pytest.mark.django_db


def test_the_journey_admin_pages_open(client, superuser):
    touchpoint = TouchpointFactory()
    weight = FrictionWeight.objects.create(score="friction", signal="wait_share", weight=3)
    finding = Finding.objects.create(
        touchpoint=touchpoint, kind=Finding.Kind.PAIN_POINT, title="Form too long"
    )
    client.login(username=superuser.username, password=TEST_PASSWORD)

    pages = [
        reverse("admin:journeys_journeymap_change", args=[touchpoint.stage.journey_id]),
        reverse("admin:journeys_touchpoint_change", args=[touchpoint.pk]),
        reverse("admin:journeys_frictionweight_changelist"),
        reverse("admin:journeys_frictionweight_change", args=[weight.pk]),
        reverse("admin:journeys_finding_changelist"),
        reverse("admin:journeys_finding_change", args=[finding.pk]),
    ]
    for url in pages:
        assert client.get(url).status_code == 200, url


def test_a_weight_is_only_for_a_signal_its_score_reads(client, superuser):
    client.login(username=superuser.username, password=TEST_PASSWORD)
    url = reverse("admin:journeys_frictionweight_add")

    refused = client.post(url, {"score": "emotion", "signal": "wait_share", "weight": "1"})
    accepted = client.post(url, {"score": "friction", "signal": "wait_share", "weight": "1"})

    assert refused.status_code == 200
    assert "The emotion score reads only" in refused.content.decode()
    assert accepted.status_code == 302
    assert FrictionWeight.objects.get().score == "friction"
