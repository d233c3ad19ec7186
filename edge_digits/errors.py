"""Errors meant for users: one line, a fixed exit code, never a traceback.

Exit codes (design.md): 0 ok, 2 usage or bad input, 3 device/camera unavailable, 1 unexpected.
"""

from __future__ import annotations

import click


class BadInput(click.ClickException):
    """A file, argument or model the user gave us cannot be used (exit 2)."""

    exit_code = 2


class DeviceUnavailable(click.ClickException):
    """A camera or stream cannot be opened or stopped delivering frames (exit 3)."""

    exit_code = 3


class CheckFailed(click.ClickException):
    """A quality gate failed (--max-drop, --min-accuracy): the run did its work, the result is not good enough."""

    exit_code = 1
