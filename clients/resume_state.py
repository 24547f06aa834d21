"""Unfinished uploads remembered on this machine, so that running the same `consulta
transcribe` again after Ctrl-C, a crash or a lost network resumes instead of starting over.

One small JSON file (mode 0600, in a 0700 folder) under the user's state directory,
``$XDG_STATE_HOME/consulta`` or ``~/.local/state/consulta``. An entry is keyed by the file's
identity (absolute path, size, modification time and the SHA-256 of its first MiB, so that a
file rewritten in place is not mistaken for the one uploaded), the server's address and the
upload's configuration; it holds only the upload id. No audio, file contents or tokens.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from consulta.v1 import transcription_service_pb2 as pb

#: Entries older than this are dropped: the server aborts abandoned uploads after a day.
_MAX_AGE_SECONDS = 2 * 24 * 3600
_HEAD_BYTES = 1 << 20


def state_dir() -> Path:
    """Where the CLI keeps state, per the XDG base directory specification."""
    base = os.environ.get("XDG_STATE_HOME", "")
    root = Path(base) if base and Path(base).is_absolute() else Path.home() / ".local" / "state"
    return root / "consulta"


def upload_key(path: Path, server: str, config: pb.UploadConfig) -> str:
    """The identity of "this file, to this server, with this configuration"."""
    resolved = path.resolve()
    stat = resolved.stat()
    with resolved.open("rb") as f:
        head = hashlib.sha256(f.read(_HEAD_BYTES)).hexdigest()
    # Deterministic serialization so that the same options give the same key every run.
    settings = hashlib.sha256(config.SerializeToString(deterministic=True)).hexdigest()
    identity = [str(resolved), stat.st_size, stat.st_mtime_ns, head, server, settings]
    return hashlib.sha256(json.dumps(identity).encode()).hexdigest()


@dataclass
class PendingUploads:
    """The remembered uploads in one state file; every change is written at once."""

    path: Path

    @classmethod
    def default(cls) -> PendingUploads:
        return cls(state_dir() / "uploads.json")

    def _load(self) -> dict[str, dict[str, object]]:
        try:
            data = json.loads(self.path.read_text())
        except (OSError, ValueError):
            return {}  # no file yet, or a damaged one: resuming is a convenience, start over
        return data if isinstance(data, dict) else {}

    def _save(self, entries: dict[str, dict[str, object]]) -> None:
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        # Written to a private temporary file and renamed, so that a Ctrl-C mid-write never
        # leaves half a file and the contents are never readable by others.
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".uploads-")
        try:
            with os.fdopen(fd, "w") as f:
                json.dump(entries, f)
            os.replace(tmp, self.path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise

    def get(self, key: str) -> str | None:
        """The upload id remembered for ``key``, if any."""
        entry = self._load().get(key)
        upload_id = entry.get("upload_id") if isinstance(entry, dict) else None
        return upload_id if isinstance(upload_id, str) and upload_id else None

    def remember(self, key: str, upload_id: str) -> None:
        now = time.time()
        entries = {
            k: v
            for k, v in self._load().items()
            if isinstance(v, dict) and now - float(str(v.get("saved_at", 0))) < _MAX_AGE_SECONDS
        }
        entries[key] = {"upload_id": upload_id, "saved_at": now}
        self._save(entries)

    def forget(self, key: str) -> None:
        entries = self._load()
        if entries.pop(key, None) is not None:
            self._save(entries)
