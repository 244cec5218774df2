"""What the service provider supports (RFC 7643 sections 5-7): read by providers before
they provision, so it says only what the portal really does."""

from __future__ import annotations

from typing import Any

from esm.scim.resources import ENTERPRISE_SCHEMA, GROUP_SCHEMA, USER_SCHEMA

_CONFIG_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"
_TYPE_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:ResourceType"
_SCHEMA_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Schema"
FILTER_MAX_RESULTS = 200


def service_provider_config(location: str) -> dict[str, Any]:
    return {
        "schemas": [_CONFIG_SCHEMA],
        "patch": {"supported": True},
        "bulk": {"supported": False, "maxOperations": 0, "maxPayloadSize": 0},
        "filter": {"supported": True, "maxResults": FILTER_MAX_RESULTS},
        "changePassword": {"supported": False},
        "sort": {"supported": False},
        "etag": {"supported": False},
        "authenticationSchemes": [
            {
                "type": "oauthbearertoken",
                "name": "Bearer token",
                "description": "A provisioning client's token, made in the portal's admin.",
                "primary": True,
            }
        ],
        "meta": {"resourceType": "ServiceProviderConfig", "location": location},
    }


def resource_types(base: str) -> list[dict[str, Any]]:
    root = base.rstrip("/").removesuffix("/Users")
    return [
        {
            "schemas": [_TYPE_SCHEMA],
            "id": "User",
            "name": "User",
            "endpoint": "/Users",
            "schema": USER_SCHEMA,
            "schemaExtensions": [{"schema": ENTERPRISE_SCHEMA, "required": False}],
            "meta": {"resourceType": "ResourceType", "location": f"{root}/ResourceTypes/User"},
        },
        {
            "schemas": [_TYPE_SCHEMA],
            "id": "Group",
            "name": "Group",
            "endpoint": "/Groups",
            "schema": GROUP_SCHEMA,
            "meta": {"resourceType": "ResourceType", "location": f"{root}/ResourceTypes/Group"},
        },
    ]


def _attribute(name: str, *, kind: str = "string", **extra: Any) -> dict[str, Any]:
    return {
        "name": name,
        "type": kind,
        "multiValued": False,
        "required": False,
        "caseExact": False,
        "mutability": "readWrite",
        "returned": "default",
        "uniqueness": "none",
        **extra,
    }


def _schema(schema_id: str, name: str, attributes: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "schemas": [_SCHEMA_SCHEMA],
        "id": schema_id,
        "name": name,
        "attributes": attributes,
        "meta": {"resourceType": "Schema"},
    }


_REFERENCE = [
    _attribute("value"),
    _attribute("$ref", kind="reference", referenceTypes=["User", "Group"]),
    _attribute("display", mutability="readOnly"),
]

# The attributes the portal keeps; others of these schemas are accepted and not kept.
SCHEMAS = [
    _schema(
        USER_SCHEMA,
        "User",
        [
            _attribute("userName", required=True, uniqueness="server"),
            _attribute(
                "name",
                kind="complex",
                subAttributes=[_attribute("givenName"), _attribute("familyName")],
            ),
            _attribute("displayName", mutability="readOnly"),
            _attribute(
                "emails",
                kind="complex",
                multiValued=True,
                subAttributes=[_attribute("value"), _attribute("type"), _attribute("primary")],
            ),
            _attribute("active", kind="boolean"),
            _attribute("title"),
            _attribute(
                "groups",
                kind="complex",
                multiValued=True,
                mutability="readOnly",
                subAttributes=_REFERENCE,
            ),
        ],
    ),
    _schema(
        ENTERPRISE_SCHEMA,
        "EnterpriseUser",
        [
            _attribute("department"),
            _attribute("manager", kind="complex", subAttributes=_REFERENCE),
        ],
    ),
    _schema(
        GROUP_SCHEMA,
        "Group",
        [
            _attribute("displayName", required=True, uniqueness="server"),
            _attribute("members", kind="complex", multiValued=True, subAttributes=_REFERENCE),
        ],
    ),
]
