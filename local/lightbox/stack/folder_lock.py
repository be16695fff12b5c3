"""One `lightbox up` per data folder: two would share its Redis files, moto's kept state and
state.json, and the second died midway with a traceback. The lock is the kernel's (flock), so it
goes with its process however that ends, SIGKILL included."""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path

from lightbox.exceptions import LightboxError

LOCK_FILE = "up.lock"


def hold(data_dir: Path) -> int:
    """Take `data_dir` for this process for as long as it lives; LightboxError naming the holder when
    another process has it. The fd is not inherited: a child left behind does not keep the folder."""
    data_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(data_dir / LOCK_FILE, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.pread(fd, 32, 0).decode("ascii", "replace").strip() or "unknown"
        os.close(fd)
        raise LightboxError(
            f"{data_dir.resolve()}: another `lightbox up` (pid {holder}) uses this data folder; stop it, or run "
            "this one from another folder or with LIGHTBOX_DATA_DIR=another-folder") from None
    with contextlib.suppress(OSError):
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
    return fd
