from django.apps import AppConfig


class EsmConfig(AppConfig):
    name = "esm"
    verbose_name = "Enterprise"

    def ready(self) -> None:
        from esm import checks, permissions  # noqa: F401  (register the checks and rules)
