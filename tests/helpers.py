"""Small helpers for the tests: run the CLI in-process and read its one-line errors."""

from __future__ import annotations

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
