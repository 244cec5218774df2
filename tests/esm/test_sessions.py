"""Sessions: a new session key at sign-in (no fixation), and a password change ends every
other session of the person while keeping the one that changed it."""

import pytest
from django.test import Client
from django.urls import reverse

from tests.esm.factories import UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "correct-horse-battery-staple"
NEW_PASSWORD = "another-long-passphrase-42"


@pytest.fixture
def person():
    person = UserFactory(username="alex")
    person.set_password(PASSWORD)
    person.save()
    return person


def _sign_in(client: Client) -> None:
    response = client.post(reverse("login"), {"username": "alex", "password": PASSWORD})
    assert response.status_code == 302


def test_signing_in_gives_a_new_session_key(client, person):
    session = client.session  # the visitor has a session before signing in
    session["planted"] = True
    session.save()
    before = session.session_key

    _sign_in(client)

    assert client.session.session_key != before
    assert client.session["_auth_user_id"] == str(person.pk)


def test_a_password_change_ends_the_other_sessions_and_keeps_this_one(person):
    here, elsewhere = Client(), Client()
    _sign_in(here)
    _sign_in(elsewhere)

    changed = here.post(
        reverse("password_change"),
        {"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )

    assert changed.status_code == 302
    assert here.get(reverse("home")).status_code == 200
    assert elsewhere.get(reverse("home")).status_code == 302  # back to sign-in


def test_a_weak_new_password_is_refused_and_nothing_changes(client, person):
    _sign_in(client)

    refused = client.post(
        reverse("password_change"),
        {"old_password": PASSWORD, "new_password1": "12345678", "new_password2": "12345678"},
    )

    assert refused.status_code == 200
    assert "too common" in refused.text or "entirely numeric" in refused.text
    person.refresh_from_db()
    assert person.check_password(PASSWORD)
