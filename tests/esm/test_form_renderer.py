"""The form renderer writes selects, inputs and text areas in Python: the HTML must be
exactly what Django's own templates give, for every shape of widget the portal's forms use."""

from __future__ import annotations

import pytest
from django import forms
from django.forms.renderers import DjangoTemplates
from django.utils.safestring import mark_safe

from esm.form_renderer import FormRenderer, LongSelect, _flat_options


class Everything(forms.Form):
    plain = forms.ChoiceField(choices=[("", "---"), ("a", "A & B"), (3, 'Three "quoted"')])
    grouped = forms.ChoiceField(
        choices=[("Fruit", [("apple", "Apple"), ("pear", "<Pear>")]), ("none", "None")]
    )
    several = forms.MultipleChoiceField(choices=[(1, "One"), (2, "Two"), (3, "Three")])
    optional = forms.ChoiceField(
        choices=[("x", mark_safe("<b>safe</b>")), ("y", "Y")],
        required=False,
        widget=forms.Select(attrs={"class": "wide", "data-x": 'a"b', "disabled": True}),
    )
    hidden_flag = forms.ChoiceField(
        choices=[("1", "1")], widget=forms.Select(attrs={"autofocus": False})
    )
    text = forms.CharField(max_length=20, widget=forms.TextInput(attrs={"placeholder": 'a "b"'}))
    optional_text = forms.CharField(required=False)
    hidden = forms.IntegerField(widget=forms.HiddenInput)
    number = forms.IntegerField(min_value=1)
    email = forms.EmailField(required=False)
    secret = forms.CharField(widget=forms.PasswordInput(render_value=True), required=False)
    day = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    agreed = forms.BooleanField(required=False)
    body = forms.CharField(widget=forms.Textarea(attrs={"rows": 3, "readonly": True}))
    note = forms.CharField(required=False, widget=forms.Textarea)
    score = forms.TypedChoiceField(
        choices=[(n, str(n)) for n in range(5, 0, -1)], coerce=int, widget=forms.RadioSelect
    )
    answer = forms.ChoiceField(
        choices=[("Yes", [("y", "Yes & more")]), ("n", mark_safe("<i>No</i>"))],
        required=False,
        widget=forms.RadioSelect(attrs={"class": "inline", "data-x": 'a"b'}),
    )
    kinds = forms.MultipleChoiceField(
        choices=[("a", "A"), ("b", "<B>")], required=False, widget=forms.CheckboxSelectMultiple
    )


class OwnOptions(forms.Select):
    option_template_name = "django/forms/widgets/input_option.html"


@pytest.mark.parametrize(
    "data",
    [
        None,
        {
            "plain": "a",
            "grouped": "pear",
            "several": ["1", "3"],
            "optional": "x",
            "text": "Tom & <Jerry>",
            "hidden": "7",
            "number": "3",
            "email": "a@example.com",
            "secret": "s3cret",
            "day": "2026-12-01",
            "agreed": "on",
            "body": 'Line one\n<script>alert("x")</script>',
            "note": "",
            "score": "4",
            "answer": "y",
            "kinds": ["a", "b"],
        },
        # invalid: errors, no selection, values sent back as they came
        {"plain": "nope", "several": ["9"], "number": "-1", "hidden": "x", "text": "y" * 30},
    ],
)
def test_selects_render_exactly_as_django_templates_do(data):
    ours = Everything(data, renderer=FormRenderer())
    django = Everything(data, renderer=DjangoTemplates())

    for name in Everything.base_fields:
        assert str(ours[name]) == str(django[name]), name


@pytest.mark.parametrize("auto_id", ["id_%s", False])
def test_radio_buttons_and_check_boxes_render_exactly_as_django_templates_do(auto_id):
    data = {"score": "2", "answer": "n", "kinds": ["b"]}
    ours = Everything(data, auto_id=auto_id, renderer=FormRenderer())
    django = Everything(data, auto_id=auto_id, renderer=DjangoTemplates())

    for name in ("score", "answer", "kinds"):
        assert str(ours[name]) == str(django[name]), name
        assert str(ours[name]).count("<input") > 1


def test_radio_buttons_with_options_of_their_own_template_are_left_to_the_templates():
    class OwnRadios(forms.RadioSelect):
        option_template_name = "django/forms/widgets/input_option.html"

    class Form(forms.Form):
        pick = forms.ChoiceField(choices=[("a", "A")], widget=OwnRadios)

    assert str(Form(renderer=FormRenderer())["pick"]) == str(
        Form(renderer=DjangoTemplates())["pick"]
    )


def test_a_select_with_options_of_its_own_template_is_left_to_the_templates():
    class Form(forms.Form):
        pick = forms.ChoiceField(choices=[("a", "A")], widget=OwnOptions)

    assert str(Form(renderer=FormRenderer())["pick"]) == str(
        Form(renderer=DjangoTemplates())["pick"]
    )


AGENTS = [("", "Choose..."), (1, "Ann & Bo"), (2, '<Cy> "Dee"'), (3, mark_safe("<b>Eve</b>"))]


@pytest.mark.parametrize("value", [None, "", "2", 2, "9", ["2"]])
def test_a_long_select_renders_exactly_as_djangos_select(value):
    ours = LongSelect(attrs={"aria-label": "Assignee", "class": "wide"}, choices=AGENTS)
    django = forms.Select(attrs={"aria-label": "Assignee", "class": "wide"}, choices=AGENTS)

    assert ours.render("assignee", value, attrs={"id": "x"}, renderer=DjangoTemplates()) == (
        django.render("assignee", value, attrs={"id": "x"}, renderer=DjangoTemplates())
    )


def test_a_long_select_escapes_its_options_once_for_the_same_list():
    choices = [(n, f"Agent {n}") for n in range(300)]
    first = LongSelect(choices=choices).render("assignee", 5)
    hits = _flat_options.cache_info().hits

    again = LongSelect(choices=list(choices)).render("assignee", 7)

    assert _flat_options.cache_info().hits == hits + 1
    assert '<option value="5" selected>' in first
    assert '<option value="7" selected>' in again
    assert again.count(" selected") == 1


def test_a_long_select_with_groups_renders_as_a_select_does():
    grouped = [("IT", [(1, "Ann")]), (2, "Bo")]
    ours = LongSelect(choices=grouped).render("assignee", 1, renderer=DjangoTemplates())

    assert ours == forms.Select(choices=grouped).render("assignee", 1, renderer=DjangoTemplates())
    assert "<optgroup" in ours
