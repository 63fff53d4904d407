"""Writing files so that a reader sees the old or the new version, never half of one, and never through a link."""
from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

from nasbench.errors import ConfigError


def inside(folder: Path, name: str) -> Path:
    """``folder/name``, refused when it (or a folder on the way inside ``folder``) is a symlink."""
    path = folder / name
    part = folder
    for piece in Path(name).parts:
        part = part / piece
        if part.is_symlink():
            raise ConfigError(f"{part} is a symlink; nasbench never writes through links: remove it or choose another --out")
    if path.exists() and not path.is_file() and not path.is_dir():
        raise ConfigError(f"{path} is not a regular file; remove it or choose another --out")
    return path


def atomic_write(folder: Path, name: str, data: str | bytes) -> Path:
    """Write ``folder/name`` through a temporary file in the same folder and a rename (atomic on POSIX)."""
    path = inside(folder, name)
    if path.is_dir():
        raise ConfigError(f"{path} is a folder where a file is expected; remove it or choose another --out")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data.encode() if isinstance(data, str) else data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return path


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
