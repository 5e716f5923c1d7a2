# Sourced (after scripts/tools.sh): the functions under `cargo lambda watch`
# for a test run. start_functions LOG ARGS... serves them on a free loopback
# port in their own process group, with AUTH_MODE=local and
# --ignore-changes (nothing the run writes may restart them), ARGS passed
# on; it sets functions_port and functions_pid and returns once
# /api/health answers. Their DNS is the tests' zones (tests/fixtures/zones,
# served by the `zones` binary on another free loopback port): a run's
# domain checks never wait on the machine's resolver, and example.com is
# ready. stop_functions ends them and the zones.

# What a local run trusts: the caller from X-User-Id, and the groups from
# X-User-Groups, of which ADMIN_GROUPS (email-admins unless set) are
# administrators.
# SES_EVENT_TIME=arrival: the SES events of events/ count when invoked, so
# `cargo lambda invoke events --data-file events/ses-send.json` counts today.
local_mode=(--env-var AUTH_MODE=local --env-var "ADMIN_GROUPS=${ADMIN_GROUPS-email-admins}"
  --env-var SES_EVENT_TIME=arrival)

# wait_until PID LOG CHECK...: until the command CHECK succeeds, or else
# (PID gone, or 10 minutes: a first start may compile the workspace) print
# LOG and fail.
wait_until() {
  local pid=$1 log=$2
  shift 2
  for _ in $(seq 1 1200); do
    if "$@" 2>/dev/null; then return 0; fi
    if ! kill -0 "$pid" 2>/dev/null; then break; fi
    sleep 0.5
  done
  "$@" 2>/dev/null && return 0
  cat "$log"
  return 1
}

# wait_for_url URL PID LOG: until URL answers (wait_until).
wait_for_url() { wait_until "$2" "$3" curl -fs -o /dev/null "$1"; }

# start_zones LOG: the tests' zones on a free loopback port (zones_port,
# zones_pid), once the server says it listens.
start_zones() {
  zones_port=$(free_port)
  setsid cargo run --quiet -p integration-tests --bin zones -- "127.0.0.1:$zones_port" >"$1" 2>&1 &
  zones_pid=$!
  wait_until "$zones_pid" "$1" grep -q "^serving" "$1"
}

start_functions() {
  local log=$1
  shift
  start_zones "$log.zones"
  functions_port=$(free_port)
  setsid cargo lambda watch --ignore-changes --quiet -A 127.0.0.1 --disable-cors -P "$functions_port" \
    "${local_mode[@]}" --env-var "DNS_RESOLVER=127.0.0.1:$zones_port" "$@" >"$log" 2>&1 &
  functions_pid=$!
  wait_for_url "http://127.0.0.1:$functions_port/api/health" "$functions_pid" "$log"
}

stop_functions() {
  if [ -n "${functions_pid:-}" ]; then kill -- "-$functions_pid" 2>/dev/null || true; fi
  if [ -n "${zones_pid:-}" ]; then kill -- "-$zones_pid" 2>/dev/null || true; fi
}

# store_backend STORE WORK: sets `backend` to the watch arguments of STORE
# (sqlite: a throw-away file in WORK; dynamodb: a fresh table and its
# password key on the moto_server MOTO_ENDPOINT names, else one it starts, with
# lifecycle events to WORK/events.jsonl). Needs scripts/emulator.sh.
store_backend() {
  case "$1" in
    sqlite)
      backend=(--env-var "DATABASE_PATH=$2/store.sqlite3")
      ;;
    dynamodb)
      if [ -n "${MOTO_ENDPOINT:-}" ]; then
        export AWS_ENDPOINT_URL="$MOTO_ENDPOINT" AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1
        export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing
      else
        start_emulator
      fi
      local table
      table="run-$(date +%s%N)"
      python3 "$repo_root/scripts/emulator-setup.py" "$table" >/dev/null
      backend=(--env-var STORE=dynamodb --env-var "TABLE_NAME=$table"
        --env-var "PASSWORD_KEY_ID=alias/$table-passwords"
        --env-var PROVIDER_SECRET_ID=email-provisioning/providers
        --env-var "EVENTS_FILE=$2/events.jsonl")
      ;;
    *) echo "unknown store $1: sqlite or dynamodb" >&2; return 2 ;;
  esac
}
