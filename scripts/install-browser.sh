#!/usr/bin/env bash
# Install headless Chromium and its chromedriver from Debian, for the browser test
# (tests/in_process/browser.rs, run with `cargo test --test in_process -- --include-ignored browser`).
# Idempotent: does nothing when both are already there. Needs root (apt-get).
set -euo pipefail

if command -v chromium >/dev/null && command -v chromedriver >/dev/null; then
  echo "==> chromium and chromedriver already installed"
  exit 0
fi

SUDO=()
if [[ $(id -u) -ne 0 ]]; then SUDO=(sudo); fi

echo "==> installing chromium and chromium-driver (apt)"
"${SUDO[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${SUDO[@]}" apt-get install -y -qq --no-install-recommends \
  chromium chromium-driver fonts-dejavu-core >/dev/null
command -v chromium && command -v chromedriver
