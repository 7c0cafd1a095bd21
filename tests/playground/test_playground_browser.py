"""End to end in real headless Chromium: build 2-4-1 with the buttons, train XOR, share the URL;
and replay a saved car run in the cars tab.

Chromium must be installed at /usr/bin/chromium (CI installs it): without it these tests are skipped with a
reason naming `apt-get install chromium`, except under CI (`CI=true`), where they fail.
The screenshots are written to pytest's tmp folder (the first one's path is printed).
"""

from __future__ import annotations

import time

from playground_browser import chromium, require_chromium, running_server

require_chromium()

SURFACE_PIXELS = "Array.from(document.getElementById('surface').getContext('2d')" \
                 ".getImageData(0, 0, 320, 320).data.filter((_, i) => i % 16 === 0))"


def wait_for_setup(page, predicate: str, timeout: float = 10_000) -> None:
    page.wait_for_function(f"window.playground.setup !== null && ({predicate})", timeout=timeout)


def test_build_train_and_share_an_xor_network(tmp_path):
    with running_server() as url, chromium() as browser:
        page = browser.new_page(viewport={"width": 1300, "height": 860})
        errors = []
        page.on("pageerror", lambda err: errors.append(str(err)))
        page.goto(url)
        wait_for_setup(page, "window.playground.lastState !== null")
        # default: two hidden layers (4, 2); remove both, add one, grow it to 4 neurons
        while page.evaluate("window.playground.setup.layers.length") > 0:
            count = page.evaluate("window.playground.setup.layers.length")
            page.click("#remove-layer")
            wait_for_setup(page, f"window.playground.setup.layers.length === {count - 1}")
        page.click("#add-layer")
        wait_for_setup(page, "window.playground.setup.layers.length === 1")
        while page.evaluate("window.playground.setup.layers[0]") < 4:
            units = page.evaluate("window.playground.setup.layers[0]")
            page.click(".add-neuron[data-layer='0']")
            wait_for_setup(page, f"window.playground.setup.layers[0] === {units + 1}")
        page.click(".dataset[data-name='xor']")
        wait_for_setup(page, "window.playground.setup.dataset === 'xor'")
        page.fill("#seed", "1")
        page.dispatch_event("#seed", "change")
        wait_for_setup(page, "window.playground.setup.seed === 1 && window.playground.lastState.epoch === 0")
        assert page.evaluate("window.playground.data.features") == ["x", "y"]
        assert page.locator("#columns .neuron:not(.output)").count() == 4
        before = page.evaluate(SURFACE_PIXELS)

        started = time.monotonic()
        page.click("#play")
        page.wait_for_function("window.playground.lastState.test_loss < 0.05", timeout=20_000)
        page.click("#play")  # pause
        print(f"\ntest loss < 0.05 after {time.monotonic() - started:.1f} s, "
              f"epoch {page.inner_text('#epoch')}")
        assert float(page.inner_text("#test-loss")) < 0.05
        after = page.evaluate(SURFACE_PIXELS)
        changed = sum(a != b for a, b in zip(before, after, strict=True))
        assert changed > 0.05 * len(before), f"only {changed} of {len(before)} sampled pixel values changed"
        assert page.locator("#edges path").count() == 2 * 4 + 4 * 1

        shot = tmp_path / "playground.png"
        page.screenshot(path=str(shot))
        print(f"screenshot: {shot}")

        shared = page.url
        second = browser.new_page()
        second.goto(shared)
        wait_for_setup(second, "window.playground.lastState !== null")
        setup = second.evaluate("window.playground.setup")
        assert setup["dataset"] == "xor" and setup["layers"] == [4] and setup["seed"] == 1
        assert setup["features"] == ["x", "y"] and setup["lr"] == page.evaluate("window.playground.setup.lr")
        assert second.locator("#columns .neuron:not(.output)").count() == 4
        assert errors == []


def test_cars_tab_replays_a_saved_drive_with_its_rays(tmp_path):
    from annrl.envs.cli import drive

    drive(track="oval", policy="heuristic", episodes=1, cars=2, seed=3, max_steps=400, out=tmp_path / "drive",
          video="none")
    with running_server(runs=tmp_path) as url, chromium() as browser:
        page = browser.new_page(viewport={"width": 1300, "height": 860})
        errors = []
        page.on("pageerror", lambda err: errors.append(str(err)))
        page.goto(url + "#view=cars")
        page.wait_for_function("window.cars && window.cars.runs !== null && window.cars.frames > 0", timeout=20_000)
        assert page.evaluate("window.cars.runs.map((r) => r.id)") == ["drive"]
        page.fill("#replay-speed", "10")
        page.click("#replay-start")
        page.wait_for_function("window.cars.replayEnd !== null", timeout=30_000)
        end = page.evaluate("window.cars.replayEnd")
        assert end["replay"] == "drive" and end["matches_record"] is True and len(end["cars"]) == 2
        assert "the same as recorded" in page.inner_text("#replay-status")
        # the sensor rays are drawn in yellow (#ffd23c) over the track
        yellow = page.evaluate("""() => {
          const d = document.getElementById('cars-canvas').getContext('2d').getImageData(0, 0, 720, 480).data;
          let n = 0;
          for (let i = 0; i < d.length; i += 4) if (d[i] > 200 && d[i + 1] > 170 && d[i + 2] < 120) n++;
          return n;
        }""")
        assert yellow > 50, f"only {yellow} ray pixels"
        page.screenshot(path=str(tmp_path / "cars_replay.png"))
        assert errors == []
