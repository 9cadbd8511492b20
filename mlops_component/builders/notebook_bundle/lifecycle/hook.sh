#!/bin/bash
# The notebook's lifecycle scripts: SageMaker runs the on-create one when the instance is created and the on-start
# one every time it starts (creation included), as root, and stops either after 5 minutes. Both are this file,
# with MLOPS_HOOK set to create or start (mlops_component/devenv/bundle.py writes that line).
# It fetches this stack's notebook bundle (scripts, example project, stack settings) from the S3 location the
# notebook's `mlops:devenv-bundle` tag names, into /opt/mlops, then hands over to bin/notebook-setup.sh.
# The bundle is fetched once per boot (on a new notebook, on-create fetches it and on-start reuses it), so a
# `pulumi up` that changed it reaches the notebook at its next start.
set -euo pipefail

# Overridable only so that the tests can run this script outside a notebook instance.
readonly MLOPS_HOME=${MLOPS_HOME:-/opt/mlops}
readonly METADATA=${MLOPS_RESOURCE_METADATA:-/opt/ml/metadata/resource-metadata.json}
readonly BUNDLE_TAG=mlops:devenv-bundle

boot_id=$(cat /proc/sys/kernel/random/boot_id 2>/dev/null || echo unknown)
if [[ ! -x $MLOPS_HOME/bin/notebook-setup.sh || $(cat "$MLOPS_HOME/.boot-id" 2>/dev/null) != "$boot_id" ]]; then
  notebook_arn=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["ResourceArn"])' "$METADATA")
  region=$(cut -d: -f4 <<<"$notebook_arn")
  bundle=$(aws sagemaker list-tags --region "$region" --resource-arn "$notebook_arn" \
    --query "Tags[?Key=='$BUNDLE_TAG'].Value | [0]" --output text)
  if [[ $bundle != s3://* ]]; then
    echo "the notebook's $BUNDLE_TAG tag does not name its bundle (got '$bundle')" >&2
    exit 1
  fi
  # Download next to the final place, then move: a failed download leaves no half bundle behind.
  rm -rf "$MLOPS_HOME.partial"
  aws s3 cp --recursive --only-show-errors --region "$region" "$bundle" "$MLOPS_HOME.partial"
  chmod -R u=rwX,go=rX "$MLOPS_HOME.partial"
  chmod 0755 "$MLOPS_HOME.partial"/bin/*.sh
  echo "$boot_id" >"$MLOPS_HOME.partial/.boot-id"
  rm -rf "$MLOPS_HOME"
  mv "$MLOPS_HOME.partial" "$MLOPS_HOME"
fi

exec "$MLOPS_HOME/bin/notebook-setup.sh" "${MLOPS_HOOK:?the lifecycle script sets it}"
