"""The SCIM endpoints under /scim/v2/: thin DRF views over `esm.scim.resources` (reading
and checking) and `esm.provisioning` (the writes).

Only a provisioning client's bearer token opens them (a session does not). Every refusal,
the 401s included, is a SCIM error body; nothing is changed by a refused request.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.db import IntegrityError
from django.db.models import Prefetch, QuerySet, Value
from django.db.models.functions import Concat
from django.urls import reverse
from rest_framework import exceptions, status
from rest_framework.authentication import BaseAuthentication
from rest_framework.permissions import BasePermission
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from esm import provisioning
from esm.api import BoundedJSONParser
from esm.models import DirectoryGroup, ProvisioningClient
from esm.scim import discovery
from esm.scim.errors import ScimError, not_found
from esm.scim.filters import GROUP_FILTERS, USER_FILTERS, queryset_filter
from esm.scim.resources import (
    LIST_SCHEMA,
    attributes_pick,
    group_resource,
    group_state_patched,
    group_state_read,
    id_of,
    user_resource,
    user_values_patched,
    user_values_read,
)

User = get_user_model()

PAGE_SIZE_DEFAULT = 100
PAGE_SIZE_MAX = 200


class ScimJsonParser(BoundedJSONParser):
    media_type = "application/scim+json"


class ScimJsonRenderer(JSONRenderer):
    media_type = "application/scim+json"


class ProvisioningTokenAuthentication(BaseAuthentication):
    """`Authorization: Bearer <token>` of an active provisioning client."""

    def authenticate(self, request: Request) -> tuple[Any, ProvisioningClient] | None:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return None
        client = provisioning.provisioning_client_authenticate(token.strip())
        if client is None:
            raise exceptions.AuthenticationFailed("The token is not a provisioning client's.")
        return client.account, client

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="scim"'


class IsProvisioningClient(BasePermission):
    def has_permission(self, request: Request, view: Any) -> bool:
        return isinstance(request.auth, ProvisioningClient)


class ScimApi(APIView):
    schema = None  # SCIM has its own discovery endpoints; not part of the portal's OpenAPI.
    authentication_classes = [ProvisioningTokenAuthentication]
    permission_classes = [IsProvisioningClient]
    parser_classes = [ScimJsonParser, BoundedJSONParser]
    renderer_classes = [ScimJsonRenderer, JSONRenderer]
    throttle_classes: list[Any] = []

    def handle_exception(self, exc: Exception) -> Response:
        if isinstance(exc, ScimError):
            error = exc
        elif isinstance(exc, exceptions.NotAuthenticated | exceptions.AuthenticationFailed):
            error = ScimError(
                "A provisioning client's bearer token is required.",
                status=status.HTTP_401_UNAUTHORIZED,
            )
        elif isinstance(exc, exceptions.ParseError):
            error = ScimError(f"The body is not JSON: {exc.detail}", scim_type="invalidSyntax")
        elif isinstance(exc, exceptions.APIException):
            error = ScimError(str(exc.detail), status=exc.status_code)
        else:
            return super().handle_exception(exc)
        response = Response(error.body(), status=error.status)
        if error.status == status.HTTP_401_UNAUTHORIZED:
            response["WWW-Authenticate"] = 'Bearer realm="scim"'
        return response

    @property
    def client(self) -> ProvisioningClient:
        return self.request.auth  # type: ignore[return-value]

    def location(self, kind: str, pk: int) -> str:
        name = "scim-user" if kind == "Users" else "scim-group"
        return self.request.build_absolute_uri(reverse(name, args=[pk]))

    def pick(self, resource: dict[str, Any]) -> dict[str, Any]:
        params = self.request.query_params
        return attributes_pick(
            resource,
            params.get("attributes", "").split(","),
            params.get("excludedAttributes", "").split(","),
        )

    def listing(self, queryset: QuerySet, filters: Any, render: Any) -> Response:
        params = self.request.query_params
        if text := params.get("filter", "").strip():
            queryset = queryset_filter(queryset, text, filters)
        try:
            start = max(int(params.get("startIndex", 1)), 1)
            count = min(max(int(params.get("count", PAGE_SIZE_DEFAULT)), 0), PAGE_SIZE_MAX)
        except ValueError as error:
            raise ScimError("startIndex and count must be numbers.") from error
        total = queryset.count()
        page = list(queryset.order_by("pk")[start - 1 : start - 1 + count]) if count else []
        return Response(
            {
                "schemas": [LIST_SCHEMA],
                "totalResults": total,
                "startIndex": start,
                "itemsPerPage": len(page),
                "Resources": [self.pick(render(item)) for item in page],
            }
        )


# --- Users ------------------------------------------------------------------------------------


def _users() -> QuerySet:
    return (
        User.objects.filter(provisioning_client__isnull=True)
        .select_related("profile__department", "profile__manager")
        .prefetch_related(Prefetch("directory_groups", DirectoryGroup.objects.order_by("pk")))
        .annotate(
            email_type=Value("work"),
            display_name=Concat("first_name", Value(" "), "last_name"),
        )
    )


def _user(pk: str) -> Any:
    key = id_of(pk)
    found = _users().filter(pk=key).first() if key is not None else None
    if found is None:
        raise not_found(f"User {pk}")
    return found


def _taken(what: str) -> ScimError:
    return ScimError(f"{what} is taken.", status=status.HTTP_409_CONFLICT, scim_type="uniqueness")


class UsersApi(ScimApi):
    def get(self, request: Request) -> Response:
        return self.listing(_users(), USER_FILTERS, self.render)

    def render(self, user: Any) -> dict[str, Any]:
        return user_resource(user, self.location)

    def post(self, request: Request) -> Response:
        values = user_values_read(request.data)
        try:
            person = provisioning.person_provision(values=values, client=self.client)
        except (IntegrityError, provisioning.UsernameTaken) as error:
            raise _taken(f"userName {values.username!r}") from error
        return Response(self.render(_user(str(person.pk))), status=status.HTTP_201_CREATED)


class UserApi(ScimApi):
    def render(self, user: Any) -> dict[str, Any]:
        return user_resource(user, self.location)

    def get(self, request: Request, pk: str) -> Response:
        return Response(self.pick(self.render(_user(pk))))

    def put(self, request: Request, pk: str) -> Response:
        user = _user(pk)
        return self._update(user, user_values_read(request.data, user=user), via="put")

    def patch(self, request: Request, pk: str) -> Response:
        user = _user(pk)
        return self._update(user, user_values_patched(user, request.data), via="patch")

    def _update(self, user: Any, values: provisioning.PersonValues, *, via: str) -> Response:
        try:
            provisioning.person_directory_update(
                person=user, values=values, client=self.client, via=via
            )
        except (IntegrityError, provisioning.UsernameTaken) as error:
            raise _taken(f"userName {values.username!r}") from error
        return Response(self.render(_user(str(user.pk))))

    def delete(self, request: Request, pk: str) -> Response:
        # People are never deleted (the event log and their requests name them): removing
        # one from the directory deactivates them, which is their offboarding.
        provisioning.person_deactivate(person=_user(pk), client=self.client, via="delete")
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- Groups -----------------------------------------------------------------------------------


def _groups() -> QuerySet:
    return DirectoryGroup.objects.prefetch_related(Prefetch("members", User.objects.order_by("pk")))


def _group(pk: str) -> DirectoryGroup:
    key = id_of(pk)
    found = _groups().filter(pk=key).first() if key is not None else None
    if found is None:
        raise not_found(f"Group {pk}")
    return found


class GroupsApi(ScimApi):
    def render(self, group: DirectoryGroup) -> dict[str, Any]:
        return group_resource(group, self.location)

    def get(self, request: Request) -> Response:
        return self.listing(_groups(), GROUP_FILTERS, self.render)

    def post(self, request: Request) -> Response:
        state = group_state_read(request.data)
        try:
            group = provisioning.directory_group_create(
                display_name=state.display_name,
                external_id=state.external_id,
                member_ids=state.member_ids,
                client=self.client,
            )
        except IntegrityError as error:
            raise _taken(f"displayName {state.display_name!r}") from error
        return Response(self.render(_group(str(group.pk))), status=status.HTTP_201_CREATED)


class GroupApi(ScimApi):
    def render(self, group: DirectoryGroup) -> dict[str, Any]:
        return group_resource(group, self.location)

    def get(self, request: Request, pk: str) -> Response:
        return Response(self.pick(self.render(_group(pk))))

    def put(self, request: Request, pk: str) -> Response:
        return self._update(_group(pk), group_state_read(request.data))

    def patch(self, request: Request, pk: str) -> Response:
        group = _group(pk)
        self._update(group, group_state_patched(group, request.data))
        # RFC 7644 allows 204 for a PATCH; Entra ID and Okta read no body back from a group.
        return Response(status=status.HTTP_204_NO_CONTENT)

    def _update(self, group: DirectoryGroup, state: Any) -> Response:
        try:
            provisioning.directory_group_update(
                group=group,
                display_name=state.display_name,
                external_id=state.external_id,
                member_ids=state.member_ids,
                client=self.client,
            )
        except IntegrityError as error:
            raise _taken(f"displayName {state.display_name!r}") from error
        return Response(self.render(_group(str(group.pk))))

    def delete(self, request: Request, pk: str) -> Response:
        provisioning.directory_group_delete(group=_group(pk), client=self.client)
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- Discovery --------------------------------------------------------------------------------


class ServiceProviderConfigApi(ScimApi):
    def get(self, request: Request) -> Response:
        return Response(discovery.service_provider_config(request.build_absolute_uri()))


class ResourceTypesApi(ScimApi):
    def get(self, request: Request, name: str = "") -> Response:
        types = discovery.resource_types(request.build_absolute_uri(reverse("scim-users")))
        return _one_or_list(types, name, "ResourceType")


class SchemasApi(ScimApi):
    def get(self, request: Request, name: str = "") -> Response:
        return _one_or_list(discovery.SCHEMAS, name, "Schema")


def _one_or_list(resources: list[dict[str, Any]], name: str, what: str) -> Response:
    if name:
        found = next((r for r in resources if r["id"] == name), None)
        if found is None:
            raise not_found(f"{what} {name}")
        return Response(found)
    return Response(
        {
            "schemas": [LIST_SCHEMA],
            "totalResults": len(resources),
            "startIndex": 1,
            "itemsPerPage": len(resources),
            "Resources": resources,
        }
    )
