#!/usr/bin/env python3
"""modelplane batch driver: runs inside each batch worker container (Python 3, standard library;
pandas and mlflow when the image has them).

The container's process is a supervisor that starts MODELPLANE_CONCURRENCY worker processes. Each
worker loads the model once (custom scoring: imports the scoring script and calls init(); MLflow:
loads the MLmodel folder under AZUREML_MODEL_DIR), tells the server it is ready, then leases
mini-batches from the server over HTTP, scores them and posts the rows, until the server answers
410 (the job is over). HTTP calls are retried while the server is unreachable or answers 5xx, so a
server restart does not stop the workers. A worker process that crashes takes the container down
with it: the server sees the container stop and gives its mini-batches to the next try.

Environment (set by the server): MODELPLANE_SERVER_URL, MODELPLANE_WORKER_TOKEN, MODELPLANE_JOB_ID,
MODELPLANE_INSTANCE, MODELPLANE_CONCURRENCY, MODELPLANE_LOGGING_LEVEL, MODELPLANE_MODEL_SERVER
(custom | mlflow), MODELPLANE_CODE_DIR, MODELPLANE_SCORING_SCRIPT, AZUREML_MODEL_DIR, and the
deployment's and the job's environment variables; MODELPLANE_INSTANCE_ID and
MODELPLANE_INSTANCE_TOKEN name the container for warm reuse: when its job is over, each worker
process asks POST /batch/instances/{id}/next for its next job (204: kept warm, ask again; 200: the
job it now serves, with that job's token and instance index, scored with the model it already
loaded, init() not run again; 410: not kept, leave).
"""
import http.client
import importlib.util
import json
import logging
import math
import os
import random
import signal
import subprocess
import sys
import time
import traceback
import urllib.parse

SERVER = os.environ.get("MODELPLANE_SERVER_URL", "http://modelplane-server:8081").rstrip("/")
TOKEN = os.environ.get("MODELPLANE_WORKER_TOKEN", "")
JOB = os.environ.get("MODELPLANE_JOB_ID", "")


def _instance():
    """This worker's instance: MODELPLANE_INSTANCE (Docker), or on Kubernetes its Indexed Job's
    completion index looked up in MODELPLANE_INSTANCE_MAP (the instances that Job runs, in order)."""
    named = os.environ.get("MODELPLANE_INSTANCE")
    if named:
        return named
    index = os.environ.get("JOB_COMPLETION_INDEX")
    mapping = [i for i in os.environ.get("MODELPLANE_INSTANCE_MAP", "").split(",") if i]
    if index is not None and index.isdigit() and int(index) < len(mapping):
        return mapping[int(index)]
    return index or "0"


INSTANCE = _instance()
INSTANCE_ID = os.environ.get("MODELPLANE_INSTANCE_ID", "")
INSTANCE_TOKEN = os.environ.get("MODELPLANE_INSTANCE_TOKEN", "")
# How often a warm worker asks the server for its next job.
WARM_POLL_S = float(os.environ.get("MODELPLANE_WARM_POLL_S", "0.2"))
CONCURRENCY = max(1, int(os.environ.get("MODELPLANE_CONCURRENCY", "1") or "1"))
LEVEL = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING}.get(os.environ.get("MODELPLANE_LOGGING_LEVEL", "info").lower(), logging.INFO)
# How long a call keeps retrying an unreachable server before the worker gives up.
RETRY_FOR_S = float(os.environ.get("MODELPLANE_SERVER_RETRY_S", "900"))
# A worker told "nothing to lease now" (others hold the last leases) asks again after 50 ms, then
# twice as late each time, up to this; so the end of a job is seen at once, and a long wait costs
# the server a few calls a second per worker.
IDLE_POLL_S = float(os.environ.get("MODELPLANE_IDLE_POLL_S", "0.3"))
# A connection to the server is used again only this soon after its last answer: the server closes
# idle connections after 5 s (Node's keep-alive timeout), and a POST sent as it does would be lost.
KEEPALIVE_S = 2.0

log = logging.getLogger("modelplane.batch")


class JobOver(Exception):
    """The server answered 410: the job ended (completed, failed or canceled)."""


def _plain(v):
    """A JSON-safe scalar: numpy scalars unwrapped, NaN and infinities as null."""
    if hasattr(v, "item") and not isinstance(v, (list, tuple, dict, str, bytes)):
        try:
            v = v.item()
        except (ValueError, TypeError):
            pass
    if isinstance(v, float) and (math.isnan(v) or math.isinf(v)):
        return None
    if v is None or isinstance(v, (bool, int, float, str)):
        return v
    if isinstance(v, bytes):
        return v.decode("utf-8", "replace")
    if hasattr(v, "isoformat"):
        return v.isoformat()
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    if isinstance(v, dict):
        return {str(k): _plain(x) for k, x in v.items()}
    return str(v)


def _row(v):
    """One output row: a list of values."""
    if hasattr(v, "tolist") and not isinstance(v, (str, bytes)):
        v = v.tolist()
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    if isinstance(v, dict):
        return [_plain(x) for x in v.values()]
    return [_plain(v)]


def to_rows(result):
    """run()'s result as rows: each element of a list, or each row of a pandas DataFrame, is one row."""
    if result is None:
        raise TypeError("run() returned None; return a list (one element per output row) or a pandas DataFrame")
    if hasattr(result, "itertuples") and hasattr(result, "columns"):
        return [[_plain(x) for x in t] for t in result.itertuples(index=False, name=None)]
    if hasattr(result, "tolist") and not isinstance(result, (str, bytes)):
        result = result.tolist()
    if isinstance(result, (str, bytes)) or not hasattr(result, "__iter__"):
        raise TypeError("run() returned %s; return a list (one element per output row) or a pandas DataFrame" % type(result).__name__)
    return [_row(x) for x in result]


class _Connection:
    """One keep-alive HTTP connection to the server per worker process (urllib opened one per call)."""

    def __init__(self, url):
        u = urllib.parse.urlsplit(url)
        self.https = u.scheme == "https"
        self.host = u.hostname or "localhost"
        self.port = u.port or (443 if self.https else 80)
        self.prefix = u.path.rstrip("/")
        self.conn = None
        self.used = 0.0

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def post(self, path, data, token=None):
        """Returns (status, body bytes); raises OSError or http.client.HTTPException when the call failed."""
        if self.conn is not None and time.monotonic() - self.used > KEEPALIVE_S:
            self.close()
        if self.conn is None:
            cls = http.client.HTTPSConnection if self.https else http.client.HTTPConnection
            self.conn = cls(self.host, self.port, timeout=120)
        try:
            self.conn.request("POST", self.prefix + path, body=data, headers={"authorization": "Bearer " + (token or TOKEN), "content-type": "application/json"})
            r = self.conn.getresponse()
            raw = r.read()
        except BaseException:
            self.close()
            raise
        self.used = time.monotonic()
        if r.will_close:
            self.close()
        return r.status, raw


_server = _Connection(SERVER)


def call(path, body, token=None):
    """POSTs JSON to the server; retries while it is unreachable or answers 5xx/429. Returns (status, json)."""
    data = json.dumps(body, allow_nan=False).encode("utf-8")
    deadline = time.monotonic() + RETRY_FOR_S
    delay = 0.2
    warned = 0.0
    while True:
        problem = None
        try:
            status, raw = _server.post(path, data, token)
            if status == 410:
                raise JobOver()
            if 200 <= status < 300:
                return status, (json.loads(raw) if raw else None)
            if status < 500 and status != 429:
                raise RuntimeError("server answered HTTP %d to %s: %s" % (status, path, raw[:500].decode("utf-8", "replace")))
            problem = "HTTP %d" % status
        except (http.client.HTTPException, OSError) as e:
            problem = "%s: %s" % (type(e).__name__, e)
        if time.monotonic() > deadline:
            raise RuntimeError("the server at %s did not answer for %.0f s (%s)" % (SERVER, RETRY_FOR_S, problem))
        if time.monotonic() - warned > 10:
            log.warning("server unreachable (%s); retrying %s", problem, path)
            warned = time.monotonic()
        time.sleep(delay * (0.5 + random.random()))
        delay = min(delay * 2, 3.0)


def _load_custom():
    code_dir = os.environ.get("MODELPLANE_CODE_DIR", "")
    script = os.environ.get("MODELPLANE_SCORING_SCRIPT", "")
    if not code_dir or not script:
        raise RuntimeError("a custom-scoring deployment needs code_configuration (MODELPLANE_CODE_DIR, MODELPLANE_SCORING_SCRIPT)")
    file = os.path.join(code_dir, script)
    sys.path.insert(0, os.path.dirname(file))
    sys.path.insert(0, code_dir)
    name = os.path.splitext(os.path.basename(file))[0]
    spec = importlib.util.spec_from_file_location(name, file)
    if spec is None or spec.loader is None:
        raise RuntimeError("cannot import the scoring script %s" % file)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    if not callable(getattr(module, "run", None)):
        raise RuntimeError("the scoring script %s has no run(mini_batch) function" % file)
    if callable(getattr(module, "init", None)):
        module.init()
    return lambda files: to_rows(module.run(list(files)))


def _mlmodel_dir(root):
    """The shallowest folder under root holding an MLmodel file."""
    best = None
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        if "MLmodel" in filenames:
            depth = dirpath.count(os.sep)
            if best is None or depth < best[0]:
                best = (depth, dirpath)
    if best is None:
        raise RuntimeError("no MLmodel file under AZUREML_MODEL_DIR=%s; an MLflow deployment needs the model's MLmodel folder" % root)
    return best[1]


def _prediction_rows(pred):
    if hasattr(pred, "itertuples") and hasattr(pred, "columns"):
        return [[_plain(x) for x in t] for t in pred.itertuples(index=False, name=None)]
    if hasattr(pred, "tolist"):
        pred = pred.tolist()
    if isinstance(pred, dict):
        cols = list(pred.values())
        return [[_plain(c[i]) for c in cols] for i in range(len(cols[0]) if cols else 0)]
    return [_row(x) for x in pred]


def _schema_conformer(model, pd):
    """Whole-number CSV columns the model's signature declares as double/float are read as floats
    (pandas reads "3" as int64, which MLflow's schema check refuses to narrow into a double)."""
    try:
        schema = model.metadata.get_input_schema()
        specs = [(s.name, str(getattr(s.type, "name", s.type)).lower()) for s in schema.inputs] if schema is not None and schema.has_input_names() else []
    except Exception:  # a model without a usable signature is scored as read
        specs = []
    floats = {"double": "float64", "float": "float32"}

    def conform(table):
        for name, kind in specs:
            if kind in floats and name in table.columns and pd.api.types.is_integer_dtype(table[name]):
                table[name] = table[name].astype(floats[kind])
        return table

    return conform


def _load_mlflow():
    import mlflow.pyfunc  # noqa: the image's environment has it
    import pandas as pd

    folder = _mlmodel_dir(os.environ.get("AZUREML_MODEL_DIR", "/var/azureml-app/azureml-models"))
    log.info("loading the MLflow model from %s", folder)
    model = mlflow.pyfunc.load_model(folder)
    conform = _schema_conformer(model, pd)

    def score(files):
        rows = []
        for f in files:
            ext = os.path.splitext(f)[1].lower()
            if ext in (".csv", ".txt"):
                table = pd.read_csv(f)
            elif ext in (".parquet", ".pq"):
                table = pd.read_parquet(f)
            else:
                raise ValueError("%s: MLflow batch deployments read CSV and parquet files; give a custom scoring script for other files" % f)
            name = os.path.basename(f)
            for r in _prediction_rows(model.predict(conform(table))):
                rows.append(r + [name])
        return rows

    return score


def next_job():
    """A warm instance's next job: (job, token, instance) once the server gives it one, None when it is not kept."""
    while True:
        try:
            status, body = call("/batch/instances/%s/next" % INSTANCE_ID, {"job": JOB}, INSTANCE_TOKEN)
        except JobOver:
            return None
        if status == 200 and body:
            return body["job"], body["token"], str(body["instance"])
        time.sleep(WARM_POLL_S * (0.5 + random.random()))


def _log_as(worker_id):
    fmt = logging.Formatter("%(asctime)s %(levelname)s [worker " + worker_id + "] %(message)s")
    for h in logging.getLogger().handlers:
        h.setFormatter(fmt)


def worker(proc):
    global JOB, TOKEN, INSTANCE
    logging.basicConfig(level=LEVEL, stream=sys.stdout)
    _log_as("%s-%d" % (INSTANCE, proc))
    try:
        score = _load_mlflow() if os.environ.get("MODELPLANE_MODEL_SERVER") == "mlflow" else _load_custom()
    except Exception as e:  # init() or the model failed: the job cannot run here
        log.error("init failed: %s", e, exc_info=True)
        try:
            call("/batch/jobs/%s/workers/%s-%d/failed" % (JOB, INSTANCE, proc), {"error": "%s: %s" % (type(e).__name__, e), "traceback": traceback.format_exc()})
        except JobOver:
            pass
        return 3
    while True:
        serve("%s-%d" % (INSTANCE, proc), score)
        if not INSTANCE_ID:
            return 0
        nxt = next_job()
        if nxt is None:
            log.info("not kept warm; leaving")
            return 0
        JOB, TOKEN, INSTANCE = nxt
        os.environ["MODELPLANE_JOB_ID"], os.environ["MODELPLANE_INSTANCE"] = JOB, INSTANCE
        _log_as("%s-%d" % (INSTANCE, proc))
        log.info("warm instance %s: job %s, instance %s (init() not run again)", INSTANCE_ID, JOB, INSTANCE)


def serve(worker_id, score):
    """Leases and scores the current job's mini-batches until the server says the job is over."""
    base = "/batch/jobs/%s" % JOB
    try:
        call("%s/workers/%s/ready" % (base, worker_id), {})
        log.info("ready")
        idle = min(0.05, IDLE_POLL_S)
        while True:
            status, lease = call(base + "/lease", {"worker": worker_id})
            if status == 204 or not lease:
                time.sleep(idle * (0.5 + random.random()))
                idle = min(idle * 2, IDLE_POLL_S)
                continue
            idle = min(0.05, IDLE_POLL_S)
            idx, attempt, files = lease["mini_batch"], lease["attempt"], lease["files"]
            log.debug("mini-batch %d attempt %d: %d file(s)", idx, attempt, len(files))
            started = time.monotonic()
            try:
                body = {"attempt": attempt, "ok": True, "rows": score(files)}
                log.info("mini-batch %d attempt %d: %d row(s) in %.2f s", idx, attempt, len(body["rows"]), time.monotonic() - started)
            except Exception as e:  # the scoring script's error fails this try of the mini-batch
                log.warning("mini-batch %d attempt %d failed: %s: %s", idx, attempt, type(e).__name__, e)
                body = {"attempt": attempt, "ok": False, "error": "%s: %s" % (type(e).__name__, e), "traceback": traceback.format_exc()}
            call("%s/mini-batches/%d/result" % (base, idx), body)
    except JobOver:
        log.info("job %s is over", JOB)


def supervise():
    logging.basicConfig(level=LEVEL, format="%(asctime)s %(levelname)s [instance " + INSTANCE + "] %(message)s", stream=sys.stdout)
    log.info("job %s: starting %d worker process(es)", JOB, CONCURRENCY)
    children = [subprocess.Popen([sys.executable, os.path.abspath(__file__), "--worker", str(i)]) for i in range(CONCURRENCY)]

    def forward(signum, _frame):
        for c in children:
            if c.poll() is None:
                c.send_signal(signum)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    while True:
        codes = [c.poll() for c in children]
        bad = [code for code in codes if code not in (None, 0)]
        if bad:
            log.error("a worker process exited with code %d; stopping the others", bad[0])
            for c in children:
                if c.poll() is None:
                    c.terminate()
            for c in children:
                try:
                    c.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    c.kill()
            return bad[0] if bad[0] > 0 else 1
        if all(code == 0 for code in codes):
            log.info("all worker processes left")
            return 0
        time.sleep(0.05)


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--worker":
        sys.exit(worker(int(sys.argv[2])))
    sys.exit(supervise())
