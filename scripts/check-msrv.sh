#!/usr/bin/env bash
# Fails if Cargo.toml's `rust-version` is lower than what the locked
# dependencies declare: the maximum `rust-version` over every package in
# Cargo.lock (all targets and platforms, dev-dependencies included), as
# `cargo metadata --locked` reports it. A rust-version below that promises a
# toolchain on which `cargo build --locked` cannot work.
#
#   scripts/check-msrv.sh
set -euo pipefail
cd "$(dirname "$0")/.."

meta=$(mktemp)
trap 'rm -f "$meta"' EXIT
if ! cargo metadata --locked --format-version 1 >"$meta" 2>"$meta.err"; then
  cat "$meta.err" >&2
  rm -f "$meta.err"
  echo "check-msrv: cargo metadata --locked failed" >&2
  exit 1
fi
rm -f "$meta.err"

python3 - "$meta" <<'PY'
import json
import sys

meta = json.load(open(sys.argv[1]))
root_ids = set(meta.get("workspace_members") or [])


def key(version):
    parts = [int(p) for p in version.split(".")]
    return tuple(parts + [0] * (3 - len(parts)))


roots = [p for p in meta["packages"] if p["id"] in root_ids]
deps = [p for p in meta["packages"] if p["id"] not in root_ids and p.get("rust_version")]
if not deps:
    sys.exit("check-msrv: no locked dependency declares a rust-version; nothing to compare")
need = max(key(p["rust_version"]) for p in deps)
needers = sorted(f"{p['name']} {p['version']}" for p in deps if key(p["rust_version"]) == need)
need_text = ".".join(map(str, need[:2] if need[2] == 0 else need))
status = 0
for root in roots:
    declared = root.get("rust_version")
    if declared is None:
        print(f"check-msrv: {root['name']}: Cargo.toml sets no rust-version; the locked dependencies need "
              f"{need_text} ({', '.join(needers)})", file=sys.stderr)
        status = 1
    elif key(declared) < need:
        print(f"check-msrv: {root['name']}: rust-version = \"{declared}\" in Cargo.toml, but the locked "
              f"dependencies need {need_text} ({', '.join(needers)}); raise it to \"{need_text}\"", file=sys.stderr)
        status = 1
    else:
        print(f"check-msrv: {root['name']}: rust-version {declared} >= {need_text}, the highest of "
              f"{len(deps)} locked dependencies ({', '.join(needers)})")
sys.exit(status)
PY
