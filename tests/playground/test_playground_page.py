"""The page as a student meets it, in real headless Chromium (issue 30): it fits the screen at four sizes, a
link with a bad field still draws, reset starts elsewhere, regenerate keeps the weights, pause stops at the
update shown, and the explain panel never shows a formula of the data before. Screenshots go to pytest's tmp folder."""

from __future__ import annotations

import re

import pytest
from playground_browser import chromium, require_chromium, running_server

require_chromium()

SIZES = [(360, 740), (800, 900), (1280, 720), (1920, 1080)]
SURFACE_PIXELS = "Array.from(document.getElementById('surface').getContext('2d')" \
                 ".getImageData(0, 0, 320, 320).data.filter((_, i) => i % 16 === 0))"
BOXES = """() => Object.fromEntries(['surface', 'explain-panel', 'explain', 'output-panel'].map(
  (id) => [id, document.getElementById(id).getBoundingClientRect().toJSON()]).concat(
  [['page', document.documentElement.scrollWidth], ['header', document.querySelector('header').offsetWidth]]))"""
OPEN_SOCKETS = """(port) => Promise.all(['/ws', '/ws/cars'].map((path) => new Promise((done) => {
  const ws = new WebSocket(`ws://127.0.0.1:${port}${path}`);
  ws.onopen = () => { done('open'); ws.close(); };
  ws.onclose = (event) => done(`closed ${event.code}`);
})))"""


@pytest.fixture(scope="module")
def browser_and_url():
    with running_server() as url, chromium() as browser:
        yield browser, url


def open_page(browser_and_url, fragment="", size=(1280, 720)):
    browser, url = browser_and_url
    page = browser.new_page(viewport={"width": size[0], "height": size[1]})
    page.errors = []
    page.on("pageerror", lambda err: page.errors.append(str(err)))
    page.goto(url + fragment)
    page.wait_for_function("window.playground.lastState !== null && window.playground.pending === null")
    return page


def test_the_output_and_explain_panels_fit_the_window_at_four_sizes(browser_and_url, tmp_path):
    for width, height in SIZES:
        page = open_page(browser_and_url, size=(width, height))
        page.screenshot(path=str(tmp_path / f"playground_{width}x{height}.png"))
        box = page.evaluate(BOXES)
        assert box["page"] <= width and box["header"] == width, (width, box)  # no sideways scroll
        for name in ("surface", "explain-panel", "output-panel"):
            assert 0 <= box[name]["left"] and box[name]["right"] <= width, (width, name, box[name])
        if width >= 1280:  # a desktop window shows the output and the explain button without scrolling
            assert box["surface"]["bottom"] <= height and box["explain"]["bottom"] <= height, (width, box)
        assert page.errors == []
        page.close()


@pytest.mark.parametrize("fragment, words", [
    ("#dataset=xor&lr=-1&layers=3", "learning rate \"-1\""), ("#dataset=xor&layers=9", "hidden layers \"9\""),
    ("#dataset=xor&features=&layers=3", "features (empty)"), ("#dataset=xor&lr=abc&layers=3", "learning rate \"abc\""),
    ("#dataset=xor&noise=70&layers=3", "noise \"70\""),
])
def test_a_link_with_a_bad_field_draws_the_rest_and_names_the_field(browser_and_url, fragment, words):
    page = open_page(browser_and_url, fragment)
    notice = page.inner_text("#notice")
    assert words in notice and page.is_visible("#notice") and "setup." not in notice
    setup = page.evaluate("window.playground.setup")
    assert setup["dataset"] == "xor" and page.locator("#edges path").count() > 0
    assert page.input_value("#lr") == str(setup["lr"]) and "lr=-1" not in page.url and "abc" not in page.url
    page.close()


def test_a_link_pasted_into_an_open_tab_is_followed(browser_and_url):
    page = open_page(browser_and_url, "#dataset=circle")
    page.goto(page.url.split("#")[0] + "#dataset=spiral&layers=9")  # the same document: only the hash changes
    page.wait_for_function("window.playground.setup.dataset === 'spiral'")
    assert 'hidden layers "9"' in page.inner_text("#notice")
    page.close()


def test_reset_draws_new_weights_and_the_url_records_the_seed(browser_and_url):
    page = open_page(browser_and_url, "#dataset=gauss&noise=20&seed=5")
    before, frames = page.evaluate(SURFACE_PIXELS), page.evaluate("window.playground.frames")
    page.click("#reset")
    # the new setup's first state drawn (the old epoch-0 state would pass a check of the epoch alone)
    page.wait_for_function(f"(pg => pg.setup.seed === 6 && pg.frames > {frames} && pg.pending === null"
                           " && pg.lastState.epoch === 0 && pg.lastState.build === pg.data.build)(window.playground)")
    after = page.evaluate(SURFACE_PIXELS)
    assert sum(a != b for a, b in zip(before, after, strict=True)) > 0.05 * len(before)
    assert "seed=6" in page.url and page.input_value("#seed") == "6"
    page.close()


def hover_edge(page, k=0, i=1, j=0):
    """The hover text of edge ``(k, i, j)``, the mouse brought onto it from outside the network."""
    page.mouse.move(0, 0)
    page.wait_for_selector("#hover", state="hidden")
    x, y = page.evaluate("""([k, i, j]) => {
      const p = document.querySelector(`#edges path[data-k="${k}"][data-i="${i}"][data-j="${j}"]`);
      const q = p.getPointAtLength(p.getTotalLength() / 2);
      const r = document.getElementById('network').getBoundingClientRect();
      return [r.left + q.x, r.top + q.y];
    }""", [k, i, j])
    page.mouse.move(x, y)
    page.wait_for_selector("#hover:not([hidden])")
    return page.inner_text("#hover")


def test_regenerate_draws_new_data_and_the_network_keeps_its_weights(browser_and_url):
    page = open_page(browser_and_url, "#dataset=gauss&noise=20&seed=5&layers=3")
    assert "data_seed=5" in page.url
    page.click("#step")
    page.wait_for_function("window.playground.lastState.epoch === 10 && window.playground.pending === null")
    trained, points = hover_edge(page), page.evaluate("window.playground.data.train")
    page.click("#regenerate")
    page.wait_for_function("window.playground.setup.data_seed === 6 && window.playground.pending === null"
                           " && window.playground.lastState.build === window.playground.data.build")
    assert "data_seed=6" in page.url and "seed=5" in page.url and hover_edge(page) == trained
    assert page.evaluate("window.playground.data.train") != points and page.inner_text("#epoch") == "10"
    before = page.evaluate(SURFACE_PIXELS)
    page.click("#play")  # training goes on from the kept weights, on the new points, and the output follows
    page.wait_for_function("window.playground.lastState.epoch >= 60")
    page.click("#play")
    assert page.evaluate(SURFACE_PIXELS) != before and page.errors == []
    page.close()


def test_pause_then_export_gives_the_epoch_the_page_shows(browser_and_url):
    page = open_page(browser_and_url, "#dataset=circle&epochs_per_update=1")
    page.click("#play")
    page.wait_for_function("window.playground.lastState.epoch >= 30 && +document.getElementById('ups').textContent > 0")
    page.click("#play")
    page.wait_for_function("!window.playground.playing && window.playground.pending === null")
    page.wait_for_timeout(300)  # nothing more arrives: the last state was sent before the pause was confirmed
    shown = int(page.inner_text("#epoch"))
    assert page.inner_text("#ups") == "0"
    source = page.evaluate("fetch(`/api/session/${window.playground.session}/export/numpy`).then((r) => r.text())")
    assert re.search(r"\(circle, (\d+) epochs\)", source).group(1) == str(shown)
    page.close()


def test_explain_after_switching_data_never_shows_the_old_formula(browser_and_url):
    page = open_page(browser_and_url, "#dataset=plane&layers=")
    answers = []
    page.on("websocket", lambda ws: ws.on("framereceived", lambda f: answers.append(f) if '"explain"' in f else None))
    page.reload()
    page.wait_for_function("window.playground.lastState !== null")
    page.click("#explain")
    assert page.is_visible("#explain-busy")
    page.click(".dataset[data-name='circle']")
    page.wait_for_function("window.playground.setup.dataset === 'circle'")
    page.wait_for_timeout(100)
    for _ in range(100):  # the first explanation arrives, of the plane's network, and is dropped
        if answers:
            break
        page.wait_for_timeout(100)
    assert answers and page.inner_text("#explanation") == "" and not page.is_visible("#explain-busy")
    page.close()


def test_drawing_switches_to_custom_data_and_clear_removes_the_points(browser_and_url):
    page = open_page(browser_and_url, "#dataset=spiral")
    box = page.locator("#surface").bounding_box()
    page.mouse.click(box["x"] + 0.2 * box["width"], box["y"] + 0.2 * box["height"])
    page.keyboard.down("Shift")
    page.mouse.click(box["x"] + 0.8 * box["width"], box["y"] + 0.8 * box["height"])
    page.keyboard.up("Shift")
    page.wait_for_function("window.playground.setup.dataset === 'custom'")
    assert page.is_disabled("#regenerate") and "nothing to regenerate" in page.get_attribute("#regenerate", "title")
    assert page.inner_text("#data-label") == "2 custom points: 1 to train on, 1 to test (the train : test slider)"
    x, y, label = page.evaluate("window.playground.drawn[0]")
    assert -6 < x < -3 and 3 < y < 6 and label == 1  # top left of a [-6, 6] box shown at any size
    page.click("#clear-points")
    page.wait_for_function("window.playground.setup.dataset === 'circle' && window.playground.drawn.length === 0")
    page.close()


def test_hovering_an_edge_shows_its_weight_and_clicking_it_sets_one(browser_and_url):
    page = open_page(browser_and_url, "#dataset=xor&layers=2")
    x, y, weight = page.evaluate("""() => {
      const p = document.querySelector('#edges path[data-k="0"][data-i="1"][data-j="0"]');
      const q = p.getPointAtLength(p.getTotalLength() / 2);
      const r = document.getElementById('network').getBoundingClientRect();
      return [r.left + q.x, r.top + q.y, window.playground.lastState.weights[0].w[1][0]];
    }""")
    page.mouse.move(x, y)
    page.wait_for_selector("#hover:not([hidden])")
    assert page.inner_text("#hover") == f"weight {weight} (click to change)"
    page.once("dialog", lambda dialog: dialog.accept("-1.25"))
    page.mouse.click(x, y)
    page.wait_for_function("window.playground.lastState.weights[0].w[1][0] === -1.25")
    page.close()


def test_another_site_cannot_drive_the_playground_but_the_page_itself_trains(browser_and_url):
    browser, url = browser_and_url
    port = int(url.rsplit(":", 1)[1].strip("/"))
    evil = browser.new_page()  # a page of a web site, in the same browser, trying to reach the playground
    evil.route("http://evil.example/**", lambda route: route.fulfill(content_type="text/html", body="<p>hi</p>"))
    evil.goto("http://evil.example/")
    assert evil.evaluate(OPEN_SOCKETS, port) == ["closed 1006", "closed 1006"]  # answered 403: never opened
    # Chromium itself blocks a web site's fetch to 127.0.0.1, but not one from another local origin (a dev server)
    with running_server() as other_origin:
        evil.goto(other_origin + "api/limits")
        assert evil.evaluate(OPEN_SOCKETS, port) == ["closed 1006", "closed 1006"]
        with evil.expect_response(f"http://127.0.0.1:{port}/api/setup") as answer:
            evil.evaluate("(port) => fetch(`http://127.0.0.1:${port}/api/setup`, "
                          "{method: 'POST', mode: 'no-cors', body: '{}'})", port)
        assert answer.value.status == 403
    evil.close()
    # the page itself, under another of this machine's names, connects and trains
    page = open_page((browser, url.replace("127.0.0.1", "localhost")), "#dataset=xor")
    page.click("#play")
    page.wait_for_function("window.playground.lastState.epoch >= 20")
    page.click("#play")
    assert page.errors == []
    page.close()
