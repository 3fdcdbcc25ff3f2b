#!/bin/sh
# Runs the Go memberlist side of the loopback comparison (see
# memberlist_loopback/main.go). Needs the Debian packages golang-go and
# golang-github-hashicorp-memberlist-dev; builds in GOPATH mode, offline.
# Usage: sh core/benches/go/run.sh [-nodes 100] [-steady 60] [-crashes 30]
set -eu
here="$(cd "$(dirname "$0")" && pwd)"
export GO111MODULE=off GOPATH=/tmp/gopath:/usr/share/gocode GOFLAGS=
export GOCACHE="${GOCACHE:-/tmp/rumour-go-gocache}"
mkdir -p /tmp/gopath "$GOCACHE"
out="$(mktemp -d /tmp/rumour-go-bench.XXXXXX)"
trap 'rm -rf "$out"' EXIT
(cd "$here/memberlist_loopback" && go build -o "$out/memberlist_loopback" .)
"$out/memberlist_loopback" "$@"
