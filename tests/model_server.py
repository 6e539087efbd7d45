"""A real HTTP model server for the endpoint tests: a scikit-learn model pickled with joblib, served over loopback
by its own process, the way a model container serves ``POST /invocations``.

Run::

    python tests/model_server.py --model model.joblib --port 0 [--fail-first N] [--always-fail] [--status 500]
                                 [--csv-both]

It binds 127.0.0.1, prints its port alone on the first stdout line, and serves (HTTP/1.1, keep-alive):

* ``POST /invocations`` — rows in, the model's ``predict_proba`` out. The request's ``Content-Type``:

  - ``text/csv``: one row per line, comma-separated numbers (an empty field is NaN);
  - ``application/jsonlines``: one JSON document per line: ``{"features": [...]}`` (the default template), a bare
    array, or an object name → value (its values, in order);
  - ``application/json``: an array of records (``$records`` with the default record template ``$features``), or
    ``{"instances": [...]}``; a record is an array, ``{"features": [...]}`` or an object name → value.

  The answer in the request's ``Accept`` (default: its ``Content-Type``); ``score`` is the probability of the
  model's last class (the positive class of a binary model), ``scores`` every class's:

  - ``text/csv``: ``score`` per line, or every class's (``p0,p1``) with ``--csv-both``;
  - ``application/jsonlines``: ``{"score": p1, "scores": [p0, p1]}`` per line;
  - ``application/json``: ``{"predictions": [{"score": p1, "scores": [p0, p1]}, ...]}``.

  Numbers are written with ``repr``, so they read back as the exact floats. A body the server cannot read is
  answered 400, an unknown type 415 / 406.
* ``--fail-first N`` answers the first N invocations ``--status`` (default 500) with a short text body;
  ``--always-fail`` every invocation.
* ``GET /stats`` — ``{"requests": n, "rows": [rows of each request], "arrivals": [time.monotonic() of each],
  "statuses": [...], "content_types": [...], "accepts": [...]}``, every invocation counted, failed ones too.
* ``POST /reset`` — clears the statistics and the failure count (``--fail-first`` applies again); a JSON body
  ``{"fail_first": N, "always_fail": bool, "status": S, "csv_both": bool}`` changes the failure mode (and the CSV
  answer), so one server process (one scikit-learn import) serves a whole test module.

:func:`start_model_server` starts it as a subprocess and waits for its port (``from model_server import
start_model_server``: ``tests/`` is on ``sys.path``).
"""

from __future__ import annotations

import argparse
import json
import select
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

HOST = "127.0.0.1"


# -- the client side: start, query, stop -------------------------------------------------------------------------

@dataclass
class ModelServer:
    """A running model server: ``url`` is its ``/invocations`` URL."""

    url: str
    base_url: str
    process: subprocess.Popen

    def stats(self) -> dict:
        with urllib.request.urlopen(f"{self.base_url}/stats", timeout=10) as r:
            return json.loads(r.read())

    def reset(self, **failure_mode) -> None:
        """Clear the statistics and set the failure mode (``fail_first``, ``always_fail``, ``status``) and
        ``csv_both``; what is not given is back to no failures and the command line's ``--csv-both``."""
        request = urllib.request.Request(f"{self.base_url}/reset", data=json.dumps(failure_mode).encode(),
                                         headers={"Content-Type": "application/json"}, method="POST")
        with urllib.request.urlopen(request, timeout=10) as r:
            r.read()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process.stdout is not None:
            self.process.stdout.close()

    def __enter__(self) -> ModelServer:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def start_model_server(model: str | Path, *args: str, timeout: float = 60.0) -> ModelServer:
    """Start ``python tests/model_server.py --model <model> --port 0 <args>`` and wait until it listens."""
    process = subprocess.Popen([sys.executable, str(Path(__file__).resolve()), "--model", str(model), "--port", "0",
                                *args], stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)
    ready, _, _ = select.select([process.stdout], [], [], timeout)
    line = process.stdout.readline().strip() if ready else ""
    if not line.isdigit():
        process.kill()
        process.wait()
        raise RuntimeError(f"the model server did not start within {timeout} s (exit code {process.returncode}, "
                           f"first line {line!r})")
    base = f"http://{HOST}:{line}"
    return ModelServer(url=f"{base}/invocations", base_url=base, process=process)


# -- the server ----------------------------------------------------------------------------------------------------

class _State:
    def __init__(self, model, fail_first: int, always_fail: bool, status: int, csv_both: bool) -> None:
        self.model = model
        self.csv_both_default = csv_both
        self.lock = threading.Lock()
        self.configure(fail_first=fail_first, always_fail=always_fail, status=status)

    def configure(self, fail_first: int = 0, always_fail: bool = False, status: int = 500,
                  csv_both: bool | None = None) -> None:
        self.fail_first, self.always_fail, self.status = int(fail_first), bool(always_fail), int(status)
        self.csv_both = self.csv_both_default if csv_both is None else bool(csv_both)
        self.requests = 0
        self.rows: list[int] = []
        self.arrivals: list[float] = []
        self.statuses: list[int] = []
        self.content_types: list[str] = []
        self.accepts: list[str] = []


class _BadRequest(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def _media(value: str | None) -> str:
    return (value or "").split(";", 1)[0].strip().lower()


def _record(value) -> list[float]:
    if isinstance(value, dict):
        value = value["features"] if "features" in value else list(value.values())
    if not isinstance(value, list):
        raise _BadRequest(400, f"a record must be an array or an object, got {value!r}")
    return [float("nan") if v is None else float(v) for v in value]


def _rows(content_type: str, text: str) -> list[list[float]]:
    if content_type == "text/csv":
        return [[float(f) if f.strip() else float("nan") for f in line.split(",")]
                for line in text.splitlines() if line.strip()]
    if content_type == "application/jsonlines":
        return [_record(json.loads(line)) for line in text.splitlines() if line.strip()]
    if content_type == "application/json":
        doc = json.loads(text)
        if isinstance(doc, dict) and "instances" in doc:
            doc = doc["instances"]
        if not isinstance(doc, list):
            raise _BadRequest(400, "a JSON request must be an array of records or {\"instances\": [...]}")
        return [_record(r) for r in doc]
    raise _BadRequest(415, f"unsupported Content-Type {content_type!r}")


def _answer(accept: str, proba, csv_both: bool) -> str:
    scores = [[float(p) for p in row] for row in proba]
    if accept == "text/csv":
        return "\n".join(",".join(map(repr, row)) if csv_both else repr(row[-1]) for row in scores) + "\n"
    if accept == "application/jsonlines":
        return "\n".join(json.dumps({"score": row[-1], "scores": row}) for row in scores) + "\n"
    if accept == "application/json":
        return json.dumps({"predictions": [{"score": row[-1], "scores": row} for row in scores]})
    raise _BadRequest(406, f"unsupported Accept {accept!r}")


def _handler(state: _State) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # headers and body are written apart: no 40 ms delayed-ACK stall

        def log_message(self, format, *args) -> None:  # quiet: the tests read /stats
            pass

        def _send(self, status: int, body: str, content_type: str = "text/plain") -> None:
            data = body.encode()
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            if self.path != "/stats":
                return self._send(404, f"no {self.path}")
            with state.lock:
                stats = {"requests": state.requests, "rows": state.rows, "arrivals": state.arrivals,
                         "statuses": state.statuses, "content_types": state.content_types, "accepts": state.accepts}
                body = json.dumps(stats)
            self._send(200, body, "application/json")

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
            if self.path == "/reset":
                with state.lock:
                    state.configure(**(json.loads(body) if body.strip() else {}))
                return self._send(204, "")
            if self.path != "/invocations":
                return self._send(404, f"no {self.path}")
            content_type = _media(self.headers.get("Content-Type"))
            accept = _media(self.headers.get("Accept")) or content_type
            with state.lock:
                state.requests += 1
                n = state.requests
                state.arrivals.append(time.monotonic())
                state.content_types.append(self.headers.get("Content-Type") or "")
                state.accepts.append(self.headers.get("Accept") or "")
                fail = state.always_fail or n <= state.fail_first
                status = state.status if fail else 200
            rows: list = []
            if fail:
                answer, kind = f"injected failure of request {n}", "text/plain"
            else:
                try:
                    rows = _rows(content_type, body)
                    answer, kind = _answer(accept, state.model.predict_proba(rows), state.csv_both), accept
                except _BadRequest as e:
                    status, answer, kind = e.status, str(e), "text/plain"
                except (ValueError, KeyError, TypeError) as e:
                    status, answer, kind = 400, f"cannot read the request: {type(e).__name__}: {e}", "text/plain"
            with state.lock:
                state.rows.append(len(rows))
                state.statuses.append(status)
            self._send(status, answer, kind)

    return Handler


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Serve a joblib-pickled scikit-learn model on 127.0.0.1.")
    parser.add_argument("--model", required=True, help="joblib file of a model with predict_proba")
    parser.add_argument("--port", type=int, default=0, help="0: any free port (printed on the first line)")
    parser.add_argument("--fail-first", type=int, default=0, help="answer the first N invocations --status")
    parser.add_argument("--always-fail", action="store_true", help="answer every invocation --status")
    parser.add_argument("--status", type=int, default=500, help="the status of injected failures")
    parser.add_argument("--csv-both", action="store_true", help="CSV answers: every class's probability")
    args = parser.parse_args(argv)

    import joblib

    state = _State(joblib.load(args.model), args.fail_first, args.always_fail, args.status, args.csv_both)
    server = ThreadingHTTPServer((HOST, args.port), _handler(state))
    server.daemon_threads = True
    print(server.server_address[1], flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
