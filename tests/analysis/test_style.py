"""The code is ruff clean, lint and format, by pyproject.toml's rules: the README's test command checks it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("args", [["check", "."], ["format", "--check", "."]], ids=["lint", "format"])
def test_ruff_clean(args: list[str]) -> None:
    proc = subprocess.run([sys.executable, "-m", "ruff", *args], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, (
        f"ruff {' '.join(args)} found problems (fix: `ruff check --fix .`, `ruff format .`):\n"
        f"{proc.stdout[-3000:]}{proc.stderr[-1000:]}"
    )
