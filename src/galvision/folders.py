"""Output folders checked for writing before any work starts, and files written whole."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from galvision.errors import ConfigError


def check_writable(folder: str | Path, what: str) -> Path:
    """``folder``, refused in one line unless it can be created and written to.

    Nothing is created: a probe file is opened (and removed at once) in the folder, or in its
    nearest existing parent when the folder does not exist yet.

    Args:
        folder: the folder a command will write to.
        what: where the folder comes from, e.g. ``--output`` or ``trainer.default_root_dir``.
    """
    folder = Path(folder).expanduser()
    existing = next(path for path in (folder, *folder.parents) if path.exists())
    if not existing.is_dir():
        raise ConfigError(f"{what} {folder}: {existing} is a file, not a folder")
    try:
        with tempfile.NamedTemporaryFile(dir=existing):
            pass
    except OSError as error:
        reason = error.strerror or type(error).__name__
        raise ConfigError(f"{what} {folder}: cannot write in {existing} ({reason})") from None
    return folder


@contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """A temporary path next to ``path`` that replaces it only once written completely."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
