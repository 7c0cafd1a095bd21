"""End to end in real headless Chromium: build 2-4-1 with the buttons, train XOR, share the URL.

Chromium must be installed at /usr/bin/chromium (CI installs it): without it this test fails.
The screenshot is written to pytest's tmp folder (its path is printed) and to docs/figures/.
"""

from __future__ import annotations

import time

from playground_browser import chromium, running_server

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
