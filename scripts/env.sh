# Sourced by every modelplane script: where the toolchain lives and how Pulumi is kept offline
# and non-interactive. Safe to source twice.
MODELPLANE_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# Values derived from another checkout's env.sh (sourced earlier in this shell) do not apply here.
if [ -n "${MODELPLANE_ENV_FOR:-}" ] && [ "$MODELPLANE_ENV_FOR" != "$MODELPLANE_ROOT" ]; then
  unset MODELPLANE_STATE PULUMI_BACKEND_URL PULUMI_CONFIG_PASSPHRASE_FILE
fi
export MODELPLANE_ENV_FOR=$MODELPLANE_ROOT
# shellcheck source=toolchain/versions.env
. "$MODELPLANE_ROOT/scripts/toolchain/versions.env"
export PULUMI_VERSION PULUMI_LANGHOST_SDK_VERSION
export MODELPLANE_ROOT
export MODELPLANE_CACHE=${MODELPLANE_CACHE:-$HOME/.cache/modelplane}
export MODELPLANE_STATE=${MODELPLANE_STATE:-$MODELPLANE_ROOT/.state}
export MODELPLANE_PULUMI_BIN=$MODELPLANE_CACHE/toolchain/pulumi-$PULUMI_VERSION/bin
export MODELPLANE_BASE_IMAGE=${MODELPLANE_BASE_IMAGE:-modelplane/base:bookworm}
case ":$PATH:" in *":$MODELPLANE_PULUMI_BIN:"*) ;; *) export PATH="$MODELPLANE_PULUMI_BIN:$MODELPLANE_ROOT/bin:$PATH" ;; esac
export PULUMI_HOME=${PULUMI_HOME:-$MODELPLANE_CACHE/pulumi-home}
export PULUMI_BACKEND_URL=${PULUMI_BACKEND_URL:-file://$MODELPLANE_STATE/backend}
if [ -z "${PULUMI_CONFIG_PASSPHRASE:-}" ]; then export PULUMI_CONFIG_PASSPHRASE_FILE=${PULUMI_CONFIG_PASSPHRASE_FILE:-$MODELPLANE_STATE/passphrase}; fi
export PULUMI_SKIP_UPDATE_CHECK=true PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true
export PULUMI_AUTOMATION_API_SKIP_VERSION_CHECK=true PULUMI_SKIP_CONFIRMATIONS=true
