#!/bin/sh
# Runs the Go memberlist side of the loopback comparison (see
# memberlist_loopback/main.go), or with `coldstart` first the side of the
# seeds benchmark's cold start (memberlist_coldstart/main.go). Needs the
# Debian packages golang-go and golang-github-hashicorp-memberlist-dev;
# builds in GOPATH mode, offline.
# Usage: sh core/benches/go/run.sh [-nodes 100] [-steady 60] [-crashes 30]
#        sh core/benches/go/run.sh coldstart [-nodes 100] [-runs 3] [-json FILE]
set -eu
here="$(cd "$(dirname "$0")" && pwd)"
export GO111MODULE=off GOPATH=/tmp/gopath:/usr/share/gocode GOFLAGS=
export GOCACHE="${GOCACHE:-/tmp/rumour-go-gocache}"
mkdir -p /tmp/gopath "$GOCACHE"
out="$(mktemp -d /tmp/rumour-go-bench.XXXXXX)"
trap 'rm -rf "$out"' EXIT
prog=memberlist_loopback
if [ "${1:-}" = coldstart ]; then
	prog=memberlist_coldstart
	shift
fi
(cd "$here/$prog" && go build -o "$out/$prog" .)
"$out/$prog" "$@"
