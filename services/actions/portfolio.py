"""The service portfolio, the write: a service's entry (lifecycle, outcome, accountable
owner, the business's work around the department's part, fixed costs, the decision it
waits for, review interval) and its value claims change together.

Who changed the entry, and what, is recorded as a change of the service (`esm.changes`),
its value claims counted among its fields; the portfolio's figures are read from the log
in `reporting.portfolio`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db import transaction

from esm.changes import change_record, shown, snapshot
from services.models import Service, ServiceValueClaim, ValueFactor

PORTFOLIO_FIELDS = frozenset(
    {
        "status",
        "outcome",
        "owner",
        "activities_before",
        "activities_after",
        "fixed_yearly_cost",
        "decision_pending",
        "decision_note",
        "review_every_months",
    }
)


@transaction.atomic
def service_portfolio_update(
    *, service: Service, by: Any, changes: Mapping[str, Any], claims: Mapping[str, str]
) -> Service:
    """Set the entry's `changes` (names of `PORTFOLIO_FIELDS`) and its value claims: a
    factor with text claims it, one left empty or out withdraws its claim. Raises
    `ValidationError` (by field) and changes nothing when the entry would be invalid, such
    as a retired service still waiting for a decision; `ValueError` for a field or value
    factor that is not part of an entry."""
    unknown = set(changes) - PORTFOLIO_FIELDS
    if unknown:
        raise ValueError(f"Not part of a portfolio entry: {', '.join(sorted(unknown))}")
    # A claim under a misspelt factor would otherwise be dropped without a word, and the
    # factor's real claim withdrawn with it.
    unknown = set(claims) - set(ValueFactor.values)
    if unknown:
        raise ValueError(f"Not a value factor: {', '.join(sorted(unknown))}")
    service = Service.objects.select_for_update().get(pk=service.pk)
    before = snapshot(service) | _claims_of(service)
    for name, value in changes.items():
        setattr(service, name, value)
    service.full_clean()
    service.save(update_fields=list(changes))
    for factor in ValueFactor.values:
        text = claims.get(factor, "").strip()
        if text:
            ServiceValueClaim.objects.update_or_create(
                service=service, factor=factor, defaults={"claim": text}
            )
        else:
            ServiceValueClaim.objects.filter(service=service, factor=factor).delete()
    change_record(
        subject=service,
        actor=by,
        before=before,
        via="service_portfolio_update",
        related=_claims_of(service),
    )
    return service


def _claims_of(service: Service) -> dict[str, Any]:
    """The service's value claims, one field per factor (`claim_cost`, ...)."""
    claims = dict(ServiceValueClaim.objects.filter(service=service).values_list("factor", "claim"))
    return {f"claim_{factor}": shown(claims.get(factor, "")) for factor in ValueFactor.values}
