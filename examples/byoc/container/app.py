"""Bring-your-own-container example: a deterministic scorer on http.server.

POST /predict {"data": [[x, ...], ...]} -> {"predictions": [sum(row) * SCALE + OFFSET, ...]},
with SCALE/OFFSET read from $AZUREML_MODEL_DIR/*/weights.json when a model is mounted (else 1, 0).
SIGTERM stops accepting connections and lets in-flight requests finish.
With BYOC_TEST_HOOKS=1, POST /admin/fail-liveness makes GET /healthz answer 500 until the process
restarts (the liveness tests use it); without it that route does not exist.
"""

import glob
import json
import os
import signal
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PORT = int(os.environ.get("PORT", "8080"))


def load_weights():
    model_dir = os.environ.get("AZUREML_MODEL_DIR", "")
    for f in sorted(glob.glob(os.path.join(model_dir, "*", "weights.json")) + glob.glob(os.path.join(model_dir, "weights.json"))):
        with open(f, encoding="utf-8") as fh:
            w = json.load(fh)
        return float(w.get("scale", 1)), float(w.get("offset", 0))
    return 1.0, 0.0


SCALE, OFFSET = load_weights()
TEST_HOOKS = os.environ.get("BYOC_TEST_HOOKS") == "1"
live = True


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def _send(self, status, doc):
        body = json.dumps(doc).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        if self.path == "/healthz" and not live:
            self._send(500, {"status": "failing (POST /admin/fail-liveness)"})
        elif self.path in ("/healthz", "/ready"):
            self._send(200, {"status": "ok"})
        else:
            self._send(404, {"error": f"no route {self.path}"})

    def do_POST(self):
        global live
        if TEST_HOOKS and self.path == "/admin/fail-liveness":
            live = False
            self._send(200, {"liveness": "failing"})
            return
        if self.path != "/predict":
            self._send(404, {"error": f"no route {self.path}"})
            return
        try:
            doc = json.loads(self.rfile.read(int(self.headers.get("content-length", "0"))) or b"null")
            rows = doc["data"]
            self._send(200, {"predictions": [sum(float(x) for x in row) * SCALE + OFFSET for row in rows]})
        except (ValueError, KeyError, TypeError) as e:
            self._send(400, {"error": f"expected {{\"data\": [[numbers]]}}: {e}"})

    def log_message(self, fmt, *args):
        print("%s %s" % (self.address_string(), fmt % args), flush=True)


def main():
    server = ThreadingHTTPServer(("0.0.0.0", PORT), Handler)
    server.daemon_threads = False  # server_close() joins request threads: in-flight requests finish
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
    print(f"listening on {PORT} (scale={SCALE}, offset={OFFSET})", flush=True)
    server.serve_forever()
    server.server_close()


if __name__ == "__main__":
    main()
