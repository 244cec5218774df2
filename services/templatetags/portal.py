from django import template
from django.core.paginator import Page
from django.utils.safestring import SafeString

from services.markdown import render_markdown

register = template.Library()


@register.filter(name="markdown")
def markdown_filter(text: str) -> SafeString:
    return render_markdown(text)


# Page links either side of the current page, and at each end of the list.
PAGES_AROUND, PAGES_AT_ENDS = 2, 1


@register.simple_tag
def page_links(page: Page) -> list[int | str]:
    """The page numbers a list links to: the first and the last, those around the current
    page, and the paginator's ellipsis for each gap. A queue of thousands of open tasks
    has hundreds of pages; listing every one made a row of links longer than the page,
    and its markup grew with the list."""
    return list(
        page.paginator.get_elided_page_range(
            page.number, on_each_side=PAGES_AROUND, on_ends=PAGES_AT_ENDS
        )
    )
