#!/usr/bin/env bash
# Idempotently install a pinned Garage (an S3-compatible object store) for the tests that need a
# real S3 server (`tests/support/garage.rs`). Garage is built from crates.io with
# `cargo install --locked` into a cache directory outside the repository, so later runs (and
# `cargo clean`) do not rebuild it: the first build takes about ten minutes on two cores, with a
# progress line every minute (scripts/heartbeat.sh).
#
# Prints the binary's path on stdout; `scripts/test.sh` exports it as LEGENDARY_GARAGE_BIN.
# Override the cache with LEGENDARY_GARAGE_CACHE.
set -euo pipefail

GARAGE_VERSION="2.5.0"
cache="${LEGENDARY_GARAGE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/legendary-garage}"
root="$cache/$GARAGE_VERSION"
bin="$root/bin/garage"

if [ -x "$bin" ] && "$bin" --version 2>/dev/null | grep -qF "$GARAGE_VERSION"; then
    echo "$bin"
    exit 0
fi

mkdir -p "$root"
start=$(date +%s)
echo "==> building garage $GARAGE_VERSION with cargo install into $root (once)" >&2
# cargo's own output goes to a log; a heartbeat line every 60 s says how far it got.
HEARTBEAT_SECONDS=60 "$(dirname "$0")/heartbeat.sh" "cargo install garage" -- \
    cargo install --locked --root "$root" garage --version "=$GARAGE_VERSION"
echo "garage $GARAGE_VERSION built in $(($(date +%s) - start)) s" >&2
"$bin" --version >&2
echo "$bin"
