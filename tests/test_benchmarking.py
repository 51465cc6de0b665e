from crmlens.benchmarking import Measurement, fastest, measure


def test_fastest_takes_the_quickest_time_and_the_largest_memory() -> None:
    runs = [Measurement(seconds=2.0, peak_mem_mb=300.0), Measurement(seconds=1.5, peak_mem_mb=20.0)]
    best = fastest(runs)
    assert (best.seconds, best.peak_mem_mb) == (1.5, 300.0)


def test_measure_times_and_sees_memory_grow() -> None:
    with measure() as m:
        block = bytearray(64 * 2**20)
        block[::4096] = b"x" * len(block[::4096])  # touch every page so it is resident
    assert m.seconds > 0 and m.peak_mem_mb >= 32


def test_measure_can_count_child_processes() -> None:
    import subprocess
    import sys

    script = "b = bytearray(96 * 2**20); b[::4096] = b'x' * len(b[::4096]); import time; time.sleep(0.6)"
    with measure(children=True) as m:
        subprocess.run([sys.executable, "-c", script], check=True)
    assert m.peak_mem_mb >= 48  # the child's memory is counted
