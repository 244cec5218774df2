"""PLACEHOLDER-UNBUILT: the dashboard pages (list, one report, CSV, print, refresh)."""

from django.http import Http404


def _unbuilt(*args, **kwargs):
    raise Http404("PLACEHOLDER-UNBUILT")


report_list = report_dashboard = report_export = report_print = report_refresh = _unbuilt
