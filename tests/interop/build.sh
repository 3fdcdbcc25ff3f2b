#!/bin/sh
# Builds the Go interop peer into $1 (default target/interop/peer), from
# Debian's packages in GOPATH mode, offline. Installs golang-go and
# golang-github-hashicorp-memberlist-dev first when they are missing and
# this runs as root (as CI does); otherwise exits 3 with the reason.
set -eu
here="$(cd "$(dirname "$0")" && pwd)"
out="${1:-$here/../../target/interop/peer}"
src=/usr/share/gocode/src/github.com/hashicorp/memberlist
if ! command -v go >/dev/null 2>&1 || [ ! -d "$src" ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "installing golang-go and golang-github-hashicorp-memberlist-dev" >&2
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q golang-go golang-github-hashicorp-memberlist-dev >&2 \
            || { apt-get update -q >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q golang-go golang-github-hashicorp-memberlist-dev >&2; }
    else
        echo "Go or Debian's memberlist package is missing and this is not root: cannot install them" >&2
        exit 3
    fi
fi
export GO111MODULE=off GOPATH=/tmp/gopath:/usr/share/gocode GOFLAGS=
export GOCACHE="${GOCACHE:-/tmp/rumour-interop-gocache}"
mkdir -p /tmp/gopath "$GOCACHE" "$(dirname "$out")"
cd "$here/peer" && go build -o "$out" .
