#!/usr/bin/env bash
# Idempotently install Prometheus's two binaries: promtool (the rule checker and rule unit-test
# runner of scripts/check-drift-rules.sh) and the server itself (the retraining loop's
# end-to-end test reads the fleet's drift alerts from a real Prometheus). They come from
# Debian's `prometheus` package, fetched with `apt-get download` and unpacked with `dpkg -x`
# into a cache directory outside the repository: no root needed, nothing installed
# system-wide, and later runs work offline. Only usr/bin/promtool and usr/bin/prometheus are
# kept (static-enough Go binaries that need libc alone).
#
# Usage: install-prometheus.sh [promtool|prometheus] (default promtool): prints that binary's
# path on stdout. Override the cache with LEGENDARY_PROMTOOL_CACHE, or skip all this with
# LEGENDARY_PROMTOOL=/path/to/promtool (and LEGENDARY_PROMETHEUS_BIN=/path/to/prometheus).
#
# The version is Debian bookworm's (2.42.0): its `promtool test rules` compares sample values
# exactly, which is why the generated tests assert round(value, 1e-6).
set -euo pipefail

want=${1:-promtool}
case $want in
  promtool) given=${LEGENDARY_PROMTOOL:-} ;;
  prometheus) given=${LEGENDARY_PROMETHEUS_BIN:-} ;;
  *)
    echo "install-prometheus: say promtool or prometheus, not '$want'" >&2
    exit 2
    ;;
esac
if [[ -n $given ]]; then
  echo "$given"
  exit 0
fi

PROMETHEUS_DEB_VERSION="2.42.0+ds-5+deb12u1"
cache="${LEGENDARY_PROMTOOL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/legendary-promtool}"
# The pinned version, else whichever one an earlier fallback (below) cached; a cache made
# before the server was kept has promtool alone, and is filled in.
for bin in "$cache/$PROMETHEUS_DEB_VERSION/$want" "$cache"/*/"$want"; do
  if [[ -x $bin ]] && "$bin" --version >/dev/null 2>&1; then
    echo "$bin"
    exit 0
  fi
done

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "==> downloading Debian's prometheus $PROMETHEUS_DEB_VERSION into $cache (once)" >&2
# The exact version first; a security update replaces it on the mirror, so then the
# current candidate (its version goes into the cache path, printed below).
if ! (cd "$work" && apt-get download "prometheus=$PROMETHEUS_DEB_VERSION") >&2 2>"$work/apt.err"; then
  if [[ $(id -u) -eq 0 ]]; then
    apt-get update -qq >&2 || true
  fi
  (cd "$work" && apt-get download prometheus) >&2 || {
    cat "$work/apt.err" >&2
    echo "install-promtool: apt-get download prometheus failed (no Debian package list or registry)" >&2
    exit 1
  }
fi
deb=$(ls "$work"/prometheus_*.deb)
version=$(dpkg-deb -f "$deb" Version)
dpkg -x "$deb" "$work/x"
mkdir -p "$cache/$version"
install -m 0755 "$work/x/usr/bin/promtool" "$work/x/usr/bin/prometheus" "$cache/$version/"
bin="$cache/$version/$want"
"$bin" --version | head -1 >&2
echo "$bin"
