from django.apps import AppConfig
from django.db.backends.signals import connection_created

from esm.postgresql import prepared_statements_sized


class EsmConfig(AppConfig):
    name = "esm"
    verbose_name = "Enterprise"

    def ready(self) -> None:
        from esm import checks, permissions  # noqa: F401  (register the checks and rules)

        connection_created.connect(prepared_statements_sized, dispatch_uid="prepared_max")
