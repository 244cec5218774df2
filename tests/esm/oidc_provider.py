"""A real OpenID Connect provider for the single sign-on tests, on authlib's server pieces.

It serves discovery, authorize, token, userinfo, JWKS and end-session endpoints over HTTP
on a loopback port (wsgiref in a thread), issues RS256-signed ID tokens, requires PKCE
(S256) and checks the client's secret and redirect URI like any provider. Whoever is
"signed in at the provider" is `provider.person` (its claims); the test sets it.

A few switches make it misbehave the way a broken or hostile provider would, to prove the
portal refuses: an ID token already expired, carrying another nonce, or altered after
signing.
"""

from __future__ import annotations

import base64
import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlencode
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from authlib.oauth2 import AuthorizationServer
from authlib.oauth2.rfc6749 import OAuth2Error, OAuth2Request
from authlib.oauth2.rfc6749.grants import AuthorizationCodeGrant
from authlib.oauth2.rfc6749.requests import BasicOAuth2Payload
from authlib.oauth2.rfc6750 import BearerTokenGenerator
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oidc.core.grants import OpenIDCode
from joserfc.jwk import KeySet, RSAKey

CLIENT_ID = "esm-portal"
CLIENT_SECRET = "provider-issued-client-secret"
REDIRECT_URI = "http://testserver/account/oidc/callback/"


@dataclass
class _Client:
    client_id: str
    client_secret: str
    redirect_uris: list[str]

    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> str:
        return self.redirect_uris[0]

    def get_allowed_scope(self, scope: str) -> str:
        return " ".join(s for s in scope.split() if s in {"openid", "email", "profile", "groups"})

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return redirect_uri in self.redirect_uris

    def check_client_secret(self, client_secret: str) -> bool:
        return secrets.compare_digest(client_secret, self.client_secret)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return method in {"client_secret_basic", "client_secret_post"}

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code"

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type == "authorization_code"


@dataclass
class _Code:
    code: str
    client_id: str
    redirect_uri: str
    scope: str
    person: dict[str, Any]
    nonce: str | None
    code_challenge: str | None
    code_challenge_method: str | None
    auth_time: int = field(default_factory=lambda: int(time.time()))

    def get_redirect_uri(self) -> str:
        return self.redirect_uri

    def get_scope(self) -> str:
        return self.scope

    def get_nonce(self) -> str | None:
        return self.nonce

    def get_auth_time(self) -> int:
        return self.auth_time

    def get_acr(self) -> None:
        return None

    def get_amr(self) -> None:
        return None


class _Request(OAuth2Request):
    def __init__(self, method: str, uri: str, headers: dict[str, str], data: dict[str, str]):
        super().__init__(method, uri, headers=headers)
        self.payload = BasicOAuth2Payload(data)
        self._data = data

    @property
    def args(self) -> dict[str, str]:
        return self._data if self.method == "GET" else {}

    @property
    def form(self) -> dict[str, str]:
        return self._data if self.method == "POST" else {}


class OidcProvider:
    """One provider, one registered client (the portal), one person signed in at it."""

    def __init__(self) -> None:
        self.key = RSAKey.generate_key(2048, parameters={"kid": "signing-1", "use": "sig"})
        self.client = _Client(CLIENT_ID, CLIENT_SECRET, [REDIRECT_URI])
        self.person: dict[str, Any] = {}
        self.codes: dict[str, _Code] = {}
        self.access_tokens: dict[str, dict[str, Any]] = {}
        self.authorize_requests: list[dict[str, str]] = []
        self.end_session_requests: list[dict[str, str]] = []
        self.token_requests = 0
        # Misbehaviour switches.
        self.id_token_lifetime = 300
        self.nonce_override: str | None = None
        self.tamper_id_token = False
        self.audience: list[str] | None = None
        self.server = self._authorization_server()
        self._httpd: WSGIServer | None = None
        self.issuer = ""

    # -- running ---------------------------------------------------------------------

    def start(self) -> OidcProvider:
        self._httpd = make_server("127.0.0.1", 0, self.wsgi, handler_class=_QuietHandler)
        self.issuer = f"http://127.0.0.1:{self._httpd.server_port}"
        threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()

    # -- the authorization server ------------------------------------------------------

    def _authorization_server(self) -> AuthorizationServer:
        provider = self

        class Server(AuthorizationServer):
            def query_client(self, client_id: str) -> _Client | None:
                return provider.client if client_id == provider.client.client_id else None

            def save_token(self, token: dict[str, Any], request: _Request) -> None:
                provider.access_tokens[token["access_token"]] = request.user

            def create_oauth2_request(self, request: _Request) -> _Request:
                return request

            def create_json_request(self, request: _Request) -> _Request:
                return request

            def handle_response(self, status: int, body: Any, headers: Any) -> Any:
                return status, body, headers

            def send_signal(self, name: str, *args: Any, **kwargs: Any) -> None:
                pass

        class CodeGrant(AuthorizationCodeGrant):
            TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]

            def save_authorization_code(self, code: str, request: _Request) -> None:
                data = request.payload.data
                provider.codes[code] = _Code(
                    code=code,
                    client_id=request.client.client_id,
                    redirect_uri=data.get("redirect_uri", ""),
                    scope=request.scope,
                    person=request.user,
                    nonce=data.get("nonce"),
                    code_challenge=data.get("code_challenge"),
                    code_challenge_method=data.get("code_challenge_method"),
                )

            def query_authorization_code(self, code: str, client: _Client) -> _Code | None:
                found = provider.codes.get(code)
                return found if found and found.client_id == client.client_id else None

            def delete_authorization_code(self, authorization_code: _Code) -> None:
                provider.codes.pop(authorization_code.code, None)

            def authenticate_user(self, authorization_code: _Code) -> dict[str, Any]:
                return authorization_code.person

        class IdToken(OpenIDCode):
            def exists_nonce(self, nonce: str, request: _Request) -> bool:
                return any(code.nonce == nonce for code in provider.codes.values())

            def resolve_client_private_key(self, client: _Client) -> RSAKey:
                return provider.key

            def get_client_algorithm(self, client: _Client) -> str:
                return "RS256"

            def get_encode_header(self, client: _Client) -> dict[str, str]:
                return {"alg": "RS256", "kid": provider.key.kid}

            def get_client_claims(self, client: _Client) -> dict[str, Any]:
                now = int(time.time())
                return {
                    "iss": provider.issuer,
                    "aud": provider.audience or [client.client_id],
                    "iat": now,
                    "exp": now + provider.id_token_lifetime,
                }

            def get_authorization_code_claims(self, authorization_code: _Code) -> dict[str, Any]:
                claims = super().get_authorization_code_claims(authorization_code)
                if provider.nonce_override is not None:
                    claims["nonce"] = provider.nonce_override
                return claims

            def generate_user_info(self, user: dict[str, Any], scope: str) -> dict[str, Any]:
                return dict(user)

        server = Server(scopes_supported=["openid", "email", "profile", "groups"])
        server.register_token_generator(
            "default",
            BearerTokenGenerator(lambda *args, **kwargs: secrets.token_urlsafe(32)),
        )
        server.register_grant(
            CodeGrant, [CodeChallenge(required=True), IdToken(require_nonce=True)]
        )
        return server

    # -- HTTP ------------------------------------------------------------------------

    def wsgi(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        method = environ["REQUEST_METHOD"]
        path = environ["PATH_INFO"]
        query = {k: v[0] for k, v in parse_qs(environ.get("QUERY_STRING", "")).items()}
        body = b""
        if method == "POST":
            body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        form = {k: v[0] for k, v in parse_qs(body.decode()).items()}
        headers = {
            key[5:].replace("_", "-").title(): value
            for key, value in environ.items()
            if key.startswith("HTTP_")
        }
        if "CONTENT_TYPE" in environ:
            headers["Content-Type"] = environ["CONTENT_TYPE"]
        uri = f"{self.issuer}{path}?{environ.get('QUERY_STRING', '')}"

        status, payload, extra = 404, {"error": "not_found"}, []
        if path == "/.well-known/openid-configuration":
            status, payload = 200, self.metadata()
        elif path == "/jwks":
            status, payload = 200, KeySet([self.key]).as_dict(private=False)
        elif path == "/authorize" and method == "GET":
            status, payload, extra = self._authorize(_Request(method, uri, headers, query))
        elif path == "/token" and method == "POST":
            self.token_requests += 1
            status, payload, extra = self.server.create_token_response(
                _Request(method, uri, headers, form)
            )
            if status == 200 and self.tamper_id_token:
                payload["id_token"] = _tampered(payload["id_token"])
        elif path == "/userinfo":
            token = headers.get("Authorization", "").removeprefix("Bearer ")
            person = self.access_tokens.get(token)
            status, payload = (200, dict(person)) if person else (401, {"error": "invalid_token"})
        elif path == "/logout":
            self.end_session_requests.append(query)
            status, payload = 302, ""
            extra = [("Location", query.get("post_logout_redirect_uri", self.issuer))]

        text = payload if isinstance(payload, str) else json.dumps(payload)
        content_type = [] if isinstance(payload, str) else [("Content-Type", "application/json")]
        start_response(f"{status} -", [*content_type, *list(extra)])
        return [text.encode()]

    def _authorize(self, request: _Request) -> tuple[int, Any, Any]:
        self.authorize_requests.append(dict(request.payload.data))
        # This provider requires PKCE with S256, as providers can be set to.
        if request.payload.data.get("code_challenge_method") != "S256":
            return 400, {"error": "invalid_request", "error_description": "PKCE S256 required"}, []
        person = dict(self.person)
        try:
            grant = self.server.get_consent_grant(request, end_user=person)
        except OAuth2Error as error:
            return self.server.handle_error_response(request, error)
        return self.server.create_authorization_response(request, grant_user=person, grant=grant)

    def metadata(self) -> dict[str, Any]:
        return {
            "issuer": self.issuer,
            "authorization_endpoint": f"{self.issuer}/authorize",
            "token_endpoint": f"{self.issuer}/token",
            "userinfo_endpoint": f"{self.issuer}/userinfo",
            "jwks_uri": f"{self.issuer}/jwks",
            "end_session_endpoint": f"{self.issuer}/logout",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        }

    def without_end_session(self) -> None:
        self.metadata = lambda: {  # type: ignore[method-assign]
            k: v for k, v in OidcProvider.metadata(self).items() if k != "end_session_endpoint"
        }

    def end_session_query(self) -> str:
        return urlencode(self.end_session_requests[-1])


def _tampered(id_token: str) -> str:
    """The same token with one claim changed after signing: the signature no longer
    matches what it signs."""
    header, payload, signature = id_token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["email"] = "someone.else@example.com"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return f"{header}.{forged}.{signature}"


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass
