#!/usr/bin/env bash
# Clicks through the web UI of `slipway serve` in headless Chromium (Debian's `chromium`, driven
# by playwright-core from npm, installed under $state/playwright): a throwaway project with a
# job whose test fails, a slow job to abort, a dashboard and a lease pool is served on a free
# loopback port, and scripts/browser/click-through.mjs runs now, reads the failure, opens a
# file, filters the grid, aborts a run from its page and visits every page, failing on any
# console error (a Content Security Policy violation is one). Screenshots go to
# target/tmp/screenshots/click-through.
#
# Usage: scripts/browser-e2e.sh
# State lives in $SLIPWAY_SERVICES_DIR (default /tmp/slipway-services).
set -euo pipefail
cd "$(dirname "$0")/.."

state=${SLIPWAY_SERVICES_DIR:-/tmp/slipway-services}
playwright_version=1.56.1

# as_root, apt_install
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

missing=()
command -v chromium >/dev/null || missing+=(chromium)
command -v npm >/dev/null || missing+=(nodejs npm)
command -v curl >/dev/null || missing+=(curl)
apt_install "${missing[@]}"

prefix=$state/playwright
if [ "$(node -p "require('$prefix/node_modules/playwright-core/package.json').version" 2>/dev/null)" != "$playwright_version" ]; then
  echo "installing playwright-core@$playwright_version into $prefix" >&2
  mkdir -p "$prefix"
  npm install --prefix "$prefix" --no-audit --no-fund --loglevel=error "playwright-core@$playwright_version" >/dev/null
fi

cargo build -q -p slipway --locked
slipway=$PWD/target/debug/slipway
shots=$PWD/target/tmp/screenshots/click-through
rm -rf "$shots" && mkdir -p "$shots"

project=$(mktemp -d)
server=
cleanup() {
  if [ -n "$server" ] && kill -0 "$server" 2>/dev/null; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
  rm -rf "$project"
}
trap cleanup EXIT

cat > "$project/slipway.yaml" <<'YAML'
jobs:
- name: unit
  command: [sh, -c, 'mkdir -p "$ARTIFACTS" && printf "%s" "<testsuite name=\"unit\"><testcase name=\"adds\"/><testcase name=\"divides\"><failure message=\"by zero\">divided by zero at calc.go:12</failure></testcase></testsuite>" > "$ARTIFACTS/junit_unit.xml"; echo "Error: divides failed"; exit 1']
- name: slow
  command: [sh, -c, 'for i in $(seq 60); do echo "still going $i"; sleep 1; done']
  grace_period: 2s
results:
  dashboards:
  - name: ci
    tabs:
    - job: unit
YAML
cat > "$project/resources.yaml" <<'YAML'
resources:
- type: gce-project
  names: [proj-1, proj-2]
YAML

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
(cd "$project" && exec "$slipway" serve --listen "127.0.0.1:$port") > "$project/serve.log" 2>&1 &
server=$!
for _ in $(seq 150); do curl -fs "http://127.0.0.1:$port/healthz/ready" >/dev/null 2>&1 && break; sleep 0.2; done
if ! curl -fs "http://127.0.0.1:$port/healthz/ready" >/dev/null; then
  echo "slipway serve did not start; its log:" >&2
  cat "$project/serve.log" >&2
  exit 1
fi

status=0
PLAYWRIGHT_PREFIX=$prefix timeout 240 node scripts/browser/click-through.mjs "http://127.0.0.1:$port" "$shots" || status=$?
kill -TERM "$server"
wait "$server" || { echo "slipway serve did not exit 0 on SIGTERM; its log:" >&2; cat "$project/serve.log" >&2; status=1; }
server=
if grep -q panicked "$project/serve.log"; then
  echo "slipway serve panicked; its log:" >&2
  cat "$project/serve.log" >&2
  status=1
fi
exit $status
