"""SCIM's error response (RFC 7644 section 3.12): every refusal answers one of these."""

from __future__ import annotations

from typing import Any

ERROR_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:Error"


class ScimError(Exception):
    """A refusal: `status` and, for a 400 or 409, the `scim_type` RFC 7644 names
    (invalidFilter, invalidSyntax, invalidPath, invalidValue, noTarget, uniqueness, ...)."""

    def __init__(self, detail: str, *, status: int = 400, scim_type: str = "") -> None:
        super().__init__(detail)
        self.detail, self.status, self.scim_type = detail, status, scim_type

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "schemas": [ERROR_SCHEMA],
            "status": str(self.status),
            "detail": self.detail,
        }
        if self.scim_type:
            body["scimType"] = self.scim_type
        return body


def invalid_value(detail: str) -> ScimError:
    return ScimError(detail, scim_type="invalidValue")


def invalid_syntax(detail: str) -> ScimError:
    return ScimError(detail, scim_type="invalidSyntax")


def invalid_path(detail: str) -> ScimError:
    return ScimError(detail, scim_type="invalidPath")


def not_found(what: str) -> ScimError:
    return ScimError(f"{what} not found.", status=404)
