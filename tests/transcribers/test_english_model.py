"""CONSULTA_WHISPER_ENGLISH_MODEL picks the model English is transcribed with."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from pydantic import ValidationError

from core.settings import Settings
from workers.engines.registry import Engines
from workers.engines.transcribers.models import bundled_english_path


def _whisper(tmp_path: Path, english_model: str) -> Any:
    settings = Settings(data_dir=tmp_path, whisper_english_model=english_model)
    return Engines(settings)._local_whisper()


def test_base_is_the_default_english_model_and_tiny_en_the_live_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CONSULTA_WHISPER_ENGLISH_MODEL", raising=False)
    monkeypatch.delenv("CONSULTA_WHISPER_LIVE_ENGLISH_MODEL", raising=False)
    settings = Settings(data_dir=tmp_path)
    assert settings.whisper_english_model == "base"
    assert settings.whisper_live_english_model == "tiny.en"
    engines = Engines(settings)
    assert engines._local_whisper().english_model == "base"
    live = engines.live_transcriber("local")
    assert live.whisper.english_model == "tiny.en"  # type: ignore[attr-defined]
    assert live.name == "local:faster-whisper-tiny.en"


def test_tiny_en_keeps_english_off_the_multilingual_model(tmp_path: Path) -> None:
    whisper = _whisper(tmp_path, "tiny.en")
    assert whisper.english_path() == bundled_english_path()
    model, engine = whisper._model_for("en")
    assert engine == "local:faster-whisper-tiny.en"
    assert model.model.is_multilingual is False
    assert not (tmp_path / "models").exists()  # the base model is not joined for English


def test_live_follows_its_own_setting(tmp_path: Path) -> None:
    settings = Settings(
        data_dir=tmp_path, whisper_english_model="tiny.en", whisper_live_english_model="base"
    )
    engines = Engines(settings)
    live = engines.live_transcriber("local")
    assert live.whisper.english_model == "base"  # type: ignore[attr-defined]
    assert engines._local_whisper().english_model == "tiny.en"
    # One transcriber per English model, built once.
    assert engines._local_whisper("base") is live.whisper  # type: ignore[attr-defined]


def test_base_sends_english_to_the_multilingual_model(tmp_path: Path) -> None:
    whisper = _whisper(tmp_path, "base")
    assert whisper.english_path() == tmp_path / "models" / "base"
    model, engine = whisper._model_for("en")
    assert engine == "local:faster-whisper-base"
    assert model.model.is_multilingual is True
    # Spanish goes to the same model as before.
    assert whisper._model_for("es") == (model, "local:faster-whisper-base")


def test_the_setting_is_read_from_the_environment_and_checked(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CONSULTA_WHISPER_ENGLISH_MODEL", "tiny.en")
    monkeypatch.setenv("CONSULTA_WHISPER_LIVE_ENGLISH_MODEL", "base")
    assert Settings().whisper_english_model == "tiny.en"
    assert Settings().whisper_live_english_model == "base"
    monkeypatch.setenv("CONSULTA_WHISPER_ENGLISH_MODEL", "small.en")
    with pytest.raises(ValidationError):
        Settings()
    monkeypatch.setenv("CONSULTA_WHISPER_ENGLISH_MODEL", "base")
    monkeypatch.setenv("CONSULTA_WHISPER_LIVE_ENGLISH_MODEL", "large")
    with pytest.raises(ValidationError):
        Settings()


class _Recording:
    """A model that records the options it is asked to transcribe with."""

    def __init__(self) -> None:
        self.options: dict[str, Any] = {}

    def transcribe(self, audio: Any, **options: Any) -> tuple[list[Any], None]:
        self.options = options
        return [], None


@pytest.mark.parametrize("english_model", ["tiny.en", "base"])
def test_english_keeps_the_english_decoding_on_either_model(
    tmp_path: Path, english_model: str
) -> None:
    settings = Settings(
        data_dir=tmp_path,
        whisper_english_model=english_model,
        whisper_beam_size=3,
        whisper_patience=2.0,
        whisper_multilingual_beam_size=7,
        whisper_condition_on_previous_text=True,
    )
    whisper = Engines(settings)._local_whisper()
    model = _Recording()
    pcm = np.zeros(16000, dtype=np.float32)
    list(whisper.transcribe_window(model, pcm, "en", None))
    assert model.options["beam_size"] == 3
    assert model.options["patience"] == 2.0
    assert model.options["condition_on_previous_text"] is True
    list(whisper.transcribe_window(model, pcm, "es", None))
    assert model.options["beam_size"] == 7
    assert model.options["patience"] == 1.0
    assert model.options["condition_on_previous_text"] is False
