"""Plain HTTP receivers on 127.0.0.1 for the notification tests: each records every request it gets (path,
headers, body) and answers from a script (a list of statuses, then 200), or never answers (``hang``: the
connection is accepted and read, no reply is sent until the receiver stops)."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self):
        return json.loads(self.body)


@dataclass
class Receiver:
    server: ThreadingHTTPServer
    statuses: list[int] = field(default_factory=list)  # answers to the next requests, then `status`
    status: int = 200
    answer: bytes = b"ok"
    hang: bool = False  # accept and read, never answer
    received: list[Received] = field(default_factory=list)
    released: threading.Event = field(default_factory=threading.Event)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def events(self) -> list:
        """The JSON bodies received, in order."""
        return [r.json() for r in self.received]

    def stop(self) -> None:
        self.released.set()
        self.server.shutdown()
        self.server.server_close()


def start_receiver(statuses: list[int] | None = None, status: int = 200, answer: bytes = b"ok",
                   hang: bool = False) -> Receiver:
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            with lock:
                receiver.received.append(Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body))
                code = receiver.statuses.pop(0) if receiver.statuses else receiver.status
            if receiver.hang:
                receiver.released.wait(60)
                return
            self.send_response(code)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(receiver.answer)))
            self.end_headers()
            self.wfile.write(receiver.answer)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    receiver = Receiver(server, list(statuses or []), status, answer, hang)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return receiver


def check_block_kit(message: dict) -> None:
    """Slack's documented Block Kit limits (docs.slack.dev reference/block-kit): ≤ 50 blocks; header: plain_text
    ≤ 150; section: text ≤ 3000 and/or ≤ 10 fields of ≤ 2000; context: ≤ 10 elements; actions: ≤ 25 elements;
    button: plain_text ≤ 75, url ≤ 3000, action_id ≤ 255; text objects plain_text or mrkdwn."""

    def text(obj, limit, kinds=("plain_text", "mrkdwn")):
        assert obj["type"] in kinds and isinstance(obj["text"], str) and 0 < len(obj["text"]) <= limit, obj

    assert isinstance(message["text"], str) and message["text"]
    blocks = message["blocks"]
    assert 0 < len(blocks) <= 50
    for b in blocks:
        kind = b["type"]
        if kind == "header":
            text(b["text"], 150, ("plain_text",))
        elif kind == "section":
            assert "text" in b or "fields" in b
            if "text" in b:
                text(b["text"], 3000)
            assert len(b.get("fields", [])) <= 10
            for f in b.get("fields", []):
                text(f, 2000)
        elif kind == "context":
            assert 0 < len(b["elements"]) <= 10
            for e in b["elements"]:
                text(e, 3000)
        elif kind == "actions":
            assert 0 < len(b["elements"]) <= 25
            for e in b["elements"]:
                assert e["type"] == "button"
                text(e["text"], 75, ("plain_text",))
                assert e["url"].startswith(("http://", "https://")) and len(e["url"]) <= 3000
                assert len(e["action_id"]) <= 255
        else:
            raise AssertionError(f"unexpected block {kind}")
