#!/bin/sh
# Regenerates the golden memberlist wire vectors from the real Go memberlist.
#
# Needs the Debian packages golang-go (Go 1.19) and
# golang-github-hashicorp-memberlist-dev (memberlist 0.2.2 + dependencies in
# /usr/share/gocode). Builds in GOPATH mode; nothing is downloaded.
#
# Usage (from anywhere, e.g. the repo root):
#   sh core/tests/golden/capture.sh
# Set CAPTURE_DEBUG=/some/dir to also get every captured record and the
# memberlist logs in that directory.
set -eu

here="$(cd "$(dirname "$0")" && pwd)"

export GO111MODULE=off
export GOPATH=/tmp/gopath:/usr/share/gocode
export GOCACHE="${GOCACHE:-/tmp/rumour-golden-gocache}"
export GOFLAGS=
mkdir -p /tmp/gopath "$GOCACHE"

work="$(mktemp -d /tmp/rumour-golden.XXXXXX)"
trap 'rm -rf "$work"' EXIT

echo "building capture program ($(go version))"
(cd "$here/capture" && go build -o "$work/capture" .)

# The scenarios depend on timing (probes, gossip, suspicion); retry a couple
# of times if a required vector was not produced.
attempt=1
while :; do
    rm -rf "$work/vectors" "$work/vectors.json"
    if "$work/capture" -out "$work/vectors" -manifest "$work/vectors.json" \
        ${CAPTURE_DEBUG:+-debug "$CAPTURE_DEBUG"}; then
        break
    fi
    if [ "$attempt" -ge 3 ]; then
        echo "capture failed after $attempt attempts" >&2
        exit 1
    fi
    attempt=$((attempt + 1))
    echo "retrying capture (attempt $attempt)" >&2
done

mkdir -p "$here/vectors"
rm -f "$here"/vectors/*.bin
cp "$work"/vectors/*.bin "$here/vectors/"
cp "$work/vectors.json" "$here/vectors.json"
echo "wrote $(ls "$here"/vectors/*.bin | wc -l) vectors to $here/vectors and $here/vectors.json"
