"""What every benchmark shares: options, timing with peak memory, and where the scripts live.

A benchmark is ``benchmarks/NAME.py`` with ``run(options: BenchOptions) -> dict``; the dict has
``metrics`` (what crmlens chose), ``anchors`` (``{anchor: {metric: value}}``, measured in the
same run), ``results`` (one row per data set and model, for the printed table) and ``notes``.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

from crmlens.exceptions import ConfigError


@dataclass(frozen=True)
class BenchOptions:
    rows: int | None = None
    engine: str = "duckdb"
    seed: int = 0
    quick: bool = False


@dataclass
class Measurement:
    seconds: float = 0.0
    peak_mem_mb: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)


@contextmanager
def measure(interval: float = 0.02, children: bool = False) -> Iterator[Measurement]:
    """Wall time and peak resident memory growth (MB) of the block, sampled in a thread.

    ``children`` adds the resident memory of this process's child processes (workers that train
    beside it); idle workers left from earlier count too, so it errs high.
    """
    process = psutil.Process(os.getpid())

    def resident() -> int:
        rss = process.memory_info().rss
        for child in process.children(recursive=True) if children else ():
            with suppress(psutil.Error):
                rss += child.memory_info().rss
        return rss

    base = process.memory_info().rss
    peak = [base]
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            peak[0] = max(peak[0], resident())
            stop.wait(interval)

    watcher = threading.Thread(target=sample, daemon=True)
    watcher.start()
    result = Measurement()
    start = time.perf_counter()
    try:
        yield result
    finally:
        result.seconds = time.perf_counter() - start
        stop.set()
        watcher.join()
        peak[0] = max(peak[0], resident())
        result.peak_mem_mb = (peak[0] - base) / 2**20


def fastest(runs: list[Measurement]) -> Measurement:
    """Repeated runs of one candidate as one: the fastest run's time and the largest run's memory
    (later runs in a process reuse memory the first one took)."""
    return Measurement(seconds=min(m.seconds for m in runs), peak_mem_mb=max(m.peak_mem_mb for m in runs))


def timed(fn: Callable[[], Any]) -> tuple[Any, Measurement]:
    with measure() as m:
        value = fn()
    return value, m


def bench_dir() -> Path:
    """The ``benchmarks`` folder of the checkout (working folder or beside the source tree)."""
    env = os.environ.get("CRMLENS_BENCH_DIR")
    candidates = [Path(env)] if env else []
    candidates += [Path.cwd() / "benchmarks", Path(__file__).resolve().parents[2] / "benchmarks"]
    for candidate in candidates:
        if candidate.is_dir():
            return candidate
    raise ConfigError(
        "bench: no benchmarks folder found; run from the crmlens checkout or set CRMLENS_BENCH_DIR"
    )
