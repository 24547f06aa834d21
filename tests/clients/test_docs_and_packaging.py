"""What a new user reads and installs: README's commands and facts, and packaging metadata
that pip installs without deprecation warnings."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_license_is_an_spdx_expression_with_a_setuptools_that_takes_it() -> None:
    # setuptools 77 deprecates the `license = { text = ... }` table and warns on every install.
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert project["project"]["license"] == "Apache-2.0"
    requires = " ".join(project["build-system"]["requires"])
    minimum = re.search(r"setuptools>=(\d+)", requires)
    assert minimum is not None and int(minimum[1]) >= 77


def test_readme_health_line_mentions_http_for_readyz() -> None:
    readme = (ROOT / "README.md").read_text()
    line = next(line for line in readme.splitlines() if line.startswith("| `consulta health"))
    assert "--http" in line


def test_the_sample_duration_is_stated_as_83_7_seconds_everywhere() -> None:
    for doc in (ROOT / "README.md", ROOT / "examples" / "README.md"):
        text = doc.read_text()
        assert not re.search(r"\b(84|90)[- ]?(s\b|second)", text), doc
        assert "83.7" in text, doc
