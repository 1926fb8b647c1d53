"""ASGI app of the modelplane MLflow server: MLflow's own scoring server plus Azure's `/score`.

`/invocations`, `/ping`, `/health`, `/version` are MLflow's scoring server unchanged (input
formats `dataframe_split`, `dataframe_records`, `instances`, `inputs`, optional `params`; CSV and
parquet bodies too). `POST /score` is the same handler, and also accepts Azure ML's no-code request
shape `{"input_data": ...}`: a pandas "split" object (`columns`/`data`/`index`) becomes
`dataframe_split`, anything else (a list or a dict of named tensors) becomes `inputs`.

The model is loaded at import, before uvicorn binds the port: `/ping` answering 200 means ready.
"""

import json
import os

from mlflow.pyfunc import scoring_server

_MODEL_DIR = os.environ.get("MLFLOW_MODEL_DIR", "/var/azureml-app/azureml-models/model")
_inner = scoring_server.init(scoring_server.load_model_with_mlflow_config(_MODEL_DIR))


def translate_azure_request(body: bytes) -> bytes:
    """Rewrites `{"input_data": X, "params": P}` into an MLflow request; other bodies are unchanged."""
    try:
        doc = json.loads(body)
    except ValueError:
        return body
    if not isinstance(doc, dict) or "input_data" not in doc or scoring_server.SUPPORTED_FORMATS & doc.keys():
        return body
    data = doc["input_data"]
    key = "dataframe_split" if isinstance(data, dict) and "data" in data and set(data) <= {"columns", "data", "index"} else "inputs"
    out = {key: data}
    if "params" in doc:
        out["params"] = doc["params"]
    return json.dumps(out).encode()


async def app(scope, receive, send):
    if scope["type"] != "http" or scope["path"] != "/score":
        return await _inner(scope, receive, send)
    if scope["method"] != "POST":
        await send({"type": "http.response.start", "status": 405, "headers": [(b"content-type", b"application/json"), (b"allow", b"POST")]})
        await send({"type": "http.response.body", "body": b'{"error": "use POST /score"}'})
        return None
    chunks = []
    more = True
    while more:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunks.append(message.get("body", b""))
        more = message.get("more_body", False)
    body = translate_azure_request(b"".join(chunks))
    headers = [(k, v) for k, v in scope["headers"] if k.lower() != b"content-length"]
    if not any(k.lower() == b"content-type" for k, _ in headers):
        headers.append((b"content-type", b"application/json"))
    headers.append((b"content-length", str(len(body)).encode()))
    delivered = False

    async def replay():
        nonlocal delivered
        if not delivered:
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return await _inner({**scope, "path": "/invocations", "raw_path": b"/invocations", "headers": headers}, replay, send)
