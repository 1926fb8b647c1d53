#!/bin/sh
# Entrypoint of the modelplane custom-scoring server (runs under tini). Checks the mounts, then
# execs azmlinfsrv so it receives SIGTERM directly. Extra arguments are passed to azmlinfsrv.
set -eu
app_root="${AML_APP_ROOT:-/var/azureml-app}"
script="${AZUREML_ENTRY_SCRIPT:-code/score.py}"
case "$script" in
  /*) script_path="$script" ;;
  *) script_path="$app_root/$script" ;;
esac
if [ ! -f "$script_path" ]; then
  echo "modelplane: scoring script '$script_path' not found (AZUREML_ENTRY_SCRIPT=$script)." >&2
  echo "modelplane: mount the deployment's code folder read-only at $app_root/code and set AZUREML_ENTRY_SCRIPT=code/<scoring_script>." >&2
  exit 2
fi
if [ -n "${AZUREML_MODEL_DIR:-}" ] && [ ! -d "$AZUREML_MODEL_DIR" ]; then
  echo "modelplane: warning: model directory '$AZUREML_MODEL_DIR' does not exist; mount the model folder read-only there." >&2
fi
cd "$app_root"
exec azmlinfsrv --entry_script "$script_path" "$@"
