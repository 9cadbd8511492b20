#!/bin/bash
# A git credential helper (git runs it as `<this> <secret ARN> <region> get`) that answers with the username
# and password of one Secrets Manager secret, in the format SageMaker code repositories use:
#   {"username": "...", "password": "<personal access token>"}
# git asks again for every operation; nothing is stored on disk.
set -euo pipefail

secret_arn=${1:?usage: git-credential-secret.sh <secret ARN> <region> get}
region=${2:?usage: git-credential-secret.sh <secret ARN> <region> get}
operation=${3:-}
aws_cli=${MLOPS_AWS_CLI:-aws}
python=${MLOPS_PYTHON:-python3}

# git writes the request's attributes to stdin for every operation. The helper is configured for one host, so
# they are read and dropped. `store` and `erase` do nothing: the secret is managed in Secrets Manager.
cat >/dev/null
if [[ $operation != get ]]; then
  exit 0
fi

"$aws_cli" secretsmanager get-secret-value --region "$region" --secret-id "$secret_arn" \
  --query SecretString --output text | "$python" -c '
import json
import sys

try:
    secret = json.load(sys.stdin)
    username, password = secret["username"], secret["password"]
except (ValueError, KeyError, TypeError):
    sys.exit("git-credential-secret: the secret must hold JSON {\"username\": ..., \"password\": ...}")
print("username=" + str(username).strip())
print("password=" + str(password).strip())
'
