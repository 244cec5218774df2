from django.apps import AppConfig


class ValueStreamsConfig(AppConfig):
    name = "valuestreams"
    verbose_name = "Value streams"

    def ready(self) -> None:
        # The rules register themselves; the tasks must be registered in every process.
        from valuestreams import permissions, tasks  # noqa: F401
