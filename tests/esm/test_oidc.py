"""Single sign-on against a real OpenID Connect provider on a loopback port: the portal's
client talks to it over HTTP, through the authorization code flow with PKCE, and refuses
what a careful client must (a wrong state or nonce, a forged or expired ID token)."""

import os
import runpy
import subprocess
import sys
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests
from django.contrib.auth import SESSION_KEY, get_user_model
from django.contrib.auth.tokens import default_token_generator
from django.core import mail
from django.core.checks import run_checks
from django.core.exceptions import ImproperlyConfigured
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from esm.models import DepartmentRole, Event, EventKind, Profile, SignInIdentity
from tests.esm.factories import TEST_PASSWORD, DepartmentRoleFactory, UserFactory
from tests.esm.oidc_provider import CLIENT_ID, CLIENT_SECRET, OidcProvider
from tests.services.factories import CatalogItemFactory

pytestmark = pytest.mark.django_db

User = get_user_model()
AGENT, MANAGER = DepartmentRole.Role.AGENT, DepartmentRole.Role.MANAGER
BY_HAND, FROM_GROUPS = DepartmentRole.Source.BY_HAND, DepartmentRole.Source.SIGN_IN_GROUPS
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def provider():
    running = OidcProvider().start()
    yield running
    running.stop()


@pytest.fixture
def oidc(settings, provider):
    """The portal configured for the provider, as the environment would configure it."""
    settings.OIDC_ISSUER = provider.issuer
    settings.OIDC_RP_CLIENT_ID = CLIENT_ID
    settings.OIDC_RP_CLIENT_SECRET = CLIENT_SECRET
    settings.OIDC_PROVIDER_NAME = "Acme ID"
    settings.OIDC_GROUP_ROLES = {
        "it-agents": "it:agent",
        "it-leads": "it:agent;it:manager",
        "facilities-agents": "facilities:agent",
        "hr-staff": "hr:agent",
    }
    settings.AUTHENTICATION_BACKENDS = [
        "rules.permissions.ObjectPermissionBackend",
        "esm.oidc.LocalPasswordBackend",
        "esm.oidc.SignInBackend",
    ]
    return settings


@pytest.fixture
def alex(provider, sales_department, manager):
    """Alex as the provider knows them, signed in there."""
    manager.email = "sam.manager@example.com"
    manager.save()
    provider.person = {
        "sub": "00u-alex-7f3a",
        "email": "alex@example.com",
        "email_verified": True,
        "preferred_username": "alex",
        "given_name": "Alex",
        "family_name": "Rivera",
        "department": "Sales",
        "manager": "sam.manager@example.com",
        "job_title": "Account executive",
        "groups": ["it-agents", "all-staff"],
    }
    return provider.person


def back_from_provider(client, provider, *, next_url=""):
    """Start signing in at the portal, let the provider authenticate, and answer the URL
    it sends the browser back to (the portal's callback with code and state)."""
    start = reverse("oidc_authentication_init") + (f"?next={next_url}" if next_url else "")
    to_provider = client.get(start)
    assert to_provider.status_code == 302
    assert to_provider.url.startswith(f"{provider.issuer}/authorize?")
    at_provider = requests.get(to_provider.url, allow_redirects=False, timeout=5)
    assert at_provider.status_code == 302, at_provider.text
    return at_provider.headers["Location"]


def people_records():
    return (
        Event.objects.count(),
        User.objects.count(),
        Profile.objects.count(),
        DepartmentRole.objects.count(),
        SignInIdentity.objects.count(),
    )


def assert_refused(client, response, caplog, reason):
    assert reason in caplog.text
    assert response.status_code == 302
    assert response.url == reverse("login")
    assert SESSION_KEY not in client.session
    page = client.get(response.url)
    assert "Signing in with Acme ID did not work" in page.content.decode()


# -- the flow --------------------------------------------------------------------------------


def test_first_sign_in_with_pkce_creates_the_person_with_claims_and_roles(
    client, oidc, provider, alex, it_department, manager
):
    response = client.get(back_from_provider(client, provider))

    assert response.status_code == 302
    assert response.url == reverse("home")
    person = User.objects.get(username="alex")
    assert client.session[SESSION_KEY] == str(person.pk)
    assert (person.email, person.first_name, person.last_name) == (
        "alex@example.com",
        "Alex",
        "Rivera",
    )
    assert not person.has_usable_password()
    assert person.profile.department.name == "Sales"
    assert person.profile.manager == manager
    assert person.profile.job_title == "Account executive"
    assert list(person.department_roles.values_list("department__slug", "role", "source")) == [
        ("it", AGENT, FROM_GROUPS)
    ]
    identity = SignInIdentity.objects.get(user=person)
    assert (identity.issuer, identity.subject) == (provider.issuer, "00u-alex-7f3a")
    # The portal asked with state, nonce and an S256 challenge; the provider required the
    # verifier at the token endpoint, or it would have issued no token.
    asked = provider.authorize_requests[-1]
    assert asked["code_challenge_method"] == "S256"
    assert len(asked["code_challenge"]) == 43
    assert asked["state"]
    assert asked["nonce"]
    assert asked["scope"] == "openid email profile"
    # The event log says where they came from: created by signing in, given a role.
    created, granted = Event.objects.filter(subject_id=person.pk).order_by("pk")
    assert (created.kind, created.actor, created.department.slug) == (
        EventKind.PERSON_CREATED,
        person,
        "sales",
    )
    assert created.payload == {
        "via": "sign_in",
        "issuer": provider.issuer,
        "active": True,
        "fields": ["first_name", "last_name", "email", "department", "manager", "job_title"],
    }
    assert (granted.kind, granted.department.slug, granted.to_value) == (
        EventKind.ROLE_GRANTED,
        "it",
        AGENT,
    )


def test_sign_in_returns_to_the_page_asked_for(client, oidc, provider, alex):
    response = client.get(back_from_provider(client, provider, next_url="/work/"))

    assert response.url == "/work/"


def test_an_existing_person_is_linked_by_email_and_kept_up_to_date_at_each_sign_in(
    client, oidc, provider, alex, it_department, facilities_department
):
    existing = UserFactory(username="arivera", email="Alex@Example.com")
    DepartmentRoleFactory(user=existing, department=facilities_department, role=AGENT)
    alex["groups"] = ["it-leads"]

    client.get(back_from_provider(client, provider))

    assert client.session[SESSION_KEY] == str(existing.pk)
    assert User.objects.filter(email__iexact="alex@example.com").count() == 1
    assert SignInIdentity.objects.get(subject="00u-alex-7f3a").user == existing
    assert set(existing.department_roles.values_list("department__slug", "role", "source")) == {
        ("facilities", AGENT, BY_HAND),
        ("it", AGENT, FROM_GROUPS),
        ("it", MANAGER, FROM_GROUPS),
    }

    # They leave the IT leads; their e-mail address and job title change at the provider.
    client.logout()
    alex.update(groups=["it-agents"], email="alex.rivera@example.com", job_title="Recruiter")
    client.get(back_from_provider(client, provider))

    existing.refresh_from_db()
    assert client.session[SESSION_KEY] == str(existing.pk)
    assert existing.email == "alex.rivera@example.com"
    assert existing.profile.job_title == "Recruiter"
    assert set(existing.department_roles.values_list("department__slug", "role", "source")) == {
        ("facilities", AGENT, BY_HAND),
        ("it", AGENT, FROM_GROUPS),
    }
    updated, revoked = Event.objects.filter(subject_id=existing.pk).order_by("-pk")[:2][::-1]
    assert (updated.kind, updated.payload["fields"]) == (
        EventKind.PERSON_UPDATED,
        ["email", "job_title"],
    )
    assert (revoked.kind, revoked.department.slug, revoked.from_value) == (
        EventKind.ROLE_REVOKED,
        "it",
        MANAGER,
    )

    # Nothing changed since: nothing to write in the log.
    client.logout()
    events = Event.objects.count()
    client.get(back_from_provider(client, provider))

    assert client.session[SESSION_KEY] == str(existing.pk)
    assert Event.objects.count() == events


def test_a_role_given_by_hand_survives_groups_that_no_longer_map_to_it(
    client, oidc, provider, alex, it_department
):
    existing = UserFactory(username="arivera", email="alex@example.com")
    DepartmentRoleFactory(user=existing, department=it_department, role=AGENT)
    alex["groups"] = []

    client.get(back_from_provider(client, provider))

    assert list(existing.department_roles.values_list("role", "source")) == [(AGENT, BY_HAND)]


def test_a_missing_groups_claim_leaves_the_mapped_roles_alone(
    client, oidc, provider, alex, it_department
):
    client.get(back_from_provider(client, provider))
    client.logout()
    del alex["groups"]

    client.get(back_from_provider(client, provider))

    person = User.objects.get(username="alex")
    assert list(person.department_roles.values_list("role", "source")) == [(AGENT, FROM_GROUPS)]


def test_linking_by_subject_never_takes_over_an_account_with_the_same_email(
    client, oidc, provider, alex
):
    oidc.OIDC_LINK_CLAIM = "sub"
    existing = UserFactory(username="alex", email="alex@example.com")

    client.get(back_from_provider(client, provider))

    person = SignInIdentity.objects.get(subject="00u-alex-7f3a").user
    assert person != existing
    assert person.username == "alex@example.com"


def test_an_unverified_email_never_links_an_existing_person(client, oidc, provider, alex):
    UserFactory(username="arivera", email="alex@example.com")
    alex["email_verified"] = False
    before = people_records()

    response = client.get(back_from_provider(client, provider))

    assert response.url == reverse("login")
    assert SESSION_KEY not in client.session
    assert "not verified" in client.get(response.url).content.decode()
    assert people_records() == before


def test_a_second_provider_account_with_the_same_email_is_refused(client, oidc, provider, alex):
    client.get(back_from_provider(client, provider))
    client.logout()
    alex["sub"] = "00u-someone-new"
    before = people_records()

    response = client.get(back_from_provider(client, provider))

    assert SESSION_KEY not in client.session
    assert "linked to another account" in client.get(response.url).content.decode()
    assert people_records() == before


def test_a_person_switched_off_in_the_portal_cannot_sign_in(client, oidc, provider, alex):
    UserFactory(username="arivera", email="alex@example.com", is_active=False)
    before = people_records()

    response = client.get(back_from_provider(client, provider))

    assert SESSION_KEY not in client.session
    assert "switched off" in client.get(response.url).content.decode()
    assert people_records() == before


def test_switching_a_person_off_ends_their_single_sign_on_session(client, oidc, provider, alex):
    client.get(back_from_provider(client, provider))
    User.objects.filter(username="alex").update(is_active=False)

    response = client.get(reverse("home"))

    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


# -- refusals: nothing is created ------------------------------------------------------------


def test_a_state_that_does_not_match_is_refused(client, oidc, provider, alex, caplog):
    callback = back_from_provider(client, provider)
    parts = urlsplit(callback)
    query = parse_qs(parts.query)
    forged = f"{parts.path}?{urlencode({'code': query['code'][0], 'state': 'forged-state'})}"
    before = people_records()

    response = client.get(forged)

    assert_refused(client, response, caplog, "state not found in session")
    assert people_records() == before


def test_an_id_token_with_another_nonce_is_refused(client, oidc, provider, alex, caplog):
    provider.nonce_override = "a-nonce-from-another-sign-in"
    before = people_records()

    response = client.get(back_from_provider(client, provider))

    assert_refused(client, response, caplog, "Nonce verification failed")
    assert people_records() == before


def test_a_tampered_id_token_is_refused(client, oidc, provider, alex, caplog):
    provider.tamper_id_token = True
    before = people_records()

    response = client.get(back_from_provider(client, provider))

    assert_refused(client, response, caplog, "Signature verification failed")
    assert people_records() == before


def test_an_expired_id_token_is_refused(client, oidc, provider, alex, caplog):
    # Expired ten minutes ago: well past the minute allowed for clocks that disagree.
    provider.id_token_lifetime = -600
    before = people_records()

    response = client.get(back_from_provider(client, provider))

    assert_refused(client, response, caplog, "Signature has expired")
    assert people_records() == before


def test_an_id_token_meant_for_another_client_is_refused(client, oidc, provider, alex, caplog):
    provider.audience = ["another-portal"]
    before = people_records()

    response = client.get(back_from_provider(client, provider))

    assert_refused(client, response, caplog, "Audience doesn't match")
    assert people_records() == before


def test_a_password_form_posted_with_a_code_is_no_sign_in_with_the_provider(
    client, oidc, provider, alex, employee
):
    callback = back_from_provider(client, provider)
    query = urlsplit(callback).query

    response = client.post(
        f"{reverse('login')}?{query}", {"username": "employee", "password": "wrong"}
    )

    assert response.status_code == 200
    assert SESSION_KEY not in client.session
    assert provider.token_requests == 0


# -- confidential departments ----------------------------------------------------------------


@pytest.fixture
def hr_holds_confidential_cases(hr_department):
    CatalogItemFactory(service__department=hr_department, is_confidential=True)
    return hr_department


def test_a_group_mapping_never_grants_an_hr_role_without_the_explicit_allowance(
    client, oidc, provider, alex, it_department, hr_holds_confidential_cases
):
    alex["groups"] = ["hr-staff", "it-agents"]

    client.get(back_from_provider(client, provider))

    person = User.objects.get(username="alex")
    assert client.session[SESSION_KEY] == str(person.pk)
    assert list(person.department_roles.values_list("department__slug", "role")) == [("it", AGENT)]


def test_an_hr_role_comes_from_a_group_once_hr_is_listed_as_allowed(
    client, oidc, provider, alex, it_department, hr_holds_confidential_cases
):
    oidc.OIDC_GROUP_ROLES_CONFIDENTIAL_DEPARTMENTS = ["hr"]
    alex["groups"] = ["hr-staff"]

    client.get(back_from_provider(client, provider))

    person = User.objects.get(username="alex")
    assert list(person.department_roles.values_list("department__slug", "role", "source")) == [
        ("hr", AGENT, FROM_GROUPS)
    ]
    # The provider's groups granted it, not Alex: flagged as opening confidential cases,
    # not as given to oneself.
    [granted] = Event.objects.filter(kind=EventKind.ROLE_GRANTED)
    assert granted.payload["confidential_access"] is True
    assert "self_granted" not in granted.payload


def test_an_hr_role_from_groups_goes_when_the_allowance_is_withdrawn(
    client, oidc, provider, alex, hr_holds_confidential_cases
):
    oidc.OIDC_GROUP_ROLES_CONFIDENTIAL_DEPARTMENTS = ["hr"]
    alex["groups"] = ["hr-staff"]
    client.get(back_from_provider(client, provider))
    client.logout()
    oidc.OIDC_GROUP_ROLES_CONFIDENTIAL_DEPARTMENTS = []

    client.get(back_from_provider(client, provider))

    assert not DepartmentRole.objects.filter(user__username="alex").exists()


# -- local passwords -------------------------------------------------------------------------


@pytest.fixture
def passwords_off(oidc):
    oidc.LOCAL_PASSWORDS = False
    oidc.BREAK_GLASS_USERNAMES = ["root"]
    return oidc


def test_the_sign_in_page_offers_the_provider_beside_passwords(
    client, oidc, django_assert_max_num_queries
):
    with django_assert_max_num_queries(2):
        page = client.get(reverse("login")).content.decode()

    assert "Sign in with Acme ID" in page
    assert "Sign in with a password" in page
    assert "Forgotten your password?" in page


def test_with_passwords_off_the_sign_in_page_offers_only_the_provider_and_break_glass(
    client, passwords_off
):
    page = client.get(reverse("login")).content.decode()

    assert "Sign in with Acme ID" in page
    assert "Administrator sign-in" in page
    assert "Forgotten your password?" not in page


def test_with_passwords_off_a_persons_password_is_refused_in_words(client, passwords_off, employee):
    response = client.post(reverse("login"), {"username": "employee", "password": TEST_PASSWORD})

    assert response.status_code == 200
    assert "Passwords are switched off: sign in with Acme ID." in response.content.decode()
    assert SESSION_KEY not in client.session


def test_with_passwords_off_the_break_glass_admin_signs_in_with_a_password(
    client, passwords_off, superuser
):
    response = client.post(
        reverse("login"),
        {"username": "root", "password": TEST_PASSWORD},
        REMOTE_ADDR="203.0.113.7",
    )

    assert response.status_code == 302
    assert client.session[SESSION_KEY] == str(superuser.pk)
    [used] = Event.objects.filter(kind=EventKind.BREAK_GLASS_SIGN_IN)
    assert (used.subject_type, used.subject_id, used.actor) == (
        "auth.user",
        superuser.pk,
        superuser,
    )
    assert used.payload == {"via": "password", "address": "203.0.113.7"}


def test_a_break_glass_password_that_fails_records_no_sign_in(client, passwords_off, superuser):
    response = client.post(reverse("login"), {"username": "root", "password": "wrong"})

    assert response.status_code == 200
    assert SESSION_KEY not in client.session
    assert not Event.objects.filter(kind=EventKind.BREAK_GLASS_SIGN_IN).exists()


def test_a_password_sign_in_by_anyone_else_is_not_break_glass(client, oidc, employee):
    client.post(reverse("login"), {"username": "employee", "password": TEST_PASSWORD})

    assert client.session[SESSION_KEY] == str(employee.pk)
    assert not Event.objects.filter(kind=EventKind.BREAK_GLASS_SIGN_IN).exists()


def test_with_passwords_off_the_admin_sign_in_refuses_everyone_but_break_glass(
    client, passwords_off, employee
):
    employee.is_staff = True
    employee.save()

    client.post(reverse("admin:login"), {"username": "employee", "password": TEST_PASSWORD})

    assert SESSION_KEY not in client.session


def test_with_passwords_off_a_password_session_opened_before_ends(client, passwords_off, employee):
    client.force_login(employee, backend="esm.oidc.LocalPasswordBackend")

    response = client.get(reverse("home"))

    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def test_with_passwords_off_only_the_break_glass_admin_gets_a_reset_link(
    client, passwords_off, employee, superuser
):
    page = client.get(reverse("password_reset")).content.decode()
    client.post(reverse("password_reset"), {"email": employee.email})
    client.post(reverse("password_reset"), {"email": superuser.email})

    assert "Passwords are switched off: sign in with Acme ID" in page
    assert [message.to for message in mail.outbox] == [[superuser.email]]


def test_with_passwords_off_a_reset_link_sent_before_no_longer_works(
    client, passwords_off, employee
):
    uid = urlsafe_base64_encode(force_bytes(employee.pk))
    link = reverse(
        "password_reset_confirm", args=[uid, default_token_generator.make_token(employee)]
    )

    page = client.get(link, follow=True)

    assert "This link no longer works" in page.content.decode()
    assert employee.password == User.objects.get(pk=employee.pk).password


def test_with_passwords_off_nobody_else_changes_a_password(client, passwords_off, employee):
    client.force_login(employee, backend="esm.oidc.SignInBackend")

    response = client.get(reverse("password_change"))

    assert response.status_code == 403


def test_without_single_sign_on_passwords_stay_on_whatever_the_setting(client, settings, employee):
    settings.LOCAL_PASSWORDS = False

    response = client.post(reverse("login"), {"username": "employee", "password": TEST_PASSWORD})

    assert response.status_code == 302
    assert client.session[SESSION_KEY] == str(employee.pk)


def test_without_single_sign_on_the_provider_pages_do_not_exist(client):
    page = client.get(reverse("login")).content.decode()

    assert "Sign in with" not in page
    assert client.get(reverse("oidc_authentication_init")).status_code == 404
    assert client.get(reverse("oidc_authentication_callback")).status_code == 404


# -- signing out -----------------------------------------------------------------------------


def test_sign_out_ends_the_session_at_the_provider_too(client, oidc, provider, alex):
    client.get(back_from_provider(client, provider))
    id_token = client.session["oidc_id_token"]

    response = client.post(reverse("logout"))

    assert SESSION_KEY not in client.session
    assert response.status_code == 302
    assert response.url.startswith(f"{provider.issuer}/logout?")
    query = parse_qs(urlsplit(response.url).query)
    assert query["id_token_hint"] == [id_token]
    assert query["post_logout_redirect_uri"] == ["http://testserver/account/sign-in/"]
    assert query["client_id"] == [CLIENT_ID]
    back = requests.get(response.url, allow_redirects=False, timeout=5)
    assert back.headers["Location"] == "http://testserver/account/sign-in/"


def test_sign_out_stays_in_the_portal_where_the_provider_offers_no_end_session(
    client, oidc, provider, alex
):
    provider.without_end_session()
    client.get(back_from_provider(client, provider))

    response = client.post(reverse("logout"))

    assert SESSION_KEY not in client.session
    assert response.url == reverse("login")


def test_a_password_sign_out_stays_in_the_portal(client, oidc, superuser):
    client.force_login(superuser, backend="esm.oidc.LocalPasswordBackend")

    response = client.post(reverse("logout"))

    assert response.url == reverse("login")


# -- configuration ---------------------------------------------------------------------------


def _settings_from(monkeypatch, **environment):
    for name in [name for name in os.environ if name.startswith("OIDC_")]:
        monkeypatch.delenv(name)
    for name, value in {"DEBUG": "1", **environment}.items():
        monkeypatch.setenv(name, value)
    return runpy.run_path(str(ROOT / "esm" / "settings.py"))


def test_without_an_issuer_people_sign_in_with_a_password(monkeypatch):
    loaded = _settings_from(monkeypatch)

    assert loaded["AUTHENTICATION_BACKENDS"] == [
        "axes.backends.AxesStandaloneBackend",
        "rules.permissions.ObjectPermissionBackend",
        "esm.backends.PasswordBackend",
    ]


def test_an_issuer_and_a_client_switch_single_sign_on_on(monkeypatch):
    loaded = _settings_from(
        monkeypatch,
        OIDC_ISSUER="https://login.example.com",
        OIDC_CLIENT_ID="esm-portal",
        OIDC_GROUP_ROLES="it-agents=it:agent,it-leads=it:agent;it:manager",
        LOCAL_PASSWORDS="off",
        BREAK_GLASS_USERNAMES="root,second-root",
    )

    # Sign-in throttling first, whichever way people sign in.
    assert loaded["AUTHENTICATION_BACKENDS"][0] == "axes.backends.AxesStandaloneBackend"
    assert loaded["AUTHENTICATION_BACKENDS"][2:] == [
        "esm.oidc.LocalPasswordBackend",
        "esm.oidc.SignInBackend",
    ]
    assert loaded["OIDC_GROUP_ROLES"] == {
        "it-agents": "it:agent",
        "it-leads": "it:agent;it:manager",
    }
    assert loaded["LOCAL_PASSWORDS"] is False
    assert loaded["BREAK_GLASS_USERNAMES"] == ["root", "second-root"]


def test_a_link_claim_other_than_sub_or_email_stops_the_start(monkeypatch):
    with pytest.raises(ImproperlyConfigured, match="OIDC_LINK_CLAIM"):
        _settings_from(monkeypatch, OIDC_LINK_CLAIM="upn")


def test_check_deploy_is_clean_with_single_sign_on_configured():
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("OIDC_", "DEBUG", "DATABASE_URL", "REDIS_URL"))
    }
    environment |= {
        "DJANGO_SETTINGS_MODULE": "esm.settings",
        "SECRET_KEY": "a-long-random-production-secret-" + "k3y" * 12,
        "ALLOWED_HOSTS": "portal.example.com",
        "EMAIL_URL": "smtp+tls://portal:secret@mail.example.com:587",
        "OIDC_ISSUER": "https://login.example.com/realms/acme",
        "OIDC_CLIENT_ID": "esm-portal",
        "OIDC_CLIENT_SECRET": "from-the-provider",
        "OIDC_GROUP_ROLES": "it-agents=it:agent,it-leads=it:agent;it:manager",
        "LOCAL_PASSWORDS": "off",
        "BREAK_GLASS_USERNAMES": "root",
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        check=False,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_a_group_mapping_that_is_not_department_and_role_fails_the_checks(settings):
    settings.OIDC_GROUP_ROLES = {"it-agents": "it-agent"}

    errors = [message for message in run_checks() if message.id == "esm.E001"]

    assert errors
    assert "it-agents=it-agent" in errors[0].msg
