"""Where the dbt project is, and the settings it holds.

The application never finds files relative to its own source (it may run
from an installed wheel): the dbt project folder is ``SEGMENTS_PROJECT_DIR``
when set, otherwise the working directory (``make`` runs from the
repository root). Settings are read from the project's own files, their
one source of truth: the vars from ``dbt_project.yml``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml


def project_dir(env: dict[str, str] | None = None) -> Path:
    """The dbt project folder: SEGMENTS_PROJECT_DIR or the working directory."""
    value = (env if env is not None else os.environ).get("SEGMENTS_PROJECT_DIR")
    return Path(value or ".").resolve()


def resolve(path: str | Path, env: dict[str, str] | None = None) -> Path:
    """path as it is when absolute, else relative to the project folder."""
    path = Path(path)
    return path if path.is_absolute() else project_dir(env) / path


def project_vars(folder: Path | None = None) -> dict[str, Any]:
    """The vars of dbt_project.yml (their defaults, as committed)."""
    project_file = (folder or project_dir()) / "dbt_project.yml"
    return yaml.safe_load(project_file.read_text())["vars"]
