"""The Django admin, on the portal's own site: every change made in it is recorded."""

from django.contrib.admin.apps import AdminConfig


class AuditedAdminConfig(AdminConfig):
    # A dotted path, imported once the models are loaded (the site records events).
    default_site = "esm.admin_site.AuditedAdminSite"
