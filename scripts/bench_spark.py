#!/usr/bin/env python3
"""MLflow's Python clients against `legendary predict` on the same rows, in one run.

Usage (scripts/bench-spark.sh runs it in the PySpark venv):
    bench_spark.py LEGENDARY CSV WORK ROUNDS MODEL_DIR [OTHER_MODEL_DIR]

OTHER_MODEL_DIR is the same model with another NumPy loader (e.g. an older commit's), timed
beside it in the same rounds. Each round, in turn:

- `legendary predict`: `LEGENDARY predict -m MODEL_DIR --input CSV --output ...` (a process:
  reads the CSV, loads the model, scores, writes a CSV);
- `spark_udf`, for each model: `mlflow.pyfunc.spark_udf(spark, MODEL_DIR)` in a `local[2]`
  session, the decision of every row of CSV (read as six doubles, two partitions) written to a
  CSV: Spark's two Python workers each score one half. The session and the UDFs (which copy the
  model) are made once before the rounds; a worker loads the model on its first batch;
- pyfunc in one process, for each model: `mlflow.pyfunc.load_model(MODEL_DIR).predict(df)` on
  the rows read with pandas (loaded once; reading the CSV is timed apart);
- Spark alone: the same read, UDF and write with a pandas UDF that answers `False` without
  looking, i.e. what Spark itself costs (the CSV, Arrow batches to and from the Python workers).

Before the rounds, every model's answers through both clients are checked against `legendary
predict`'s, every row, the probabilities to the bit.
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
from pyspark.sql.functions import pandas_udf, struct
from pyspark.sql.types import BooleanType, DoubleType, StructField, StructType

STATS = ["hp", "attack", "defense", "special_attack", "special_defense", "speed"]
PROBA = {"predict_method": "predict_proba"}


def timed(f):
    t = time.perf_counter()
    out = f()
    return time.perf_counter() - t, out


def same_bits(a, b):
    return np.array_equal(np.asarray(a, np.float64).view(np.uint64),
                          np.asarray(b, np.float64).view(np.uint64))


def main():
    legendary, csv, work, rounds, *model_dirs = sys.argv[1:]
    rounds = int(rounds)
    names = ["", " (other loader)"][:len(model_dirs)]
    os.makedirs(work, exist_ok=True)

    def predict():
        out = os.path.join(work, "legendary.csv")
        subprocess.run(
            [legendary, "predict", "-m", model_dirs[0], "--input", csv, "--output", out],
            check=True, env={**os.environ, "RUST_LOG": "warn"})
        return out

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
    udfs = [mlflow.pyfunc.spark_udf(spark, d) for d in model_dirs]
    schema = StructType([StructField(c, DoubleType()) for c in STATS])
    rows = spark.read.csv(csv, header=True, schema=schema)
    print(f"Spark session: {started:.1f} s to start; {rows.rdd.getNumPartitions()} partitions "
          "of the CSV", flush=True)

    @pandas_udf(BooleanType())
    def no(batch: pd.DataFrame) -> pd.Series:
        return pd.Series(np.zeros(len(batch), dtype=bool))

    def spark_round(f, n):
        out = os.path.join(work, f"spark-{n}")
        rows.select(f(struct(*STATS)).alias("prediction")).write.mode("overwrite").csv(out)

    models = [mlflow.pyfunc.load_model(d) for d in model_dirs]
    read, df = timed(lambda: pd.read_csv(csv).astype(float))
    print(f"pandas: {read:.2f} s to read the CSV", flush=True)

    # Exactness first (not timed): every row, every client, against legendary predict.
    ours = pd.read_csv(predict())
    decisions = ours["prediction"].to_numpy(dtype=bool)
    probabilities = ours["probability"].to_numpy(dtype=np.float64)
    checks = {}
    for name, d, udf, model in zip(names, model_dirs, udfs, models):
        proba_udf = mlflow.pyfunc.spark_udf(spark, d, result_type="double", params=PROBA)
        scored = rows.select(udf(struct(*STATS)).alias("prediction"),
                             proba_udf(struct(*STATS)).alias("probability")).toPandas()
        checks[f"spark_udf{name}"] = np.array_equal(
            scored["prediction"].to_numpy(bool), decisions) and same_bits(
            scored["probability"], probabilities)
        checks[f"pyfunc{name}"] = np.array_equal(
            np.asarray(model.predict(df), bool), decisions) and same_bits(
            model.predict(df, params=PROBA), probabilities)
    print("identical to legendary predict, every row and bit: "
          + ", ".join(f"{k} {'yes' if v else 'NO'}" for k, v in checks.items()), flush=True)

    times = {"legendary predict": []}
    for n in range(1, rounds + 1):
        times["legendary predict"].append(timed(predict)[0])
        for name, udf, model in zip(names, udfs, models):
            times.setdefault(f"spark_udf{name}", []).append(
                timed(lambda: spark_round(udf, n))[0])
            times.setdefault(f"pyfunc{name}", []).append(timed(lambda: model.predict(df))[0])
        times.setdefault("Spark alone", []).append(timed(lambda: spark_round(no, n))[0])
        print(f"round {n}: " + ", ".join(f"{k} {v[-1]:.2f} s" for k, v in times.items()),
              flush=True)
    base = min(times["legendary predict"])
    print(f"\nrows: {len(df):,}; best of {rounds} rounds (median), and the best against "
          "legendary predict's best:")
    for k, v in times.items():
        print(f"  {k:30s} {min(v):7.2f} s ({np.median(v):6.2f} s)  {min(v) / base:5.2f}x")
    spark.stop()
    print(json.dumps(times))
    sys.exit(0 if all(checks.values()) else 1)


if __name__ == "__main__":
    main()
