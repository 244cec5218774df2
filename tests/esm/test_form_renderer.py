"""The form renderer writes selects in Python: the HTML must be exactly what Django's own
select templates give, for every shape of select the portal's forms use."""

from __future__ import annotations

import pytest
from django import forms
from django.forms.renderers import DjangoTemplates
from django.utils.safestring import mark_safe

from esm.form_renderer import FormRenderer


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


class OwnOptions(forms.Select):
    option_template_name = "django/forms/widgets/input_option.html"


@pytest.mark.parametrize(
    "data",
    [
        None,
        {"plain": "a", "grouped": "pear", "several": ["1", "3"], "optional": "x"},
        {"plain": "nope", "several": ["9"]},  # invalid: errors and no selection
    ],
)
def test_selects_render_exactly_as_django_templates_do(data):
    ours = Everything(data, renderer=FormRenderer())
    django = Everything(data, renderer=DjangoTemplates())

    for name in Everything.base_fields:
        assert str(ours[name]) == str(django[name]), name


def test_a_select_with_options_of_its_own_template_is_left_to_the_templates():
    class Form(forms.Form):
        pick = forms.ChoiceField(choices=[("a", "A")], widget=OwnOptions)

    assert str(Form(renderer=FormRenderer())["pick"]) == str(
        Form(renderer=DjangoTemplates())["pick"]
    )
