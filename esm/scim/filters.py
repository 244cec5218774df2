"""SCIM filters (`userName eq "x"`) as Django queries, through scim2-filter-parser.

Only the attributes in a resource's map can be filtered on; any other is an
`invalidFilter` error, never a silently ignored clause (which would answer "everyone"
to a provider asking whether one person exists).
"""

from __future__ import annotations

from collections.abc import Mapping

from django.core.exceptions import FieldError, ValidationError
from django.db.models import Q, QuerySet
from scim2_filter_parser.lexer import SCIMLexer
from scim2_filter_parser.parser import SCIMParser, SCIMParserError
from scim2_filter_parser.transpilers.django_q_object import Transpiler

from esm.scim.errors import ScimError

ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:user"

# (attribute, sub-attribute, schema URI) -> queryset lookup. The user queryset is
# annotated with `email_type`: the portal keeps one address, the work one.
USER_FILTERS: Mapping[tuple[str, str | None, str | None], str] = {
    ("id", None, None): "pk",
    ("userName", None, None): "username",
    ("externalId", None, None): "profile.external_id",
    ("active", None, None): "is_active",
    ("displayName", None, None): "display_name",
    ("name", "givenName", None): "first_name",
    ("name", "familyName", None): "last_name",
    ("emails", None, None): "email",
    ("emails", "value", None): "email",
    ("emails", "type", None): "email_type",
    ("title", None, None): "profile.job_title",
    ("department", None, ENTERPRISE): "profile.department.name",
    ("manager", "value", ENTERPRISE): "profile.manager_id",
}

GROUP_FILTERS: Mapping[tuple[str, str | None, str | None], str] = {
    ("id", None, None): "pk",
    ("displayName", None, None): "display_name",
    ("externalId", None, None): "external_id",
    ("members", None, None): "members.id",
    ("members", "value", None): "members.id",
}


class _StrictTranspiler(Transpiler):
    def visit_AttrPath(self, node):
        found = super().visit_AttrPath(node)
        if found is None:
            name = node.attr_name if isinstance(node.attr_name, str) else "a sub-filter"
            if node.sub_attr:
                name = f"{name}.{node.sub_attr.value}"
            raise ScimError(
                f"Cannot filter on {name}: not an attribute this service provider filters.",
                scim_type="invalidFilter",
            )
        return found


def queryset_filter(
    queryset: QuerySet, text: str, attributes: Mapping[tuple[str, str | None, str | None], str]
) -> QuerySet:
    """`queryset` narrowed by the SCIM filter `text`; raises ScimError (invalidFilter)."""
    try:
        tree = SCIMParser().parse(SCIMLexer().tokenize(text))
        if tree is None:
            raise SCIMParserError("empty filter")
        query = _StrictTranspiler(attributes).transpile(tree)
    except ScimError:
        raise
    except (SCIMParserError, ValueError, TypeError, AttributeError, NotImplementedError) as error:
        raise ScimError(f"Invalid filter: {error}", scim_type="invalidFilter") from error
    if not isinstance(query, Q):
        raise ScimError("Invalid filter.", scim_type="invalidFilter")
    try:
        # A value the column cannot hold (`id eq "abc"`) matches nobody.
        return queryset.filter(query).distinct()
    except (ValueError, TypeError, ValidationError):
        return queryset.none()
    except FieldError as error:
        raise ScimError(f"Invalid filter: {error}", scim_type="invalidFilter") from error
