#!/usr/bin/env bash
# The main job: set up everything, deploy the dev stack on the local Docker engine with a real
# `pulumi up`, score one real request through the gateway with the endpoint's key, and show
# the URL and how to get the key. Idempotent: a second run converges and scores again.
set -euo pipefail
STACK=${1:-dev}
. "$(dirname "$0")/env.sh"
cd "$MODELPLANE_ROOT"
bash scripts/setup.sh
step() { printf '\n[main %s] %s\n' "$(date +%T)" "$*"; }
export PULUMI_NODEJS_TRANSPILE_ONLY=true
step "validating stacks/$STACK"
bin/modelplane validate "stacks/$STACK"
step "pulumi up --stack $STACK"
pulumi stack select "$STACK" --create --non-interactive >/dev/null
started=$(date +%s)
pulumi up --yes --skip-preview --non-interactive --stack "$STACK"
endpoint=$(pulumi stack output endpoints --json --stack "$STACK" | node -e 'const o=JSON.parse(require("fs").readFileSync(0,"utf8")); const [n,e]=Object.entries(o)[0]; console.log(n+" "+e.scoringUri)')
name=${endpoint%% *}; uri=${endpoint#* }
key=$(pulumi stack output keys --json --show-secrets --stack "$STACK" | node -e 'const o=JSON.parse(require("fs").readFileSync(0,"utf8")); console.log(o[process.argv[1]].primaryKey)' "$name")
step "scoring examples/model-1/sample-request.json at $uri"
response=$(curl -sS -D /tmp/modelplane-main-headers -X POST "$uri" -H "Authorization: Bearer $key" -H 'Content-Type: application/json' --data @examples/model-1/sample-request.json)
status=$(awk 'NR==1{print $2}' /tmp/modelplane-main-headers)
served_by=$(awk -F': ' 'tolower($1)=="azureml-model-deployment"{print $2}' /tmp/modelplane-main-headers | tr -d '\r')
echo "  HTTP $status from deployment '${served_by:-?}' after $(( $(date +%s) - started )) s: $response"
[ "$status" = 200 ] || { echo "error: the scoring request failed (HTTP $status)" >&2; exit 1; }
cat <<MSG

Endpoint "$name" of stack "$STACK" is up.
  scoring URI:  $uri
  swagger URI:  ${uri%/score}/swagger.json
  get the key:  bin/modelplane keys $name --stack $STACK
  invoke:       bin/modelplane invoke $name --file examples/model-1/sample-request.json --stack $STACK
  score:        curl -X POST $uri -H "Authorization: Bearer \$KEY" -H 'Content-Type: application/json' -d @examples/model-1/sample-request.json
  tear down:    . scripts/env.sh && pulumi destroy --yes --stack $STACK
MSG
