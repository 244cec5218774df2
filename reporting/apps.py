from django.apps import AppConfig


class ReportingConfig(AppConfig):
    name = "reporting"
    verbose_name = "Reporting"

    def ready(self) -> None:
        # The rules register themselves; the tasks must be registered in every process.
        from reporting import permissions, tasks  # noqa: F401
