"""PLACEHOLDER-UNBUILT: the report audit."""

from django.http import Http404


def _unbuilt(*args, **kwargs):
    raise Http404("PLACEHOLDER-UNBUILT")


report_audit = _unbuilt
