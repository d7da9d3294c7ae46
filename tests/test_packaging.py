"""A plain (non-editable) `pip install .` ships every data file the code reads: the SQL models, seeds and
contracts as `pipelines/sql`, the suites as `pipelines/expectations`, the report templates and the generator's code
lists. Checked against the package-data globs of pyproject.toml, so a new kind of file cannot be left behind."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CONFIG = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]


def _shipped(package: str) -> tuple[Path, set[Path]]:
    folder = ROOT / CONFIG.get("package-dir", {}).get(package, package.replace(".", "/"))
    return folder, {p for pattern in CONFIG["package-data"][package] for p in folder.glob(pattern) if p.is_file()}


@pytest.mark.parametrize(
    ("package", "data_folders"),
    [
        ("pipelines.sql", [""]),
        ("pipelines.expectations", [""]),
        ("pipelines", ["reports/templates", "generate/codes"]),
    ],
)
def test_every_data_file_is_package_data(package: str, data_folders: list[str]) -> None:
    folder, shipped = _shipped(package)
    assert package in CONFIG["packages"]
    files = (p for sub in data_folders for p in (folder / sub).rglob("*"))
    present = {p for p in files if p.is_file() and "__pycache__" not in p.parts}
    assert present, f"no data files under {folder}"
    assert present - shipped == set()


def test_every_python_package_is_listed() -> None:
    found = {
        ".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "pipelines").rglob("__init__.py")
    }
    assert found <= set(CONFIG["packages"])
