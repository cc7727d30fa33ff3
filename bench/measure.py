"""What every benchmark script in this folder shares: peak memory of a process, the best of repeated timings, and
running one measurement in a process of its own (so that its peak memory is its alone) and reading the JSON line it prints last."""
import json
import subprocess
import time


def peak_rss_mb():
    """VmHWM: this process image's peak resident set (ru_maxrss would include the parent's)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024


def measure(command, env=None):
    out = subprocess.run(command, check=True, capture_output=True, text=True, env=env).stdout
    return json.loads(out.strip().splitlines()[-1])


def best_seconds(run, repeat):
    """The fastest of `repeat` timed calls of run(), after one untimed call that warms caches and allocators."""
    run()
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - start)
    return best
