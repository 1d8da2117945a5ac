#!/usr/bin/env bash
# Load-tests `legendary serve` (release build, bundled model) on 127.0.0.1 with wrk:
# 1-, 5- and 1000-row `dataframe_split` requests at 32 connections, one 100,000-row request,
# /ping readiness after start and peak RSS; then the Open Inference Protocol in the same run:
# 1-row REST `infer` (wrk) and 1000-row gRPC `ModelInfer` with raw_input_contents
# (examples/oip_grpc_load.rs, the same connections), with their ratios to /invocations; and
# monitoring on vs off (a second server with --no-monitoring) and with a shadow challenger at
# 100 % sampling (a third), 1 and 1000 rows, alternated; then on and off again side by side
# (both under load at once: the steadier ratio on a VM whose speed drifts). With --vs-mlflow, trains a comparable
# scikit-learn forest, serves it with `mlflow models serve` from the repo's .venv and runs
# the same load against it in the same run, then prints the ratios.
#
# Usage: scripts/bench.sh [--vs-mlflow] [--duration SECS] [--warmup SECS] [--connections N]
#                         [--threads N] [--no-build] [--bin PATH] [--rounds N]
#                         [--only monitoring]
# --rounds: rounds of the monitoring comparison (default 4; each runs on, off and shadow in
# a rotated order); --only monitoring runs that comparison alone.
# Needs: cargo, python3, curl, wrk (`apt-get install wrk`). --vs-mlflow also needs the
# venv from scripts/mlflow-venv.sh (created on demand; PyPI must be reachable).
# --bin benchmarks another build of legendary (e.g. an older commit's) instead.
# Payloads follow docs/mlflow-protocol section 7.1: random ints in [20,160], random.seed(0).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

vs_mlflow=0
duration=10
warmup=3
connections=32
threads=2
build=1
rounds=4
only=""
bin="${CARGO_TARGET_DIR:-$root/target}/release/legendary"
while [ $# -gt 0 ]; do
    case "$1" in
    --vs-mlflow) vs_mlflow=1 ;;
    --duration) duration="$2"; shift ;;
    --warmup) warmup="$2"; shift ;;
    --connections) connections="$2"; shift ;;
    --threads) threads="$2"; shift ;;
    --no-build) build=0 ;;
    --rounds) rounds="$2"; shift ;;
    --only) only="$2"; shift ;;
    --bin) bin="$2"; build=0; shift ;;
    -h | --help) sed -n '2,15p' "$0"; exit 0 ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
    esac
    shift
done

for tool in python3 curl wrk; do
    command -v "$tool" >/dev/null || { echo "bench.sh needs $tool (wrk: apt-get install wrk)" >&2; exit 1; }
done

if [ "$build" = 1 ]; then
    cargo build --release --quiet
fi
# The gRPC load generator is always this checkout's (it only speaks the protocol).
grpc_load="${CARGO_TARGET_DIR:-$root/target}/release/examples/oip_grpc_load"
# With --no-build, an existing load generator is used as it is (it only speaks the protocol).
if [ "$only" != monitoring ] && { [ "$build" = 1 ] || [ ! -x "$grpc_load" ]; }; then
    cargo build --release --quiet --example oip_grpc_load
fi

work="$(mktemp -d)"
pids=()
cleanup() {
    for pid in "${pids[@]}"; do
        # The process group first (mlflow's uvicorn child), then the process itself.
        kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    done
    for pid in "${pids[@]}"; do
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
    done
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- payloads and wrk scripts ------------------------------------------------------------
python3 - "$work" <<'PY'
import json, random, sys
work = sys.argv[1]
cols = ["hp", "attack", "defense", "special_attack", "special_defense", "speed"]
def body(data, index=None):
    split = {"columns": cols}
    if index is not None:
        split["index"] = index
    split["data"] = data
    return json.dumps({"dataframe_split": split}, separators=(",", ":"))
p5 = [[80,70,70,90,100,70],[64,51,23,51,23,28],[70,94,50,94,50,66],[38,30,41,30,41,60],[70,65,60,90,75,90]]
random.seed(0)
p1000 = [[random.randint(20, 160) for _ in range(6)] for _ in range(1000)]
random.seed(0)
p100k = [[random.randint(20, 160) for _ in range(6)] for _ in range(100_000)]
payloads = {
    "p1": body([p5[0]]),
    "p5": body(p5, [272, 293, 414, 263, 49]),
    "p1000": body(p1000),
    "p100000": body(p100k),
    # The Open Inference Protocol's 1-row request: one [1, 6] tensor.
    "oip1": json.dumps({"inputs": [{"name": "stats", "shape": [1, 6], "datatype": "FP64",
                                    "data": p5[0]}]}, separators=(",", ":")),
}
for name, text in payloads.items():
    with open(f"{work}/{name}.json", "w") as f:
        f.write(text)
    if name != "p100000":  # wrk's scripts
        with open(f"{work}/{name}.lua", "w") as f:
            f.write('wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\n')
            f.write("wrk.body = " + json.dumps(text) + "\n")
PY

py3=$(python3 -c 'import sys; print(sys.executable)')
free_port() {
    "$py3" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# Starts "$@" in its own session with stderr+stdout to $1, polls http://127.0.0.1:$2/ping
# until it answers 200 (giving up after $3 s) and prints "PID MS", MS being the time from
# the exec to the first 200. The poller starts first, so its own start-up is not counted.
launch() {
    "$py3" - "$@" <<'PY'
import http.client, subprocess, sys, time
log, port, limit, cmd = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), sys.argv[4:]
t0 = time.monotonic()
proc = subprocess.Popen(cmd, stdout=open(log, "w"), stderr=subprocess.STDOUT,
                        stdin=subprocess.DEVNULL, start_new_session=True)
while True:
    try:
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
        c.request("GET", "/ping")
        if c.getresponse().status == 200:
            print(proc.pid, f"{(time.monotonic() - t0) * 1e3:.1f}")
            break
    except OSError:
        pass
    if proc.poll() is not None or time.monotonic() - t0 > limit:
        print(proc.pid, "failed")
        sys.exit(1)
    time.sleep(0.0005)
PY
}

# Samples the summed VmRSS of $1 and all its descendants every 0.2 s, keeping the peak (kB)
# in $2, until $1 exits.
rss_sampler() {
    "$py3" - "$1" "$2" <<'PY' &
import os, sys, time
root, out = int(sys.argv[1]), sys.argv[2]
peak = 0
def tree(pid):
    kids = {}
    for p in os.listdir("/proc"):
        if p.isdigit():
            try:
                with open(f"/proc/{p}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
                kids.setdefault(ppid, []).append(int(p))
            except OSError:
                pass
    todo, seen = [pid], []
    while todo:
        p = todo.pop()
        seen.append(p)
        todo.extend(kids.get(p, []))
    return seen
while os.path.exists(f"/proc/{root}"):
    total = 0
    for p in tree(root):
        try:
            with open(f"/proc/{p}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
        except OSError:
            pass
    if total > peak:
        peak = total
        with open(out, "w") as f:
            f.write(str(peak))
    time.sleep(0.2)
PY
    pids+=("$!")
}

peak_mb() { awk '{printf "%.1f", $1 / 1024}' "$1" 2>/dev/null || echo "?"; }

# Runs wrk and prints "req/s p50_ms p99_ms errors".
run_wrk() {
    local url="$1" lua="$2" secs="$3"
    wrk -t"$threads" -c"$connections" -d"${secs}s" --latency -s "$lua" "$url" >"$work/wrk.out" 2>&1 || true
    parse_wrk "$work/wrk.out"
}

# CPU time (user + system, in clock ticks) the process $1 has used.
cpu_ticks() {
    awk '{ sub(/.*\) /, ""); print $12 + $13 }' "/proc/$1/stat"
}

# wrk's output $1 as "req/s p50_ms p99_ms errors".
parse_wrk() {
    awk '
        function ms(v) {
            if (v ~ /us$/) return substr(v, 1, length(v) - 2) / 1000
            if (v ~ /ms$/) return substr(v, 1, length(v) - 2) + 0
            if (v ~ /s$/) return substr(v, 1, length(v) - 1) * 1000
            return v
        }
        /Requests\/sec:/ { rps = $2 }
        $1 == "50%" { p50 = ms($2) }
        $1 == "99%" { p99 = ms($2) }
        /Non-2xx or 3xx responses:/ { err += $NF }
        /Socket errors:/ { gsub(",", ""); err += $4 + $6 + $8 + $10 }
        END { printf "%s %.3f %.3f %d\n", rps, p50, p99, err }
    ' "$1"
}

# Benchmarks the server on port $2 (process $3); results go to $work/$1.*.
bench_server() {
    local name="$1" port="$2" pid="$3"
    local url="http://127.0.0.1:$port/invocations"
    rss_sampler "$pid" "$work/$name.rss"
    for p in p1 p5 p1000; do
        local code
        code=$(curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' \
            --data-binary "@$work/$p.json" "$url")
        [ "$code" = 200 ] || { echo "$name: $p answered $code" >&2; exit 1; }
    done
    echo "  warm-up ${warmup}s" >&2
    run_wrk "$url" "$work/p5.lua" "$warmup" >/dev/null
    for p in p1 p5 p1000; do
        echo "  $p: ${duration}s at c=$connections" >&2
        run_wrk "$url" "$work/$p.lua" "$duration" >"$work/$name.$p"
        echo "    $(cat "$work/$name.$p")  load: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
    done
    sleep 0.5
    cp "$work/$name.rss" "$work/$name.rss_load" 2>/dev/null || echo 0 >"$work/$name.rss_load"
    local times=()
    for _ in 1 2 3; do
        local out
        out=$(curl -s -o "$work/$name.big.out" -w '%{http_code} %{time_total}' \
            -H 'Content-Type: application/json' --data-binary "@$work/p100000.json" "$url")
        [ "${out%% *}" = 200 ] || { echo "$name: 100k rows answered ${out%% *}" >&2; exit 1; }
        times+=("$(awk '{printf "%.1f", $2 * 1000}' <<<"$out")")
    done
    echo "${times[*]}" >"$work/$name.big"
    sleep 0.5
    cp "$work/$name.rss" "$work/$name.rss_big" 2>/dev/null || echo 0 >"$work/$name.rss_big"
    echo "    100k rows: ${times[*]} ms" >&2
}

# ---- legendary ---------------------------------------------------------------------------
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)" >&2
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
if [ "$only" != monitoring ]; then
port=$(free_port)
echo "legendary serve on :$port" >&2
export RUST_LOG="${RUST_LOG:-info}"
# The first start reads the binary and model.json from disk; the second finds them cached.
read -r lpid ready_ms < <(launch "$work/legendary.log" "$port" 30 \
    "$bin" serve --port "$port" -m models/pokemon --reload-interval 0s)
pids+=("$lpid")
[ "$ready_ms" != failed ] || { cat "$work/legendary.log" >&2; exit 1; }
kill -TERM "$lpid"
for _ in $(seq 100); do kill -0 "$lpid" 2>/dev/null || break; sleep 0.05; done
port=$(free_port)
grpc_port=$(free_port)
read -r lpid ready_ms2 < <(launch "$work/legendary.log" "$port" 30 \
    "$bin" serve --port "$port" --grpc-port "$grpc_port" -m models/pokemon --reload-interval 0s)
pids+=("$lpid")
[ "$ready_ms2" != failed ] || { cat "$work/legendary.log" >&2; exit 1; }
echo "  /ping ready after ${ready_ms} ms (first start), ${ready_ms2} ms (second)" >&2
bench_server legendary "$port" "$lpid"
hwm=$(awk '/VmHWM/ {printf "%.1f", $2 / 1024}' "/proc/$lpid/status")
# The Open Inference Protocol on the same server, right after.
echo "  OIP REST infer, 1 row: ${duration}s at c=$connections" >&2
run_wrk "http://127.0.0.1:$port/v2/models/pokemon/infer" "$work/oip1.lua" "$duration" >"$work/oip.rest1"
echo "    $(cat "$work/oip.rest1")" >&2
echo "  OIP gRPC ModelInfer, 1000 rows raw: ${duration}s at c=$connections" >&2
"$grpc_load" "127.0.0.1:$grpc_port" pokemon 1000 "$connections" "$duration" >"$work/oip.grpc1000"
echo "    $(cat "$work/oip.grpc1000")" >&2
# The same two 1000-row loads with the server on one core and the load generator on the
# other (taskset), alternated twice, with the server's CPU seconds per request: unpinned, the
# clients share the server's cores, and tonic's client costs more per call than wrk does, so
# the unpinned ratio measures the clients as much as the server.
if [ "$(nproc)" -ge 2 ] && command -v taskset >/dev/null; then
    taskset -a -p -c 0 "$lpid" >/dev/null
    for round in 1 2; do
        for kind in json grpc; do
            echo "  pinned (server on CPU 0, client on CPU 1), 1000 rows $kind, round $round: ${duration}s at c=$connections" >&2
            before=$(cpu_ticks "$lpid")
            if [ "$kind" = json ]; then
                taskset -c 1 wrk -t1 -c"$connections" -d"${duration}s" --latency -s "$work/p1000.lua" \
                    "http://127.0.0.1:$port/invocations" >"$work/wrk.out" 2>&1 || true
                parse_wrk "$work/wrk.out" >"$work/pinned.$kind.$round"
            else
                taskset -c 1 "$grpc_load" "127.0.0.1:$grpc_port" pokemon 1000 "$connections" "$duration" \
                    >"$work/pinned.$kind.$round"
            fi
            after=$(cpu_ticks "$lpid")
            read -r rps _ <"$work/pinned.$kind.$round"
            awk -v t=$((after - before)) -v hz="$(getconf CLK_TCK)" -v r="$rps" -v d="$duration" \
                'BEGIN { printf "%.1f\n", t / hz / (r * d) * 1e6 }' >"$work/pinned.$kind.$round.cpu"
            echo "    $(cat "$work/pinned.$kind.$round"), server CPU $(cat "$work/pinned.$kind.$round.cpu") us/request" >&2
        done
    done
    taskset -a -p -c "0-$(($(nproc) - 1))" "$lpid" >/dev/null
fi
fi

# ---- monitoring on vs off ----------------------------------------------------------------
# Two fresh servers of the same build, model and flags, one with --no-monitoring (the other is
# monitored: the bundled model has a profile), 1-row and 1000-row requests alternated on, off,
# on, off. Not the server above: it has served the 100,000-row requests and has gRPC on, which
# made "on" look 11-16 % slower at 1000 rows where two fresh servers differ by about 6 %.
on_port=$(free_port)
read -r onpid on_ready < <(launch "$work/legendary-on.log" "$on_port" 30 \
    "$bin" serve --port "$on_port" --grpc-port off -m models/pokemon --reload-interval 0s)
pids+=("$onpid")
[ "$on_ready" != failed ] || { cat "$work/legendary-on.log" >&2; exit 1; }
off_port=$(free_port)
read -r opid off_ready < <(launch "$work/legendary-off.log" "$off_port" 30 \
    "$bin" serve --port "$off_port" --grpc-port off -m models/pokemon --reload-interval 0s --no-monitoring)
pids+=("$opid")
[ "$off_ready" != failed ] || { cat "$work/legendary-off.log" >&2; exit 1; }
# And a third with a shadow challenger (the same model) at 100 % sampling.
shadow_port=$(free_port)
read -r spid shadow_ready < <(launch "$work/legendary-shadow.log" "$shadow_port" 30 \
    "$bin" serve --port "$shadow_port" --grpc-port off -m models/pokemon --reload-interval 0s \
    --shadow models/pokemon --shadow-sample 1)
pids+=("$spid")
[ "$shadow_ready" != failed ] || { cat "$work/legendary-shadow.log" >&2; exit 1; }
kill -STOP "$spid"
# Each server warms up once; then each round runs the three in a rotated order (on, off,
# shadow; off, shadow, on; ...), so a machine that drifts during the run (this one is a VM:
# one configuration moves 10-20 % between rounds) favours none, and the report takes the
# median of the per-round ratios.
sides=(on off shadow)
port_of() { case "$1" in on) echo "$on_port" ;; off) echo "$off_port" ;; shadow) echo "$shadow_port" ;; esac; }
pid_of() { case "$1" in on) echo "$onpid" ;; off) echo "$opid" ;; shadow) echo "$spid" ;; esac; }
for side in "${sides[@]}"; do
    [ "$side" = shadow ] && kill -CONT "$spid"
    run_wrk "http://127.0.0.1:$(port_of "$side")/invocations" "$work/p1000.lua" "$warmup" >/dev/null
    [ "$side" = shadow ] && kill -STOP "$spid"
done
for p in p1 p1000; do
    for round in $(seq "$rounds"); do
        for k in 0 1 2; do
            side=${sides[$(((k + round - 1) % 3))]}
            echo "  monitoring $side, $p, round $round: ${duration}s at c=$connections" >&2
            # The shadow's worker goes on scoring its queue after its run: it is stopped
            # (SIGSTOP) while the others run, or it would slow whichever runs next.
            [ "$side" = shadow ] && kill -CONT "$spid"
            before=$(cpu_ticks "$(pid_of "$side")")
            run_wrk "http://127.0.0.1:$(port_of "$side")/invocations" "$work/$p.lua" "$duration" >"$work/mon.$side.$p.$round"
            after=$(cpu_ticks "$(pid_of "$side")")
            [ "$side" = shadow ] && kill -STOP "$spid"
            # The server's CPU time per request: what monitoring adds, whatever the scheduler
            # gave wrk (the shadow's includes its worker's).
            read -r rps _ <"$work/mon.$side.$p.$round"
            awk -v t=$((after - before)) -v hz="$(getconf CLK_TCK)" -v r="$rps" -v d="$duration" \
                'BEGIN { printf "%.2f\n", t / hz / (r * d) * 1e6 }' >"$work/mon.$side.$p.$round.cpu"
            echo "    $(cat "$work/mon.$side.$p.$round"), server CPU $(cat "$work/mon.$side.$p.$round.cpu") us/request" >&2
        done
    done
done

# Side by side: the on and off servers under load at the same moments, each from its own wrk
# (one thread, half the connections), for as many rounds. Whatever the VM does to the machine
# during a run (one configuration moves 10-20 % between sequential runs) it does to both,
# so their ratio is steadier; the sequential rounds above are kept for the shadow, whose
# worker's cost is the CPU it takes from the whole machine, which a server beside it would
# share.
half=$(((connections + 1) / 2))
for p in p1 p1000; do
    for round in $(seq "$rounds"); do
        echo "  monitoring on and off side by side, $p, round $round: ${duration}s at c=$half each" >&2
        on0=$(cpu_ticks "$onpid")
        off0=$(cpu_ticks "$opid")
        wrk -t1 -c"$half" -d"${duration}s" --latency -s "$work/$p.lua" \
            "http://127.0.0.1:$on_port/invocations" >"$work/sbs.on.out" 2>&1 &
        onwrk=$!
        wrk -t1 -c"$half" -d"${duration}s" --latency -s "$work/$p.lua" \
            "http://127.0.0.1:$off_port/invocations" >"$work/sbs.off.out" 2>&1 || true
        wait "$onwrk" || true
        on1=$(cpu_ticks "$onpid")
        off1=$(cpu_ticks "$opid")
        for side in on off; do
            parse_wrk "$work/sbs.$side.out" >"$work/sbs.$side.$p.$round"
            read -r rps _ <"$work/sbs.$side.$p.$round"
            if [ "$side" = on ]; then t=$((on1 - on0)); else t=$((off1 - off0)); fi
            awk -v t="$t" -v hz="$(getconf CLK_TCK)" -v r="$rps" -v d="$duration" \
                'BEGIN { printf "%.2f\n", t / hz / (r * d) * 1e6 }' >"$work/sbs.$side.$p.$round.cpu"
            echo "    $side: $(cat "$work/sbs.$side.$p.$round"), server CPU $(cat "$work/sbs.$side.$p.$round.cpu") us/request" >&2
        done
    done
done

# ---- mlflow ------------------------------------------------------------------------------
if [ "$vs_mlflow" = 1 ]; then
    py=$("$root/scripts/mlflow-venv.sh")
    venv_bin="$(dirname "$py")"
    echo "training a scikit-learn forest and logging it with mlflow" >&2
    model_uri=$(cd "$work" && MLFLOW_TRACKING_URI="sqlite:///$work/mlflow.db" "$py" - "$root/data/pokemon" <<'PY'
import glob, sys, warnings
warnings.filterwarnings("ignore")
import mlflow, pandas as pd
from mlflow.models import infer_signature
from sklearn.ensemble import RandomForestClassifier
cols = ["hp", "attack", "defense", "special_attack", "special_defense", "speed"]
df = pd.concat(pd.read_csv(p) for p in sorted(glob.glob(sys.argv[1] + "/generation-*.csv")))
X, y = df[cols].astype("int64"), df["legendary"].astype(bool)
clf = RandomForestClassifier(n_estimators=100, random_state=0).fit(X, y)
mlflow.set_experiment("bench")
with mlflow.start_run():
    info = mlflow.sklearn.log_model(
        clf, name="model", signature=infer_signature(X, clf.predict(X)),
        skops_trusted_types=["sklearn.tree._tree.Tree"])
print(info.model_uri)
PY
)
    echo "  $model_uri" >&2
    mport=$(free_port)
    read -r mpid mready_ms < <(cd "$work" && PATH="$venv_bin:$PATH" \
        MLFLOW_TRACKING_URI="sqlite:///$work/mlflow.db" launch "$work/mlflow.log" "$mport" 180 \
        "$venv_bin/mlflow" models serve -m "$model_uri" --env-manager local -h 127.0.0.1 -p "$mport")
    pids+=("$mpid")
    [ "$mready_ms" != failed ] || { tail -20 "$work/mlflow.log" >&2; exit 1; }
    echo "mlflow models serve on :$mport, /ping ready after ${mready_ms} ms" >&2
    bench_server mlflow "$mport" "$mpid"
fi

# ---- report ------------------------------------------------------------------------------
echo
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)  ($(nproc) cores; wrk -t$threads -c$connections -d${duration}s on the same machine)"
printf '%-9s %-10s %12s %10s %10s %7s\n' server payload "req/s" "p50 ms" "p99 ms" errors
for name in legendary mlflow; do
    [ -f "$work/$name.p1" ] || continue
    for p in p1 p5 p1000; do
        read -r rps p50 p99 err <"$work/$name.$p"
        printf '%-9s %-10s %12s %10s %10s %7s\n' "$name" "${p#p} rows" "$rps" "$p50" "$p99" "$err"
    done
    echo "$name: 100,000-row request: $(cat "$work/$name.big") ms (3 runs, curl time_total)"
    echo "$name: peak RSS under wrk load $(peak_mb "$work/$name.rss_load") MB, after the 100k requests $(peak_mb "$work/$name.rss_big") MB"
done
if [ "$only" != monitoring ]; then
echo "legendary: VmHWM $hwm MB; /ping ready ${ready_ms} ms (first start), ${ready_ms2} ms (second)"
read -r or1 or50 or99 oe1 <"$work/oip.rest1"
read -r og og50 og99 oge <"$work/oip.grpc1000"
read -r ir1 _ <"$work/legendary.p1"
read -r ir1000 _ <"$work/legendary.p1000"
printf '%-9s %-10s %12s %10s %10s %7s\n' legendary "OIP REST 1 row" "$or1" "$or50" "$or99" "$oe1"
printf '%-9s %-10s %12s %10s %10s %7s\n' legendary "OIP gRPC 1000 rows raw" "$og" "$og50" "$og99" "$oge"
awk -v a="$or1" -v b="$ir1" -v c="$og" -v d="$ir1000" 'BEGIN {
    printf "OIP / invocations: REST 1 row x%.2f req/s; gRPC 1000 rows raw / JSON 1000 rows x%.2f\n", a / b, c / d }'
if [ -f "$work/pinned.json.1" ]; then
    cat "$work/pinned.json.1" "$work/pinned.json.2" >"$work/pinned.json"
    cat "$work/pinned.grpc.1" "$work/pinned.grpc.2" >"$work/pinned.grpc"
    cat "$work/pinned.json.1.cpu" "$work/pinned.json.2.cpu" >"$work/pinned.json.cpu"
    cat "$work/pinned.grpc.1.cpu" "$work/pinned.grpc.2.cpu" >"$work/pinned.grpc.cpu"
    awk 'FNR == 1 { f++ } { v[f] += $1; n[f]++ }
        END { printf "pinned, 1000 rows (two rounds each): JSON %.0f req/s, gRPC raw %.0f req/s: x%.2f; server CPU per request: JSON %.0f us, gRPC %.0f us (x%.2f less)\n",
              v[1] / n[1], v[2] / n[2], (v[2] / n[2]) / (v[1] / n[1]), v[3] / n[3], v[4] / n[4], (v[3] / n[3]) / (v[4] / n[4]) }' \
        "$work/pinned.json" "$work/pinned.grpc" "$work/pinned.json.cpu" "$work/pinned.grpc.cpu"
fi
fi
# Both comparisons from one report: sequential runs (files mon.*, with the shadow) and side by
# side (sbs.*, on and off only).
"$py3" - "$work" "$rounds" <<'PY'
import os, statistics, sys
work, rounds = sys.argv[1], int(sys.argv[2])
def run(kind, side, p, r):
    rps, _p50, p99, _err = open(f"{work}/{kind}.{side}.{p}.{r}").read().split()
    cpu = float(open(f"{work}/{kind}.{side}.{p}.{r}.cpu").read())
    return float(rps), float(p99), cpu
def line(label, ratios):
    print(f"    {label}: x{statistics.median(ratios):.3f} (rounds: {', '.join(f'x{x:.3f}' for x in ratios)})")
for kind, title in (("mon", "same run, rotated order"), ("sbs", "side by side, both under load at once")):
    print(f"monitoring on / off ({title}, {rounds} rounds; the median of the per-round ratios, then each round's):")
    for p in ("p1", "p1000"):
        on = [run(kind, "on", p, r) for r in range(1, rounds + 1)]
        off = [run(kind, "off", p, r) for r in range(1, rounds + 1)]
        print(f"  {p[1:]} rows: req/s on {statistics.median(x[0] for x in on):.0f}, off {statistics.median(x[0] for x in off):.0f}")
        line("monitoring on / off, req/s", [a[0] / b[0] for a, b in zip(on, off)])
        line("monitoring on / off, p99", [a[1] / b[1] for a, b in zip(on, off)])
        line("monitoring on / off, server CPU per request", [a[2] / b[2] for a, b in zip(on, off)])
        if os.path.exists(f"{work}/{kind}.shadow.{p}.1"):
            sh = [run(kind, "shadow", p, r) for r in range(1, rounds + 1)]
            line("shadow at 100 % / no shadow, req/s", [a[0] / b[0] for a, b in zip(sh, on)])
            line("shadow at 100 % / no shadow, champion p99", [a[1] / b[1] for a, b in zip(sh, on)])
PY
kill -CONT "$spid"
shadow_json=$(curl -s "http://127.0.0.1:$shadow_port/monitoring")
"$py3" -c 'import json, sys; s = json.loads(sys.argv[1])["shadow"]; print("  shadow: %d rows offered, %d scored, %d dropped, agreement %s" % (s["offered_rows"], s["scored_rows"], s["dropped_rows"], s["agreement"]))' "$shadow_json"
if [ "$vs_mlflow" = 1 ]; then
    echo "mlflow: /ping ready ${mready_ms} ms"
    echo "ratios (legendary / mlflow; for p99 and RSS, mlflow / legendary):"
    for p in p1 p5 p1000; do
        read -r lr _ lp99 _ <"$work/legendary.$p"
        read -r mr _ mp99 _ <"$work/mlflow.$p"
        awk -v p="${p#p}" -v lr="$lr" -v mr="$mr" -v lp="$lp99" -v mp="$mp99" \
            'BEGIN { printf "  %s rows: req/s x%.0f, p99 %.0fx lower\n", p, lr / mr, mp / lp }'
    done
    awk -v l="$(cat "$work/legendary.rss_load")" -v m="$(cat "$work/mlflow.rss_load")" \
        'BEGIN { printf "  peak RSS under load: %.0fx smaller\n", m / l }'
fi
