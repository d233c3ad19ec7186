"""Silence the C++ libraries' own start-up lines, so an error is the one line we print.

TensorFlow's absl logging ("All log messages before absl::InitializeLog() ...", oneDNN notices)
and LiteRT ("INFO: Created TensorFlow Lite XNNPACK delegate for CPU.") write straight to file
descriptor 2, below Python and regardless of TF_CPP_MIN_LOG_LEVEL. Only a redirect of the
descriptor itself keeps them out.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator


@contextlib.contextmanager
def silenced_stderr() -> Iterator[None]:
    """Point file descriptor 2 at /dev/null for the block; Python's own sys.stderr is untouched."""
    with contextlib.suppress(Exception):
        sys.stderr.flush()
    try:
        saved = os.dup(2)
    except OSError:  # no descriptor 2 at all (a daemon): nothing to silence
        yield
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def import_tensorflow():
    """`import tensorflow` without its absl/oneDNN start-up lines on stderr."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    with silenced_stderr():
        import tensorflow
    return tensorflow
