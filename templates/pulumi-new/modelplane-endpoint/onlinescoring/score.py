"""Scoring script for the scikit-learn regression model (Azure ML online-endpoint contract).

The inference server (azureml-inference-server-http) calls init() once per worker at start-up and
run(raw_data) once per POST /score, with the request body as a string. Expected body:

    {"data": [[x1, ..., x10], ...]}    -> returns [y1, ...] (one prediction per row)

Bad input returns HTTP 400 with {"error": "..."} (an AMLResponse), so clients never get a 200 for a
request that was not scored.
"""

import json
import logging
import math
import os

import joblib
import numpy as np
from azureml_inference_server_http.api.aml_response import AMLResponse

MODEL_FILE = "sklearn_regression_model.pkl"
N_FEATURES = 10

logger = logging.getLogger("score")
model = None


def init():
    """Loads the model from $AZUREML_MODEL_DIR/model (mounted read-only)."""
    global model
    model_dir = os.getenv("AZUREML_MODEL_DIR")
    if not model_dir:
        raise RuntimeError("AZUREML_MODEL_DIR is not set; it must point at the model folder")
    # As on Azure: AZUREML_MODEL_DIR holds the deployment's model folder ("model", the last part
    # of the spec's model.path), so Azure's own score.py files work unchanged.
    model_path = os.path.join(model_dir, "model", MODEL_FILE)
    model = joblib.load(model_path)
    logger.info("loaded %s from %s", type(model).__name__, model_path)


def _bad_request(message):
    return AMLResponse({"error": message}, 400, json_str=True)


def _parse(raw_data):
    """Returns an (n, 10) float array, or raises ValueError with a message for the client."""
    try:
        body = json.loads(raw_data)
    except (TypeError, ValueError) as ex:
        raise ValueError(f"request body is not valid JSON: {ex}") from None
    if not isinstance(body, dict) or "data" not in body:
        raise ValueError('expected a JSON object {"data": [[10 numbers], ...]}')
    rows = body["data"]
    if not isinstance(rows, list) or not rows:
        raise ValueError('"data" must be a non-empty list of rows')
    for i, row in enumerate(rows):
        if not isinstance(row, list) or len(row) != N_FEATURES:
            raise ValueError(f'"data"[{i}] must be a list of {N_FEATURES} numbers')
        for j, v in enumerate(row):
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
                raise ValueError(f'"data"[{i}][{j}] must be a finite number, got {json.dumps(v)}')
    return np.asarray(rows, dtype=np.float64)


def run(raw_data):
    """Returns the list of predictions, or a 400 AMLResponse for bad input."""
    try:
        x = _parse(raw_data)
    except ValueError as ex:
        return _bad_request(str(ex))
    return model.predict(x).tolist()
