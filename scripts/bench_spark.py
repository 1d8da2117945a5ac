#!/usr/bin/env python3
"""MLflow's Python clients against `legendary predict` on the same rows, in one run.

Usage (scripts/bench-spark.sh runs it in the PySpark venv): bench_spark.py LEGENDARY MODEL_DIR
CSV WORK ROUNDS

Each round, in turn:

- `legendary predict`: `LEGENDARY predict -m MODEL_DIR --input CSV --output ...` (a process:
  reads the CSV, loads the model, scores, writes a CSV);
- `spark_udf`: `mlflow.pyfunc.spark_udf(spark, MODEL_DIR)` in a `local[2]` session, the
  decision of every row of CSV (read as six doubles) written to a CSV: Spark's two Python
  workers each score one half. The session, and the UDF (which copies the model), are made
  once before the rounds; a worker loads the model on its first batch, in round 1;
- pyfunc in one process: `mlflow.pyfunc.load_model(MODEL_DIR).predict(df)` on the rows read
  with pandas (loaded once; reading the CSV timed apart).

Before the rounds, the answers of all three are checked against `legendary predict`'s, to the
bit for the probabilities.
"""

import json
import os
import subprocess
import sys
import time

import mlflow
import numpy as np
import pandas as pd
from pyspark.sql import SparkSession
from pyspark.sql.functions import struct
from pyspark.sql.types import DoubleType, StructField, StructType

STATS = ["hp", "attack", "defense", "special_attack", "special_defense", "speed"]


def timed(f):
    t = time.perf_counter()
    out = f()
    return time.perf_counter() - t, out


def main():
    legendary, model_dir, csv, work, rounds = sys.argv[1:6]
    rounds = int(rounds)

    def predict():
        out = os.path.join(work, "legendary.csv")
        subprocess.run([legendary, "predict", "-m", model_dir, "--input", csv, "--output", out],
                       check=True, env={**os.environ, "RUST_LOG": "warn"})
        return out

    os.makedirs(work, exist_ok=True)
    # Two partitions of the file, one per core (for a small file Spark would make one).
    half = os.path.getsize(csv) // 2 + 1
    started, spark = timed(lambda: SparkSession.builder.master("local[2]")
                           .appName("legendary-bench-spark")
                           .config("spark.ui.enabled", "false")
                           .config("spark.ui.showConsoleProgress", "false")
                           .config("spark.driver.memory", "2g")
                           .config("spark.sql.files.maxPartitionBytes", str(half))
                           .getOrCreate())
    spark.sparkContext.setLogLevel("ERROR")
    made, udf = timed(lambda: mlflow.pyfunc.spark_udf(spark, model_dir))
    proba_udf = mlflow.pyfunc.spark_udf(spark, model_dir, result_type="double",
                                        params={"predict_method": "predict_proba"})
    schema = StructType([StructField(c, DoubleType()) for c in STATS])
    rows = spark.read.csv(csv, header=True, schema=schema)
    print(f"Spark session: {started:.1f} s to start; spark_udf: {made:.1f} s to make; "
          f"{rows.rdd.getNumPartitions()} partitions of the CSV", flush=True)

    def spark_round(n):
        out = os.path.join(work, f"spark-{n}")
        rows.select(udf(struct(*STATS)).alias("prediction")).write.mode("overwrite").csv(out)
        return out

    loaded, model = timed(lambda: mlflow.pyfunc.load_model(model_dir))
    read, df = timed(lambda: pd.read_csv(csv).astype(float))
    print(f"pyfunc: {loaded:.2f} s to load; pandas: {read:.2f} s to read the CSV", flush=True)

    # Exactness first (not timed): every row, every client, against legendary predict.
    ours = pd.read_csv(predict())
    decisions = ours["prediction"].to_numpy(dtype=bool)
    probabilities = ours["probability"].to_numpy(dtype=np.float64)
    scored = rows.select(udf(struct(*STATS)).alias("prediction"),
                         proba_udf(struct(*STATS)).alias("probability")).toPandas()
    checks = {
        "spark_udf decisions": np.array_equal(scored["prediction"].to_numpy(bool), decisions),
        "spark_udf probabilities": np.array_equal(
            scored["probability"].to_numpy(np.float64).view(np.uint64),
            probabilities.view(np.uint64)),
        "pyfunc decisions": np.array_equal(np.asarray(model.predict(df), bool), decisions),
        "pyfunc probabilities": np.array_equal(
            np.asarray(model.predict(df, params={"predict_method": "predict_proba"}),
                       np.float64).view(np.uint64), probabilities.view(np.uint64)),
    }
    print("identical to legendary predict, every row: "
          + ", ".join(f"{k} {'yes' if v else 'NO'}" for k, v in checks.items()), flush=True)

    times = {"legendary predict": [], "spark_udf": [], "pyfunc (one process)": []}
    for n in range(1, rounds + 1):
        times["legendary predict"].append(timed(predict)[0])
        times["spark_udf"].append(timed(lambda: spark_round(n))[0])
        times["pyfunc (one process)"].append(timed(lambda: model.predict(df))[0])
        print(f"round {n}: " + ", ".join(f"{k} {v[-1]:.2f} s" for k, v in times.items()),
              flush=True)
    base = min(times["legendary predict"])
    print(f"\nrows: {len(df):,}; best of {rounds} rounds (median):")
    for k, v in times.items():
        print(f"  {k:22s} {min(v):7.2f} s ({np.median(v):.2f} s)  {min(v) / base:5.2f}x "
              "legendary predict")
    spark.stop()
    print(json.dumps({k: v for k, v in times.items()}))
    sys.exit(0 if all(checks.values()) else 1)


if __name__ == "__main__":
    main()
