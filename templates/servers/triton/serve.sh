#!/bin/sh
# Entrypoint of the modelplane Triton server (runs under tini). Checks the model repository mount,
# then execs tritonserver so it receives SIGTERM directly: Triton stops accepting new requests and
# waits up to EXIT_TIMEOUT_SECS for in-flight inferences. Extra arguments go to tritonserver.
set -eu
repo="${MODEL_REPOSITORY:-/var/azureml-app/azureml-models/model}"
if ! ls "$repo"/*/config.pbtxt > /dev/null 2>&1; then
  echo "modelplane: no <model>/config.pbtxt under '$repo' (MODEL_REPOSITORY)." >&2
  echo "modelplane: mount the Triton model repository read-only there." >&2
  exit 2
fi
# The Python backend stub embeds the interpreter; it finds numpy and the models' packages here.
export PYTHONPATH="/opt/venv/site-packages${PYTHONPATH:+:$PYTHONPATH}"
exec /opt/tritonserver/bin/tritonserver \
  --model-repository="$repo" \
  --backend-directory=/opt/tritonserver/backends \
  --cache-directory=/opt/tritonserver/caches \
  --http-port="${HTTP_PORT:-8000}" \
  --allow-grpc=false \
  --allow-metrics=false \
  --exit-timeout-secs="${EXIT_TIMEOUT_SECS:-30}" \
  "$@"
