import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from nasbench_shrink.benchmarks.datasets import ImageSet
from nasbench_shrink.evaluation.training import DeviceData, mixed_precision, pick_device

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_harness_quick_mode_writes_every_figure(tmp_path):
    out = tmp_path / "perf.json"
    proc = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "run.py"), "--quick", "--json", str(out)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    data = json.loads(out.read_text())
    for key in ("ratio_vs_bare_loop", "two_worker_speedup", "cache_hit_ms", "sampler_overhead_pct", "device", "torch"):
        assert key in data
    assert data["ratio_vs_bare_loop"] > 0 and data["two_worker_speedup"] > 0 and data["cache_hit_ms"] > 0
    assert "ratio_vs_bare_loop" in proc.stdout  # the printed table


def test_device_batches_are_normalised_tensors():
    x = torch.randint(0, 256, (10, 3, 4, 4), dtype=torch.uint8)
    data = DeviceData(
        ImageSet(x, torch.arange(10), tuple("0123456789")),
        torch.device("cpu"),
        torch.tensor([0.5, 0.4, 0.3]),
        torch.tensor([0.2, 0.25, 0.3]),
        channels_last=True,
    )
    xb, yb = data.batch(torch.tensor([3, 7]))
    want = (x[[3, 7]].float() / 255 - torch.tensor([0.5, 0.4, 0.3]).view(1, 3, 1, 1)) / torch.tensor(
        [0.2, 0.25, 0.3]
    ).view(1, 3, 1, 1)
    assert torch.allclose(xb, want, atol=1e-5) and yb.tolist() == [3, 7]
    assert xb.is_contiguous(memory_format=torch.channels_last)


def test_cpu_path_has_no_autocast_and_device_is_chosen():
    assert pick_device("cpu").type == "cpu"
    assert pick_device().type == ("cuda" if torch.cuda.is_available() else "cpu")
    with mixed_precision(torch.device("cpu")):
        y = torch.ones(2, 2) @ torch.ones(2, 2)
    assert y.dtype == torch.float32
