"""Batch scoring script for the scikit-learn regression model (Azure ML batch-deployment contract).

The batch driver calls init() once per worker process and run(mini_batch) once per mini-batch,
mini_batch being a list of file paths. Each file holds rows of 10 features:

    a .csv file: one row per line, 10 comma-separated numbers (an optional first header line of
                 column names is skipped)
    a .json file: {"data": [[x1, ..., x10], ...]} (the online endpoint's request body) or a bare
                  list of rows [[x1, ..., x10], ...]

run() returns one output row per input row: [file name, prediction]. A file that cannot be read
or scored raises ValueError naming the file (and row), which fails that mini-batch: the driver
retries it (retry_settings) and then counts its files against error_threshold.
"""

import csv
import json
import logging
import math
import os

import joblib
import numpy as np

MODEL_FILE = "sklearn_regression_model.pkl"
N_FEATURES = 10

logger = logging.getLogger("batch-score")
model = None


def init():
    """Loads the model from $AZUREML_MODEL_DIR/model, exactly as the online score.py does."""
    global model
    model_dir = os.getenv("AZUREML_MODEL_DIR")
    if not model_dir:
        raise RuntimeError("AZUREML_MODEL_DIR is not set; it must point at the model folder")
    # As on Azure: AZUREML_MODEL_DIR holds the deployment's model folder ("model", the last part
    # of the spec's model.path).
    model_path = os.path.join(model_dir, "model", MODEL_FILE)
    model = joblib.load(model_path)
    logger.info("loaded %s from %s", type(model).__name__, model_path)


def _number(name, where, v):
    if isinstance(v, str):
        try:
            v = float(v)
        except ValueError:
            raise ValueError(f"{name}: {where} is {json.dumps(v)}, not a number") from None
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
        raise ValueError(f"{name}: {where} must be a finite number, got {json.dumps(v)}")
    return float(v)


def _check_rows(name, rows, where):
    """Returns an (n, 10) float array, or raises ValueError naming the file and the row."""
    if not rows:
        raise ValueError(f"{name}: no rows; give rows of {N_FEATURES} numbers")
    out = []
    for i, row in enumerate(rows):
        if not isinstance(row, list) or len(row) != N_FEATURES:
            got = f"{len(row)} values" if isinstance(row, list) else json.dumps(row)
            raise ValueError(f"{name}: {where(i)} has {got}, expected {N_FEATURES} numbers")
        out.append([_number(name, f"{where(i)} value {j + 1}", v) for j, v in enumerate(row)])
    return np.asarray(out, dtype=np.float64)


def _is_header(cells):
    def numeric(c):
        try:
            float(c)
            return True
        except ValueError:
            return False

    return not any(numeric(c) for c in cells)


def _read_csv(path, name):
    with open(path, newline="") as f:
        lines = [(n, [c.strip() for c in cells]) for n, cells in enumerate(csv.reader(f), start=1) if any(c.strip() for c in cells)]
    if lines and _is_header(lines[0][1]):
        lines = lines[1:]
    return _check_rows(name, [cells for _, cells in lines], lambda i: f"line {lines[i][0]}")


def _read_json(path, name):
    with open(path) as f:
        try:
            body = json.load(f)
        except ValueError as ex:
            raise ValueError(f"{name}: not valid JSON: {ex}") from None
    rows = body.get("data") if isinstance(body, dict) else body
    if not isinstance(rows, list):
        raise ValueError(f'{name}: expected {{"data": [[{N_FEATURES} numbers], ...]}} or a list of rows')
    return _check_rows(name, rows, lambda i: f'"data"[{i}]')


def run(mini_batch):
    """Returns [file name, prediction] for every row of every file of the mini-batch."""
    results = []
    for path in mini_batch:
        name = os.path.basename(path)
        ext = os.path.splitext(name)[1].lower()
        if ext == ".csv":
            x = _read_csv(path, name)
        elif ext == ".json":
            x = _read_json(path, name)
        else:
            raise ValueError(f"{name}: unsupported file type {ext or '(none)'}; give .csv or .json files")
        results.extend([name, float(y)] for y in model.predict(x))
    logger.info("scored %d row(s) of %d file(s)", len(results), len(mini_batch))
    return results
