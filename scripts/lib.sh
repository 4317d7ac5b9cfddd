# Shell helpers the test scripts share; source it, do not run it.

# Runs a command as root: directly when root, else through sudo.
as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    echo "need root (or sudo) to run: $*" >&2; exit 1; fi
}

# Installs the Debian packages named (none: nothing to do), with the certificates HTTPS needs.
apt_install() {
  [ $# -gt 0 ] || return 0
  echo "installing $*" >&2
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@" ca-certificates >/dev/null
}
