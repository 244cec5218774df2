from django.apps import AppConfig


class ValueStreamsConfig(AppConfig):
    name = "valuestreams"
    verbose_name = "Value streams"

    def ready(self) -> None:
        from valuestreams import permissions  # noqa: F401  (registers the rules)
