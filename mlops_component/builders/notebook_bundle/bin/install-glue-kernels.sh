#!/bin/bash
# Installs the Glue interactive sessions kernels ("Glue PySpark" and "Glue Spark") for the notebook user, in
# the background (pip may take minutes). The kernels run from a virtual environment on the persistent volume,
# so only the first start installs packages; every start re-registers the kernel specs, because the home
# folder where Jupyter looks for them is reset.
# Sessions bill per DPU-hour while they run: the example notebook sets %idle_timeout, and `%stop_session`
# ends one at once.
set -euo pipefail
# shellcheck source=common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

readonly VENV=$MLOPS_SAGEMAKER_DIR/.mlops/glue-sessions
readonly KERNELS_DIR=${MLOPS_KERNELS_DIR:-$HOME/.local/share/jupyter/kernels}
readonly PACKAGE=${MLOPS_GLUE_SESSIONS_PACKAGE:-aws-glue-sessions}
# The notebook's Anaconda Python: the system one is too old for aws-glue-sessions on Amazon Linux 2.
python=${MLOPS_GLUE_PYTHON:-$HOME/anaconda3/bin/python3}
if [[ ! -x $python ]]; then
  python=$MLOPS_PYTHON
fi

if [[ ! -x $VENV/bin/python ]] || ! "$VENV/bin/python" -c 'import aws_glue_interactive_sessions_kernel' 2>/dev/null; then
  log "installing $PACKAGE into $VENV"
  rm -rf "$VENV"
  "$python" -m venv "$VENV"
  "$VENV/bin/python" -m pip install --quiet "$PACKAGE"
fi

package_dir=$("$VENV/bin/python" -c 'import os, aws_glue_interactive_sessions_kernel as k; print(os.path.dirname(k.__file__))')
for kernel in glue_pyspark glue_spark; do
  mkdir -p "$KERNELS_DIR/$kernel"
  cp -R "$package_dir/$kernel/." "$KERNELS_DIR/$kernel/"
  # The kernel must start with the environment's Python, whatever interpreter the spec names.
  "$VENV/bin/python" - "$KERNELS_DIR/$kernel/kernel.json" "$VENV/bin/python" <<'PY'
import json
import sys

path, python = sys.argv[1], sys.argv[2]
with open(path) as handle:
    spec = json.load(handle)
spec["argv"][0] = python
with open(path, "w") as handle:
    json.dump(spec, handle, indent=1)
PY
done
log "Glue interactive sessions kernels registered in $KERNELS_DIR"
