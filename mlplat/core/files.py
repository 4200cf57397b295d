"""Writing files so that readers never see half of one."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def _umask() -> int:
    # The process umask can only be read by setting it; put it straight back.
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def write_atomically(path: Path, text: str | bytes, *, mode: int = 0o666) -> None:
    """Write `text` to `path` so that readers see the old file or the whole new one, never
    half of it: a temp file in the same directory, fsync, rename.

    The new file gets `mode` minus the umask, as `open()` would give it (mkstemp alone
    gives 0600, which hides plans and user data from the group that reviews them).
    Raises OSError (including FileNotFoundError for a missing directory); no temp file
    is left behind.
    """
    directory = path.parent if str(path.parent) else Path(".")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(text.encode("utf-8") if isinstance(text, str) else text)
            handle.flush()
            os.fchmod(handle.fileno(), mode & ~_umask())
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
