"""Speaking to a live portal over real HTTP, as a signed-in person: what fault and load tests
send to the gunicorn server they start (tests.integration.harness.WebServer).

The session and CSRF cookies are kept as the bench's load client keeps them
(bench.load.Session), so the same code reads a page whether the server's cookies are
`Secure` or not.
"""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from django.urls import reverse

from bench.load import SIGN_IN_PATH, Session
from services.models import CatalogItem
from tests.esm.factories import TEST_PASSWORD

TIMEOUT_SECONDS = 60


class Portal:
    """One person's browser without the browser: a session, and the portal's forms."""

    def __init__(self, base_url: str, *, username: str, password: str = TEST_PASSWORD) -> None:
        self.client = httpx.Client(
            base_url=base_url, timeout=TIMEOUT_SECONDS, follow_redirects=False
        )
        self.session = self._sign_in(username, password)

    def _sign_in(self, username: str, password: str) -> Session:
        form = self.client.get(SIGN_IN_PATH)
        form.raise_for_status()
        csrf = form.cookies["csrftoken"]
        answer = self.client.post(
            SIGN_IN_PATH,
            data={"username": username, "password": password, "csrfmiddlewaretoken": csrf},
            headers={"Cookie": f"csrftoken={csrf}"},
        )
        if answer.status_code != 302 or "sessionid" not in answer.cookies:
            raise RuntimeError(f"{username} could not sign in (HTTP {answer.status_code}).")
        self.client.cookies.clear()
        return Session(
            {
                "sessionid": answer.cookies["sessionid"],
                "csrftoken": answer.cookies.get("csrftoken", csrf),
            }
        )

    def get(self, path: str) -> httpx.Response:
        return self.client.get(path, headers=self.session.headers())

    def post(self, path: str, data: dict[str, Any]) -> httpx.Response:
        data = data | {"csrfmiddlewaretoken": self.session.cookies["csrftoken"]}
        # Only the session's cookies: a response's Set-Cookie never changes who we are.
        self.client.cookies.clear()
        return self.client.post(path, data=data, headers=self.session.headers())

    def submit(
        self, item: CatalogItem, *, subject: str = "Onboard Kim", key: str = ""
    ) -> httpx.Response:
        """Send the item's form (an item without questions): 302 to the new request. The
        same `key` is the same form sent again."""
        return self.post(
            reverse("catalog_item", args=[item.slug]),
            {"subject": subject, "submission_key": key or uuid.uuid4().hex},
        )

    def close(self) -> None:
        self.client.close()
