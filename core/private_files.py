"""Folders and files that only the service's own user may read: the embedded default keeps
patient data (the SQLite database, its WAL, audio) on local disk, so folders are 0700 and
files 0600 from the moment they exist, whatever the process umask, and older ones are
tightened when found."""

from __future__ import annotations

import os
from pathlib import Path

DIR_MODE = 0o700
FILE_MODE = 0o600


def private_dir(path: Path) -> Path:
    """Create ``path`` (and missing parents) as 0700; tighten it when it already exists."""
    path.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    if path.stat().st_mode & 0o777 != DIR_MODE:
        path.chmod(DIR_MODE)
    return path


def private_file(path: Path) -> Path:
    """Make sure ``path`` exists as a 0600 file (an empty one when missing)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, FILE_MODE)
    try:
        os.fchmod(fd, FILE_MODE)
    finally:
        os.close(fd)
    return path


def open_private(path: Path, flags: int) -> int:
    """``os.open`` that creates the file 0600 (``O_CREAT`` is added)."""
    return os.open(path, flags | os.O_CREAT, FILE_MODE)
