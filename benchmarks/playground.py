"""Updates per second the playground page shows, measured in headless Chromium (Playwright).

Two runs, each on a 2-8-8-1 network (features x, y) and 500 points of the circle set (250 train):

- network view: ``epochs_per_update`` = 10 (at least 10 epochs per update), batch 10;
- seeds view: 100 networks of the same setup at once (population axis), ``--seeds-epochs`` per update.

Each run plays for ``--seconds`` and reads the page's own counters: the epochs done and the
number of states drawn (the page acknowledges each state after drawing it, so a state counts only
once it is on screen). Targets: >= 30 updates/s (network view), >= 10 updates/s (seeds view).

    .venv/bin/python benchmarks/playground.py [--seconds 8] [--seeds-epochs 1]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "playground"))

from playground_browser import chromium, running_server  # noqa: E402

COUNT_STATES = """() => {
  window.benchCount = 0;
  const socket = window.playground.socket;
  socket.addEventListener('message', (e) => { if (e.data.startsWith('{"type": "state"')) window.benchCount++; });
}"""


def measure(page, url: str, fragment: str, seconds: float, seeds: bool) -> dict:
    page.goto(url + fragment)
    page.wait_for_function("window.playground.lastState !== null", timeout=20_000)
    if seeds:
        page.click(".tab[data-tab=seeds]")
        page.wait_for_function("window.playground.lastState.population === 100", timeout=20_000)
    page.evaluate(COUNT_STATES)
    page.click("#play")
    page.wait_for_function("window.benchCount >= 3", timeout=30_000)  # warmed up
    start_count, start_epoch = page.evaluate("window.benchCount"), page.evaluate("window.playground.lastState.epoch")
    started = time.perf_counter()
    time.sleep(seconds)
    count, epoch = page.evaluate("window.benchCount"), page.evaluate("window.playground.lastState.epoch")
    elapsed = time.perf_counter() - started
    page.click("#play")
    shown = int(page.inner_text("#ups"))
    return {"updates_per_s": round((count - start_count) / elapsed, 2),
            "epochs_per_s": round((epoch - start_epoch) / elapsed, 1),
            "epochs_per_update": round((epoch - start_epoch) / max(1, count - start_count), 2),
            "page_counter_last_second": shown}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=8.0, help="measuring time per run")
    parser.add_argument("--seeds-epochs", type=int, default=1, help="epochs per update in the seeds view")
    args = parser.parse_args()
    base = "#dataset=circle&layers=8,8&features=x,y&points=500&batch=10&lr=0.03"
    results = {}
    with running_server() as url, chromium() as browser:
        # a fresh page per run: a new fragment alone would not reload the page
        page = browser.new_page(viewport={"width": 1300, "height": 900})
        results["network_2-8-8-1_500pts"] = measure(page, url, base + "&epochs_per_update=10", args.seconds, False)
        page.close()
        page = browser.new_page(viewport={"width": 1300, "height": 900})
        results["seeds_100_networks"] = measure(page, url, base + f"&epochs_per_update={args.seeds_epochs}",
                                                args.seconds, True)
    results["targets"] = {"network_updates_per_s": 30, "network_epochs_per_update": 10, "seeds_updates_per_s": 10}
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
