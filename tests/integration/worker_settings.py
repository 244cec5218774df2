"""Settings of the Celery worker an integration test starts: the test settings, not eager.

The test process itself runs tasks eagerly (tests/settings.py); the worker it starts must
publish the next steps to the broker, as a deployed worker does.
"""

from tests.settings import *  # noqa: F403

CELERY_TASK_ALWAYS_EAGER = False
# As deployed (esm/settings.py): each pool process keeps its connection from task to task.
# The rig stops its workers before the test database is flushed or dropped.
DATABASES["default"]["CONN_MAX_AGE"] = 60  # noqa: F405
