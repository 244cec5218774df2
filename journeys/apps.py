from django.apps import AppConfig


class JourneysConfig(AppConfig):
    name = "journeys"
    verbose_name = "Employee journeys"

    def ready(self) -> None:
        # The rules register themselves; the tasks must be registered in every process.
        from journeys import permissions, tasks  # noqa: F401
