"""The API's `answers` object, fed through the same RequestForm the portal pages use.

One set of rules decides what a valid answer is (kinds, required, min/max, patterns,
conditional fields, upload limits); this module only translates between the API's shape
(answers keyed by field key, JSON types) and the form's (`field_<key>` strings and files),
and back again for the error messages.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.core.files.uploadedfile import UploadedFile

from services.forms import NO, YES, RequestForm
from services.models import CatalogItem, FormField

Kind = FormField.Kind

FILES_NEED_MULTIPART = (
    "Files can't be sent in JSON: send the request as multipart/form-data with the file "
    "in a part named answers.{key}."
)
NOT_A_QUESTION = "Not a question of this item."
SINGLE_VALUE = "Send one value, not a list or an object."
LIST_OF_CHOICES = "Send a list of choices."
YES_OR_NO = 'Send true, false, "yes" or "no".'
NOT_A_FILE = "Send a file in this part."
VALUE_NOT_FILE = "This question takes a value, not a file."
NOT_ON_BEHALF = "This item can't be raised on behalf of someone else."


@dataclass
class BoundRequestForm:
    """The bound form, and the answers the API refused before the form saw them."""

    form: RequestForm
    refused: dict[str, list[str]] = field(default_factory=dict)
    refused_top: dict[str, list[str]] = field(default_factory=dict)

    def is_valid(self) -> bool:
        # Always run the form, so one response carries every message at once.
        return self.form.is_valid() and not self.refused and not self.refused_top

    @property
    def too_large(self) -> bool:
        return self.form.too_large

    def errors(self, *, multipart: bool) -> dict[str, Any]:
        """Messages keyed like the input: top-level names, and `answers` by field key."""
        result: dict[str, Any] = {}
        answers: dict[str, list[str]] = {}
        for name, messages in self.form.errors.items():
            form_field = getattr(self.form.fields.get(name), "form_field", None)
            if form_field is None:
                key = "non_field_errors" if name == "__all__" else name
                result[key] = list(messages)
            elif form_field.kind == Kind.ATTACHMENT and not multipart:
                answers[form_field.key] = [FILES_NEED_MULTIPART.format(key=form_field.key)]
            else:
                answers[form_field.key] = list(messages)
        answers.update(self.refused)
        result.update(self.refused_top)
        if answers:
            result["answers"] = answers
        return result


def request_form_bind(
    *,
    item: CatalogItem,
    subject: str,
    answers: dict[str, Any],
    on_behalf_of: str,
    submission_key: str,
    multipart: bool,
) -> BoundRequestForm:
    """Bind the item's RequestForm to API input.

    `item` must come with its form fields prefetched (`selectors.item_for_request`). In a
    multipart request a single part stands for a one-item list, since form parts cannot
    say "list"; uploaded files are accepted only there.
    """
    data: dict[str, Any] = {"subject": subject, "submission_key": submission_key}
    files: dict[str, UploadedFile] = {}
    refused: dict[str, list[str]] = {}
    refused_top: dict[str, list[str]] = {}
    if on_behalf_of:
        if item.allow_on_behalf:
            data["on_behalf_of"] = on_behalf_of
        else:
            refused_top["on_behalf_of"] = [NOT_ON_BEHALF]

    fields_by_key = {form_field.key: form_field for form_field in item.fields.all()}
    for key, value in answers.items():
        form_field = fields_by_key.get(key)
        if form_field is None:
            refused[key] = [NOT_A_QUESTION]
            continue
        name = RequestForm.name_of(form_field)
        if form_field.kind == Kind.ATTACHMENT:
            if isinstance(value, UploadedFile):
                files[name] = value
            elif not multipart:
                refused[key] = [FILES_NEED_MULTIPART.format(key=key)]
            elif value not in ("", None):
                refused[key] = [NOT_A_FILE]
            continue
        if isinstance(value, UploadedFile):
            refused[key] = [VALUE_NOT_FILE]
            continue
        converted, problem = _form_value(form_field, value, multipart=multipart)
        if problem:
            refused[key] = [problem]
        elif converted is not None:
            data[name] = converted
    return BoundRequestForm(
        form=RequestForm(data, files, item=item), refused=refused, refused_top=refused_top
    )


def _form_value(form_field: FormField, value: Any, *, multipart: bool) -> tuple[Any, str]:
    """(what the form field expects, or None for "no answer"; a message when refused)."""
    if value is None or value == "":
        return None, ""
    if form_field.kind == Kind.MULTI_CHOICE:
        if not isinstance(value, list):
            if not multipart:
                return None, LIST_OF_CHOICES
            value = [value]
        if any(isinstance(pick, (list, dict, bool)) for pick in value):
            return None, LIST_OF_CHOICES
        return [str(pick) for pick in value], ""
    if isinstance(value, (list, dict)):
        return None, SINGLE_VALUE
    if isinstance(value, bool):
        if form_field.kind == Kind.YES_NO:
            return (YES if value else NO), ""
        return None, f"Expected {form_field.get_kind_display().lower()}, not true or false."
    if form_field.kind == Kind.YES_NO:
        text = str(value).strip().lower()
        return (text, "") if text in (YES, NO) else (None, YES_OR_NO)
    return str(value), ""
