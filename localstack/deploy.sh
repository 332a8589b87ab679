#!/usr/bin/env bash
# Bootstrap and deploy the CDK app to LocalStack, or destroy it:  deploy.sh [deploy|destroy|bootstrap]
#
# Works against either LocalStack: the Docker one (localstack/docker-compose.yml) or the host one
# (localstack/run-host.sh). Uses the repo's pinned CDK CLI (package.json -> node_modules/.bin/cdk).
#
# Settings (environment):
#   LOCALSTACK_PORT       gateway port on 127.0.0.1 (default 4566); or LOCALSTACK_ENDPOINT for a full URL
#   AWS_REGION            region to deploy to (default us-east-1); the account is LocalStack's 000000000000
#   CDK_APP_DIR           directory holding cdk.json (default: the repo root)
#   CDK_APP               command that synthesizes the app, overriding cdk.json's "app" (e.g. another venv's python)
#   CDK_OUTDIR            cloud assembly directory (default: <CDK_APP_DIR>/cdk.out); the test suite uses a tmp dir
#   CDK_OUTPUTS_FILE      where deploy writes the stack outputs as JSON (default: <CDK_OUTDIR>/outputs.json)
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(dirname "$HERE")"
APP_DIR="${CDK_APP_DIR:-$ROOT}"
OUTDIR="${CDK_OUTDIR:-$APP_DIR/cdk.out}"
ENDPOINT="${LOCALSTACK_ENDPOINT:-http://127.0.0.1:${LOCALSTACK_PORT:-4566}}"
ACCOUNT=000000000000

die() { echo "deploy.sh: $*" >&2; exit 1; }

# LocalStack accepts any credentials; fixed test ones keep a real profile or SSO session from ever being used.
export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test
unset AWS_SESSION_TOKEN AWS_PROFILE
export AWS_REGION="${AWS_REGION:-us-east-1}" AWS_DEFAULT_REGION="${AWS_REGION:-us-east-1}"
export AWS_ENDPOINT_URL="$ENDPOINT" AWS_ENDPOINT_URL_S3="$ENDPOINT"
export CDK_DEFAULT_ACCOUNT="$ACCOUNT" CDK_DEFAULT_REGION="$AWS_REGION"
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION=20 CDK_DISABLE_VERSION_CHECK=1

[[ -f "$APP_DIR/cdk.json" ]] || die "no cdk.json in $APP_DIR (set CDK_APP_DIR)"
cd "$APP_DIR"

# The pinned CLI only: npm's `latest` aws-cdk (3.x) cannot read this aws-cdk-lib's cloud assembly.
if [[ ! -x node_modules/.bin/cdk ]]; then
  [[ -f package.json ]] || die "no package.json pinning aws-cdk in $APP_DIR"
  if [[ -f package-lock.json ]]; then npm ci --no-audit --no-fund --loglevel=error; else npm install --no-audit --no-fund --loglevel=error; fi
fi
app_args=()
[[ -n "${CDK_APP:-}" ]] && app_args=(--app "$CDK_APP")
cdk() { npx --no-install cdk "$@"; }

curl_health() {
  python3 -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1] + "/_localstack/health", timeout=3)' "$ENDPOINT" \
    2>/dev/null || die "LocalStack is not answering at $ENDPOINT (start it: make localstack-start)"
}

bootstrap() {
  curl_health
  # An explicit environment, so bootstrap does not need to synthesize the app to find one.
  cdk bootstrap "aws://$ACCOUNT/$AWS_REGION" --output "$OUTDIR" --app "" >&2
}

case "${1:-deploy}" in
  bootstrap)
    bootstrap
    ;;
  deploy)
    bootstrap
    # LocalStack's free tier refuses functions with AWS's public layers ("Fetching shared layers from AWS is a pro
    # feature"): the API function deploys without the AWS SDK for pandas layer here (infra/pandas_layer.py).
    cdk deploy --all --require-approval never --progress events --output "$OUTDIR" "${app_args[@]}" \
      -c aws_sdk_pandas_layer=none \
      --outputs-file "${CDK_OUTPUTS_FILE:-$OUTDIR/outputs.json}" >&2
    echo "deploy.sh: deployed to $ENDPOINT ($AWS_REGION); outputs in ${CDK_OUTPUTS_FILE:-$OUTDIR/outputs.json}"
    ;;
  destroy)
    curl_health
    # Reuse an assembly synthesized by deploy (faster, and destroys exactly what was deployed).
    if [[ -f "$OUTDIR/manifest.json" ]]; then app_args=(--app "$OUTDIR"); fi
    cdk destroy --all --force --output "$OUTDIR" "${app_args[@]}" >&2
    echo "deploy.sh: destroyed the stacks at $ENDPOINT ($AWS_REGION)"
    ;;
  *)
    echo "usage: $0 [deploy|destroy|bootstrap]" >&2; exit 2
    ;;
esac
