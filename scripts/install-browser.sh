#!/usr/bin/env bash
# Install what the browser tests need (tests/in_process/browser.rs, run with
# `cargo test --test in_process -- --include-ignored browser`):
# - headless Chromium and its chromedriver, from Debian;
# - axe-core (the accessibility checker the tests inject into the page), from npm at a pinned
#   version, into ${XDG_CACHE_HOME:-~/.cache}/legendary-axe/<version>/axe.min.js.
# Idempotent: each part is skipped when already there. Needs root (apt-get). Prints the path of
# axe.min.js last; the tests find it there, or at $AXE_CORE_JS.
set -euo pipefail

AXE_VERSION=4.14.1
AXE_DIR="${XDG_CACHE_HOME:-$HOME/.cache}/legendary-axe/$AXE_VERSION"

SUDO=()
if [[ $(id -u) -ne 0 ]]; then SUDO=(sudo); fi
updated=0
apt_install() {
  if [[ $updated -eq 0 ]]; then "${SUDO[@]}" apt-get update -qq; updated=1; fi
  DEBIAN_FRONTEND=noninteractive "${SUDO[@]}" apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

if command -v chromium >/dev/null && command -v chromedriver >/dev/null; then
  echo "==> chromium and chromedriver already installed" >&2
else
  echo "==> installing chromium and chromium-driver (apt)" >&2
  apt_install chromium chromium-driver fonts-dejavu-core
  command -v chromium >&2 && command -v chromedriver >&2
fi

if [[ -s "$AXE_DIR/axe.min.js" ]]; then
  echo "==> axe-core $AXE_VERSION already in $AXE_DIR" >&2
else
  if ! command -v npm >/dev/null; then
    echo "==> installing npm (apt), to fetch axe-core" >&2
    apt_install npm
  fi
  echo "==> fetching axe-core $AXE_VERSION (npm)" >&2
  work="$(mktemp -d)"
  trap 'rm -rf "$work"' EXIT
  (cd "$work" && npm pack --silent "axe-core@$AXE_VERSION" >/dev/null)
  tar -xzf "$work/axe-core-$AXE_VERSION.tgz" -C "$work"
  mkdir -p "$AXE_DIR"
  cp "$work/package/axe.min.js" "$work/package/LICENSE" "$AXE_DIR/"
fi
echo "$AXE_DIR/axe.min.js"
