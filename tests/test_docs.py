"""The runnable examples in the public modules' docstrings stay true."""

import doctest
import importlib

import pytest

MODULES = [
    "nasbench_shrink.budget",
    "nasbench_shrink.work.pool",
    "nasbench_shrink.benchmarks.fidelity",
    "nasbench_shrink.benchmarks.recipe",
    "nasbench_shrink.benchmarks.tasks",
    "nasbench_shrink.benchmarks.presets",
    "nasbench_shrink.evaluation.evaluator",
    "nasbench_shrink.evaluation.networks",
    "nasbench_shrink.catalogue",
    "nasbench_shrink.strategies.registry",
    "nasbench_shrink.samplers.cell_sampler",
    "nasbench_shrink.api",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0, f"{name} has no runnable example"
    assert result.failed == 0


# --- the README's runnable blocks ------------------------------------------------------------------------------

import os  # noqa: E402
import re  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

README = Path(__file__).resolve().parents[1] / "README.md"
_BLOCK = re.compile(r"<!-- runnable(?:: (?P<file>\S+))? -->\n```(?P<lang>\w+)\n(?P<body>.*?)\n```", re.S)


def readme_blocks() -> list[tuple[str, str | None, str]]:
    """(language, file it is saved as or None, text) of every README block marked ``<!-- runnable -->`` (run it)
    or ``<!-- runnable: NAME -->`` (save it as NAME for the blocks after it)."""
    return [(m["lang"], m["file"], m["body"]) for m in _BLOCK.finditer(README.read_text())]


def test_readme_marks_runnable_blocks():
    langs = [lang for lang, _, _ in readme_blocks()]
    assert "python" in langs and "bash" in langs


def test_readme_runnable_blocks_run(tmp_path):
    """Each marked block runs as written, in order, in a fresh folder (files saved by earlier blocks present)."""
    for lang, name, body in readme_blocks():
        if name is not None:
            (tmp_path / name).write_text(body + "\n")
            continue
        cmd = ["bash", "-e", "-o", "pipefail", "-c", body] if lang == "bash" else [sys.executable, "-c", body]
        proc = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, env={**os.environ}, timeout=300)
        assert proc.returncode == 0, f"README {lang} block failed:\n{body}\n{proc.stderr[-2000:]}"
        assert "Traceback" not in proc.stderr
