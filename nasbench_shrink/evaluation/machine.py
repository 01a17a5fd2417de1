"""Where an evaluation ran: a fingerprint of the processor (or GPU) and torch, recorded with every trained record.

Why: the last bits of a result depend on the kernels a machine runs, so a table row can be reproduced exactly
only on a machine with the same fingerprint; rows trained on different machines say so one by one.
"""

from __future__ import annotations

import platform
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # imported where a fingerprint is taken: reading a table never needs torch
    import torch

__all__ = ["cpu_model", "machine_of"]


@lru_cache(maxsize=1)
def cpu_model() -> str:
    """The processor: model name, family/model numbers and the vector ISA torch dispatches to.

    Why all three: virtual machines often report a bare name ("AMD EPYC") for different generations, whose CPU
    kernels differ in the last bits of a result; the numbers and the ISA tell them apart.
    """
    fields: dict[str, str] = {}
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            key = key.strip()
            if key in ("model name", "cpu family", "model") and key not in fields:
                fields[key] = value.strip()
            if not line.strip() and fields:
                break
    except OSError:
        pass
    name = fields.get("model name") or platform.processor() or platform.machine()
    try:
        import torch

        isa = torch.backends.cpu.get_cpu_capability()
    except Exception:  # pragma: no cover - older torch
        isa = "unknown ISA"
    numbers = ""
    if "cpu family" in fields and "model" in fields:
        numbers = f"family {fields['cpu family']}, model {fields['model']}, "
    return f"{name} ({numbers}{isa})"


def machine_of(device: torch.device) -> str:
    """The fingerprint of the machine an evaluation on ``device`` runs on: processor or GPU name, and torch."""
    import torch

    hw = torch.cuda.get_device_name(device) if device.type == "cuda" else cpu_model()
    return f"{hw}; torch {torch.__version__}"
