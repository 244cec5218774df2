from django.apps import AppConfig


class JourneysConfig(AppConfig):
    name = "journeys"
    verbose_name = "Employee journeys"

    def ready(self) -> None:
        # The rules register themselves.
        from journeys import permissions  # noqa: F401
