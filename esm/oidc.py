"""Single sign-on over OpenID Connect, on mozilla-django-oidc.

The library runs the authorization code flow (state, nonce and a PKCE S256 challenge kept
in the session, the code exchanged at the token endpoint, the ID token's signature checked
against the provider's keys). Here it is given what the portal needs on top: endpoints
read from the provider's discovery document, the ID token's issuer, audience and expiry
checked as well, people linked and kept up to date by `esm.sign_in`, refusals shown on the
sign-in page instead of an error page, and sign-out at the provider too.

Configured only by settings from the environment (`OIDC_*`, see `esm/settings.py`);
without `OIDC_ISSUER` and `OIDC_RP_CLIENT_ID` nothing here is reachable.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlencode

import jwt
import requests
from axes.helpers import get_client_ip_address
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import AbstractBaseUser
from django.core.cache import cache
from django.core.exceptions import SuspiciousOperation
from django.db import IntegrityError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, resolve_url
from django.views.generic import View
from mozilla_django_oidc.auth import OIDCAuthenticationBackend
from mozilla_django_oidc.views import (
    OIDCAuthenticationCallbackView,
    OIDCAuthenticationRequestView,
)

from esm.backends import ProfileReadWithPerson
from esm.sign_in import SignInRefused, break_glass_sign_in_record, person_sign_in

logger = logging.getLogger(__name__)

# Clocks of the provider and the portal disagree a little; an ID token is accepted this
# many seconds either side of its validity.
CLOCK_SKEW_SECONDS = 60
DISCOVERY_CACHE_SECONDS = 60 * 60

# The library's setting names, and where the discovery document names the same endpoint.
_DISCOVERED = {
    "OIDC_OP_AUTHORIZATION_ENDPOINT": "authorization_endpoint",
    "OIDC_OP_TOKEN_ENDPOINT": "token_endpoint",
    "OIDC_OP_USER_ENDPOINT": "userinfo_endpoint",
    "OIDC_OP_JWKS_ENDPOINT": "jwks_uri",
    "OIDC_OP_END_SESSION_ENDPOINT": "end_session_endpoint",
}


class ProviderUnreachable(Exception):
    """The identity provider's discovery document could not be read (or names another
    issuer): nobody can sign in with it until it answers."""


def oidc_enabled() -> bool:
    return bool(settings.OIDC_ISSUER and settings.OIDC_RP_CLIENT_ID)


def local_password_allowed(username: str) -> bool:
    """Whether this username may sign in (or reset a password) with a local password.

    Passwords are switched off only where there is single sign-on to use instead; the
    break-glass administrators keep theirs for when the provider is down.
    """
    if settings.LOCAL_PASSWORDS or not oidc_enabled():
        return True
    return username in settings.BREAK_GLASS_USERNAMES


def provider_metadata() -> dict[str, Any]:
    """The provider's discovery document, cached for an hour (the cache fails open: a
    miss only reads it again)."""
    issuer = settings.OIDC_ISSUER.rstrip("/")
    key = f"oidc-discovery:{issuer}"
    metadata = cache.get(key)
    if metadata is None:
        try:
            response = requests.get(
                f"{issuer}/.well-known/openid-configuration", timeout=settings.OIDC_TIMEOUT
            )
            response.raise_for_status()
            metadata = response.json()
        except (requests.RequestException, ValueError) as error:
            raise ProviderUnreachable(f"discovery at {issuer} failed: {error}") from error
        # OpenID Connect Discovery 1.0 §4.3: a document naming another issuer is not the
        # provider's, whoever served it.
        if str(metadata.get("issuer", "")).rstrip("/") != issuer:
            raise ProviderUnreachable(
                f"discovery at {issuer} names issuer {metadata.get('issuer')}"
            )
        cache.set(key, metadata, DISCOVERY_CACHE_SECONDS)
    return metadata


def provider_setting(name: str, *default: Any) -> Any:
    """A setting as mozilla-django-oidc reads it, with each endpoint not set explicitly
    taken from the discovery document."""
    value = getattr(settings, name, *default)
    if name in _DISCOVERED and not value and oidc_enabled():
        return provider_metadata().get(_DISCOVERED[name], "")
    return value


def _sign_in_failed(request: HttpRequest, message: str) -> HttpResponse:
    messages.error(request, message)
    return redirect(settings.LOGIN_URL)


class SignInBackend(ProfileReadWithPerson, OIDCAuthenticationBackend):
    """mozilla-django-oidc's backend, with endpoints read when a sign-in happens and the
    person linked by `esm.sign_in.person_sign_in`."""

    get_settings = staticmethod(provider_setting)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # Django builds a backend for every signed-in request (`get_user`): discovering
        # the endpoints there would make each page wait on the provider.
        self.UserModel = get_user_model()
        self.OIDC_RP_CLIENT_ID = settings.OIDC_RP_CLIENT_ID
        self.OIDC_RP_CLIENT_SECRET = settings.OIDC_RP_CLIENT_SECRET
        self.OIDC_RP_SIGN_ALGO = settings.OIDC_RP_SIGN_ALGO
        self.OIDC_RP_IDP_SIGN_KEY = None

    # Named as the library reads them.
    @property
    def OIDC_OP_TOKEN_ENDPOINT(self) -> str:
        return provider_setting("OIDC_OP_TOKEN_ENDPOINT")

    @property
    def OIDC_OP_USER_ENDPOINT(self) -> str:
        return provider_setting("OIDC_OP_USER_ENDPOINT")

    @property
    def OIDC_OP_JWKS_ENDPOINT(self) -> str:
        return provider_setting("OIDC_OP_JWKS_ENDPOINT")

    def authenticate(self, request: HttpRequest | None, **kwargs: Any) -> Any:
        # Only from the callback, which has checked the state and hands over the nonce and
        # PKCE verifier; a password form posted with `?code=...&state=...` is not a sign-in.
        if not oidc_enabled() or "nonce" not in kwargs:
            return None
        return super().authenticate(request, **kwargs)

    def get_user(self, user_id: Any) -> Any:
        # The library's answers switched-off people too: their session must end with them.
        user = super().get_user(user_id)
        return user if user is not None and self.user_can_authenticate(user) else None

    def _verify_jws(self, payload: str, key: Any) -> dict[str, Any]:
        """The ID token's claims, once its signature, issuer, audience and validity
        period check out (the library checks only the signature and expiry, and lets an
        expired token escape as an error page)."""
        try:
            return jwt.decode(
                payload,
                key,
                algorithms=[self.OIDC_RP_SIGN_ALGO],
                audience=self.OIDC_RP_CLIENT_ID,
                issuer=settings.OIDC_ISSUER.rstrip("/"),
                leeway=CLOCK_SKEW_SECONDS,
                options={"require": ["iss", "aud", "sub", "exp", "iat"]},
            )
        except jwt.InvalidTokenError as error:
            raise SuspiciousOperation(f"ID token refused: {error}") from error

    def get_userinfo(self, access_token: str, id_token: str, payload: dict[str, Any]) -> Any:
        """The ID token's claims, with the userinfo endpoint's on top where there is one
        (Entra ID, for one, puts groups in the ID token only)."""
        claims = dict(payload)
        if self.OIDC_OP_USER_ENDPOINT:
            userinfo = super().get_userinfo(access_token, id_token, payload)
            # OpenID Connect Core §5.3.2: userinfo about anyone else must not be used.
            if userinfo.get("sub") != payload.get("sub"):
                raise SignInRefused("The identity provider answered about someone else.")
            claims.update(userinfo)
        return claims

    def get_or_create_user(self, access_token: str, id_token: str, payload: dict[str, Any]) -> Any:
        claims = self.get_userinfo(access_token, id_token, payload)
        return person_sign_in(issuer=payload["iss"], claims=claims)


class LocalPasswordBackend(ProfileReadWithPerson, ModelBackend):
    """Django's password backend, refusing everyone but the break-glass administrators
    while local passwords are switched off (`LOCAL_PASSWORDS=off`)."""

    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> AbstractBaseUser | None:
        name = username if username is not None else kwargs.get(get_user_model().USERNAME_FIELD)
        if name is not None and not local_password_allowed(name):
            return None
        user = super().authenticate(request, username=username, password=password, **kwargs)
        if user is not None and user.get_username() in settings.BREAK_GLASS_USERNAMES:
            # The way in that bypasses the identity provider: every use is on the record.
            break_glass_sign_in_record(
                person=user, address=get_client_ip_address(request) if request else None
            )
        return user

    def get_user(self, user_id: Any) -> AbstractBaseUser | None:
        # A session opened with a password before passwords were switched off ends too.
        user = super().get_user(user_id)
        if user is not None and not local_password_allowed(user.get_username()):
            return None
        return user


class SignInStartView(OIDCAuthenticationRequestView):
    """Sends the person to the provider, with state, nonce and a PKCE challenge."""

    get_settings = staticmethod(provider_setting)

    def __init__(self, **kwargs: Any) -> None:
        View.__init__(self, **kwargs)
        self.OIDC_RP_CLIENT_ID = settings.OIDC_RP_CLIENT_ID

    @property
    def OIDC_OP_AUTH_ENDPOINT(self) -> str:
        return provider_setting("OIDC_OP_AUTHORIZATION_ENDPOINT")

    def get(self, request: HttpRequest) -> HttpResponse:
        if not oidc_enabled():
            raise Http404
        try:
            return super().get(request)
        except ProviderUnreachable as error:
            logger.error("Single sign-on unavailable: %s", error)
            return _sign_in_failed(
                request,
                f"{settings.OIDC_PROVIDER_NAME} does not answer just now. Try again shortly.",
            )


class SignInCallbackView(OIDCAuthenticationCallbackView):
    """Where the provider sends the person back: the code is exchanged, the token checked
    and the person signed in; any refusal ends on the sign-in page, with nothing changed."""

    get_settings = staticmethod(provider_setting)

    def get(self, request: HttpRequest) -> HttpResponse:
        if not oidc_enabled():
            raise Http404
        try:
            return super().get(request)
        except SignInRefused as refusal:
            logger.warning("Single sign-on refused: %s", refusal)
            return _sign_in_failed(request, str(refusal))
        except (
            SuspiciousOperation,
            ProviderUnreachable,
            requests.RequestException,
            IntegrityError,
        ) as error:
            # A wrong state or nonce, a forged or expired token, a provider that answers
            # an error: the person is told it failed, the log says why.
            logger.warning("Single sign-on failed: %s", error)
            return self.login_failure()

    def login_failure(self) -> HttpResponse:
        return _sign_in_failed(
            self.request,
            f"Signing in with {settings.OIDC_PROVIDER_NAME} did not work. Please try again.",
        )


def provider_sign_out_url(request: HttpRequest, id_token: str) -> str | None:
    """Where to send the person so the provider ends its session too (RP-initiated logout,
    with `id_token_hint` and `post_logout_redirect_uri`), or None when it offers none."""
    try:
        endpoint = provider_setting("OIDC_OP_END_SESSION_ENDPOINT")
    except ProviderUnreachable as error:
        logger.warning("Provider sign-out skipped: %s", error)
        return None
    if not endpoint:
        return None
    query = urlencode(
        {
            "id_token_hint": id_token,
            "post_logout_redirect_uri": request.build_absolute_uri(
                resolve_url(settings.LOGOUT_REDIRECT_URL)
            ),
            "client_id": settings.OIDC_RP_CLIENT_ID,
        }
    )
    return f"{endpoint}{'&' if '?' in endpoint else '?'}{query}"


def sign_out_response(request: HttpRequest, id_token: str | None) -> HttpResponse | None:
    """The redirect to the provider's sign-out, for a person who signed in with it."""
    if not (id_token and oidc_enabled()):
        return None
    url = provider_sign_out_url(request, id_token)
    return HttpResponseRedirect(url) if url else None
