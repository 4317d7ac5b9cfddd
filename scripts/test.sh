#!/usr/bin/env bash
# The whole test suite, from a fresh machine: installs and starts the services the tests use
# (scripts/test-services.sh), then checks formatting and lints, runs every test, fuzzes the
# API of `slipway serve` (scripts/api-fuzz.sh) and clicks through its web UI in headless
# Chromium (scripts/browser-e2e.sh).
# `.ci/run` runs exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/test-services.sh start

# Snapshots are compared, never rewritten, here.
export CI=true INSTA_UPDATE=no

cargo fmt --all --check
cargo clippy --workspace --all-targets --locked -- -D warnings
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --locked --profile ci
  cargo test --workspace --locked --doc
else
  echo "cargo-nextest is not installed; running cargo test" >&2
  cargo test --workspace --locked
fi
scripts/api-fuzz.sh
scripts/browser-e2e.sh
