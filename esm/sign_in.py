"""Signing a person in from the identity provider's claims: link or create them, bring
their department, manager and job title up to date, and reconcile the roles their groups
map to.

The claims have been verified before they reach here (signature, issuer, audience,
expiry, nonce: `esm.oidc`); this module decides what they mean for the enterprise.
A sign-in that creates a person, changes what the portal keeps about them or grants or
revokes a role writes the people events the directory writes too (`docs/events.md`), with
the person as the actor and `via` "sign_in". A break-glass administrator's password sign-in
is recorded here too (`break_glass_sign_in_record`), for `esm.oidc` to call.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractUser
from django.db import transaction
from django.db.models import Q

from esm import clock
from esm.events import event_record
from esm.models import Department, DepartmentRole, EventKind, Profile, SignInIdentity
from esm.provisioning import (
    confidential_department_ids,
    role_event_flags,
    role_mapping_allowed,
)

logger = logging.getLogger(__name__)

User = get_user_model()


class SignInRefused(Exception):
    """The provider vouched for someone the portal will not sign in; the message is for
    the person at the sign-in page."""


@dataclass(frozen=True)
class RoleGrant:
    department_slug: str
    role: str


def group_roles_parse(mapping: Mapping[str, str]) -> dict[str, list[RoleGrant]]:
    """`{"it-agents": "it:agent", "it-leads": "it:agent;it:manager"}` as grants by group.

    Raises ValueError naming the entry that is not `department-slug:role` with a known
    role, so a typo in the setting fails loudly instead of granting nothing in silence.
    """
    parsed: dict[str, list[RoleGrant]] = {}
    for group, grants in mapping.items():
        for grant in str(grants).split(";"):
            department_slug, _, role = grant.strip().partition(":")
            if not department_slug or role not in DepartmentRole.Role.values:
                raise ValueError(
                    f"OIDC_GROUP_ROLES: {group}={grants} is not department-slug:role with a "
                    f"role among {', '.join(DepartmentRole.Role.values)}"
                )
            parsed.setdefault(group, []).append(RoleGrant(department_slug, role))
    return parsed


def _claim_text(claims: Mapping[str, Any], name: str) -> str:
    value = claims.get(name) if name else None
    return value.strip() if isinstance(value, str) else ""


@transaction.atomic
def person_sign_in(*, issuer: str, claims: Mapping[str, Any]) -> AbstractUser:
    """The person these verified claims sign in as, linked or created, with their profile
    and mapped roles brought up to date. One transaction: a refusal changes nothing.

    Raises SignInRefused when the claims name nobody the portal may sign in: no subject,
    an account switched off, an unverified e-mail address that would link an existing
    person, or an e-mail address shared by several people.
    """
    subject = _claim_text(claims, "sub")
    if not subject:
        raise SignInRefused("The identity provider did not say who you are.")
    identity = (
        SignInIdentity.objects.select_for_update()
        .select_related("user")
        .filter(issuer=issuer, subject=subject)
        .first()
    )
    created = False
    if identity is not None:
        user = identity.user
    else:
        user = _person_linked_by_claim(claims)
        if user is None:
            user, created = _person_created(claims, subject), True
        elif SignInIdentity.objects.filter(user=user, issuer=issuer).exists():
            # Their address now names another account at the provider: never two ways in.
            raise SignInRefused(
                "Your portal account is linked to another account at the identity provider. "
                "Ask the service desk."
            )
        identity = SignInIdentity.objects.create(user=user, issuer=issuer, subject=subject)
    if not user.is_active:
        raise SignInRefused("Your account in the portal is switched off. Ask the service desk.")

    changed = _person_details_update(user, claims) + _profile_update(user, issuer, claims)
    stale, added = _roles_reconcile(user, claims)
    _sign_in_events(user, issuer=issuer, created=created, changed=changed, stale=stale, added=added)
    identity.last_signed_in_at = clock.now()
    identity.save(update_fields=["last_signed_in_at"])
    return user


def _person_linked_by_claim(claims: Mapping[str, Any]) -> AbstractUser | None:
    """An existing person with this e-mail address, when people are linked by e-mail.

    By subject, a person not yet linked has no subject on record: they are new."""
    if settings.OIDC_LINK_CLAIM != "email":
        return None
    email = _claim_text(claims, "email")
    if not email:
        raise SignInRefused("The identity provider sent no e-mail address to find you by.")
    matches = list(User.objects.filter(email__iexact=email)[:2])
    if not matches:
        return None
    # A provider that lets people type any address must not hand them someone's account.
    if claims.get("email_verified") is False:
        raise SignInRefused("Your e-mail address is not verified at the identity provider.")
    if len(matches) > 1:
        raise SignInRefused(
            "More than one account in the portal has your e-mail address. Ask the service desk."
        )
    return matches[0]


def _person_created(claims: Mapping[str, Any], subject: str) -> AbstractUser:
    username_field = User._meta.get_field(User.USERNAME_FIELD)
    candidates = [_claim_text(claims, "preferred_username"), _claim_text(claims, "email")]
    username = next(
        (
            name
            for name in candidates
            if name
            and len(name) <= username_field.max_length
            and not User.objects.filter(**{f"{User.USERNAME_FIELD}__iexact": name}).exists()
        ),
        f"sso-{subject}"[: username_field.max_length],
    )
    user = User(**{User.USERNAME_FIELD: username})
    # They sign in with the provider: a password of their own would be a second way in.
    user.set_unusable_password()
    user.save()
    return user


def _person_details_update(user: AbstractUser, claims: Mapping[str, Any]) -> list[str]:
    changed = []
    for field, claim in (("first_name", "given_name"), ("last_name", "family_name")):
        value = _claim_text(claims, claim)[: User._meta.get_field(field).max_length]
        if value and getattr(user, field) != value:
            setattr(user, field, value)
            changed.append(field)
    email = _claim_text(claims, "email")
    if email and claims.get("email_verified") is not False and user.email != email:
        user.email = email
        changed.append("email")
    if changed:
        user.save(update_fields=changed)
    return changed


def _profile_update(user: AbstractUser, issuer: str, claims: Mapping[str, Any]) -> list[str]:
    """Department, manager and job title from the claims the provider sends; a claim it
    does not send (or that names nobody known here) leaves the profile as it is. Answers
    the names of the fields it changed."""
    profile, _ = Profile.objects.get_or_create(user=user)
    changed = []
    department_name = _claim_text(claims, settings.OIDC_CLAIM_DEPARTMENT)
    if department_name:
        department = Department.objects.filter(
            Q(slug__iexact=department_name) | Q(name__iexact=department_name)
        ).first()
        if department is None:
            logger.warning("Sign-in: no department called %r", department_name)
        elif profile.department_id != department.pk:
            profile.department = department
            changed.append("department")
    manager_name = _claim_text(claims, settings.OIDC_CLAIM_MANAGER)
    if manager_name:
        manager = _person_named(issuer, manager_name)
        if manager is None:
            logger.warning("Sign-in: no person %r to be the manager of %s", manager_name, user)
        elif manager.pk != user.pk and profile.manager_id != manager.pk:
            profile.manager = manager
            changed.append("manager")
    job_title = _claim_text(claims, settings.OIDC_CLAIM_JOB_TITLE)[
        : Profile._meta.get_field("job_title").max_length
    ]
    if job_title and profile.job_title != job_title:
        profile.job_title = job_title
        changed.append("job_title")
    if changed:
        profile.save(update_fields=changed)
    return changed


def _person_named(issuer: str, name: str) -> AbstractUser | None:
    """The person a manager claim names: by the provider's subject, else by e-mail."""
    identity = (
        SignInIdentity.objects.select_related("user").filter(issuer=issuer, subject=name).first()
    )
    if identity is not None:
        return identity.user
    matches = list(User.objects.filter(email__iexact=name)[:2])
    return matches[0] if len(matches) == 1 else None


def _groups(claims: Mapping[str, Any]) -> set[str] | None:
    value = claims.get(settings.OIDC_CLAIM_GROUPS)
    if value is None:
        return None
    if isinstance(value, str):
        return {value}
    return {group for group in value if isinstance(group, str)}


def _roles_reconcile(
    user: AbstractUser, claims: Mapping[str, Any]
) -> tuple[list[DepartmentRole], list[DepartmentRole]]:
    """Add the roles the person's groups map to and remove those they no longer map to,
    among the roles sign-in granted; roles given by hand are never touched.

    A provider that sends no groups claim at all (Entra ID past its group limit, a scope
    not granted) says nothing about groups: the roles stay as they are. Answers the roles
    removed and the roles added.
    """
    groups = _groups(claims)
    if groups is None:
        return [], []
    mapping = group_roles_parse(settings.OIDC_GROUP_ROLES)
    grants = {grant for group in groups for grant in mapping.get(group, [])}
    departments = {
        department.slug: department
        for department in Department.objects.filter(slug__in={g.department_slug for g in grants})
    }
    # A role in a department with confidential cases opens those cases: a group mapping
    # grants one only where the department is named as allowed, never by accident.
    confidential = confidential_department_ids()
    allowed = set(settings.OIDC_GROUP_ROLES_CONFIDENTIAL_DEPARTMENTS)
    wanted: set[tuple[int, str]] = set()
    for grant in grants:
        department = departments.get(grant.department_slug)
        if department is None:
            logger.warning("Sign-in: OIDC_GROUP_ROLES names no department %r", grant)
        elif not role_mapping_allowed(
            department=department,
            explicitly_allowed=department.slug in allowed,
            confidential=confidential,
        ):
            logger.warning(
                "Sign-in: %s not granted %s in %s, a confidential department not listed in "
                "OIDC_GROUP_ROLES_CONFIDENTIAL_DEPARTMENTS",
                user,
                grant.role,
                department.slug,
            )
        else:
            wanted.add((department.pk, grant.role))

    held = {
        (role.department_id, role.role): role
        for role in DepartmentRole.objects.select_for_update().filter(user=user)
    }
    stale = [
        role
        for key, role in held.items()
        if role.source == DepartmentRole.Source.SIGN_IN_GROUPS and key not in wanted
    ]
    if stale:
        DepartmentRole.objects.filter(pk__in=[role.pk for role in stale]).delete()
    added = DepartmentRole.objects.bulk_create(
        DepartmentRole(
            user=user,
            department_id=department_id,
            role=role,
            source=DepartmentRole.Source.SIGN_IN_GROUPS,
        )
        for department_id, role in sorted(wanted - held.keys())
    )
    return stale, added


def _sign_in_events(
    user: AbstractUser,
    *,
    issuer: str,
    created: bool,
    changed: list[str],
    stale: list[DepartmentRole],
    added: list[DepartmentRole],
) -> None:
    """The people events of one sign-in, the person as actor: created, or updated naming the
    fields that changed; each role revoked and granted."""
    via = {"via": "sign_in", "issuer": issuer}
    department = user.profile.department
    confidential = confidential_department_ids()
    if created:
        event_record(
            subject=user,
            kind=EventKind.PERSON_CREATED,
            actor=user,
            department=department,
            payload={**via, "active": True, "fields": changed},
        )
    elif changed:
        event_record(
            subject=user,
            kind=EventKind.PERSON_UPDATED,
            actor=user,
            department=department,
            payload={**via, "fields": changed},
        )
    for role, kind, values in [
        *((role, EventKind.ROLE_REVOKED, {"from_value": role.role}) for role in stale),
        *((role, EventKind.ROLE_GRANTED, {"to_value": role.role}) for role in added),
    ]:
        # The provider's groups grant these roles, not the person signing in: never
        # self-granted, but flagged when they open confidential cases.
        flags = role_event_flags(
            department_id=role.department_id,
            person_id=user.pk,
            actor=None,
            granted=kind == EventKind.ROLE_GRANTED,
            confidential=confidential,
        )
        event_record(
            subject=user,
            kind=kind,
            actor=user,
            department=role.department,
            payload=via | flags,
            **values,
        )


@transaction.atomic
def break_glass_sign_in_record(*, person: AbstractUser, address: str | None) -> None:
    """Record that `person`, a break-glass administrator (`BREAK_GLASS_USERNAMES`), signed
    in with a password from `address` (as the sign-in throttling reads it): the way in that
    bypasses the identity provider, flagged on the audit page."""
    profile = Profile.objects.filter(user=person).select_related("department").first()
    event_record(
        subject=person,
        kind=EventKind.BREAK_GLASS_SIGN_IN,
        actor=person,
        department=profile.department if profile else None,
        payload={"via": "password", "address": address or ""},
    )
