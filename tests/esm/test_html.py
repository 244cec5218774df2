"""esm.html writes repeated markup as format_html would, escaped the same way."""

from django.utils.functional import lazy
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

from esm.html import html_format, html_join

lazy_text = lazy(lambda: "<b>Tom & Jerry</b>", str)


def test_values_are_escaped_and_safe_ones_kept_as_format_html_does():
    values = ("<script>", mark_safe("<em>kept</em>"), 3, None, lazy_text(), 'it\'s "quoted"')
    template = "<p>{}</p>{}|{}|{}|{}|{}"

    written = html_format(template, *values)

    assert isinstance(written, SafeString)
    assert written == format_html(template, *values)
    assert "&lt;script&gt;" in written
    assert "<em>kept</em>" in written
    assert "&lt;b&gt;Tom &amp; Jerry&lt;/b&gt;" in written


def test_rows_are_joined_by_the_separator_as_format_html_join_does():
    rows = [("/a?x=1&y=2", "A <1>"), ("/b", mark_safe("<i>B</i>"))]

    written = html_join("\n", '<a href="{}">{}</a>', rows)

    assert isinstance(written, SafeString)
    assert written == format_html_join("\n", '<a href="{}">{}</a>', rows)
    assert written.count("\n") == 1


def test_no_rows_write_nothing():
    assert html_join("\n", "<li>{}</li>", []) == ""


def test_markup_of_another_kind_is_kept_as_format_html_keeps_it():
    class Markup(str):
        def __html__(self):
            return str(self)

    value = Markup("<b>bold</b>")

    assert (
        html_format("<p>{}</p>", value) == format_html("<p>{}</p>", value) == "<p><b>bold</b></p>"
    )
