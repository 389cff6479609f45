"""Release metadata stays consistent: one version, its changelog section, and the data files the wheel ships."""

from __future__ import annotations

import fnmatch
import tomllib
from pathlib import Path

import monitor

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def test_the_version_lives_in_one_place_and_has_a_changelog_section() -> None:
    project = PYPROJECT["project"]
    assert "version" not in project and project["dynamic"] == ["version"]
    assert PYPROJECT["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "monitor.__version__"}
    assert f"## {monitor.__version__}" in (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    assert (ROOT / "LICENSE").read_text(encoding="utf-8").startswith(f"{project['license']} License")


def test_every_data_file_the_commands_read_is_in_the_wheel() -> None:
    globs = PYPROJECT["tool"]["setuptools"]["package-data"]["monitor"]
    data = [p.relative_to(ROOT / "monitor").as_posix() for folder in ("templates", "demo_site")
            for p in (ROOT / "monitor" / folder).iterdir()]  # fmt: skip
    assert data and all(any(fnmatch.fnmatch(name, g) for g in globs) for name in data), (data, globs)
    assert PYPROJECT["tool"]["setuptools"]["packages"]["find"]["include"] == ["monitor", "monitor.*"]
