"""Peer comparison: the bundled forest rebuilt exactly in lleaves, Treelite/tl2cgen and ONNX
Runtime, checked against `legendary predict` and timed single-threaded next to criterion's
`predict/predict_batch` in the same run.

Run through `scripts/bench-peers.sh`, which makes the pinned venv this needs. Every engine
gets the same 15 forest columns (float64) computed from the six stats by the model's feature
set (the NumPy loader shipped with every model, `legendary_pyfunc.py`), so the peers are
timed on the tree walk alone while criterion's `predict_batch` also computes those columns.
"""

import argparse
import hashlib
import json
import os
import platform
import random
import shutil
import subprocess
import sys
import tempfile
import time
from importlib import metadata
from pathlib import Path

import numpy as np

from peer_engines import ENGINES, ROOT, VERSIONS, Forest, legendary_pyfunc

STATS = legendary_pyfunc.STATS
ONE_ROW = [80, 70, 70, 90, 100, 70]  # scripts/bench.sh's 1-row payload
TOLERANCE = 1e-15


def load():
    return "/".join(open("/proc/loadavg").read().split()[:3])


# ---- rows ----------------------------------------------------------------------------------


def bench_rows(n):
    """docs/mlflow-protocol.md 7.1 and scripts/bench.sh: random ints in [20,160], seed 0."""
    if n == 1:
        return np.array([ONE_ROW], dtype=np.float64)
    random.seed(0)
    return np.array(
        [[random.randint(20, 160) for _ in range(6)] for _ in range(n)], dtype=np.float64
    )


def criterion_rows(n):
    """The rows of benches/scoring.rs `rows(n)`: its LCG, so the ratios compare equal rows."""
    mask = (1 << 64) - 1
    state = 0x2545_F491_4F6C_DD1D
    out = np.empty(n * 6, dtype=np.float64)
    for i in range(n * 6):
        state = (state * 6_364_136_223_846_793_005 + 1_442_695_040_888_963_407) & mask
        out[i] = 20 + ((state >> 33) % 141)
    return out.reshape(n, 6)


# ---- legendary -----------------------------------------------------------------------------


def legendary_predict(binary, stats, work):
    """`legendary predict` on a CSV of the rows: its `probability` column, parsed exactly
    (Rust prints the shortest string that reads back to the same f64)."""
    csv_in, csv_out = work / "rows.csv", work / "scored.csv"
    with open(csv_in, "w") as f:
        f.write(",".join(STATS) + "\n")
        for row in stats.astype(np.int64):
            f.write(",".join(str(v) for v in row) + "\n")
    subprocess.run(
        [str(binary), "predict", "-m", str(ROOT / "models/pokemon"), "-i", str(csv_in),
         "-o", str(csv_out)],
        check=True, stdout=subprocess.DEVNULL,
    )
    lines = csv_out.read_text().splitlines()
    at = lines[0].split(",").index("probability")
    return np.array([float(line.split(",")[at]) for line in lines[1:]])


def criterion(sizes):
    """criterion's median for `predict/predict_batch/N` (its own rows, benches/scoring.rs),
    run from this process so it gets the same CPU pinning."""
    pattern = "^predict/predict_batch/(" + "|".join(str(n) for n in sizes) + ")$"
    before = load()
    subprocess.run(["cargo", "bench", "--quiet", "--bench", "scoring", "--", pattern],
                   cwd=ROOT, check=True, stdout=sys.stderr)
    out = {}
    for n in sizes:
        est = ROOT / f"target/criterion/predict/predict_batch/{n}/new/estimates.json"
        median = json.loads(est.read_text())["median"]
        out[n] = (median["point_estimate"] / 1e9, median["confidence_interval"])
    return out, before, load()


# ---- timing --------------------------------------------------------------------------------


def best_of(fn, x, repeats, min_seconds=0.2):
    """Best time of one call over `repeats` rounds; each round calls `fn` enough times to
    last about `min_seconds` (so a 1-row call is not timed alone) and keeps the mean."""
    fn(x)
    t0 = time.perf_counter()
    fn(x)
    once = time.perf_counter() - t0
    inner = max(1, int(min_seconds / max(once, 1e-9)))
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(inner):
            fn(x)
        best = min(best, (time.perf_counter() - t0) / inner)
    return best


def cpu_model():
    for line in open("/proc/cpuinfo"):
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.machine()


def fmt_time(seconds):
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.3f} ms"
    return f"{seconds * 1e6:.2f} µs"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, action="append",
                        help="batch sizes (repeatable; default 1, 1000, 100000)")
    parser.add_argument("--repeats", type=int, default=7, help="rounds per timing, best kept")
    parser.add_argument("--skip-criterion", action="store_true",
                        help="time the peers only (no ratios to criterion)")
    parser.add_argument("--engines", default=",".join(ENGINES),
                        help=f"comma-separated subset of {','.join(ENGINES)}")
    parser.add_argument("--cpu", type=int, default=0,
                        help="pin this process and criterion to this CPU (-1: no pinning)")
    parser.add_argument("--bin", default=str(ROOT / "target/release/legendary"),
                        help="the legendary binary whose `predict` is the reference")
    args = parser.parse_args()
    sizes = args.rows or [1, 1000, 100_000]
    engines = [e for e in args.engines.split(",") if e]
    for e in engines:
        if e not in ENGINES:
            parser.error(f"unknown engine {e!r}: choose from {', '.join(ENGINES)}")
    if args.cpu >= 0:
        os.sched_setaffinity(0, {args.cpu})
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[var] = "1"

    print(f"machine: {os.cpu_count()} cores, {cpu_model()}, "
          f"pinned to CPU {args.cpu if args.cpu >= 0 else 'none'}")
    print(f"load before: {load()}")
    forest = Forest(ROOT / "models/pokemon/model.json")
    print(f"model: {len(forest.trees)} trees, {forest.n_nodes()} nodes, "
          f"{forest.n_features} columns ({forest.feature_set}), sha256 {forest.digest}")
    versions = ("python " + platform.python_version() + ", numpy " + np.__version__ + ", "
                + ", ".join(f"{p} {metadata.version(p)}" for e in engines for p in VERSIONS[e]))
    print("versions: " + versions)
    if not Path(args.bin).is_file():
        raise SystemExit(f"no legendary binary at {args.bin}: cargo build --release")

    # Compiled models are reused while the model and the packages are the same.
    key = hashlib.sha256(versions.encode()).hexdigest()[:8]
    cache = ROOT / "target/bench-peers" / f"{forest.digest}-{key}"
    cache.mkdir(parents=True, exist_ok=True)
    built = {}
    for e in engines:
        t0 = time.perf_counter()
        built[e] = ENGINES[e](forest, cache)
        print(f"built {e} in {time.perf_counter() - t0:.1f} s (cached in {cache.relative_to(ROOT)})")

    row_sets = {"bench.sh": bench_rows, "criterion": criterion_rows}
    work = Path(tempfile.mkdtemp(prefix="bench-peers-"))
    results = {}  # (engine, rows, n) -> (seconds, load)
    try:
        for set_name, make in row_sets.items():
            for n in sizes:
                stats = make(n)
                x = forest.columns(stats)
                truth = legendary_predict(args.bin, stats, work)
                ref = forest.reference.predict_proba(stats)
                diff = float(np.max(np.abs(ref - truth)))
                print(f"{set_name} rows, n={n}: legendary_pyfunc vs legendary predict "
                      f"max |diff| {diff:.3g}")
                for e in engines:
                    got = built[e](x)
                    diff = float(np.max(np.abs(got - truth)))
                    if not diff <= TOLERANCE:
                        raise SystemExit(f"{e} differs from legendary predict by {diff:.3g} "
                                         f"on {set_name} rows n={n}")
                    same = int(np.sum(got == truth))
                    seconds = best_of(built[e], x, args.repeats)
                    results[(e, set_name, n)] = (seconds, diff, load())
                    print(f"  {e:<12} max |diff| {diff:.3g} ({same}/{n} bit-identical)  "
                          f"best of {args.repeats}: "
                          f"{fmt_time(seconds)} per batch, {seconds / n * 1e6:.3f} µs/row  "
                          f"load {load()}")
    finally:
        shutil.rmtree(work, ignore_errors=True)

    ours = {}
    if not args.skip_criterion:
        print("criterion: cargo bench --bench scoring -- predict/predict_batch/N (after the peers)")
        ours, cb, ca = criterion(sizes)
        print(f"criterion load before {cb}, after {ca}")

    print()
    print(f"load after: {load()}")
    print("best of", args.repeats, "per engine, one thread; legendary = criterion median of "
          "predict_batch (criterion's rows, computes the 15 columns too)")
    head = f"{'engine':<12} {'rows':>7} {'bench.sh rows':>14} {'criterion rows':>15} {'µs/row':>8}"
    if ours:
        head += f" {'legendary/peer':>15}"
    print(head)
    for n in sizes:
        if n in ours:
            t = ours[n][0]
            print(f"{'legendary':<12} {n:>7} {'':>14} {fmt_time(t):>15} {t / n * 1e6:>8.3f}")
        for e in engines:
            a = results[(e, "bench.sh", n)][0]
            b = results[(e, "criterion", n)][0]
            line = f"{e:<12} {n:>7} {fmt_time(a):>14} {fmt_time(b):>15} {b / n * 1e6:>8.3f}"
            if n in ours:
                line += f" {ours[n][0] / b:>15.3f}"
            print(line)
    if ours and "lleaves" in engines:
        for n in sizes:
            if n >= 1000 and n in ours:
                ratio = ours[n][0] / results[("lleaves", "criterion", n)][0]
                verdict = "met" if ratio <= 0.40 else "NOT met"
                print(f"check predict_batch/{n} <= 0.40 x lleaves: {ratio:.3f} ({verdict})")


if __name__ == "__main__":
    main()
