#!/bin/sh
# Entrypoint of the modelplane MLflow server (runs under tini). Checks the model mount, then execs
# uvicorn so it receives SIGTERM directly: it stops accepting connections and lets in-flight
# requests finish (up to GRACEFUL_TIMEOUT seconds). Extra arguments are passed to uvicorn.
set -eu
model_dir="${MLFLOW_MODEL_DIR:-/var/azureml-app/azureml-models/model}"
if [ ! -f "$model_dir/MLmodel" ]; then
  echo "modelplane: no MLmodel file in '$model_dir' (MLFLOW_MODEL_DIR)." >&2
  echo "modelplane: mount the MLflow model folder read-only there." >&2
  exit 2
fi
exec uvicorn --host 0.0.0.0 --port "${PORT:-5001}" --workers "${WORKER_COUNT:-1}" \
  --timeout-graceful-shutdown "${GRACEFUL_TIMEOUT:-30}" --no-server-header \
  modelplane_mlflow:app "$@"
