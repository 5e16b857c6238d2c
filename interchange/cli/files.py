"""Writing an output file so that a failure (a full disk, a missing directory) leaves nothing:
the data go to a temporary file beside the target, flushed, then renamed over it."""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Callable
from pathlib import Path

from ..errors import ConfigError


def write_via_temp(path: Path, write: Callable[[Path], object]) -> None:
    """Call ``write(tmp)`` for a temporary path beside ``path`` (same suffix, so a writer that
    picks its format by suffix picks the same), then rename it into place. ``ConfigError``
    naming ``path`` if anything fails; the old file, if any, is then left as it was."""
    tmp = path.with_name(f".{path.stem}.{secrets.token_hex(6)}.tmp{path.suffix}")
    try:
        write(tmp)
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise ConfigError(f"cannot write {path}: {exc.strerror or exc}") from None


def write_bytes(path: Path, data: bytes) -> None:
    """``path.write_bytes(data)``, all or nothing."""
    write_via_temp(path, lambda tmp: tmp.write_bytes(data))
