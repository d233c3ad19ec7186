"""Small helpers for the tests: run the CLI in-process and read its one-line errors."""

from __future__ import annotations

import ast
import subprocess
import sys

from click.testing import CliRunner, Result

from edge_digits.cli import main


def cli(*args: str) -> Result:
    """Invoke `edge-digits ARGS` in-process; stdout and stderr kept apart."""
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def one_line_error(result: Result) -> str:
    """The error message; asserts it is one line, the last one, and no traceback.

    Progress lines a command logged before failing may precede it.
    """
    err = result.stderr.strip()
    assert "Traceback" not in err, err
    errors = [line for line in err.splitlines() if line.startswith("Error: ")]
    assert len(errors) == 1 and err.splitlines()[-1] == errors[0], err
    return errors[0]


def peak_rss_mb(*args: str) -> tuple[float, str]:
    """Run `edge-digits ARGS` in a fresh interpreter; its peak RSS in MB and its output."""
    # VmHWM, not ru_maxrss: ru_maxrss keeps the parent's high-water mark across fork + exec.
    code = ("import sys\nfrom edge_digits.cli import main\n"
            "try:\n    main(sys.argv[1:])\nexcept SystemExit as e:\n    assert e.code in (0, None), e.code\n"
            "hwm = [l for l in open('/proc/self/status') if l.startswith('VmHWM:')][0]\n"
            "print('PEAK', hwm.split()[1])\n")
    proc = subprocess.run([sys.executable, "-c", code, *map(str, args)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    peak_kb = int(proc.stdout.rsplit("PEAK ", 1)[1])
    return peak_kb / 1024, proc.stdout


HEAVY = ("tensorflow", "keras", "pandas", "matplotlib")


def loaded_after(commands: list[list[str]], modules: tuple[str, ...] = HEAVY) -> list[str]:
    """Run each `edge-digits ARGS` (all must succeed) in one fresh interpreter; which of `modules` they imported."""
    code = ("import sys\nfrom edge_digits.cli import main\n"
            f"for args in {[[str(a) for a in c] for c in commands]!r}:\n"
            "    try:\n        main(args)\n"
            "    except SystemExit as e:\n        assert e.code in (0, None), (args, e.code)\n"
            f"print('LOADED', [m for m in {modules!r} if m in sys.modules])\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return ast.literal_eval(proc.stdout.rsplit("LOADED ", 1)[1])
