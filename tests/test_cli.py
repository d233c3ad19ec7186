"""The command line itself: help, version, and that starting it loads no heavy library."""

from __future__ import annotations

import subprocess
import sys

from edge_digits import __version__
from edge_digits.cli import main
from tests.helpers import HEAVY, cli, loaded_after


def test_every_command_is_registered_and_helps():
    assert sorted(main.commands) == ["benchmark", "capture", "classify", "convert", "data", "evaluate", "label",
                                     "predict", "train"]
    assert sorted(main.commands["data"].commands) == ["export", "field", "info", "photos"]
    assert cli("--help").exit_code == 0


def test_version():
    result = cli("--version")
    assert result.exit_code == 0 and __version__ in result.stdout


def test_help_imports_no_tensorflow_pandas_or_opencv():
    helps = [["--help"], ["train", "--help"], ["capture", "--help"], ["benchmark", "--help"], ["label", "--help"]]
    assert loaded_after(helps, (*HEAVY, "cv2")) == []


def test_console_script_runs_as_a_module():
    proc = subprocess.run([sys.executable, "-m", "edge_digits", "--version"], capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0 and __version__ in proc.stdout
