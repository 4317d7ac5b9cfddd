#!/usr/bin/env bash
# Fuzzes the JSON API of `slipway serve` against its OpenAPI document (/api/v1/openapi.json)
# with schemathesis (from PyPI, in a Python venv under $state/schemathesis): a throwaway
# project with a few jobs, a finished run with JUnit results and a lease pool is served on a
# free loopback port, schemathesis generates requests for every operation of the document
# (coverage, fuzzing and stateful phases), and any 5xx answer, any status code, header or
# body the document does not describe, or a panic in the server's log fails the script. The
# POST routes need no token on loopback without --token-file; the jobs they start are harmless.
#
# Usage: scripts/api-fuzz.sh
#   SLIPWAY_API_FUZZ_CHECKS   schemathesis checks (default below; `all` for every one, which
#                             also finds a 400 answered as text/plain and `state=` taken as any)
#   SLIPWAY_API_FUZZ_EXAMPLES most test cases per operation (schemathesis's --max-examples, default 50)
#   SLIPWAY_API_FUZZ_SEED     schemathesis's seed (default: random; the run prints it)
# State lives in $SLIPWAY_SERVICES_DIR (default /tmp/slipway-services).
set -euo pipefail
cd "$(dirname "$0")/.."

state=${SLIPWAY_SERVICES_DIR:-/tmp/slipway-services}
schemathesis_version=4.32.5
checks=${SLIPWAY_API_FUZZ_CHECKS:-not_a_server_error,status_code_conformance,response_schema_conformance,response_headers_conformance}
examples=${SLIPWAY_API_FUZZ_EXAMPLES:-50}
# The whole schemathesis run, in seconds; it takes about 30 here.
fuzz_timeout=150

# as_root, apt_install
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

install_packages() {
  local missing=()
  command -v curl >/dev/null || missing+=(curl)
  command -v python3 >/dev/null || missing+=(python3)
  python3 -c 'import ensurepip, venv' 2>/dev/null || missing+=(python3-venv)
  apt_install "${missing[@]}"
}

install_schemathesis() {
  local venv=$state/schemathesis/venv
  if [ -x "$venv/bin/st" ] && "$venv/bin/python" -c "import importlib.metadata as m, sys; sys.exit(m.version('schemathesis') != '$schemathesis_version')" 2>/dev/null; then
    return
  fi
  echo "installing schemathesis==$schemathesis_version into $venv" >&2
  mkdir -p "$state/schemathesis"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check "schemathesis==$schemathesis_version"
}

install_packages
install_schemathesis
cargo build -q -p slipway --locked
slipway=$PWD/target/debug/slipway

project=$(mktemp -d /tmp/slipway-api-fuzz.XXXXXX)
server_pid=
stop_server() {
  local pid=$server_pid status=0
  server_pid=
  [ -n "$pid" ] || return 0
  kill -TERM "$pid" 2>/dev/null || return 0
  # SIGTERM aborts the running runs (each with its grace period) and then exits 0.
  for _ in $(seq 300); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$pid" 2>/dev/null; then
    echo "slipway serve did not stop within 30 s of SIGTERM; killing it" >&2
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    return 1
  fi
  wait "$pid" || status=$?
  if [ "$status" != 0 ]; then echo "slipway serve exited $status after SIGTERM" >&2; return 1; fi
}
cleanup() {
  stop_server || true
  rm -rf "$project"
}
trap cleanup EXIT

# The project: a job that finishes at once, one with JUnit results (a pass and a failure, so the
# clusters have something) over a matrix, a slow one (something running for abort), a
# scheduled one, a dashboard, and a static lease pool.
cat > "$project/slipway.yaml" <<'YAML'
jobs:
  - name: hello
    command: [echo, hello]
  - name: tests
    command: [sh, junit.sh]
    matrix:
      kubernetes: [v1.31.0, v1.32.0]
  - name: slow
    command: [sleep, "20"]
    timeout: 1m
    grace_period: 2s
  - name: nightly
    command: [sh, -c, "echo hi"]
    cron: "0 3 * * *"
results:
  dashboards:
    - name: ci
      tabs:
        - {job: hello, name: hello}
        - {job: tests-v1-31-0, name: tests}
YAML
cat > "$project/junit.sh" <<'SH'
cat > "$ARTIFACTS/junit_01.xml" <<XML
<testsuite name="suite"><testcase name="passes"/><testcase name="fails"><failure message="boom">panic: boom at main.go:12</failure></testcase></testsuite>
XML
echo "tests on $KUBERNETES_VERSION"
SH
cat > "$project/resources.yaml" <<'YAML'
resources:
  - type: gce-project
    state: free
    names: [project-01, project-02]
  - type: aws-account
    state: dirty
    names: [account-01]
YAML
# Path parameters are often a real job, run or dashboard (a job name stands for its newest run),
# so the generated requests reach more than the 404 of an unknown name.
cat > "$project/schemathesis.toml" <<'TOML'
[dictionaries.names]
values = ["hello", "tests", "tests-v1-31-0", "slow", "nightly", "ci"]

[parameters]
"path.name" = { dictionary = "names", probability = 0.5 }
"path.id" = { dictionary = "names", probability = 0.5 }
TOML
(
  cd "$project"
  "$slipway" job run hello >/dev/null
  "$slipway" job run tests >/dev/null
  "$slipway" results ingest .slipway/artifacts/logs >/dev/null
)

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
address=127.0.0.1:$port
(cd "$project" && exec "$slipway" serve --listen "$address") > "$project/serve.log" 2>&1 &
server_pid=$!
for _ in $(seq 300); do
  curl -sf "http://$address/healthz/ready" >/dev/null 2>&1 && break
  kill -0 "$server_pid" 2>/dev/null || break
  sleep 0.1
done
if ! curl -sf "http://$address/healthz/ready" >/dev/null 2>&1; then
  echo "slipway serve did not answer on $address; its log:" >&2
  cat "$project/serve.log" >&2
  exit 1
fi

seed=()
[ -z "${SLIPWAY_API_FUZZ_SEED:-}" ] || seed=(--seed "$SLIPWAY_API_FUZZ_SEED")
status=0
# From the project: schemathesis reads its schemathesis.toml there, and its cache
# (.schemathesis/) goes with it. Each failure is printed with a curl command that reproduces it.
(cd "$project" && exec timeout "$fuzz_timeout" "$state/schemathesis/venv/bin/st" run "http://$address/api/v1/openapi.json" \
  --checks "$checks" --max-examples "$examples" "${seed[@]}" \
  --request-timeout 10 --generation-database none --no-color) || status=$?
if [ "$status" = 124 ]; then echo "schemathesis did not finish within $fuzz_timeout s" >&2; fi

stop_server || status=1
if grep -q "panicked" "$project/serve.log"; then
  echo "slipway serve panicked; its log:" >&2
  cat "$project/serve.log" >&2
  status=1
fi
if [ "$status" != 0 ]; then
  echo "the API fuzz run failed (exit $status)" >&2
  exit "$status"
fi
echo "the API fuzz run found no failures" >&2
