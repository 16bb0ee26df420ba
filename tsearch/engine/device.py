"""Where and how a group of tasks runs: device, form (vmap | loop), bf16, compile, chunk size,
and the peak-memory meter every result reports.

Nothing here probes a device at import time; every decision is a function of its arguments
(plus, on CUDA, a calibration cached for the life of the process).
"""

from __future__ import annotations

import os
import resource
import sys

import torch

from ..config import EngineConfig
from ..errors import UserError

# Form on CPU: a fixed rule of (model kind, side), never a timing taken at run time, so that
# a genetic search killed and resumed on CPU trains every group the same way and gets the
# same numbers. vmap where it measured faster than the loop at every size, stack and thread
# count (only the MLP: docs/benchmarks.md, "Which form on CPU", benchmarks/cpu_forms.py), else
# the loop: on CPU the batched form must never be slower. Largest side at which a kind is
# stacked on CPU (0: never; mlp above 16: not measured, loop).
CPU_VMAP_MAX_SIDE: dict[str, int] = {
    "mlp": 16,
    "cnn": 0,
    "unet": 0,
    "transformer": 0,
    "polygon": 0,
}


def resolve_device(name: str) -> torch.device:
    """``auto`` is CUDA when available, else CPU; ``cuda`` without a GPU is a user error."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise UserError("engine.device = 'cuda' but no CUDA device is available")
    return torch.device(name)


def cuda_device_count() -> int:
    """GPUs this process sees (after CUDA_VISIBLE_DEVICES); counting does not initialise CUDA."""
    return torch.cuda.device_count()


# bf16 autocast on a CPU that computes it natively (AVX-512 BF16, AMX), per model kind: only
# the UNet ran faster than fp32 (0.76x the time), with values that agree with fp32 within seed
# noise (benchmarks/bf16_cpu.py, docs/benchmarks.md); everywhere else bf16 on a CPU is off
# unless asked for ("on").
CPU_BF16_KINDS = frozenset({"unet"})


def cpu_bf16_native() -> bool:
    """Whether this CPU computes bf16 natively (AVX-512 BF16 or AMX tiles), as oneDNN sees it;
    on an AVX2-only CPU bf16 is emulated and slower than fp32."""
    return bool(torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported())


def pinned_bf16(setting: str) -> str:
    """``auto`` made this machine's fact, so that a run records which path it takes and its
    resume takes the same one on any machine: ``native`` where this CPU computes bf16 natively,
    else ``cuda``."""
    if setting != "auto":
        return setting
    return "native" if cpu_bf16_native() else "cuda"


def use_bf16(engine: EngineConfig, device: torch.device, model_kind: str) -> bool:
    """bf16 autocast for a model of ``model_kind`` on ``device``. on/off: always/never; cuda:
    on CUDA only (where bf16 autocast + compile took an H200 from ~3,500 to ~8,000 model-steps/s);
    native: on CUDA, and on the CPU for the kinds measured faster there (CPU_BF16_KINDS)."""
    setting = pinned_bf16(engine.bf16)
    if setting in ("on", "off"):
        return setting == "on"
    return device.type == "cuda" or (setting == "native" and device.type == "cpu"
                                     and model_kind in CPU_BF16_KINDS)


def use_compile(engine: EngineConfig, device: torch.device) -> bool:
    # auto: on for CUDA only; on 2 CPU cores compilation time exceeds what small runs gain.
    return engine.compile == "on" or (engine.compile == "auto" and device.type == "cuda")


def cpu_form(model_kind: str, side: int) -> str:
    return "vmap" if side <= CPU_VMAP_MAX_SIDE.get(model_kind, 0) else "loop"


# ----------------------------------------------------------------------------- memory
def _rss_bytes() -> int:
    """Current resident set size (Linux /proc); elsewhere the ru_maxrss high-water mark."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        scale = 1 if sys.platform == "darwin" else 1024
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale


class MemoryMeter:
    """Peak memory of a chunk. CUDA: ``torch.cuda.max_memory_allocated`` since ``start``.
    CPU: the largest resident-set growth over the chunk's start, sampled at every ``poll``
    (training-step blocks, sampling, scoring) -- an approximation that misses spikes between
    polls and counts allocator caching, stated as such in docs/benchmarks.md."""

    def __init__(self, device: torch.device):
        self.device = device
        self.base = 0
        self.peak = 0

    def start(self) -> "MemoryMeter":
        if self.device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(self.device)
            self.base = 0
        else:
            self.base = self.peak = _rss_bytes()
        return self

    def poll(self) -> None:
        if self.device.type != "cuda":
            self.peak = max(self.peak, _rss_bytes())

    def peak_mb(self) -> float:
        if self.device.type == "cuda":
            return torch.cuda.max_memory_allocated(self.device) / 2**20
        self.poll()
        return (self.peak - self.base) / 2**20


def memory_budget(device: torch.device) -> int:
    """Bytes a chunk may use: half of the free GPU memory; on CPU a quarter of the *total*
    RAM (not the free RAM, so the chunking -- hence the numbers -- never depends on what else
    runs on the machine)."""
    if device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(device)
        return free // 2
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 4


def activation_numel(model: torch.nn.Module, side: int) -> int:
    """Numbers the forward pass of one image produces (every module's output), a stand-in
    for its activation memory."""
    total = 0

    def hook(module, args, out):
        nonlocal total
        if torch.is_tensor(out):
            total += out.numel()

    handles = [m.register_forward_hook(hook) for m in model.modules()]
    try:
        with torch.no_grad():
            p = next(model.parameters(), None)
            dev = p.device if p is not None else "cpu"
            model(torch.zeros(1, side, side, device=dev), torch.ones(1, device=dev))
    finally:
        for h in handles:
            h.remove()
    return total


def plan_chunk(*, n_params: int, act_numel: int, batch: int, n_samples: int,
               budget: int, cap: int = 512) -> tuple[int, int]:
    """(models per training chunk, models per sampling call) that fit in ``budget`` bytes.

    Training holds, per model, parameters + gradient + two Adam moments (16 bytes a
    parameter) and the activations of a batch kept for backward (~3 copies: output,
    gradient, autograd scratch). Sampling holds no graph: ~2 copies for ``n_samples`` images.
    """
    train_bytes = 16 * n_params + 4 * 3 * act_numel * batch
    sample_bytes = 4 * n_params + 4 * 2 * act_numel * n_samples
    chunk = max(1, min(cap, budget // max(train_bytes, 1)))
    per_call = max(1, min(chunk, budget // max(sample_bytes, 1)))
    return int(chunk), int(per_call)
