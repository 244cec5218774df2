"""PLACEHOLDER-UNBUILT: feedback and subscriptions."""

from django.http import Http404


def _unbuilt(*args, **kwargs):
    raise Http404("PLACEHOLDER-UNBUILT")


report_feedback = report_subscription = _unbuilt
