#!/bin/sh
# Builds the manager for one platform: `hack/build.sh OS ARCH`. slipway runs it once per
# platform (see `images:` in slipway.yaml); the output goes to out/ARCH/manager.
# A Go project would run: CGO_ENABLED=0 GOOS=$1 GOARCH=$2 go build -o "out/$2/manager" ./cmd/manager
set -eu
os=$1 arch=$2
case "$arch" in
  amd64) cc=gcc ;;
  arm64) cc=aarch64-linux-gnu-gcc ;;
  *) echo "no C compiler configured for $os/$arch" >&2; exit 1 ;;
esac
mkdir -p "out/$arch"
"$cc" -static -O2 -o "out/$arch/manager" cmd/manager/main.c
