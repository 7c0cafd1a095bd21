"""No other web site can drive the playground (issue 24): Origin and Host checks, bodies read only up to their
limit, JSON nested too deep answered with one line. The page's own requests are served as before."""

from __future__ import annotations

import asyncio
import json
import socket
import time

import pytest
from starlette.testclient import TestClient, WebSocketDenialResponse

from annrl.errors import InputError
from annrl.playground import create_app
from annrl.playground.guard import parse_origin
from annrl.playground.server import MAX_BODY

OWN = "http://localhost:8765"
EVIL = "http://evil.example"


@pytest.fixture(scope="module")
def runs_root(tmp_path_factory):
    """A --runs folder with one saved drive: a foreign page must not replay it either."""
    from annrl.envs.cli import drive

    root = tmp_path_factory.mktemp("runs")
    drive(track="oval", policy="heuristic", episodes=1, cars=1, seed=3, max_steps=50, out=root / "drive",
          video="none")
    return root


@pytest.fixture
def client(runs_root):
    with TestClient(create_app(runs=runs_root), base_url=OWN) as c:
        yield c


def connect(client, path, origin=None, host="localhost:8765"):
    headers = {"host": host} | ({"origin": origin} if origin is not None else {})
    return client.websocket_connect(f"ws://{host}{path}", headers=headers)


# -- Origin --------------------------------------------------------------------------------------
@pytest.mark.parametrize("path", ["/ws", "/ws/cars"])
@pytest.mark.parametrize("origin", [EVIL, "null", "http://localhost:3000", "https://localhost:8765", "file://"])
def test_a_websocket_from_another_origin_is_refused_at_the_handshake(client, path, origin):
    with pytest.raises(WebSocketDenialResponse) as refused, connect(client, path, origin):
        pass
    assert refused.value.status_code == 403
    text = refused.value.text
    assert text.count("\n") == 1 and f"Origin {origin!r} may not drive the playground" in text
    assert client.app.state.sessions == {} and client.app.state.cars == set()


def test_the_pages_own_websockets_are_served_and_replay_the_runs(client):
    with connect(client, "/ws", OWN) as ws:
        assert ws.receive_json()["type"] == "hello"
    with connect(client, "/ws/cars", OWN) as ws:
        ws.send_json({"type": "runs"})
        assert [run["id"] for run in ws.receive_json()["runs"]] == ["drive"]
    with connect(client, "/ws", None) as ws:  # not a browser (no Origin): a script on this machine
        assert ws.receive_json()["type"] == "hello"


@pytest.mark.parametrize("path, body", [("/api/setup", {"dataset": "xor"}), ("/api/csv", "x,y,label\n0,0,1\n")])
def test_a_post_from_another_origin_is_refused_and_the_pages_own_served(client, path, body):
    send = {"json": body} if isinstance(body, dict) else {"content": body}
    for origin in (EVIL, "null"):
        refused = client.post(path, headers={"origin": origin}, **send)
        assert refused.status_code == 403 and "may not drive the playground" in refused.text
    assert client.post(path, headers={"origin": OWN}, **send).status_code == 200
    assert client.post(path, **send).status_code == 200


def test_allow_origin_lets_one_other_page_in_and_only_that_one(runs_root):
    app = create_app(allow_origins=["http://LOCALHOST:3000/"])
    with TestClient(app, base_url=OWN) as client:
        with connect(client, "/ws", "http://localhost:3000") as ws:
            assert ws.receive_json()["type"] == "hello"
        with pytest.raises(WebSocketDenialResponse), connect(client, "/ws", "http://localhost:3001"):
            pass
        assert client.post("/api/setup", json={}, headers={"origin": "http://localhost:3000"}).status_code == 200


@pytest.mark.parametrize("text", ["evil", "localhost:3000", "ftp://x", "http://x/path", "http://u@x", "null",
                                  "http://x:99999"])
def test_a_malformed_allow_origin_is_refused_in_one_line(text):
    with pytest.raises(InputError, match=r"^--allow-origin must be an origin such as http://localhost:3000"):
        create_app(allow_origins=[text])
    assert parse_origin("HTTPS://Example.org:443") == "https://example.org"
    assert parse_origin("http://[::1]:8765") == "http://[::1]:8765"


# -- Host (DNS rebinding) ------------------------------------------------------------------------
@pytest.mark.parametrize("host", ["evil.example:8765", "localhost.evil.example", "127.0.0.2:8765", "", "a b",
                                  "localhost:notaport"])
def test_a_foreign_host_gets_400_on_every_path(client, host):
    for answer in (client.get("/", headers={"host": host}), client.get("/api/limits", headers={"host": host}),
                   client.post("/api/setup", json={}, headers={"host": host, "origin": f"http://{host}"})):
        assert answer.status_code == 400
        assert answer.text.count("\n") == 1 and f"Host {host!r} is not served" in answer.text
    with pytest.raises(WebSocketDenialResponse) as refused:
        with client.websocket_connect("/ws", headers={"host": host, "origin": f"http://{host}"}):
            pass
    assert refused.value.status_code == 400


@pytest.mark.parametrize("host", ["localhost:8765", "127.0.0.1:8765", "[::1]:8765", "LOCALHOST", "127.0.0.1"])
def test_loopback_names_are_served(client, host):
    assert client.get("/api/limits", headers={"host": host}).status_code == 200


def test_the_host_and_allowed_origins_hosts_are_served_too():
    app = create_app(host="192.168.1.5", allow_origins=["http://mybox:3000"])
    with TestClient(app, base_url=OWN) as client:
        for host in ("192.168.1.5:8765", "mybox:8765"):
            assert client.get("/api/limits", headers={"host": host}).status_code == 200, host
        assert client.get("/api/limits", headers={"host": "otherbox:8765"}).status_code == 400


# -- bodies read up to their limit ---------------------------------------------------------------
def post_streamed(app, path, total, chunk=64 * 1024, content_length=False):
    """POST ``total`` bytes to ``app`` in chunks, as a server hands them over; returns (status, body, bytes read)."""
    read, sent = [0], []
    headers = [(b"host", b"localhost:8765"), (b"content-type", b"text/csv")]
    if content_length:
        headers.append((b"content-length", str(total).encode()))
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
             "path": path, "raw_path": path.encode(), "query_string": b"", "headers": headers,
             "server": ("127.0.0.1", 8765), "client": ("127.0.0.1", 5000), "root_path": ""}

    async def receive():
        size = min(chunk, total - read[0])
        read[0] += size
        return {"type": "http.request", "body": b"1" * size, "more_body": read[0] < total}

    async def send(message):
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    return sent[0]["status"], json.loads(sent[1]["body"]), read[0]


@pytest.mark.parametrize("path", ["/api/csv", "/api/setup"])
def test_a_300_mb_body_is_refused_after_reading_just_over_the_limit(path):
    status, answer, read = post_streamed(create_app(), path, 300 * 2**20)
    assert status == 413 and "over 300,000 bytes" in answer["error"]
    assert MAX_BODY < read <= MAX_BODY + 64 * 1024  # one chunk past the limit, of 300 MB offered


def test_a_content_length_over_the_limit_is_refused_before_reading(tmp_path):
    status, answer, read = post_streamed(create_app(), "/api/csv", 300 * 2**20, content_length=True)
    assert (status, read) == (413, 0) and answer["error"] == "csv is 314,572,800 bytes; the limit is 300,000"
    status, _, read = post_streamed(create_app(), "/api/csv", MAX_BODY, content_length=True)
    assert status == 422 and read == MAX_BODY  # at the limit: read whole (and refused as a CSV, not for its size)


def exchange(port, head, chunk=b"", limit=64 * 2**20, seconds=10.0):
    """Send ``head``, then ``chunk`` again and again (up to ``limit`` bytes), while reading the answer until the
    server closes the connection; returns (answer, body bytes sent, seconds until closed)."""
    with socket.create_connection(("127.0.0.1", port), timeout=seconds) as conn:
        started = time.monotonic()
        conn.sendall(head)
        conn.setblocking(False)
        answer, sent = b"", 0
        while time.monotonic() - started < seconds:
            try:
                sent += conn.send(chunk) if chunk and sent < limit else 0
            except BlockingIOError:
                pass
            except OSError:  # the server closed: the rest of the body is refused
                chunk = b""
            try:
                got = conn.recv(65536)
            except BlockingIOError:
                time.sleep(0.001)
                continue
            except OSError:
                break
            if not got:
                break
            answer += got
        return answer.decode(), sent, time.monotonic() - started


def test_a_real_server_answers_413_and_hangs_up_instead_of_reading_the_body():
    from playground_browser import running_server

    with running_server() as url:
        port = int(url.rsplit(":", 1)[1].strip("/"))
        # a declared 300 MB: answered at once, connection closed, nothing waited for
        answer, _, seconds = exchange(port, b"POST /api/csv HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                                            b"Content-Length: 314572800\r\n\r\nx,y")
        assert answer.startswith("HTTP/1.1 413") and "the limit is 300,000" in answer and seconds < 2
        # chunked, no length: the server stops reading once past the limit and hangs up; the client could
        # push only what the sockets' buffers hold, not the 64 MiB it offered
        answer, sent, seconds = exchange(port, b"POST /api/csv HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                                               b"Transfer-Encoding: chunked\r\n\r\n",
                                         chunk=b"10000\r\n" + b"1" * 0x10000 + b"\r\n")
        assert answer.startswith("HTTP/1.1 413") and "over 300,000 bytes" in answer and seconds < 5
        assert sent < 16 * 2**20, f"the server read {sent:,} bytes"


# -- JSON nested too deep ------------------------------------------------------------------------
def test_deep_json_in_a_setup_body_is_one_line_not_a_500(client):
    answer = client.post("/api/setup", content="[" * 100_000, headers={"content-type": "application/json"})
    assert answer.status_code == 422
    assert answer.json()["error"] == "request body is nested 100000 levels deep; the limit is 64"


@pytest.mark.parametrize("path, depth", [("/ws", 100_000), ("/ws/cars", 5_000)])
def test_deep_json_on_a_socket_is_answered_and_the_session_goes_on(client, path, depth):
    with connect(client, path, OWN) as ws:
        if path == "/ws":
            assert ws.receive_json()["type"] == "hello"
        ws.send_text("[" * depth)
        error = ws.receive_json()
        assert error == {"type": "error", "message": f"message is nested {depth} levels deep; the limit is 64",
                         "field": None}
        ws.send_json({"type": "setup" if path == "/ws" else "runs", **({"setup": {}} if path == "/ws" else {})})
        assert ws.receive_json()["type"] in ("data", "runs")


def test_a_real_server_refuses_a_foreign_websocket_handshake_and_serves_its_own():
    from playground_browser import running_server
    from websockets.exceptions import InvalidStatus
    from websockets.sync.client import connect as ws_connect

    with running_server() as url:
        own = url.rstrip("/")
        socket_url = own.replace("http://", "ws://") + "/ws"
        for origin in (EVIL, "null"):
            with pytest.raises(InvalidStatus) as refused:
                ws_connect(socket_url, origin=origin, open_timeout=10)
            assert refused.value.response.status_code == 403
            assert b"may not drive the playground" in refused.value.response.body
        with pytest.raises(InvalidStatus) as rebound:
            ws_connect(socket_url, additional_headers={"Host": "evil.example"}, origin=EVIL, open_timeout=10)
        assert rebound.value.response.status_code == 400
        with ws_connect(socket_url, origin=own, open_timeout=10) as ws:
            assert json.loads(ws.recv(timeout=10))["type"] == "hello"


def test_a_real_server_closes_a_socket_sent_a_message_over_its_frame_limit():
    from playground_browser import running_server
    from websockets.exceptions import ConnectionClosedError
    from websockets.sync.client import connect as ws_connect

    from annrl.playground.cli import MAX_FRAME_BYTES

    with running_server() as url, ws_connect(url.replace("http://", "ws://") + "ws", open_timeout=10) as ws:
        assert json.loads(ws.recv(timeout=10))["type"] == "hello"
        ws.send("x" * (MAX_FRAME_BYTES + 1))
        with pytest.raises(ConnectionClosedError) as closed:
            while True:
                ws.recv(timeout=10)
        assert closed.value.rcvd.code == 1009  # "message too big", sent by uvicorn before the message is whole


def test_a_server_fault_is_answered_and_the_socket_closed_with_a_frame(client, monkeypatch):
    from starlette.websockets import WebSocketDisconnect

    from annrl.playground.live import LiveSession

    async def broken(self, text):
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr(LiveSession, "handle", broken)
    with connect(client, "/ws", OWN) as ws:
        assert ws.receive_json()["type"] == "hello"
        ws.send_json({"type": "play"})
        assert "the server failed on this message" in ws.receive_json()["message"]
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_json()
        assert closed.value.code == 1011
