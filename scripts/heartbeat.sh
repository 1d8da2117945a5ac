#!/usr/bin/env bash
# Runs a long command whose own output is noise (a cold `cargo install`, a `pip install` of
# MLflow) with a heartbeat: the output goes to a log file, and every HEARTBEAT_SECONDS (default
# 30) one line on stderr says that LABEL is still running, for how long, and what the log said
# last (cargo's "Compiling …", pip's "Downloading …"). On failure the log's last lines follow.
# Exits with the command's status.
#
#   scripts/heartbeat.sh LABEL -- COMMAND [ARGS...]
set -uo pipefail

[[ $# -ge 3 && $2 == "--" ]] || { echo "usage: $0 LABEL -- COMMAND [ARGS...]" >&2; exit 2; }
label=$1
shift 2
every=${HEARTBEAT_SECONDS:-30}

log=$(mktemp)
"$@" >"$log" 2>&1 </dev/null &
pid=$!
trap 'kill "$pid" 2>/dev/null; rm -f "$log"' EXIT
trap 'exit 143' INT TERM HUP

started=$SECONDS
next=$((started + every))
while kill -0 "$pid" 2>/dev/null; do
  sleep 1
  if ((SECONDS >= next)) && kill -0 "$pid" 2>/dev/null; then
    next=$((SECONDS + every))
    last=$(grep -v '^[[:space:]]*$' "$log" | tail -n 1 | cut -c1-100)
    compiled=$(grep -c '^ *Compiling ' "$log")
    extra=""
    ((compiled > 0)) && extra=", $compiled crates compiled"
    printf '%s: still running after %d s%s%s\n' "$label" $((SECONDS - started)) "$extra" \
      "${last:+ (last: ${last#"${last%%[![:space:]]*}"})}" >&2
  fi
done
wait "$pid"
rc=$?
if ((rc != 0)); then
  printf '%s: failed with status %d after %d s; last lines of its output:\n' "$label" "$rc" \
    $((SECONDS - started)) >&2
  tail -n 40 "$log" >&2
else
  printf '%s: done in %d s\n' "$label" $((SECONDS - started)) >&2
fi
exit "$rc"
