"""The Content-Security-Policy: on every page, with nothing inline that it would have to
allow with 'unsafe-inline', and room on sign-out for the identity provider."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
INLINE = {
    "inline script": re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE),
    "style element": re.compile(r"<style\b", re.IGNORECASE),
    "style attribute": re.compile(r"\sstyle\s*=", re.IGNORECASE),
    "event handler": re.compile(r"\son[a-z]+\s*=", re.IGNORECASE),
    "javascript: link": re.compile(r"javascript:", re.IGNORECASE),
}


def test_no_page_template_holds_what_the_policy_refuses():
    """E-mails are not pages (mail clients need their styles inline); every other template
    keeps scripts and styles in static files."""
    found = [
        f"{path.relative_to(ROOT)}: {what}"
        for path in sorted((ROOT / "templates").rglob("*.html"))
        if "email" not in path.relative_to(ROOT / "templates").parts
        for what, pattern in INLINE.items()
        if pattern.search(path.read_text())
    ]
    assert found == []


@pytest.mark.parametrize("path", ["/account/sign-in/", "/account/password/reset/", "/admin/login/"])
def test_pages_answer_with_the_policy(client, path):
    response = client.get(path)

    assert response.status_code == 200
    policy = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy
    assert "style-src 'self'" in policy
    assert "unsafe-inline" not in policy
    assert "frame-ancestors 'none'" in policy
    assert "form-action 'self'" in policy


def test_signed_in_pages_answer_with_the_policy(client, employee):
    client.force_login(employee)

    response = client.get(reverse("home"))

    assert "script-src 'self'" in response.headers["Content-Security-Policy"]


def test_the_api_docs_set_up_swagger_ui_from_a_script_of_their_own(client, employee):
    """Swagger UI styles what it draws inline, so its page alone allows inline styles;
    scripts stay the portal's own files there too."""
    client.force_login(employee)
    response = client.get("/api/docs/")

    assert not INLINE["inline script"].search(response.text)
    assert re.search(r'<script[^>]*\bsrc="[^"]*api/docs/[^"]*"', response.text)
    policy = dict(
        directive.strip().split(" ", 1)
        for directive in response.headers["Content-Security-Policy"].split(";")
    )
    assert policy["script-src"] == "'self'"
    assert policy["style-src"] == "'self' 'unsafe-inline'"


def _form_actions(**environment: str) -> str:
    """`SECURE_CSP["form-action"]` as settings compute it under `environment`."""
    script = (
        "import django, os; os.environ['DJANGO_SETTINGS_MODULE'] = 'esm.settings'; "
        "django.setup(); from django.conf import settings; "
        "print(' '.join(map(str, settings.SECURE_CSP['form-action'])))"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("OIDC_")}
    env |= {"DEBUG": "1", **environment}
    done = subprocess.run(  # noqa: S603 (this interpreter, our own settings)
        [sys.executable, "-c", script], env=env, cwd=ROOT, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_forms_post_to_the_portal_and_on_sign_out_to_the_identity_provider():
    assert _form_actions() == "'self'"
    assert (
        _form_actions(
            OIDC_ISSUER="https://login.example.com/tenant/v2.0",
            OIDC_END_SESSION_ENDPOINT="https://logout.example.net/end?x=1",
        )
        == "'self' https://login.example.com https://logout.example.net"
    )


@pytest.mark.parametrize("path", ["/api/schema/", "/api/docs/"])
def test_the_api_schema_and_docs_are_for_signed_in_people(client, employee, path):
    assert client.get(path).status_code in (401, 403)
    client.force_login(employee)
    assert client.get(path).status_code == 200
