"""The form renderer: Django's templates, with selects, inputs, text areas, radio buttons
and check boxes written out in Python.

A select's template includes one template per option, and each include costs tens of
microseconds: a queue's assignee filter and bulk-assign lists offer every agent of the
department (hundreds at a large enterprise), and rendering them took most of the queue page's
time. An input or a text area is one small template, but a page draws many (a task page has
ten forms, the approvals page a comment box for each approval), and each render looks up and
renders its templates. `FormRenderer` writes these widgets, when they use Django's own
templates, into exactly the HTML those templates give (`tests/esm/test_form_renderer.py`
compares them); so are radio buttons and check boxes, a template for each option. Every other
widget, and a list with options of their own template, renders as before.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from django import forms
from django.forms.renderers import DjangoTemplates
from django.utils.html import conditional_escape
from django.utils.safestring import SafeData, SafeString, mark_safe

SELECT = "django/forms/widgets/select.html"
OPTION = "django/forms/widgets/select_option.html"
TEXTAREA = "django/forms/widgets/textarea.html"
# Radio buttons and check boxes: a list of inputs, each in its label.
MULTIPLE_INPUTS = {
    "django/forms/widgets/radio.html": "django/forms/widgets/radio_option.html",
    "django/forms/widgets/checkbox_select.html": "django/forms/widgets/checkbox_option.html",
}
# The widgets whose template is only `{% include "django/forms/widgets/input.html" %}`.
INPUTS = frozenset(
    f"django/forms/widgets/{name}.html"
    for name in (
        "input",
        "text",
        "hidden",
        "number",
        "email",
        "url",
        "password",
        "search",
        "tel",
        "date",
        "datetime",
        "time",
        "color",
        "checkbox",
    )
)


class FormRenderer(DjangoTemplates):
    def render(self, template_name: str, context: dict[str, Any], request: Any = None) -> str:
        widget = context.get("widget")
        if widget:
            if template_name in INPUTS:
                return _input(widget)
            if template_name == TEXTAREA:
                return _textarea(widget)
            if template_name == SELECT and _plain_options(widget):
                return _select(widget)
            if template_name in MULTIPLE_INPUTS and _plain_options(
                widget, MULTIPLE_INPUTS[template_name]
            ):
                return _multiple_input(widget)
        return super().render(template_name, context, request)


def _input(widget: dict[str, Any]) -> SafeString:
    value = "" if widget["value"] is None else f' value="{_text(widget["value"])}"'
    return mark_safe(  # noqa: S308 - every value is escaped
        f'<input type="{conditional_escape(widget["type"])}" '
        f'name="{conditional_escape(widget["name"])}"{value}{_attrs(widget["attrs"])}>'
    )


def _textarea(widget: dict[str, Any]) -> SafeString:
    text = conditional_escape(widget["value"]) if widget["value"] else ""
    return mark_safe(  # noqa: S308 - every value is escaped
        f'<textarea name="{conditional_escape(widget["name"])}"{_attrs(widget["attrs"])}>\n'
        f"{text}</textarea>"
    )


def _plain_options(widget: dict[str, Any], template_name: str = OPTION) -> bool:
    return all(
        option["template_name"] == template_name
        for _, options, _ in widget["optgroups"]
        for option in options
    )


def _select(widget: dict[str, Any]) -> SafeString:
    parts = [f'<select name="{conditional_escape(widget["name"])}"{_attrs(widget["attrs"])}>']
    for group_name, options, _ in widget["optgroups"]:
        if group_name:
            parts.append(f'\n  <optgroup label="{conditional_escape(group_name)}">')
        for option in options:
            parts.append(
                f'\n  <option value="{_text(option["value"])}"{_attrs(option["attrs"])}>'
                f"{conditional_escape(option['label'])}</option>\n"
            )
        if group_name:
            parts.append("\n  </optgroup>")
    parts.append("\n</select>")
    return mark_safe("".join(parts))  # noqa: S308 - every value above is escaped


def _multiple_input(widget: dict[str, Any]) -> SafeString:
    """django/forms/widgets/multiple_input.html, each option as input_option.html."""
    attrs = widget["attrs"]
    own_id = f' id="{conditional_escape(attrs["id"])}"' if attrs.get("id") else ""
    css = f' class="{conditional_escape(attrs["class"])}"' if attrs.get("class") else ""
    parts = [f"<div{own_id}{css}>"]
    for group_name, options, _ in widget["optgroups"]:
        if group_name:
            parts.append(f"\n  <div><label>{conditional_escape(group_name)}</label>")
        for option in options:
            parts.append(f"<div>\n    {_input_option(option)}\n</div>")
        if group_name:
            parts.append("\n  </div>")
    parts.append("\n</div>")
    return mark_safe("".join(parts))  # noqa: S308 - every value above is escaped


def _input_option(option: dict[str, Any]) -> str:
    # An included template keeps its file's last line break (here input.html's and
    # input_option.html's; the option's own template adds one more), and only the
    # widget's whole output is stripped.
    if not option["wrap_label"]:
        return f"{_input(option)}\n\n"
    option_id = option["attrs"].get("id")
    label_for = f' for="{conditional_escape(option_id)}"' if option_id else ""
    label = conditional_escape(option["label"])
    return f"<label{label_for}>{_input(option)}\n {label}</label>\n"


class LongSelect(forms.Select):
    """A select of a long, flat list that pages offer again and again (a department's hundreds
    of agents): its options are escaped once for each list a process meets, instead of being
    built as Django's option dictionaries and escaped on every page. The HTML is what
    Django's select templates give; a list with groups renders as a plain select does."""

    def render(
        self, name: str, value: Any, attrs: dict[str, Any] | None = None, renderer: Any = None
    ) -> SafeString:
        try:
            options = _flat_options(tuple(self.choices))
        except TypeError:  # a group's options, as a list, cannot be a key of the cache
            options = None
        if options is None or self.allow_multiple_selected:
            return super().render(name, value, attrs, renderer)
        widget = forms.Widget.get_context(self, name, value, attrs)["widget"]
        # Only the first option of the value is selected, as Django's single select does.
        chosen = widget["value"][0] if widget["value"] else None
        parts = [f'<select name="{conditional_escape(name)}"{_attrs(widget["attrs"])}>']
        for key, head, tail in options:
            if key == chosen:
                parts.append(f"{head} selected{tail}")
                chosen = None
            else:
                parts.append(f"{head}{tail}")
        parts.append("\n</select>")
        return mark_safe("".join(parts))  # noqa: S308 - every value is escaped


@lru_cache(maxsize=64)
def _flat_options(choices: tuple[tuple[Any, Any], ...]) -> tuple[tuple[str, str, str], ...] | None:
    """Each option as its value's text (what a selection is compared with) and its HTML
    before and after the place of `selected`; None for a list with groups."""
    options = []
    for value, label in choices:
        if isinstance(label, (list, tuple)):
            return None
        shown = "" if value is None else value
        options.append(
            (
                str(shown),
                f'\n  <option value="{_text(shown)}"',
                f">{conditional_escape(label)}</option>\n",
            )
        )
    return tuple(options)


def _attrs(attrs: dict[str, Any]) -> str:
    """django/forms/widgets/attrs.html: False leaves the attribute out, True writes its name."""
    return "".join(
        f" {conditional_escape(name)}"
        if value is True
        else f' {conditional_escape(name)}="{_text(value)}"'
        for name, value in attrs.items()
        if value is not False
    )


def _text(value: Any) -> str:
    """`{{ value|stringformat:'s' }}`: the value as text, escaped unless it was safe."""
    text = "%s" % (value,)  # noqa: UP031 - stringformat's own formatting
    return text if isinstance(value, SafeData) else conditional_escape(text)
