"""What every API input shares: how a body is parsed and what counts as text.

Python's JSON decoder recurses once per nesting level, so a body of ten thousand `[`
exhausts the interpreter's stack: that is the client's malformed input, answered 400 like
any other JSON the parser refuses, never a 500. And DRF's CharField turns a number into
its digits; an API that takes text takes text, so a number, a boolean or a list where text
is expected is refused rather than stored.
"""

from __future__ import annotations

from typing import Any

from rest_framework import serializers
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser


class BoundedJSONParser(JSONParser):
    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError as error:
            raise ParseError("JSON parse error - the body is nested too deeply.") from error


class TextField(serializers.CharField):
    """A CharField that takes only text (DRF's also takes numbers and turns them into text)."""

    default_error_messages = {"not_text": "Expected text, got {kind}."}

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("not_text", kind=type(data).__name__)
        return super().to_internal_value(data)
