"""Explains rows with shap.KernelExplainer, for the tests that check `POST /explain`.

Reads one JSON object on stdin:
  {"background": [[six stats], ...], "rows": [[six stats], ...], "predict": P}
where P says what f, the legendary probability, is:
  {"url": "http://host:port/pokemon-types"}  the server's own probabilities, asked in batches
                                             through the demo API (a smartcore model answers
                                             no probabilities on /invocations);
  {"model_uri": "models:/name@alias", "tracking_uri": "http://..."}  a scikit-learn model
                                             loaded with mlflow.sklearn, f = predict_proba of
                                             its legendary class.
Writes {"expected_value": float, "shap_values": [[six], ...]} on stdout.

With six features KernelExplainer's default sample budget (2 * 6 + 2048) exceeds the 62
coalitions between nobody and everyone, so it enumerates every coalition: its answer is the
exact Shapley value of the same interventional game, up to its least-squares solve.
"""

import json
import sys
import urllib.request

import numpy as np
import shap

STATS = ["hp", "attack", "defense", "special_attack", "special_defense", "speed"]
BATCH = 5000  # items per /pokemon-types request (the server takes up to 10,000)


def via_http(url):
    def f(x):
        out = []
        for start in range(0, len(x), BATCH):
            items = [dict(zip(STATS, map(float, row))) for row in x[start : start + BATCH]]
            request = urllib.request.Request(
                url, data=json.dumps(items).encode(), headers={"Content-Type": "application/json"}
            )
            with urllib.request.urlopen(request, timeout=600) as response:
                out.extend(a["probability"] for a in json.load(response))
        return np.array(out, dtype=np.float64)

    return f


def via_mlflow(model_uri, tracking_uri):
    import mlflow
    import mlflow.sklearn
    import pandas as pd

    mlflow.set_tracking_uri(tracking_uri)
    model = mlflow.sklearn.load_model(model_uri)
    classes = [str(c) for c in model.classes_]
    legendary = next(i for i, c in enumerate(classes) if c in ("True", "true", "1", "legendary"))
    named = hasattr(model, "feature_names_in_")

    def f(x):
        frame = pd.DataFrame(x, columns=STATS) if named else x
        return model.predict_proba(frame)[:, legendary].astype(np.float64)

    return f


def main():
    spec = json.load(sys.stdin)
    predict = spec["predict"]
    if "url" in predict:
        f = via_http(predict["url"])
    else:
        f = via_mlflow(predict["model_uri"], predict["tracking_uri"])
    background = np.array(spec["background"], dtype=np.float64)
    rows = np.array(spec["rows"], dtype=np.float64)
    explainer = shap.KernelExplainer(f, background)
    values = explainer.shap_values(rows, silent=True)
    json.dump(
        {
            "expected_value": float(np.asarray(explainer.expected_value).reshape(-1)[0]),
            "shap_values": np.asarray(values, dtype=np.float64).tolist(),
        },
        sys.stdout,
    )


if __name__ == "__main__":
    main()
