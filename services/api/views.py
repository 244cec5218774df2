"""The services API: the catalog (read) and one's own requests, under /api/v1/.

Thin on purpose, like the pages: parse the input, fetch through the same permission
module (`entitled_to`/`visible_to` querysets via the selectors, object rules via `can()`),
call one action or selector, render. Something the viewer may not see is a 404, exactly
as on the pages; something they may see but not do is a 403; something the request's
state refuses is a 409 and changes nothing.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.db.models import Exists, OuterRef, QuerySet
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.exceptions import APIException, PermissionDenied, ValidationError
from rest_framework.generics import GenericAPIView, ListAPIView
from rest_framework.mixins import ListModelMixin
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from esm.api import BoundedJSONParser
from esm.permissions import can
from services import selectors
from services.actions import (
    ActionRefused,
    comment_add,
    service_request_cancel,
    service_request_rate,
    service_request_submit,
)
from services.api import serializers as s
from services.api.answers import request_form_bind
from services.filters import CatalogItemFilter, ServiceRequestFilter
from services.models import CatalogItem, Service, ServiceRequest

CATALOG, REQUESTS = ["catalog"], ["requests"]
IDEMPOTENCY_HEADER = "Idempotency-Key"

REFERENCE = OpenApiParameter(
    "reference",
    OpenApiTypes.STR,
    OpenApiParameter.PATH,
    description="The request's reference, e.g. REQ-000123.",
)
NOT_FOUND = OpenApiResponse(description="No such thing, or not for you to see.")
REFUSED = OpenApiResponse(description="The request's state does not allow it; nothing changed.")
FORBIDDEN = OpenApiResponse(description="You may see the request but not do this to it.")


class Conflict(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "That is not possible in the request's current state."
    default_code = "conflict"


class UploadTooLarge(ValidationError):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE


def _refused(error: ActionRefused) -> Conflict:
    return Conflict(str(error))


def _require(user: Any, permission: str, obj: Any) -> None:
    if not can(user, permission, obj):
        raise PermissionDenied


def _request_detail(request: Request, reference: str) -> Response:
    service_request = selectors.request_for_viewer(user=request.user, reference=reference)
    return Response(s.ServiceRequestDetailOutputSerializer(service_request).data)


# Catalog -------------------------------------------------------------------------------


@extend_schema(tags=CATALOG)
class CatalogServiceListApi(ListAPIView):
    """Live services offering at least one item you may request."""

    serializer_class = s.CatalogServiceListOutputSerializer

    def get_queryset(self) -> QuerySet[Service]:
        entitled = CatalogItem.objects.entitled_to(self.request.user).filter(service=OuterRef("pk"))
        return (
            Service.objects.filter(Exists(entitled), status=Service.Status.LIVE)
            .select_related("department", "category", "owner")
            .order_by("name")
        )


@extend_schema(tags=CATALOG)
class CatalogItemListApi(ListAPIView):
    """Catalog items you are entitled to request; the others do not exist for you."""

    serializer_class = s.CatalogItemListOutputSerializer
    filterset_class = CatalogItemFilter

    def get_queryset(self) -> QuerySet[CatalogItem]:
        return selectors.catalog_items_for(user=self.request.user)


@extend_schema(tags=CATALOG)
class CatalogItemDetailApi(APIView):
    @extend_schema(
        summary="One catalog item with its request form",
        responses={200: s.CatalogItemDetailOutputSerializer, 404: NOT_FOUND},
    )
    def get(self, request: Request, slug: str) -> Response:
        item = selectors.item_for_request(user=request.user, slug=slug)
        return Response(s.CatalogItemDetailOutputSerializer(item).data)


# Requests ------------------------------------------------------------------------------


@extend_schema(tags=REQUESTS)
class ServiceRequestListCreateApi(ListModelMixin, GenericAPIView):
    # Two operations on one URL (REST's list and create); each has its own serializers.

    serializer_class = s.ServiceRequestListOutputSerializer
    filterset_class = ServiceRequestFilter
    parser_classes = [BoundedJSONParser, MultiPartParser, FormParser]

    def get_queryset(self) -> QuerySet[ServiceRequest]:
        if getattr(self, "swagger_fake_view", False):  # schema generation: no user to ask about
            return ServiceRequest.objects.none()
        return selectors.my_requests(user=self.request.user)

    @extend_schema(
        summary="Your requests, newest first",
        description="Requests you raised or that were raised on your behalf.",
    )
    def get(self, request: Request) -> Response:
        return self.list(request)

    @extend_schema(
        summary="Raise a request",
        description=(
            "Answers are validated by the item's form on the server: required and "
            "conditional questions, kinds, limits. Errors come back as 400 with messages "
            "keyed like the input (`answers` by field key); nothing is saved. Attachments "
            "need multipart/form-data, with `answers.<key>` parts. Sending the same "
            "`submission_key` (or `Idempotency-Key` header) again returns the first "
            "request with 200 instead of raising a second one."
        ),
        parameters=[
            OpenApiParameter(
                IDEMPOTENCY_HEADER,
                OpenApiTypes.STR,
                OpenApiParameter.HEADER,
                description="Used as the submission key when the body has none.",
            )
        ],
        request=s.ServiceRequestCreateInputSerializer,
        responses={
            201: s.ServiceRequestDetailOutputSerializer,
            200: OpenApiResponse(
                s.ServiceRequestDetailOutputSerializer,
                description="A replay of a submission key: the request raised the first time.",
            ),
            400: OpenApiResponse(description="Invalid answers; nothing saved."),
            404: NOT_FOUND,
            409: OpenApiResponse(description="The submission key was used for another item."),
            413: OpenApiResponse(description="An upload is over the size limit."),
        },
    )
    def post(self, request: Request) -> Response:
        payload = s.ServiceRequestCreateInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        item = selectors.item_for_request(user=request.user, slug=data["item"])
        multipart = request.content_type.startswith("multipart/")
        bound = request_form_bind(
            item=item,
            subject=data["subject"],
            answers=data["answers"],
            on_behalf_of=data["on_behalf_of"],
            submission_key=(
                data["submission_key"]
                or request.headers.get(IDEMPOTENCY_HEADER, "").strip()
                or uuid.uuid4().hex
            ),
            multipart=multipart,
        )
        if not bound.is_valid():
            error = UploadTooLarge if bound.too_large else ValidationError
            raise error(bound.errors(multipart=multipart))
        form = bound.form
        service_request, created = service_request_submit(
            item=item,
            raised_by=request.user,
            requester=form.cleaned_data.get("on_behalf_of"),
            subject=form.cleaned_data["subject"],
            answers=form.answer_rows(),
            submission_key=form.cleaned_data["submission_key"],
            uploads=form.uploads(),
        )
        if not created and service_request.catalog_item_id != item.pk:
            raise Conflict(
                f"This submission key was already used for {service_request.reference}, "
                "a request for another item. Use a new key."
            )
        response = _request_detail(request, service_request.reference)
        response["Location"] = reverse("api:request", args=[service_request.reference])
        response.status_code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
        return response


@extend_schema(tags=REQUESTS, parameters=[REFERENCE])
class ServiceRequestDetailApi(APIView):
    @extend_schema(
        summary="One request: status, answers, approvals, attachments, rating",
        responses={200: s.ServiceRequestDetailOutputSerializer, 404: NOT_FOUND},
    )
    def get(self, request: Request, reference: str) -> Response:
        return _request_detail(request, reference)


@extend_schema(tags=REQUESTS, parameters=[REFERENCE])
class ServiceRequestCancelApi(APIView):
    @extend_schema(
        summary="Cancel a request that is not resolved yet",
        request=s.ServiceRequestCancelInputSerializer,
        responses={
            200: s.ServiceRequestDetailOutputSerializer,
            403: FORBIDDEN,
            404: NOT_FOUND,
            409: REFUSED,
        },
    )
    def post(self, request: Request, reference: str) -> Response:
        service_request = selectors.request_for_viewer(user=request.user, reference=reference)
        _require(request.user, "services.own_service_request", service_request)
        payload = s.ServiceRequestCancelInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        try:
            service_request_cancel(
                service_request=service_request,
                user=request.user,
                reason=payload.validated_data["reason"],
            )
        except ActionRefused as refused:
            raise _refused(refused) from refused
        return _request_detail(request, reference)


@extend_schema(tags=REQUESTS, parameters=[REFERENCE])
class ServiceRequestRateApi(APIView):
    @extend_schema(
        summary="Rate the experience of a resolved request (once)",
        request=s.ServiceRequestRateInputSerializer,
        responses={201: s.RatingOutputSerializer, 403: FORBIDDEN, 404: NOT_FOUND, 409: REFUSED},
    )
    def post(self, request: Request, reference: str) -> Response:
        service_request = selectors.request_for_viewer(user=request.user, reference=reference)
        _require(request.user, "services.own_service_request", service_request)
        payload = s.ServiceRequestRateInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        try:
            rating = service_request_rate(
                service_request=service_request, user=request.user, **payload.validated_data
            )
        except ActionRefused as refused:
            raise _refused(refused) from refused
        return Response(s.RatingOutputSerializer(rating).data, status=status.HTTP_201_CREATED)


@extend_schema(tags=REQUESTS, parameters=[REFERENCE])
class CommentListCreateApi(APIView):
    """The public conversation on a request; staff of its department also see their notes."""

    @extend_schema(
        summary="The conversation on a request, oldest first",
        responses={200: s.CommentOutputSerializer(many=True), 404: NOT_FOUND},
    )
    def get(self, request: Request, reference: str) -> Response:
        service_request = selectors.request_for_viewer(user=request.user, reference=reference)
        comments = selectors.comments_for_viewer(user=request.user, service_request=service_request)
        return Response(s.CommentOutputSerializer(comments, many=True).data)

    @extend_schema(
        summary="Add a public comment",
        request=s.CommentCreateInputSerializer,
        responses={201: s.CommentOutputSerializer, 403: FORBIDDEN, 404: NOT_FOUND, 409: REFUSED},
    )
    def post(self, request: Request, reference: str) -> Response:
        service_request = selectors.request_for_viewer(user=request.user, reference=reference)
        _require(request.user, "services.comment_service_request", service_request)
        payload = s.CommentCreateInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        try:
            comment = comment_add(
                service_request=service_request,
                author=request.user,
                body=payload.validated_data["body"],
            )
        except ActionRefused as refused:
            raise _refused(refused) from refused
        return Response(s.CommentOutputSerializer(comment).data, status=status.HTTP_201_CREATED)
