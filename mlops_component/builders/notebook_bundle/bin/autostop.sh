#!/bin/bash
# Stops this notebook instance when Jupyter has been idle for N minutes; systemd (or cron) runs it as root
# every 5 minutes:   autostop.sh <idle minutes> [aws CLI]
# lib/idle.py decides (exit 0 idle, 1 in use, 2 cannot tell); only a clear "idle" on an InService notebook
# stops it. Stopping keeps everything under ~/SageMaker; start the notebook again from the console or with
# `aws sagemaker start-notebook-instance`.
set -euo pipefail

idle_minutes=${1:?usage: autostop.sh <idle minutes> [aws CLI]}
aws_cli=${2:-${MLOPS_AWS_CLI:-aws}}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
metadata=${MLOPS_RESOURCE_METADATA:-/opt/ml/metadata/resource-metadata.json}
# The system Python, which the notebook's users cannot change (idle.py needs only the standard library).
python=${MLOPS_PYTHON:-/usr/bin/python3}

log() {
  echo "[mlops autostop $(date -u +%FT%TZ)] $*"
}

notebook_arn=$("$python" -c 'import json, sys; print(json.load(open(sys.argv[1]))["ResourceArn"])' "$metadata")
notebook=${notebook_arn##*/}
region=$(cut -d: -f4 <<<"$notebook_arn")

verdict=0
reason=$("$python" "$here/../lib/idle.py" --idle-minutes "$idle_minutes" ${MLOPS_JUPYTER_URL:+--url "$MLOPS_JUPYTER_URL"}) ||
  verdict=$?
log "$reason"
case $verdict in
  0) ;;
  1) exit 0 ;;
  *)
    log "not stopping: the idle check could not decide (exit $verdict)"
    exit 1
    ;;
esac

status=$("$aws_cli" sagemaker describe-notebook-instance --region "$region" --notebook-instance-name "$notebook" \
  --query NotebookInstanceStatus --output text)
if [[ $status != InService ]]; then
  log "not stopping: $notebook is $status"
  exit 0
fi
log "stopping $notebook after $idle_minutes idle minutes"
"$aws_cli" sagemaker stop-notebook-instance --region "$region" --notebook-instance-name "$notebook"
