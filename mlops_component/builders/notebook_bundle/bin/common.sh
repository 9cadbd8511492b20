# shellcheck shell=bash
# Helpers shared by the notebook's scripts (sourced, never run). The paths default to a SageMaker notebook
# instance's and can be overridden through the environment, which is how the tests run these scripts.

MLOPS_HOME=${MLOPS_HOME:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
MLOPS_NOTEBOOK_USER=${MLOPS_NOTEBOOK_USER:-ec2-user}
MLOPS_SAGEMAKER_DIR=${MLOPS_SAGEMAKER_DIR:-/home/$MLOPS_NOTEBOOK_USER/SageMaker}
MLOPS_AWS_CLI=${MLOPS_AWS_CLI:-$(command -v aws || echo aws)}
MLOPS_PYTHON=${MLOPS_PYTHON:-$(command -v python3 || echo /usr/bin/python3)}
MLOPS_LOG_DIR=${MLOPS_LOG_DIR:-/var/log/mlops}
export MLOPS_HOME MLOPS_NOTEBOOK_USER MLOPS_SAGEMAKER_DIR MLOPS_AWS_CLI MLOPS_PYTHON MLOPS_LOG_DIR

log() {
  echo "[mlops $(basename "$0") $(date -u +%H:%M:%S)] $*"
}

# setting <dotted.key>: one value of the stack's settings (stack.json); empty when null or absent.
setting() {
  "$MLOPS_PYTHON" - "$MLOPS_HOME/stack.json" "$1" <<'PY'
import json
import sys

value = json.load(open(sys.argv[1]))
for part in sys.argv[2].split("."):
    value = value.get(part) if isinstance(value, dict) else None
if isinstance(value, bool):
    value = str(value).lower()
print("" if value is None else value)
PY
}

# as_user <command...>: run a command as the notebook user (lifecycle scripts run as root).
as_user() {
  if [[ $(id -un) == "$MLOPS_NOTEBOOK_USER" ]]; then
    "$@"
  else
    sudo -u "$MLOPS_NOTEBOOK_USER" -H env \
      "PATH=$PATH" "MLOPS_HOME=$MLOPS_HOME" "MLOPS_NOTEBOOK_USER=$MLOPS_NOTEBOOK_USER" \
      "MLOPS_SAGEMAKER_DIR=$MLOPS_SAGEMAKER_DIR" "MLOPS_AWS_CLI=$MLOPS_AWS_CLI" "MLOPS_PYTHON=$MLOPS_PYTHON" \
      "MLOPS_LOG_DIR=$MLOPS_LOG_DIR" "$@"
  fi
}

# in_background <log name> <command...>: run a command detached from the lifecycle script, which SageMaker
# stops after 5 minutes; its output goes to $MLOPS_LOG_DIR/<log name>.log.
in_background() {
  local name=$1
  shift
  mkdir -p "$MLOPS_LOG_DIR"
  # A subshell that ignores hang-ups, like nohup, but can also run the functions above.
  (
    trap '' HUP
    "$@"
  ) >>"$MLOPS_LOG_DIR/$name.log" 2>&1 </dev/null &
  disown
  log "started in the background: $name (log: $MLOPS_LOG_DIR/$name.log)"
}
