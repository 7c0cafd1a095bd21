"""Every HTTP endpoint and WebSocket message of the playground server, good and bad input alike."""

from __future__ import annotations

import contextlib
import json
import time

import numpy as np
import pytest
from starlette.testclient import TestClient

from annrl.playground import create_app
from annrl.playground.config import FEATURES, MAX_LAYERS, MAX_NEURONS, Setup
from annrl.playground.datasets import make_dataset
from annrl.playground.snapshot import unpack


@pytest.fixture
def app():
    return create_app(host="testserver")  # the Host name TestClient sends (the guard serves only the names it is given)


@pytest.fixture
def client(app):
    with TestClient(app) as c:
        yield c


@contextlib.contextmanager
def tab(client):
    """One browser tab: ``(socket, hello)`` of a playground WebSocket."""
    with client.websocket_connect("/ws") as socket:
        hello = socket.receive_json()
        assert hello["type"] == "hello"
        yield socket, hello


def receive_until(socket, kind, *, ack=True, limit=50):
    for _ in range(limit):
        message = socket.receive_json()
        if ack and message["type"] == "state":
            socket.send_json({"type": "ack"})  # as the page does after drawing a state
        if message["type"] == kind:
            return message
    raise AssertionError(f"no {kind!r} message in {limit}")


def setup(socket, **fields):
    socket.send_json({"type": "setup", "setup": fields})
    data = socket.receive_json()
    assert data["type"] == "data", data
    return data, socket.receive_json()


# -- HTTP ----------------------------------------------------------------------------------------
def test_page_and_static_files_are_served(client):
    page = client.get("/")
    assert page.status_code == 200 and "annrl playground" in page.text
    for name in ("app.js", "draw.js", "urlstate.js", "cars.js", "style.css"):
        assert client.get(f"/static/{name}").status_code == 200, name
    assert client.get("/static/missing.js").status_code == 404


def test_limits_list_bounds_and_defaults(client):
    limits = client.get("/api/limits").json()
    assert limits["max_layers"] == MAX_LAYERS and limits["max_neurons"] == MAX_NEURONS
    assert "step" not in limits["activations"] and "tanh" in limits["activations"]
    assert limits["defaults"]["layers"] == [4, 2]


def test_setup_endpoint_accepts_and_completes_a_setup(client):
    answer = client.post("/api/setup", json={"dataset": "xor", "layers": [8, 8], "lr": 0.1})
    assert answer.status_code == 200
    assert answer.json()["setup"]["layers"] == [8, 8] and answer.json()["setup"]["batch"] == 10


@pytest.mark.parametrize("body, field, words", [
    ({"layers": [4] * (MAX_LAYERS + 1)}, "setup.layers", "0 to 6 items"),
    ({"layers": [MAX_NEURONS + 1]}, "setup.layers", "[1, 8]"),
    ({"lr": 0}, "setup.lr", "(0, 10]"),
    ({"lr": "fast"}, "setup.lr", "'fast'"),
    ({"points": 10**6}, "setup.points", "[20, 2000]"),
    ({"batch": 0}, "setup.batch", "[1, 2000]"),
    ({"activation": "step"}, "setup.activation", "one of"),
    ({"features": ["x", "x"]}, "setup.features", "without repeats"),
    ({"features": ["z"]}, "setup.features", "one of"),
    ({"regularization": "l3"}, "setup.regularization", "one of"),
    ({"reg_rate": -1}, "setup.reg_rate", "[0, 10]"),
    ({"learning_rate": 0.1}, "setup.learning_rate", "unknown field"),
    ([1, 2], "setup", "JSON object"),
])
def test_setup_endpoint_refuses_bad_fields_with_422(client, body, field, words):
    answer = client.post("/api/setup", json=body)
    assert answer.status_code == 422
    assert answer.json()["field"] == field and words in answer.json()["error"]


def test_setup_endpoint_refuses_malformed_json(client):
    answer = client.post("/api/setup", content=b"{not json")
    assert answer.status_code == 422 and "not valid JSON" in answer.json()["error"]


def test_csv_endpoint_reads_points_and_refuses_bad_rows(client):
    good = client.post("/api/csv", content=b"x,y,label\n1,2,1\n-3,0.5,0\n")
    assert good.status_code == 200 and good.json()["points"] == [[1.0, 2.0, 1.0], [-3.0, 0.5, -1.0]]
    for text, words in ((b"1,2\n", "3 columns"), (b"x,y,label\n1,2,a\n", "line 2"), (b"7,0,1\n", "[-6, 6]"),
                        (b"1,1,nan\n", "label"), (b"\xff\xfe", "UTF-8"), (b"", "no data rows")):
        answer = client.post("/api/csv", content=text)
        assert answer.status_code == 422 and words in answer.json()["error"], (text, answer.json())


def test_export_needs_a_live_session_and_a_known_kind(client):
    assert client.get("/api/session/nobody/export/numpy").status_code == 404
    with tab(client) as (socket, hello):
        setup(socket, dataset="xor", layers=[3])
        sid = hello["session"]
        assert client.get(f"/api/session/{sid}/export/pickle").status_code == 404
        assert client.get(f"/api/session/{sid}/export/numpy?index=x").status_code == 422
        assert client.get(f"/api/session/{sid}/export/numpy?index=5").status_code == 422
        for kind, start in (("checkpoint", b""), ("torch", b'"""'), ("numpy", b'"""'), ("png", b"\x89PNG"),
                            ("svg", b"<?xml")):
            answer = client.get(f"/api/session/{sid}/export/{kind}")
            assert answer.status_code == 200 and answer.content.startswith(start), kind
            assert "attachment" in answer.headers["content-disposition"]


# -- WebSocket -----------------------------------------------------------------------------------
def test_setup_message_sends_data_and_a_state(client):
    with tab(client) as (socket, hello):
        assert hello["defaults"]["dataset"] == "circle" and "setup" in hello["messages"]
        data, state = setup(socket, dataset="xor", layers=[4, 3], features=["x", "y", "xy"], points=200)
        assert data["task"] == "classification" and len(data["train"]) + len(data["test"]) == 200
        assert data["features"] == ["x", "y", "xy"] and set(data["feature_tiles"]) == set(FEATURES)
        assert state["epoch"] == 0 and state["surface"]["shape"] == [100, 100]
        assert unpack(state["surface"]).shape == (100, 100)
        assert [layer["shape"] for layer in state["neurons"]] == [[4, 40, 40], [3, 40, 40]]
        assert unpack(data["feature_tiles"]["xy"]).shape == (40, 40)
        assert [len(w["w"]) for w in state["weights"]] == [3, 4, 3] and len(state["weights"][1]["b"]) == 3


def test_states_name_the_setup_they_were_trained_on(client):
    """A state still on its way when a new setup arrives carries the old build number: the page drops it."""
    with tab(client) as (socket, _):
        data, state = setup(socket, dataset="xor", layers=[2])
        assert data["build"] == state["build"] == 1
        socket.send_json({"type": "play"})
        receive_until(socket, "state")
        socket.send_json({"type": "setup", "setup": {"layers": [3]}})
        data = receive_until(socket, "data")
        assert data["build"] == 2 and data["setup"]["layers"] == [3]
        # the rebuild's own state, and at most the two updates under way when the setup came (build 1)
        states = [receive_until(socket, "state") for _ in range(5)]
        builds = [s["build"] for s in states]
        assert builds[-2:] == [2, 2] and builds.count(1) <= 2, builds
        assert [layer["shape"][0] for layer in states[-1]["neurons"]] == [3]


def test_step_trains_and_lowers_the_loss(client):
    with tab(client) as (socket, _):
        _, first = setup(socket, dataset="gauss", layers=[2], lr=0.1, epochs_per_update=20)
        socket.send_json({"type": "step"})
        second = receive_until(socket, "state")
        assert second["epoch"] == 20 and second["test_loss"] < first["test_loss"]


def test_play_streams_states_and_pause_stops_them(client):
    with tab(client) as (socket, _):
        setup(socket, dataset="circle", layers=[3], epochs_per_update=1)
        socket.send_json({"type": "play"})
        assert receive_until(socket, "status")["playing"] is True
        epochs = [receive_until(socket, "state")["epoch"] for _ in range(4)]
        assert epochs == sorted(epochs) and epochs[-1] > epochs[0]
        socket.send_json({"type": "pause"})
        assert receive_until(socket, "status")["playing"] is False
        socket.send_json({"type": "step"})
        assert receive_until(socket, "state", ack=False)["epoch"] > epochs[-1]


def test_reset_starts_over_from_epoch_zero_with_the_next_seed(client):
    # issue 30: reset used to rebuild the same seed, so "new initial weights" gave the same start
    with tab(client) as (socket, _):
        first_data, first = setup(socket, dataset="xor", layers=[2], seed=3, noise=10)
        socket.send_json({"type": "step"})
        receive_until(socket, "state")
        socket.send_json({"type": "reset"})
        data = receive_until(socket, "data")
        assert data["setup"]["seed"] == 4 and data["setup"]["data_seed"] == 4  # the URL records both
        again = socket.receive_json()
        assert again["epoch"] == 0 and again["surface"] != first["surface"]
        assert again["weights"] != first["weights"] and data["train"] != first_data["train"]


def test_regenerate_draws_new_data_and_keeps_the_trained_weights(client):
    with tab(client) as (socket, _):
        first_data, first = setup(socket, dataset="gauss", layers=[2], noise=20, seed=3)
        socket.send_json({"type": "step"})
        trained = receive_until(socket, "state")
        socket.send_json({"type": "regenerate"})
        data = receive_until(socket, "data")
        state = socket.receive_json()
        assert data["setup"]["seed"] == 3 and data["setup"]["data_seed"] == 4
        assert data["train"] != first_data["train"] and len(data["train"]) == len(first_data["train"])
        assert state["weights"] == trained["weights"] != first["weights"] and state["epoch"] == 10
        assert state["test_loss"] != trained["test_loss"]  # recomputed, on the new points
        # its link starts where the page started (the weights of seed 3), on the regenerated points
        socket.send_json({"type": "setup", "link": True, "setup": data["setup"]})
        link_data, link_start = receive_until(socket, "data"), socket.receive_json()
        assert link_data["train"] == data["train"] and link_start["weights"] == first["weights"]


def test_an_old_link_draws_its_seeds_data_and_custom_points_cannot_be_regenerated(client):
    with tab(client) as (socket, _):
        old, _ = setup(socket, dataset="spiral", noise=10, seed=8)  # no data seed: the seed's own data
        assert old["setup"]["data_seed"] == 8
        before = make_dataset(Setup(dataset="spiral", noise=10), np.random.default_rng(8))  # drawn as before
        assert np.allclose(np.array(old["train"])[:, :2], before.train_x, atol=1e-3)
        socket.send_json({"type": "points", "points": [[1, 1, 1], [-1, -1, -1], [2, 0, 1]]})
        receive_until(socket, "state")
        socket.send_json({"type": "regenerate"})
        error = receive_until(socket, "error")
        assert error["field"] == "regenerate" and "custom points" in error["message"]


def test_pause_sends_the_state_it_stopped_at_last(client):
    with tab(client) as (socket, _):
        setup(socket, dataset="circle", layers=[3], epochs_per_update=1)
        socket.send_json({"type": "play"})
        receive_until(socket, "state")
        socket.send_json({"type": "pause"})
        last = None
        while (message := socket.receive_json())["type"] != "status":
            last = message
        assert message["playing"] is False and last["type"] == "state"
        socket.send_json({"type": "step"})  # one update past the last state shown: nothing trained in between
        assert receive_until(socket, "state", ack=False)["epoch"] == last["epoch"] + 1


@pytest.mark.parametrize("fields, words", [
    ({"lr": -1}, "learning rate \"-1\""), ({"noise": 70}, "noise \"70\""), ({"layers": [9]}, "hidden layers \"9\""),
    ({"features": []}, "features (empty)"), ({"lr": "abc"}, "learning rate \"abc\""),
    ({"expression": "a +* b"}, "Boolean expression \"a +* b\""),
])
def test_a_link_with_a_bad_field_falls_back_to_its_default_and_keeps_the_rest(client, fields, words):
    with tab(client) as (socket, _):
        socket.send_json({"type": "setup", "link": True,
                          "setup": {"dataset": "boolean" if "expression" in fields else "xor", "seed": 7, **fields}})
        data = socket.receive_json()
        assert data["type"] == "data" and socket.receive_json()["type"] == "state"
        assert len(data["notices"]) == 1 and words in data["notices"][0], data["notices"]
        assert "using" in data["notices"][0] and "setup." not in data["notices"][0]
        name = next(iter(fields))
        assert data["setup"]["seed"] == 7 and data["setup"][name] == Setup().to_dict()[name]


@pytest.mark.parametrize("message, words", [
    ("not json", "not valid JSON"),
    ("[1, 2]", "JSON object"),
    ('{"type": "train"}', "message type"),
    ('{"type": "play", "fast": true}', "unknown ['fast']"),
    ('{"type": "setup", "setup": {"layers": [9]}}', "setup.layers"),
    ('{"type": "setup", "setup": {"dataset": "boolean", "expression": "a.__class__"}}', "not allowed"),
    ('{"type": "setup", "setup": {"dataset": "boolean", "expression": "a^b^c^d^e^f^g"}}', "<= 6"),
    ('{"type": "setup", "setup": {"dataset": "function", "function": "x*y*z"}}', "1 or 2"),
    ('{"type": "setup", "setup": {"dataset": "function", "function": "log(x)"}}', "not finite"),
    ('{"type": "setup", "setup": {"dataset": "custom"}}', "no points yet"),
    ('{"type": "points", "points": [[0, 0, 5]]}', "label"),
    ('{"type": "points", "points": "many"}', "list of 1 to"),
    ('{"type": "csv", "text": "1,2,3,4"}', "3 columns"),
    ('{"type": "explain", "index": 7}', "index"),
    ('{"type": "weight", "layer": 5, "row": 0, "column": 0, "value": 1}', "weight layer"),
    ('{"type": "weight", "layer": 0, "row": 0, "column": 0, "value": "big"}', "weight value"),
])
def test_bad_messages_get_an_error_and_the_session_goes_on(client, message, words):
    with tab(client) as (socket, _):
        socket.send_text(message)
        error = receive_until(socket, "error")
        assert words in error["message"], error
        data, _ = setup(socket, dataset="xor", layers=[2])  # still serving
        assert data["setup"]["layers"] == [2]


def test_oversized_and_binary_messages_are_refused(client):
    with tab(client) as (socket, _):
        socket.send_text(json.dumps({"type": "csv", "text": "1,1,1\n" * 60_000}))
        assert "limit" in receive_until(socket, "error")["message"]
        socket.send_bytes(b"\x00\x01")
        assert "binary" in receive_until(socket, "error")["message"]


def test_drawn_points_and_csv_become_the_custom_dataset(client):
    with tab(client) as (socket, _):
        socket.send_json({"type": "points", "points": [[1, 1, 1], [-1, -1, -1], [2, 2, 1], [-2, -2, 0]] * 5})
        data = receive_until(socket, "data")
        assert data["setup"]["dataset"] == "custom" and len(data["train"]) + len(data["test"]) == 20
        assert {row[2] for row in data["train"]} <= {-1.0, 1.0}
        socket.send_json({"type": "csv", "text": "x,y,label\n0,0,0.5\n1,1,-0.25\n2,2,0.1\n"})
        data = receive_until(socket, "data")
        assert data["task"] == "regression" and len(data["train"]) + len(data["test"]) == 3
        assert data["label"] == "3 custom points: 2 to train on, 1 to test (the train : test slider)"


def test_clearing_drawn_points_forgets_them_and_leaves_custom_data(client):
    with tab(client) as (socket, _):
        socket.send_json({"type": "points", "points": [[1, 1, 1], [-1, -1, -1]] * 3})
        assert receive_until(socket, "data")["setup"]["dataset"] == "custom"
        socket.send_json({"type": "clear"})
        assert receive_until(socket, "data")["setup"]["dataset"] == "circle"
        socket.send_json({"type": "setup", "setup": {"dataset": "custom"}})
        assert "no points yet" in receive_until(socket, "error")["message"]  # they do not come back


def test_a_failing_formula_search_is_answered_with_an_error(client, monkeypatch):
    import annrl.playground.explain

    def fails(session, index):
        raise ZeroDivisionError("division by zero")

    monkeypatch.setattr(annrl.playground.explain, "explain", fails)
    with tab(client) as (socket, _):
        setup(socket, dataset="plane", layers=[])
        socket.send_json({"type": "explain"})
        error = receive_until(socket, "error")
        assert error["field"] == "explain" and "formula search failed (division by zero)" in error["message"]


def test_a_weight_edited_on_the_page_is_the_networks(client):
    with tab(client) as (socket, _):
        _, first = setup(socket, dataset="xor", layers=[2])
        socket.send_json({"type": "weight", "layer": 1, "row": 1, "column": 0, "value": -2.5})
        state = receive_until(socket, "state")
        assert state["weights"][1]["w"][1][0] == -2.5 and state["surface"] != first["surface"]
        assert state["weights"][0] == first["weights"][0] and state["epoch"] == 0


def test_explain_reads_xor_back_from_a_trained_boolean_network(client):
    with tab(client) as (socket, _):
        setup(socket, dataset="boolean", expression="a ^ b", layers=[4], lr=0.1, epochs_per_update=100, points=200)
        socket.send_json({"type": "step"})
        assert receive_until(socket, "state")["test_loss"] < 0.05
        socket.send_json({"type": "explain"})
        result = receive_until(socket, "explain")
        assert result["kind"] == "logic" and result["matches_target"] and result["wrong_rows"] == 0
        assert result["formula"] in ("(a & ~b) | (b & ~a)", "(a | b) & (~a | ~b)")


def test_several_tabs_have_their_own_sessions_and_closing_frees_them(app, client):
    with contextlib.ExitStack() as stack:
        tabs = [stack.enter_context(tab(client)) for _ in range(3)]
        assert len({hello["session"] for _, hello in tabs}) == 3 and len(app.state.sessions) == 3
        setup(tabs[0][0], dataset="xor", layers=[1])
        setup(tabs[1][0], dataset="spiral", layers=[5, 5])
        tabs[0][0].send_json({"type": "play"})
        receive_until(tabs[0][0], "state")
        live = app.state.sessions[tabs[0][1]["session"]]
        task = live.task
        assert live.playing and app.state.sessions[tabs[1][1]["session"]].setup.dataset == "spiral"
    deadline = time.monotonic() + 5
    while app.state.sessions and time.monotonic() < deadline:
        time.sleep(0.02)
    assert app.state.sessions == {} and task.done()


def test_seeds_view_trains_a_population_and_counts_successes(client):
    with tab(client) as (socket, _):
        _, state = setup(socket, dataset="gauss", layers=[2], seeds=20, lr=0.1, goal=0.05)
        assert state["population"] == 20 and len(state["test_losses"]) == 20
        socket.send_json({"type": "step"})
        state = receive_until(socket, "state")
        losses = state["test_losses"]
        assert state["solved"] == sum(v < 0.05 for v in losses)
        q = state["test_quantiles"]
        assert q == sorted(q) and abs(q[0] - min(losses)) < 1e-3 and abs(q[-1] - max(losses)) < 1e-3
        if state["solved"]:
            assert losses[state["solved_index"]] < 0.05 and state["solved_surface"]["shape"] == [100, 100]


def test_cars_socket_streams_frames_and_refuses_bad_starts(client):
    with client.websocket_connect("/ws/cars") as socket:
        socket.send_json({"type": "start", "track": "moon"})
        assert "cars.track" in socket.receive_json()["message"]
        socket.send_json({"type": "start", "population": 100})
        assert "cars.population" in socket.receive_json()["message"]
        socket.send_json({"type": "start", "track": "oval", "population": 4, "max_steps": 50})
        track = socket.receive_json()
        assert track["type"] == "track" and len(track["outer"]) > 10
        frame = socket.receive_json()
        assert frame["type"] == "frame" and len(frame["cars"]) == 4 and len(frame["rays"]) == 4
        socket.send_json({"type": "stop"})
        assert receive_until(socket, "status", ack=False)["playing"] is False
