"""Write artifacts atomically: a reader sees the old file or the new one, never half of one.

Temp files and folders carry the writer's process id (`.<stem>.tmp<pid>-<random><suffix>`), so a
later run can tell the leftovers of a killed run (SIGKILL, power loss) from a live writer's work
and remove them. Sets of files that belong together (a run's outputs, models and their manifest)
are written into a temp folder and moved in together while SIGINT/SIGTERM wait.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

from edge_digits.errors import BadInput


def _prefix(stem: str) -> str:
    return f".{stem}.tmp{os.getpid()}-"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's live process
    return True


_OURS = re.compile(r"^\..+\.tmp(\d+)-[a-z0-9_]+(\.\w+)?$")  # .<stem>.tmp<pid>-<random>[<suffix>]
_cleaned: set[Path] = set()


def remove_stale(folder: Path) -> list[Path]:
    """Remove temp files/folders of our naming in `folder` whose process no longer runs.

    Once per folder per process: a folder that gets thousands of files (`data photos`) is listed once.
    """
    folder = Path(folder)
    key = folder.resolve()
    if key in _cleaned:
        return []
    _cleaned.add(key)
    removed = []
    try:
        entries = list(folder.iterdir())
    except OSError:
        return removed
    for entry in entries:
        match = _OURS.match(entry.name)
        if not match or int(match.group(1)) == os.getpid() or _alive(int(match.group(1))):
            continue
        with contextlib.suppress(OSError):
            shutil.rmtree(entry) if entry.is_dir() and not entry.is_symlink() else entry.unlink()
            removed.append(entry)
    return removed


def _ordinary_mode(path: Path, mode: int) -> None:
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(path, mode & ~umask)  # mkstemp/mkdtemp make 0600/0700; artifacts are ordinary files


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temp path beside `target`; on success it replaces `target`, on error it is removed.

    Deleting the temp file inside the block cancels the write: `target` is left as it was.

    `suffix` defaults to the target's own suffix, because some writers (Keras, OpenCV)
    choose the format from the file name.
    """
    target = Path(target)
    suffix = suffix if suffix is not None else target.suffix
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        remove_stale(target.parent)
        fd, tmp = tempfile.mkstemp(prefix=_prefix(target.stem), suffix=suffix, dir=target.parent)
    except OSError as exc:
        raise BadInput(f"cannot write {target}: {exc.strerror or exc}") from None
    os.close(fd)
    tmp_path = Path(tmp)
    _ordinary_mode(tmp_path, 0o666)
    try:
        yield tmp_path
        if tmp_path.exists():
            os.replace(tmp_path, target)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def write_text(target: str | os.PathLike, text: str) -> None:
    """Write `text` to `target` atomically."""
    with atomic_path(target) as tmp:
        tmp.write_text(text)


def write_bytes(target: str | os.PathLike, data: bytes) -> None:
    """Write `data` to `target` atomically."""
    with atomic_path(target) as tmp:
        tmp.write_bytes(data)


@contextlib.contextmanager
def staging_dir(out_dir: str | os.PathLike, stem: str) -> Iterator[Path]:
    """A temp folder inside `out_dir` (same file system, so files move in with os.replace); always removed."""
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
        remove_stale(out)
        staging = Path(tempfile.mkdtemp(prefix=_prefix(stem), dir=out))
    except OSError as exc:
        raise BadInput(f"cannot write {out}: {exc.strerror or exc}") from None
    _ordinary_mode(staging, 0o777)
    try:
        yield staging
    finally:
        shutil.rmtree(staging, ignore_errors=True)


@contextlib.contextmanager
def signals_deferred() -> Iterator[None]:
    """Hold SIGINT/SIGTERM until the block ends, so a set of renames is never cut in half."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[int] = []
    handlers = {s: signal.signal(s, lambda signum, _frame: caught.append(signum))
                for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for s, handler in handlers.items():
            signal.signal(s, handler if handler is not None else signal.SIG_DFL)  # None: set from C
        for signum in caught[:1]:
            signal.raise_signal(signum)


def move_in(staging: Path, out_dir: Path, names: list[str], remove: list[str] = ()) -> None:
    """Move `names` from `staging` into `out_dir` and delete `remove` there, all while signals wait."""
    with signals_deferred():
        for name in names:
            os.replace(staging / name, out_dir / name)
        for name in remove:
            with contextlib.suppress(FileNotFoundError):
                (out_dir / name).unlink()
