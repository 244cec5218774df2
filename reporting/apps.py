from django.apps import AppConfig


class ReportingConfig(AppConfig):
    name = "reporting"
    verbose_name = "Reporting"

    def ready(self) -> None:
        # The tasks must be registered in every process.
        from reporting import tasks  # noqa: F401
