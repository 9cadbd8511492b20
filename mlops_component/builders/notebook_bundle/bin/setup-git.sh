#!/bin/bash
# Configures git for the notebook user so that `git push` works from the notebook's terminal: an identity for
# commits, and a credential helper for the project repository's host only.
#   CodeCommit: AWS CLI's credential helper, which signs requests with the notebook's role.
#   Another host: bin/git-credential-secret.sh, which reads the username and token from the one Secrets
#   Manager secret the stack names (the same secret SageMaker clones the repository with).
# The home folder is reset at each start, so this runs at every start. An identity set in the repository's own
# config (`git config user.name ...` inside the repository) is kept on the persistent volume and wins.
set -euo pipefail
# shellcheck source=common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

kind=$(setting repository.kind)
clone_url=$(setting repository.clone_url)
region=$(setting region)
notebook=$(setting notebook_name)
# Credentials are scoped to the repository's scheme and host, e.g. https://github.com.
host_url=$(sed -E 's#^(https://[^/]+).*#\1#' <<<"$clone_url")

git config --global user.name "$notebook notebook"
git config --global user.email "$notebook@notebook.sagemaker.invalid"
git config --global init.defaultBranch main
git config --global push.autoSetupRemote true

case $kind in
  codecommit)
    git config --global "credential.$host_url.helper" "!'$MLOPS_AWS_CLI' codecommit credential-helper \$@"
    git config --global "credential.$host_url.UseHttpPath" true
    ;;
  external)
    git config --global "credential.$host_url.helper" \
      "!'$MLOPS_HOME/bin/git-credential-secret.sh' '$(setting repository.secret_arn)' '$region'"
    ;;
  *)
    log "unknown repository kind '$kind' in stack.json" >&2
    exit 1
    ;;
esac
log "git: pushes to $host_url authenticate through the $kind credential helper"
