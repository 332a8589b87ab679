#!/usr/bin/env bash
# Run the LocalStack runtime on this host, without Docker:  run-host.sh start|stop|status|install
#
# The `localstack` CLI needs an account and Docker; the runtime itself (python -m localstack.runtime.main) needs
# neither. It needs Python 3.13, so it gets its own venv (LOCALSTACK_VENV, default .localstack/venv), pinned by
# localstack/requirements.txt, plus our Lambda executor plugin (localstack/host_executor), which runs Python
# functions as host processes because LocalStack's own executor needs Docker.
#
# Settings (environment):
#   LOCALSTACK_PORT         gateway port on 127.0.0.1 (default 4566)
#   LOCALSTACK_HOST_DIR     run state: PID file, log, volume (default <repo>/.localstack/run-<port>)
#   LOCALSTACK_VENV         the 3.13 venv (default <repo>/.localstack/venv); shared by every run dir
#   LOCALSTACK_PYTHON       a Python 3.13 interpreter to build the venv with (default: pyenv 3.13.x, then python3.13)
#   LOCALSTACK_START_TIMEOUT  seconds to wait for health (default 90)
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(dirname "$HERE")"
PORT="${LOCALSTACK_PORT:-4566}"
RUN_DIR="${LOCALSTACK_HOST_DIR:-$ROOT/.localstack/run-$PORT}"
VENV="${LOCALSTACK_VENV:-$ROOT/.localstack/venv}"
PID_FILE="$RUN_DIR/localstack.pid"
LOG_FILE="$RUN_DIR/localstack.log"
TIMEOUT="${LOCALSTACK_START_TIMEOUT:-90}"
ENDPOINT="http://127.0.0.1:$PORT"

die() { echo "run-host.sh: $*" >&2; exit 1; }

find_python() {
  local candidate
  for candidate in "${LOCALSTACK_PYTHON:-}" "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.13.*/bin/python3 python3.13; do
    [[ -n "$candidate" ]] || continue
    candidate="$(command -v "$candidate" 2>/dev/null)" || continue
    if "$candidate" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 13))' 2>/dev/null; then
      echo "$candidate"; return 0
    fi
  done
  return 1
}

# The venv is rebuilt only when the pins change; the plugin (our own code) is reinstalled when its sources change.
stamp_of() { cat "$@" | sha256sum | cut -d' ' -f1; }

install_venv() {
  local pins plugin python
  pins="$(stamp_of "$HERE/requirements.txt")"
  plugin="$(stamp_of "$HERE"/host_executor/pyproject.toml "$HERE"/host_executor/localstack_host_executor/*.py)"
  if [[ ! -x "$VENV/bin/python" || "$(cat "$VENV/.stamp-pins" 2>/dev/null)" != "$pins" ]]; then
    python="$(find_python)" || die "LocalStack needs Python 3.13 and none was found (tried \$LOCALSTACK_PYTHON, \
${PYENV_ROOT:-$HOME/.pyenv}/versions/3.13.*/bin/python3 and python3.13 on PATH). Install one, e.g. 'pyenv install 3.13'."
    echo "run-host.sh: installing LocalStack into $VENV with $python" >&2
    rm -rf "$VENV"
    "$python" -m venv "$VENV"
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$HERE/requirements.txt" \
      2> >(grep -v '^WARNING: Location' >&2)
    # This machine sets PYTHONDONTWRITEBYTECODE=1; without compiled bytecode every start recompiles LocalStack
    # (health in ~22 s instead of ~5 s). Skip big trees the runtime never imports for our services.
    "$VENV/bin/python" -m compileall -q -j 0 "$VENV/lib" \
      -x '/(sympy|networkx|pip|setuptools|pygments|awscli|opensearchpy|twisted|graphql|pymongo|jpype|docutils|kclpy_ext|mpmath)/' \
      >/dev/null 2>&1 || true
    echo "$pins" >"$VENV/.stamp-pins"
  fi
  if [[ "$(cat "$VENV/.stamp-plugin" 2>/dev/null)" != "$plugin" ]]; then
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps --force-reinstall \
      "$HERE/host_executor" 2> >(grep -v '^WARNING: Location' >&2)
    echo "$plugin" >"$VENV/.stamp-plugin"
  fi
}

# PID of the process group leader we started, if it is still that LocalStack (guards against PID reuse).
running_pid() {
  local pid
  [[ -f "$PID_FILE" ]] || return 1
  pid="$(cat "$PID_FILE")"
  [[ "$pid" =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q 'localstack.runtime.main' || return 1
  echo "$pid"
}

health() {
  "$VENV/bin/python" - "$ENDPOINT" <<'EOF'
import json, sys, urllib.request
try:
    with urllib.request.urlopen(sys.argv[1] + "/_localstack/health", timeout=2) as response:
        body = json.load(response)
except Exception as exc:
    print(f"unhealthy: {exc}")
    sys.exit(1)
services = body.get("services", {})
bad = sorted(name for name, state in services.items() if state not in ("available", "running"))
print(f"healthy: LocalStack {body.get('version')} at {sys.argv[1]}, {len(services)} services"
      + (f", not available: {', '.join(bad)}" if bad else ""))
EOF
}

port_in_use() {
  "$VENV/bin/python" -c 'import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
try:
    s.bind(("127.0.0.1", int(sys.argv[1])))
except OSError:
    sys.exit(0)
sys.exit(1)' "$PORT"
}

start() {
  local pid deadline
  install_venv
  mkdir -p "$RUN_DIR/volume"
  if pid="$(running_pid)"; then
    if health >/dev/null; then
      echo "run-host.sh: already running (pid $pid) at $ENDPOINT"; return 0
    fi
  else
    rm -f "$PID_FILE"
    port_in_use && die "127.0.0.1:$PORT is already in use by another process; set LOCALSTACK_PORT"
    # setsid makes the runtime a process-group leader, so stop can end it and its Lambda processes together.
    # The inner shell writes its own PID (= the group id) before exec'ing the runtime.
    (
      cd "$RUN_DIR"
      exec env \
        GATEWAY_LISTEN="127.0.0.1:$PORT" \
        GATEWAY_SERVER=hypercorn \
        DNS_ADDRESS=0 \
        DISABLE_EVENTS=1 \
        SKIP_SSL_CERT_DOWNLOAD=1 \
        LOCALSTACK_VOLUME_DIR="$RUN_DIR/volume" \
        LAMBDA_RUNTIME_EXECUTOR=host \
        EAGER_SERVICE_LOADING=0 \
        setsid bash -c 'echo $$ >"$0"; exec "$1" -m localstack.runtime.main' "$PID_FILE" "$VENV/bin/python" \
        </dev/null >"$LOG_FILE" 2>&1
    ) &
    for _ in $(seq 50); do [[ -s "$PID_FILE" ]] && break; sleep 0.1; done
    pid="$(cat "$PID_FILE" 2>/dev/null)" || die "LocalStack did not start; log: $LOG_FILE"
  fi
  deadline=$((SECONDS + TIMEOUT))
  until health >/dev/null; do
    if ! kill -0 "$pid" 2>/dev/null; then
      rm -f "$PID_FILE"
      tail -n 40 "$LOG_FILE" >&2
      die "LocalStack exited during startup; log: $LOG_FILE"
    fi
    ((SECONDS < deadline)) || { stop; die "LocalStack was not healthy after ${TIMEOUT}s; log: $LOG_FILE"; }
    sleep 0.5
  done
  echo "run-host.sh: started (pid $pid) at $ENDPOINT; log: $LOG_FILE"
}

stop() {
  local pid
  if ! pid="$(running_pid)"; then
    rm -f "$PID_FILE"; echo "run-host.sh: not running ($ENDPOINT)"; return 0
  fi
  # Only the process group this script recorded: LocalStack and the Lambda processes it spawned.
  kill -TERM -- "-$pid" 2>/dev/null || true
  for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
  if kill -0 "$pid" 2>/dev/null; then kill -KILL -- "-$pid" 2>/dev/null || true; fi
  rm -f "$PID_FILE"
  echo "run-host.sh: stopped (pid $pid)"
}

status() {
  local pid
  if pid="$(running_pid)"; then
    echo "run-host.sh: running (pid $pid); $(health || true)"
    health >/dev/null
  else
    echo "run-host.sh: not running ($ENDPOINT)"; return 3
  fi
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  install) install_venv; echo "run-host.sh: venv ready at $VENV" ;;
  *) echo "usage: $0 start|stop|status|install" >&2; exit 2 ;;
esac
