"""`demo.scale.side_by_side`: parts of work in forked processes, each handed the first part
left that may start, a part named in `after` waiting for every part of the one it reads."""

import contextlib
import os
import signal
import time
from pathlib import Path

from demo.scale.side_by_side import side_by_side


class Diary:
    """What the forked processes did, in the order they did it: a line each, appended to a
    file that every process opens afresh."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.write_text("")

    def part(self, name: str, *, seconds: float = 0.0, fails: bool = False):
        def run() -> None:
            self.write(f"{name} started")
            time.sleep(seconds)
            if fails:
                raise RuntimeError(f"{name} could not be read")
            self.write(f"{name} done")

        return run

    def write(self, line: str) -> None:
        with self.path.open("a") as diary:
            diary.write(f"{line}\n")

    def lines(self) -> list[str]:
        return self.path.read_text().splitlines()


def run(parts, *, after=None, processes=2):
    return side_by_side(
        parts, after=after or {}, processes=processes, context=contextlib.nullcontext
    )


def test_a_part_waits_for_the_one_it_reads_while_the_other_process_goes_on(tmp_path):
    diary = Diary(tmp_path / "diary")
    parts = [
        ("streams", diary.part("streams", seconds=0.5)),
        ("journeys", diary.part("journeys")),
        ("portfolio", diary.part("portfolio")),
    ]

    outcome = run(parts, after={"journeys": "streams"})

    lines = diary.lines()
    # The portfolio, later in order but free to start, did not wait for the streams.
    assert lines.index("portfolio done") < lines.index("streams done")
    assert lines.index("streams done") < lines.index("journeys started")
    assert set(outcome.took) == {"streams", "journeys", "portfolio"}
    assert outcome.took["streams"] >= 0.5
    assert outcome.failures == {}


def test_parts_of_one_name_add_up_and_are_taken_in_order(tmp_path):
    diary = Diary(tmp_path / "diary")
    parts = [
        ("journeys", diary.part("new hire", seconds=0.2)),
        ("journeys", diary.part("leaver", seconds=0.2)),
        ("sharing", diary.part("sharing")),
    ]

    outcome = run(parts, processes=1)

    assert diary.lines() == [
        "new hire started",
        "new hire done",
        "leaver started",
        "leaver done",
        "sharing started",
        "sharing done",
    ]
    assert outcome.took["journeys"] >= 0.4


def test_a_failed_part_skips_what_reads_it_and_nothing_else(tmp_path):
    diary = Diary(tmp_path / "diary")
    parts = [
        ("streams", diary.part("streams", fails=True)),
        ("journeys", diary.part("journeys")),
        ("reporting", diary.part("reporting")),
        ("portfolio", diary.part("portfolio")),
    ]

    outcome = run(parts, after={"journeys": "streams", "reporting": "streams"})

    assert "could not be read" in outcome.failures["streams"]
    assert outcome.failures["journeys"] == "not run: streams failed"
    assert outcome.failures["reporting"] == "not run: streams failed"
    assert "journeys started" not in diary.lines()
    assert "portfolio done" in diary.lines()
    assert set(outcome.took) == {"portfolio"}


def test_a_process_that_dies_during_a_part_names_it_and_the_other_takes_the_rest(tmp_path):
    diary = Diary(tmp_path / "diary")

    def dies() -> None:
        os._exit(3)  # as a process killed mid-part: no traceback, no word back

    parts = [
        ("journeys", dies),
        ("portfolio", diary.part("portfolio", seconds=0.2)),
        ("reporting", diary.part("reporting")),
        ("sharing", diary.part("sharing")),
    ]

    outcome = run(parts)

    assert outcome.failures == {"journeys": "its process ended during it, exit code 3"}
    assert set(outcome.took) == {"portfolio", "reporting", "sharing"}
    assert {"portfolio done", "reporting done", "sharing done"} <= set(diary.lines())


def test_a_part_whose_every_process_died_is_named_as_never_run(tmp_path):
    def dies() -> None:
        os._exit(3)

    outcome = run([("streams", dies), ("journeys", dies), ("sharing", dies)], processes=1)

    assert outcome.failures == {
        "streams": "its process ended during it, exit code 3",
        "journeys": "not run: no process was left to run it",
        "sharing": "not run: no process was left to run it",
    }
    assert outcome.took == {}


def test_what_waits_on_a_part_that_never_ran_never_runs_and_nothing_hangs(tmp_path):
    diary = Diary(tmp_path / "diary")
    parts = [
        ("streams", diary.part("streams", fails=True)),
        ("journeys", diary.part("journeys")),
        ("suggestions", diary.part("suggestions")),
        ("cycle", diary.part("cycle")),
    ]

    outcome = run(parts, after={"journeys": "streams", "suggestions": "journeys", "cycle": "cycle"})

    assert outcome.failures["journeys"] == "not run: streams failed"
    assert outcome.failures["suggestions"] == "not run: journeys failed"
    assert outcome.failures["cycle"] == "not run: no process was left to run it"
    assert diary.lines() == ["streams started"]


def test_every_failure_of_a_name_is_kept(tmp_path):
    diary = Diary(tmp_path / "diary")
    parts = [
        ("journeys", diary.part("new hire", fails=True)),
        ("journeys", diary.part("leaver", fails=True)),
    ]

    outcome = run(parts)

    assert "new hire could not be read" in outcome.failures["journeys"]
    assert "leaver could not be read" in outcome.failures["journeys"]


def test_a_process_that_ends_while_it_waits_is_reported_and_the_other_does_the_rest(tmp_path):
    pids = tmp_path / "pids"
    pids.write_text("")
    diary = Diary(tmp_path / "diary")

    @contextlib.contextmanager
    def noting_its_pid():
        with pids.open("a") as file:
            file.write(f"{os.getpid()}\n")
        yield

    def streams() -> None:
        time.sleep(0.3)  # both processes have started
        (other,) = {int(pid) for pid in pids.read_text().split()} - {os.getpid()}
        os.kill(other, signal.SIGKILL)  # the other process, idle: journeys wait for us
        time.sleep(0.3)
        diary.write("streams done")

    parts = [("streams", streams), ("journeys", diary.part("journeys"))]

    outcome = side_by_side(
        parts, after={"journeys": "streams"}, processes=2, context=noting_its_pid
    )

    assert outcome.failures == {"a process": f"it ended with exit code {-signal.SIGKILL}"}
    assert set(outcome.took) == {"streams", "journeys"}
    assert diary.lines() == ["streams done", "journeys started", "journeys done"]
