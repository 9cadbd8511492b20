#!/bin/bash
# Sets the notebook up from its bundle; the lifecycle scripts run it as root.
#   notebook-setup.sh create   once, at creation: git for the notebook user, then the project repository's
#                              layout and examples (in the background)
#   notebook-setup.sh start    at every start: git and AWS settings for the notebook user (the home folder is
#                              reset at each start), the idle auto-stop schedule, and a check that the project
#                              repository is cloned (in the background)
# Whatever may take long runs in the background: SageMaker stops lifecycle scripts after 5 minutes.
set -euo pipefail
# shellcheck source=common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

readonly AUTOSTOP_CRON=${MLOPS_AUTOSTOP_CRON:-/etc/cron.d/mlops-autostop}
readonly SYSTEMD_DIR=${MLOPS_SYSTEMD_DIR:-/etc/systemd/system}

configure_user() {
  as_user "$MLOPS_HOME/bin/setup-git.sh"
  local region glue_role
  region=$(setting region)
  glue_role=$(setting glue_sessions.role_arn)
  as_user "$MLOPS_AWS_CLI" configure set region "$region"
  if [[ -n $glue_role ]]; then
    # The Glue interactive sessions kernel passes this role to the sessions it starts.
    as_user "$MLOPS_AWS_CLI" configure set glue_role_arn "$glue_role"
  fi
}

# The check runs every 5 minutes, as root, from root-owned files: a notebook user without root access cannot
# change what it runs. systemd is on every notebook platform; cron is the fallback.
install_autostop() {
  local minutes command
  minutes=$(setting idle_shutdown_minutes)
  if [[ -z $minutes ]]; then
    rm -f "$AUTOSTOP_CRON"
    if [[ -f $SYSTEMD_DIR/mlops-autostop.timer ]]; then
      systemctl disable --now mlops-autostop.timer
    fi
    log "idle auto-stop is off (idle_shutdown_minutes is 0 or null)"
    return
  fi
  command="$MLOPS_HOME/bin/autostop.sh $minutes $MLOPS_AWS_CLI"
  if command -v systemctl >/dev/null && [[ -d /run/systemd/system ]]; then
    cat >"$SYSTEMD_DIR/mlops-autostop.service" <<UNIT
[Unit]
Description=Stop this SageMaker notebook instance after $minutes idle minutes

[Service]
Type=oneshot
ExecStart=/bin/bash -c '$command >>$MLOPS_LOG_DIR/autostop.log 2>&1'
UNIT
    cat >"$SYSTEMD_DIR/mlops-autostop.timer" <<UNIT
[Unit]
Description=Check every 5 minutes whether this notebook instance is idle

[Timer]
OnBootSec=5min
OnUnitActiveSec=5min

[Install]
WantedBy=timers.target
UNIT
    systemctl daemon-reload
    systemctl enable --now mlops-autostop.timer
    log "idle auto-stop: systemd timer, stops after $minutes idle minutes"
  else
    echo "*/5 * * * * root $command >>$MLOPS_LOG_DIR/autostop.log 2>&1" >"$AUTOSTOP_CRON"
    chmod 0644 "$AUTOSTOP_CRON"
    log "idle auto-stop: $AUTOSTOP_CRON, stops after $minutes idle minutes"
  fi
}

main() {
  local mode=${1:-}
  mkdir -p "$MLOPS_LOG_DIR"
  case $mode in
    create)
      configure_user
      in_background project as_user "$MLOPS_HOME/bin/project.sh" scaffold
      ;;
    start)
      configure_user
      install_autostop
      in_background project as_user "$MLOPS_HOME/bin/project.sh" ensure
      if [[ $(setting glue_sessions.enabled) == true ]]; then
        in_background glue-kernels as_user "$MLOPS_HOME/bin/install-glue-kernels.sh"
      fi
      ;;
    *)
      echo "usage: $0 create|start" >&2
      return 2
      ;;
  esac
}

main "$@"
