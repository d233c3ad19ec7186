"""Atomic writes: temp files carry their writer's pid, and a later run removes a killed run's leftovers."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest

from edge_digits.atomic import atomic_path, move_in, signals_deferred, staging_dir, write_text

HOLD = """
import sys, time
from edge_digits.atomic import atomic_path, staging_dir
with atomic_path(sys.argv[1]) as tmp, staging_dir(sys.argv[2], "run") as staging:
    tmp.write_text("half")
    (staging / "model.keras").write_text("half")
    print(tmp.name, staging.name, flush=True)
    time.sleep(600)
"""


def _killed_writer(target, folder) -> list[str]:
    """Start a writer, SIGKILL it mid-write; the names of the temp file and folder it left."""
    proc = subprocess.Popen([sys.executable, "-c", HOLD, str(target), str(folder)], stdout=subprocess.PIPE,
                            text=True)
    names = proc.stdout.readline().split()
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    return names


def test_a_killed_writers_temp_files_are_removed_by_the_next_write(tmp_path):
    target = tmp_path / "out.avi"
    tmp_name, staging_name = _killed_writer(target, tmp_path)
    assert (tmp_path / tmp_name).is_file() and (tmp_path / staging_name).is_dir()
    assert tmp_name.startswith(".out.tmp") and staging_name.startswith(".run.tmp")
    write_text(target, "new")
    with staging_dir(tmp_path, "run") as staging:
        assert staging.is_dir()
    assert sorted(os.listdir(tmp_path)) == ["out.avi"]
    assert target.read_text() == "new"


def test_a_live_writers_temp_file_is_left_alone(tmp_path):
    target = tmp_path / "out.txt"
    proc = subprocess.Popen([sys.executable, "-c", HOLD, str(target), str(tmp_path)], stdout=subprocess.PIPE,
                            text=True)
    try:
        tmp_name, _ = proc.stdout.readline().split()
        write_text(target, "mine")
        assert (tmp_path / tmp_name).read_text() == "half"
    finally:
        proc.kill()
        proc.wait(timeout=30)


def test_files_are_ordinary_mode_and_errors_cancel(tmp_path):
    umask = os.umask(0o022)
    try:
        write_text(tmp_path / "a.json", "{}")
    finally:
        os.umask(umask)
    assert (tmp_path / "a.json").stat().st_mode & 0o777 == 0o644
    with pytest.raises(RuntimeError), atomic_path(tmp_path / "b.json") as tmp:
        tmp.write_text("half")
        raise RuntimeError("writer failed")
    assert sorted(os.listdir(tmp_path)) == ["a.json"]


def test_move_in_holds_ctrl_c_until_every_file_is_in(tmp_path):
    staging = tmp_path / "staging"
    staging.mkdir()
    for name in ("a", "b"):
        (staging / name).write_text(name)
    (tmp_path / "old").write_text("old")
    done = []
    with pytest.raises(KeyboardInterrupt):
        with signals_deferred():
            os.kill(os.getpid(), signal.SIGINT)  # arrives at once; handled only when the block ends
            move_in(staging, tmp_path, ["a", "b"], remove=["old"])
            done.append(True)
    assert done == [True]
    assert sorted(os.listdir(tmp_path)) == ["a", "b", "staging"]
