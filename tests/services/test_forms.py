"""The request form built from an item's fields: each kind, required, validation, conditions."""

from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings

from services.forms import RequestForm
from services.models import FormField
from tests.esm.factories import UserFactory
from tests.services.factories import CatalogItemFactory, FormFieldFactory

pytestmark = pytest.mark.django_db

Kind = FormField.Kind


def _form(item, answers=None, files=None):
    data = {"subject": "Need help", "submission_key": "k1"}
    data.update({f"field_{key}": value for key, value in (answers or {}).items()})
    item.refresh_from_db()
    return RequestForm(data, files or {}, item=item)


def _item_with(**field):
    item = CatalogItemFactory()
    FormFieldFactory(item=item, key="answer", label="Answer", **field)
    return item


VALID_AND_INVALID = [
    ({"kind": Kind.TEXT}, "hello", None),
    ({"kind": Kind.TEXT, "min_value": 3}, "ab", "at least 3"),
    ({"kind": Kind.TEXT, "max_value": 3}, "abcd", "at most 3"),
    (
        {"kind": Kind.TEXT, "pattern": r"CC-\d{4}", "pattern_message": "Use CC-1234."},
        "CC-12",
        "Use CC-1234.",
    ),
    ({"kind": Kind.TEXT, "pattern": r"CC-\d{4}"}, "CC-1234", None),
    ({"kind": Kind.LONG_TEXT}, "many\nlines", None),
    ({"kind": Kind.LONG_TEXT, "max_value": 5}, "too long", "at most 5"),
    ({"kind": Kind.NUMBER, "min_value": 1, "max_value": 10}, "11", "less than or equal to 10"),
    ({"kind": Kind.NUMBER, "min_value": 1, "max_value": 10}, "0", "greater than or equal to 1"),
    ({"kind": Kind.NUMBER}, "abc", "Enter a number"),
    ({"kind": Kind.NUMBER}, "7.5", None),
    ({"kind": Kind.DATE}, "2026-13-01", "Enter a valid date"),
    ({"kind": Kind.DATE}, "2026-12-01", None),
    ({"kind": Kind.CHOICE, "choices": "Mac\nWindows"}, "Linux", "Select a valid choice"),
    ({"kind": Kind.CHOICE, "choices": "Mac\nWindows"}, "Mac", None),
    ({"kind": Kind.YES_NO}, "maybe", "Select a valid choice"),
    ({"kind": Kind.YES_NO}, "yes", None),
    ({"kind": Kind.PERSON}, "nobody-like-this", "No colleague"),
]


@pytest.mark.parametrize(("field", "value", "error"), VALID_AND_INVALID)
def test_each_field_kind_validates_on_the_server(field, value, error):
    form = _form(_item_with(**field), {"answer": value})

    if error is None:
        assert form.is_valid(), form.errors
        assert "answer" in form.answers
    else:
        assert not form.is_valid()
        assert error in " ".join(form.errors["field_answer"])


def test_multi_choice_checks_allowed_choices_and_number_of_picks():
    item = _item_with(kind=Kind.MULTI_CHOICE, choices="A\nB\nC", min_value=2, max_value=2)

    assert not _form(item, {"answer": ["A"]}).is_valid()
    assert not _form(item, {"answer": ["A", "B", "C"]}).is_valid()
    assert not _form(item, {"answer": ["A", "Z"]}).is_valid()
    form = _form(item, {"answer": ["A", "C"]})
    assert form.is_valid(), form.errors
    assert form.answer_rows()[0]["value"] == ["A", "C"]


def test_person_field_accepts_username_or_email():
    colleague = UserFactory(username="kim", email="kim@example.com")
    item = _item_with(kind=Kind.PERSON)

    for typed in ("kim", "KIM@example.com"):
        form = _form(item, {"answer": typed})
        assert form.is_valid(), form.errors
        assert form.answer_rows()[0]["value"] == colleague.pk


@pytest.mark.parametrize("kind", list(Kind))
def test_required_fields_must_be_answered(kind):
    choices = "A\nB" if kind in (Kind.CHOICE, Kind.MULTI_CHOICE) else ""
    form = _form(_item_with(kind=kind, required=True, choices=choices), {})

    assert not form.is_valid()
    assert form.errors["field_answer"] == ["This field is required."]


def test_optional_fields_may_be_left_empty_and_are_not_stored():
    form = _form(_item_with(kind=Kind.TEXT), {"answer": ""})

    assert form.is_valid()
    assert form.answer_rows() == []


def _laptop_item():
    item = CatalogItemFactory()
    needed = FormFieldFactory(item=item, key="laptop", label="Laptop needed", kind=Kind.YES_NO)
    FormFieldFactory(
        item=item,
        key="model",
        label="Model",
        kind=Kind.CHOICE,
        choices="Mac\nWindows",
        required=True,
        show_when_field=needed,
        show_when_value="yes",
    )
    return item


def test_conditional_field_is_required_when_shown():
    form = _form(_laptop_item(), {"laptop": "yes"})

    assert not form.is_valid()
    assert "field_model" in form.errors


def test_hidden_conditional_field_is_neither_required_nor_stored():
    form = _form(_laptop_item(), {"laptop": "no", "model": "Mac"})

    assert form.is_valid(), form.errors
    assert [row["key"] for row in form.answer_rows()] == ["laptop"]


def test_hidden_conditional_field_with_an_invalid_value_is_ignored():
    form = _form(_laptop_item(), {"model": "Not an option"})

    assert form.is_valid(), form.errors
    assert form.answer_rows() == []


def test_answers_are_stored_with_label_and_a_readable_display():
    item = CatalogItemFactory()
    FormFieldFactory(item=item, key="start", label="Start date", kind=Kind.DATE, position=1)
    FormFieldFactory(item=item, key="seats", label="Seats", kind=Kind.NUMBER, position=2)

    form = _form(item, {"start": "2026-12-01", "seats": "3.50"})

    assert form.is_valid(), form.errors
    assert form.answer_rows() == [
        {"key": "start", "label": "Start date", "kind": "date", "value": "2026-12-01",
         "display": "1 December 2026"},
        {"key": "seats", "label": "Seats", "kind": "number", "value": str(Decimal("3.50")),
         "display": "3.5"},
    ]  # fmt: skip


@override_settings(ATTACHMENT_MAX_BYTES=10)
def test_oversized_upload_is_refused_and_flagged_too_large():
    upload = SimpleUploadedFile("photo.png", b"x" * 11, content_type="image/png")

    form = _form(_item_with(kind=Kind.ATTACHMENT), files={"field_answer": upload})

    assert not form.is_valid()
    assert form.too_large
    assert "at most" in form.errors["field_answer"][0]


def test_upload_of_a_type_not_allowed_is_refused():
    upload = SimpleUploadedFile("run.exe", b"MZ", content_type="application/octet-stream")

    form = _form(_item_with(kind=Kind.ATTACHMENT), files={"field_answer": upload})

    assert not form.is_valid()
    assert not form.too_large
    assert ".exe files are not accepted" in form.errors["field_answer"][0]


def test_accepted_upload_becomes_an_attachment_not_an_answer():
    upload = SimpleUploadedFile("photo.png", b"\x89PNG\r\n\x1a\n", content_type="image/png")

    form = _form(_item_with(kind=Kind.ATTACHMENT), files={"field_answer": upload})

    assert form.is_valid(), form.errors
    assert form.answer_rows() == []
    assert [key for key, _ in form.uploads()] == ["answer"]


def test_on_behalf_field_only_exists_when_the_item_allows_it(employee):
    assert "on_behalf_of" not in _form(CatalogItemFactory(allow_on_behalf=False)).fields
    assert "on_behalf_of" in _form(CatalogItemFactory(allow_on_behalf=True)).fields


def test_a_required_number_may_be_zero():
    form = _form(_item_with(kind=Kind.NUMBER, required=True), {"answer": "0"})

    assert form.is_valid(), form.errors
    assert form.answer_rows()[0]["value"] == "0"
