"""Posting a Django admin change page as a browser would: its fields as they stand."""

from typing import Any

from django.forms import BaseForm, CheckboxInput, MultiWidget


def _add(data: dict[str, Any], form: BaseForm) -> None:
    for bound in form:
        value, widget = bound.value(), bound.field.widget
        if value is None:
            continue
        if isinstance(widget, MultiWidget):
            parts = widget.decompress(value) if not isinstance(value, list) else value
            for index, (part, sub) in enumerate(zip(parts, widget.widgets, strict=True)):
                data[f"{bound.html_name}_{index}"] = sub.format_value(part) or ""
        elif isinstance(widget, CheckboxInput):
            if value:
                data[bound.html_name] = "on"
        elif isinstance(value, list | tuple):
            data[bound.html_name] = [str(item) for item in value]
        else:
            data[bound.html_name] = str(value)


def admin_form_data(page: Any) -> dict[str, Any]:
    """The POST data of an admin add or change page `page` (a test client's answer)."""
    data: dict[str, Any] = {}
    _add(data, page.context["adminform"].form)
    for inline in page.context["inline_admin_formsets"]:
        _add(data, inline.formset.management_form)
        for form in inline.formset.initial_forms:
            _add(data, form)
    return data
