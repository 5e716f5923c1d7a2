# Sourced: start_emulator runs moto's server (DynamoDB, Secrets Manager, SES,
# IAM as the AWS SDK sees them; one request at a time, see moto_serial.py)
# on a free loopback port, in its own process group, and exports
# MOTO_ENDPOINT plus the AWS settings that point the SDK at it;
# stop_emulator ends it. Requires scripts/tools.sh first.

start_emulator() {
  local port
  port=$(free_port)
  setsid python3 "$repo_root/scripts/moto_serial.py" 127.0.0.1 "$port" >"${EMULATOR_LOG:-/dev/null}" 2>&1 &
  emulator_pid=$!
  for _ in $(seq 1 100); do
    if python3 -c "import socket; socket.create_connection(('127.0.0.1', $port), 1)" 2>/dev/null; then
      break
    fi
    sleep 0.2
  done
  export MOTO_ENDPOINT="http://127.0.0.1:$port"
  export AWS_ENDPOINT_URL="$MOTO_ENDPOINT" AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1
  export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing
}

stop_emulator() {
  if [ -n "${emulator_pid:-}" ]; then kill -- "-$emulator_pid" 2>/dev/null || true; fi
}
