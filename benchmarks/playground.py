"""Updates per second the playground page shows, measured in headless Chromium (Playwright).

Runs on 500 points of the circle set (250 train), features x, y:

- network view, 2-8-8-1 and 8-8-8-8 (features x, y): ``epochs_per_update`` = 10, batch 10, each with
  the maps the page draws now (output 100x100, neurons 40x40) and with the old ones (50x50, 20x20),
  in the same run, so that a shared machine's load weighs on both alike;
- seeds view: 100 networks of 2-8-8-1 at once (population axis), ``--seeds-epochs`` per update.

Each run plays for ``--seconds`` and reads the page's own counters: the epoch of the state on
screen and ``frames``, the number of states the page has drawn (a state that arrives while another
waits for the next animation frame replaces it and is not counted). Targets: >= 30 updates/s with
>= 10 epochs each (network view, 2-8-8-1), >= 15 (8-8-8-8), >= 10 updates/s (seeds view). The load
average of the machine is
printed with the figures: on a shared machine they are lower bounds. So is the CPU time each side
spent per update (this process: the server and Playwright's client; the browser's processes), and
from it the updates/s two idle cores would give: each side on a core of its own at best, both
sharing the two at worst (CPU time grows under load too, so this estimate is pessimistic).

    .venv/bin/python benchmarks/playground.py [--seconds 8] [--seeds-epochs 1]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "playground"))

from playground_browser import chromium, running_server  # noqa: E402


def cpu_seconds() -> dict[str, float]:
    """CPU time (user + system) used so far by this process (the server, and Playwright's client) and by
    its descendants: the browser's processes, and Playwright's driver."""
    tick = os.sysconf("SC_CLK_TCK")
    table = {}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
            command = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[0].decode(errors="replace")
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        table[int(pid)] = (int(fields[1]), (int(fields[11]) + int(fields[12])) / tick, command)
    totals = {"server": time.process_time(), "browser": 0.0, "driver": 0.0}
    for pid, (_, cpu, command) in table.items():
        ancestor = table[pid][0]
        while ancestor in table and ancestor != os.getpid():
            ancestor = table[ancestor][0]
        if ancestor == os.getpid() and pid != os.getpid():
            totals["browser" if "chrom" in command else "driver"] += cpu
    return totals


def measure(page, url: str, fragment: str, seconds: float, seeds: bool) -> dict:
    page.goto(url + fragment)
    page.wait_for_function("window.playground.lastState !== null", timeout=20_000)
    if seeds:
        page.click(".tab[data-tab=seeds]")
        page.wait_for_function("window.playground.lastState.population === 100", timeout=20_000)
    page.click("#play")
    page.wait_for_function("window.playground.frames >= 5 && window.playground.playing", timeout=30_000)  # warm
    read = "[window.playground.frames, window.playground.lastState.epoch]"
    start_frames, start_epoch = page.evaluate(read)
    start_cpu, started = cpu_seconds(), time.perf_counter()
    time.sleep(seconds)
    frames, epoch = page.evaluate(read)
    cpu, elapsed = cpu_seconds(), time.perf_counter() - started
    shown = int(page.inner_text("#ups"))  # while playing: paused, the page shows 0
    page.click("#play")
    updates = max(1, frames - start_frames)
    per_update = {side: round(1000 * (cpu[side] - start_cpu[side]) / updates, 1) for side in cpu}
    # on two idle cores, the server and the browser each get a core at best, and share two at worst
    busiest, total = max(per_update["server"], per_update["browser"]), per_update["server"] + per_update["browser"]
    return {"updates_per_s": round((frames - start_frames) / elapsed, 2),
            "epochs_per_s": round((epoch - start_epoch) / elapsed, 1),
            "epochs_per_update": round((epoch - start_epoch) / updates, 2),
            "page_counter_last_second": shown,
            "cpu_ms_per_update": per_update,
            "updates_per_s_two_idle_cores_estimate": round(min(1000 / busiest, 2000 / total), 1)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=8.0, help="measuring time per run")
    parser.add_argument("--seeds-epochs", type=int, default=1, help="epochs per update in the seeds view")
    args = parser.parse_args()
    from annrl.playground import snapshot

    base = "#dataset=circle&features=x,y&points=500&batch=10&lr=0.03"
    results = {"load_average_before": [round(v, 2) for v in os.getloadavg()]}
    maps = {"new_maps_100_40": (100, 40), "old_maps_50_20": (50, 20)}
    with running_server() as url, chromium() as browser:
        for layers in ("8,8", "8,8,8,8"):
            for name, (surface, neurons) in maps.items():  # the server runs in this process: set its map sizes
                snapshot.SURFACE_CELLS, snapshot.NEURON_CELLS = surface, neurons
                # a fresh page per run: a new fragment alone would not reload the page
                page = browser.new_page(viewport={"width": 1300, "height": 900})
                key = f"network_2-{layers.replace(',', '-')}-1_500pts_{name}"
                results[key] = measure(page, url, base + f"&layers={layers}&epochs_per_update=10", args.seconds,
                                       False)
                page.close()
        snapshot.SURFACE_CELLS, snapshot.NEURON_CELLS = maps["new_maps_100_40"]
        page = browser.new_page(viewport={"width": 1300, "height": 900})
        results["seeds_100_networks"] = measure(page, url, base + f"&layers=8,8&epochs_per_update={args.seeds_epochs}",
                                                args.seconds, True)
    results["load_average_after"] = [round(v, 2) for v in os.getloadavg()]
    results["cpus"] = os.cpu_count()
    results["targets"] = {"network_2-8-8-1_updates_per_s": 30, "network_2-8-8-8-8-1_updates_per_s": 15,
                          "network_epochs_per_update": 10, "seeds_updates_per_s": 10}
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
