from django.apps import AppConfig


class ServicesConfig(AppConfig):
    name = "services"
    verbose_name = "Services"

    def ready(self) -> None:
        # The rules register themselves; the Celery tasks must be registered in every
        # process (web too), because actions publish them by name (`services.enqueue`).
        from services import permissions, tasks  # noqa: F401
