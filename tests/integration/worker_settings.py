"""Settings of the Celery worker an integration test starts: the test settings, not eager.

The test process itself runs tasks eagerly (tests/settings.py); the worker it starts must
publish the next steps to the broker, as a deployed worker does.
"""

from tests.settings import *  # noqa: F403

CELERY_TASK_ALWAYS_EAGER = False
