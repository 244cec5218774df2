"""PLACEHOLDER-UNBUILT: editing measures, audiences, reports, objectives and cost rates."""

from django.http import Http404


def _unbuilt(*args, **kwargs):
    raise Http404("PLACEHOLDER-UNBUILT")


measure_list = measure_new = measure_edit = _unbuilt
audience_list = audience_new = audience_edit = _unbuilt
report_new = report_edit = _unbuilt
objective_list = objective_new = objective_edit = _unbuilt
cost_rates = _unbuilt
