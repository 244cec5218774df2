from django.apps import AppConfig


class EsmConfig(AppConfig):
    name = "esm"
    verbose_name = "Enterprise"

    def ready(self) -> None:
        from esm import permissions  # noqa: F401  (registers the rules)
