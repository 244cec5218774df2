"""Generic: record a value on the request's automation results (e.g. an asset tag)."""

from typing import Any

from services.automation.registry import Input, StepContext, action


@action(
    "generic.set_field",
    label="Set a field",
    inputs=(Input("field", "Name of the field"), Input("value", "The value to record")),
)
def set_field(context: StepContext) -> dict[str, Any]:
    return {context.require("field"): context.value("value", "")}
