"""What every part of the JSON API shares: strict input, the answers to URLs that match no
operation, and the errors each operation documents in the OpenAPI schema.

The apps' APIs (`services.api`, `valuestreams.api`, ...) build on this; it imports none of
them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.defaults import server_error as page_server_error
from rest_framework import serializers
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

from esm.request_limits import MACHINE_PATHS

TEXT_EXPECTED = "Not a valid string."


# Strict input ----------------------------------------------------------------------------


class BoundedJSONParser(JSONParser):
    """Python's JSON decoder recurses once per nesting level, so a body of ten thousand `[`
    exhausts the interpreter's stack: that is the client's malformed input, answered 400
    like any other JSON the parser refuses, never a 500."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError as error:
            raise ParseError("JSON parse error - the body is nested too deeply.") from error


def _is_text_field(field: serializers.Field) -> bool:
    return isinstance(field, serializers.CharField)


def _not_text(field: serializers.Field, value: Any) -> bool:
    """DRF's CharField turns a JSON number into its string ("42"), so a client that mixed
    up two fields would have the number stored as text; the schema says string, so only a
    string is taken."""
    if value is None:
        return False  # allow_null decides, with DRF's own message
    if _is_text_field(field):
        return not isinstance(value, str)
    if isinstance(field, serializers.ListField) and _is_text_field(field.child):
        return isinstance(value, list) and any(not isinstance(item, str) for item in value)
    return False


class InputSerializer(serializers.Serializer):
    """The base of every serializer that reads a request's body or query: text fields take
    text only (a number or a boolean is a 400 naming the field, and nothing is saved)."""

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, Mapping):
            errors = {
                name: [TEXT_EXPECTED]
                for name, field in self.fields.items()
                if not field.read_only and name in data and _not_text(field, data[name])
            }
            if errors:
                raise serializers.ValidationError(errors)
        return super().to_internal_value(data)


# URLs that match no operation ------------------------------------------------------------


def _machine(request: HttpRequest) -> bool:
    return request.path.startswith(MACHINE_PATHS)


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """`handler404`: a program calling /api/ gets the API's JSON error body, a person the
    portal's page."""
    if _machine(request):
        return JsonResponse({"detail": "Not found."}, status=404)
    return render(request, "404.html", status=404)


def server_error(request: HttpRequest) -> HttpResponse:
    """`handler500`: the same split; the body says nothing about the failure."""
    if _machine(request):
        return JsonResponse({"detail": "Server error; nothing was changed."}, status=500)
    return page_server_error(request)


# The errors in the schema ----------------------------------------------------------------

ERROR_DETAIL = "ErrorDetail"
VALIDATION_ERRORS = "ValidationErrors"

ERROR_COMPONENTS: dict[str, dict[str, Any]] = {
    ERROR_DETAIL: {
        "type": "object",
        "description": "An error with one message.",
        "properties": {"detail": {"type": "string"}},
        "required": ["detail"],
    },
    VALIDATION_ERRORS: {
        "description": (
            "Invalid input: messages keyed like the input (nested where the input is "
            "nested, `non_field_errors` for the whole), or one `detail` when the body "
            "does not parse at all."
        ),
        "anyOf": [
            {"$ref": f"#/components/schemas/{ERROR_DETAIL}"},
            {
                "type": "object",
                "additionalProperties": {
                    "anyOf": [
                        {"type": "array", "items": {}},
                        {"type": "object"},
                    ]
                },
            },
            {"type": "array", "items": {"type": "string"}},
        ],
    },
}

RETRY_AFTER = {
    "Retry-After": {
        "schema": {"type": "integer"},
        "description": "Seconds to wait before calling again.",
    }
}

DESCRIPTIONS = {
    "400": "Invalid input (body or query); nothing was changed.",
    "403": "Not signed in, or not allowed to do this; nothing was changed.",
    "404": "Not there, or not for you to see.",
    "413": "The request body is over the size limit; it was not read.",
    "415": "The body's content type is not one this operation takes.",
    "429": "Over your rate of calls; nothing was done.",
}
PAGE_PAST_THE_END = "A page past the end of the list (or not a page number)."


def _content(component: str) -> dict[str, Any]:
    return {"application/json": {"schema": {"$ref": f"#/components/schemas/{component}"}}}


def _statuses_for(operation: dict[str, Any]) -> dict[str, str]:
    """The error statuses an operation can answer, each with why."""
    parameters = operation.get("parameters", [])
    query = {p["name"] for p in parameters if p["in"] == "query"}
    statuses = {"403": DESCRIPTIONS["403"], "429": DESCRIPTIONS["429"]}
    if any(p["in"] == "path" for p in parameters):
        statuses["404"] = DESCRIPTIONS["404"]
    if "page" in query:
        statuses["404"] = (
            f"{statuses['404']} {PAGE_PAST_THE_END}" if "404" in statuses else PAGE_PAST_THE_END
        )
    if query - {"page"} or "requestBody" in operation:
        statuses["400"] = DESCRIPTIONS["400"]
    if "requestBody" in operation:
        statuses["413"] = DESCRIPTIONS["413"]
        statuses["415"] = DESCRIPTIONS["415"]
    return statuses


def document_errors(result: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """drf-spectacular postprocessing hook: every operation lists the errors it can answer,
    with their bodies. A view's own description of a status is kept; a status a view
    documents without a body (403, 404, 409, ...) gets the error body it really has."""
    result.setdefault("components", {}).setdefault("schemas", {}).update(ERROR_COMPONENTS)
    for operations in result.get("paths", {}).values():
        for operation in operations.values():
            responses = operation.setdefault("responses", {})
            for status, description in _statuses_for(operation).items():
                responses.setdefault(status, {"description": description})
            for status, response in responses.items():
                if status.startswith("4") and not response.get("content"):
                    response["content"] = _content(
                        VALIDATION_ERRORS if status == "400" else ERROR_DETAIL
                    )
            if "429" in responses:
                responses["429"].setdefault("headers", RETRY_AFTER)
            for parameter in operation.get("parameters", []):
                if parameter["in"] == "query" and parameter["name"] == "page":
                    parameter["schema"] = {**parameter.get("schema", {}), "minimum": 1}
    return result
