#!/bin/bash
# The project repository in ~/SageMaker/<repository>; runs as the notebook user.
#   project.sh scaffold   clone the repository if it is missing, add the cookiecutter-data-science layout and the
#                         example notebooks where they are missing, and commit them once. A repository that
#                         was empty is then pushed, which creates its first branch; in a repository with
#                         history the commit stays local, for you to review and push.
#   project.sh ensure     clone the repository if it is missing (or was deleted), and push the first commit if
#                         the remote is still empty (the network was down at creation, say). Your own branches
#                         are never pushed for you.
# SageMaker usually clones the notebook's default repository itself; cloning here covers the times it did not.
set -euo pipefail
# shellcheck source=common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

readonly LAYOUT_DIRS=(data/raw data/interim data/processed data/external models notebooks references reports/figures docs)
readonly TEMPLATE=$MLOPS_HOME/project
readonly NETWORK_TIMEOUT=${MLOPS_GIT_TIMEOUT:-300}

mode=${1:-}
if [[ $mode != scaffold && $mode != ensure ]]; then
  echo "usage: $0 scaffold|ensure" >&2
  exit 2
fi
repo_dir="$MLOPS_SAGEMAKER_DIR/$(setting repository.directory)"
clone_url=$(setting repository.clone_url)
branch=$(setting repository.branch)

# One run at a time: on a new notebook, the create and start scripts both start this in the background.
mkdir -p "$MLOPS_SAGEMAKER_DIR"
exec 9>"$MLOPS_SAGEMAKER_DIR/.mlops-project.lock"
flock -w 900 9

clone() {
  if [[ -d $repo_dir/.git ]]; then
    return
  fi
  if [[ -e $repo_dir && -n $(ls -A "$repo_dir") ]]; then
    log "$repo_dir exists but is not a git repository; leaving it alone" >&2
    exit 1
  fi
  log "cloning $clone_url into $repo_dir"
  timeout "$NETWORK_TIMEOUT" git clone ${branch:+--branch "$branch"} "$clone_url" "$repo_dir"
}

has_commits() {
  git -C "$repo_dir" rev-parse --verify --quiet HEAD >/dev/null
}

# True when the remote has no branch at all: the first push never happened.
remote_empty() {
  [[ -z $(timeout "$NETWORK_TIMEOUT" git -C "$repo_dir" ls-remote --heads origin) ]]
}

push() {
  local current
  current=$(git -C "$repo_dir" symbolic-ref --short HEAD)
  log "pushing $current to $clone_url"
  timeout "$NETWORK_TIMEOUT" git -C "$repo_dir" push --set-upstream origin "$current"
}

# Copies what is missing from the template and creates the empty layout folders; prints each path it added.
add_missing_files() {
  local relative target dir
  while IFS= read -r -d '' relative; do
    relative=${relative#./}
    target=$relative
    if [[ $relative == gitignore ]]; then
      # Kept without its dot in the template, so that it does not apply to this library's own repository.
      target=.gitignore
    fi
    if [[ ! -e $repo_dir/$target ]]; then
      mkdir -p "$(dirname "$repo_dir/$target")"
      cp "$TEMPLATE/$relative" "$repo_dir/$target"
      echo "$target"
    fi
  done < <(cd "$TEMPLATE" && find . -type f -print0 | sort -z)
  for dir in "${LAYOUT_DIRS[@]}"; do
    if [[ ! -d $repo_dir/$dir ]] || [[ -z $(ls -A "$repo_dir/$dir") ]]; then
      mkdir -p "$repo_dir/$dir"
      touch "$repo_dir/$dir/.gitkeep"
      echo "$dir/.gitkeep"
    fi
  done
}

scaffold() {
  local was_empty=true added=()
  if has_commits; then
    was_empty=false
  fi
  mapfile -t added < <(add_missing_files)
  if ((${#added[@]} == 0)); then
    log "the project layout is complete; nothing to add"
    return
  fi
  git -C "$repo_dir" add -- "${added[@]}"
  git -C "$repo_dir" commit --quiet -m "Project layout and example notebooks from the MLOps dev environment"
  log "committed ${#added[@]} file(s): ${added[*]}"
  if $was_empty; then
    push
  else
    log "the repository already had history, so the commit stays local: review it, then git push"
  fi
}

clone
case $mode in
  scaffold) scaffold ;;
  ensure)
    if has_commits && remote_empty; then
      push
    fi
    ;;
esac
log "done: $repo_dir"
