"""Sign-in throttling (django-axes) and the API's rates: a guessed password is refused
after a few tries even when they come at once, and a caller past its rate gets 429 with
Retry-After."""

import threading

import pytest
from axes.models import AccessAttempt
from django.core.cache import cache
from django.db import connection, connections
from django.test import Client
from django.urls import reverse
from rest_framework.throttling import UserRateThrottle

from tests.esm.factories import UserFactory

PASSWORD = "correct-horse-battery-staple"
LIMIT = 3


@pytest.fixture
def axes_on(settings):
    settings.AXES_ENABLED = True
    settings.AXES_FAILURE_LIMIT = LIMIT


@pytest.fixture
def person(db):
    person = UserFactory(username="alex")
    person.set_password(PASSWORD)
    person.save()
    return person


def _sign_in(client, password, username="alex", address="10.0.0.1"):
    return client.post(
        reverse("login"), {"username": username, "password": password}, REMOTE_ADDR=address
    )


@pytest.mark.django_db
def test_wrong_passwords_lock_the_account_out_from_that_address(client, person, axes_on):
    for _ in range(LIMIT - 1):
        refused = _sign_in(client, "guess")
        assert refused.status_code == 200  # the form again, with its error

    locked = _sign_in(client, "guess")
    assert locked.status_code == 429
    assert "Too many attempts" in locked.text
    assert "paused for 15 minutes" in locked.text

    # Now even the right password is refused from there, and nobody is signed in.
    assert _sign_in(client, PASSWORD).status_code == 429
    assert "_auth_user_id" not in client.session
    # The same person from elsewhere, and others from here, are not locked out.
    assert _sign_in(Client(), PASSWORD, address="10.0.0.2").status_code == 302
    sam = UserFactory(username="sam")
    sam.set_password(PASSWORD)
    sam.save()
    assert _sign_in(Client(), PASSWORD, username="sam").status_code == 302


@pytest.mark.django_db
def test_a_successful_sign_in_clears_the_failures_before_it(client, person, axes_on):
    for _ in range(LIMIT - 1):
        _sign_in(client, "guess")

    assert _sign_in(client, PASSWORD).status_code == 302
    assert not AccessAttempt.objects.filter(username="alex").exists()


@pytest.mark.django_db(transaction=True)
def test_guesses_sent_at_once_are_all_counted(person, axes_on):
    """Twelve wrong passwords in parallel: each is recorded, the account is locked out,
    and none of them signs anyone in (a race must not slip a guess past the count)."""
    if connection.vendor != "postgresql":
        pytest.skip("Parallel sign-ins need a database that takes concurrent writers.")
    answers: list[int] = []

    def guess() -> None:
        try:
            answers.append(_sign_in(Client(), "guess").status_code)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=guess) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(answers) == 12
    assert set(answers) <= {200, 429}
    assert _sign_in(Client(), PASSWORD).status_code == 429
    attempt = AccessAttempt.objects.get(username="alex")
    assert attempt.failures_since_start >= LIMIT


@pytest.fixture
def api_rate(monkeypatch):
    """DRF reads the rates into the throttle class when it is imported, so the test sets
    them there; the counts live in the cache."""
    monkeypatch.setattr(UserRateThrottle, "THROTTLE_RATES", {"user": "3/minute", "anon": None})
    cache.clear()
    yield
    cache.clear()


@pytest.mark.django_db
def test_the_api_answers_429_with_retry_after_past_a_persons_rate(client, employee, api_rate):
    client.force_login(employee)
    url = reverse("api:catalog-items")

    answers = [client.get(url) for _ in range(4)]

    assert [answer.status_code for answer in answers] == [200, 200, 200, 429]
    assert int(answers[-1].headers["Retry-After"]) > 0
    # Another person has a rate of their own.
    other = Client()
    other.force_login(UserFactory())
    assert other.get(url).status_code == 200
