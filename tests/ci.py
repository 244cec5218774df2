"""Whether the tests run in CI, where what is normally skipped for a missing service or
browser must run (and fail) instead."""

import os


def running_in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")
