"""Choosing a password through a one-time link: works once, before it expires."""

import datetime as dt

import pytest
from django.contrib.auth.hashers import check_password
from django.urls import reverse

from esm import clock
from services.models import DirectoryAccount, OneTimeLink

pytestmark = pytest.mark.django_db

STRONG = "a-long-and-unusual-passphrase-42"


@pytest.fixture
def link_and_token():
    account = DirectoryAccount.objects.create(
        first_name="Kim", last_name="Tan", username="kim.tan", email="kim.tan@example.com"
    )
    return OneTimeLink.issue(
        account=account,
        purpose=OneTimeLink.Purpose.SET_PASSWORD,
        valid_for=dt.timedelta(days=3),
    )


def _url(token):
    return reverse("one_time_link", args=[token])


def test_the_link_page_needs_no_sign_in_and_sets_the_password_once(client, link_and_token):
    link, token = link_and_token

    assert client.get(_url(token)).status_code == 200
    response = client.post(_url(token), {"password": STRONG, "confirm": STRONG})

    assert response.status_code == 200
    link.refresh_from_db()
    link.account.refresh_from_db()
    assert link.used_at is not None
    assert check_password(STRONG, link.account.password)
    assert client.get(_url(token)).status_code == 404


def test_a_weak_or_mismatched_password_keeps_the_link_usable(client, link_and_token):
    link, token = link_and_token

    weak = client.post(_url(token), {"password": "123", "confirm": "123"})
    mismatch = client.post(_url(token), {"password": STRONG, "confirm": STRONG + "x"})

    assert weak.status_code == mismatch.status_code == 400
    assert weak.context["form"].errors["password"]
    assert mismatch.context["form"].errors["confirm"]
    link.refresh_from_db()
    assert link.used_at is None
    assert link.account.password == ""


def test_unknown_and_expired_links_say_nothing_more(client, link_and_token):
    _, token = link_and_token

    assert client.get(_url("not-a-token")).status_code == 404
    with clock.travel(dt.datetime.now(dt.UTC) + dt.timedelta(days=4)):
        assert client.get(_url(token)).status_code == 404
