"""MLflow ``python_function`` loader for a legendary smartcore forest (``model.json``).

Shipped inside every model directory ``legendary train`` writes (``code/``), so that
``mlflow.pyfunc.load_model(uri).predict(df)``, ``mlflow models predict`` and
``mlflow models serve`` work with nothing but NumPy, and give exactly legendary's answers:
the same derived columns, the same tree walk (``x <= threshold`` goes to the true child, NaN
goes right), the same leaf probabilities (recovered from the Gini impurity), summed tree by
tree in file order, then the same calibration map (``calibration`` in ``model.json``, when
present), so the probabilities are bit-identical to ``legendary serve``'s.
"""

import json

import numpy as np

FORMAT = "legendary.forest/v1"
STATS = ["hp", "attack", "defense", "special_attack", "special_defense", "speed"]
MAX_KNOTS = 10_001


class _Tree:
    """One tree as flat arrays; a leaf points at itself, so extra steps stay put."""

    def __init__(self, tree, positive, width):
        nodes = tree["nodes"]
        n = len(nodes)
        if n == 0:
            raise ValueError("a tree has no nodes")
        self.feature = np.zeros(n, dtype=np.int64)
        self.threshold = np.full(n, np.inf)
        self.true_child = np.arange(n, dtype=np.int64)
        self.false_child = np.arange(n, dtype=np.int64)
        self.proba = np.zeros(n)
        for i, node in enumerate(nodes):
            t, f = node.get("true_child"), node.get("false_child")
            if t is not None and f is not None:
                if not (0 <= t < n and 0 <= f < n and 0 <= node["split_feature"] < width):
                    raise ValueError(f"node {i} links outside its tree")
                self.feature[i] = node["split_feature"]
                split = node.get("split_value")
                self.threshold[i] = np.nan if split is None else split
                self.true_child[i] = t
                self.false_child[i] = f
            else:
                g = min(max(node.get("impurity") or 0.0, 0.0), 0.5)
                majority = (1.0 + np.sqrt(1.0 - 2.0 * g)) / 2.0
                self.proba[i] = majority if node["output"] == positive else 1.0 - majority
        # A walk of n steps reaches a leaf of any tree of n nodes.
        self.depth = int(tree.get("depth") or n)

    def leaf_proba(self, x):
        at = np.zeros(len(x), dtype=np.int64)
        rows = np.arange(len(x))
        for _ in range(self.depth):
            value = x[rows, self.feature[at]]
            go_true = value <= self.threshold[at]  # NaN compares false: goes right
            nxt = np.where(go_true, self.true_child[at], self.false_child[at])
            if np.array_equal(nxt, at):
                break
            at = nxt
        return self.proba[at]


def _is_multiple(v, of):
    """``v % of == 0`` as legendary computes it (exact for integers up to 1e15)."""
    with np.errstate(invalid="ignore"):
        small = (v >= 0.0) & (v <= 1e15)
        whole = np.where(small, np.trunc(np.where(small, v, 0.0)), 0.0)
        exact = (whole == v) & (np.fmod(whole, of) == 0.0)
        return np.where(small, exact, np.fmod(v, of) == 0.0)


def _columns(stats, feature_set):
    """The forest's columns for rows of the six stats (``FeatureSet::fill`` in legendary)."""
    if feature_set == "raw":
        return stats
    s = np.sort(stats, axis=1)  # NaN sorts last, as Rust's total_cmp puts positive NaN
    total = s[:, 0] + s[:, 1] + s[:, 2] + s[:, 3] + s[:, 4] + s[:, 5]
    derived = [total, s[:, 0], s[:, 1], s[:, 5] - s[:, 0]]
    if feature_set == "derived":
        mean = total / 6.0
        sq = [(s[:, i] - mean) * (s[:, i] - mean) for i in range(6)]
        var = (sq[0] + sq[1] + sq[2] + sq[3] + sq[4] + sq[5]) / 6.0
        return np.column_stack([stats, *derived, np.sqrt(var)])
    if feature_set != "regularity":
        raise ValueError(f"unknown feature set {feature_set!r}")
    count = lambda of: sum(_is_multiple(stats[:, i], float(of)).astype(float) for i in range(6))
    eq = stats[:, :, None] == stats[:, None, :]
    earlier = np.tril(np.ones((6, 6), dtype=bool), k=-1)
    distinct = (~(eq & earlier).any(axis=2)).sum(axis=1).astype(float)
    largest_tie = eq.sum(axis=2).max(axis=1).astype(float)
    return np.column_stack(
        [stats, *derived, count(5), count(10), distinct, largest_tie,
         _is_multiple(total, 20.0).astype(float)]
    )


class _Calibration:
    """The map from vote fraction to probability (``Calibration`` in legendary): flat below
    the first knot and above the last, ``y[i]`` at a knot, and between knots
    ``y[i] + (p - x[i]) * ((y[i+1] - y[i]) / (x[i+1] - x[i]))``, in that order, as legendary
    computes it (NumPy's elementwise float64 arithmetic gives the same bits)."""

    def __init__(self, knots):
        x = np.asarray(knots["x"], dtype=np.float64)
        y = np.asarray(knots["y"], dtype=np.float64)
        if x.ndim != 1 or x.shape != y.shape or not 1 <= len(x) <= MAX_KNOTS:
            raise ValueError("calibration needs 1 to 10001 knots, as many x as y")
        if not (np.all((x >= 0.0) & (x <= 1.0)) and np.all((y >= 0.0) & (y <= 1.0))):
            raise ValueError("calibration knots must be numbers in [0, 1]")
        if np.any(x[1:] <= x[:-1]) or np.any(y[1:] < y[:-1]):
            raise ValueError("calibration x must be strictly increasing and y non-decreasing")
        self.x, self.y = x, y

    def __call__(self, p):
        x, y, n = self.x, self.y, len(self.x)
        below = np.searchsorted(x, p, side="right")  # knots at or below p
        i = np.clip(below - 1, 0, max(n - 2, 0))
        j = np.minimum(i + 1, n - 1)
        with np.errstate(invalid="ignore", divide="ignore"):
            inside = y[i] + (p - x[i]) * ((y[j] - y[i]) / (x[j] - x[i]))
        out = np.where(p == x[i], y[i], inside)
        out = np.where(below == 0, y[0], np.where(below >= n, y[n - 1], out))
        return np.where(np.isnan(p), p, out)


class LegendaryForest:
    """The forest of ``model.json``: ``predict`` gives legendary or not, ``predict_proba`` the
    probability (mean leaf fraction of legendary samples over the trees, through the
    calibration map when the model has one)."""

    def __init__(self, envelope):
        if envelope.get("format") != FORMAT:
            raise ValueError(f"not a {FORMAT} model: format {envelope.get('format')!r}")
        if envelope["input_features"] != STATS:
            raise ValueError(f"inputs must be {STATS}")
        forest = envelope["forest"]
        positive = forest["classes"].index(1)
        self.feature_set = envelope["feature_set"]
        self.threshold = float(envelope["decision_threshold"])
        knots = envelope.get("calibration")
        self.calibration = None if knots is None else _Calibration(knots)
        width = len(envelope["forest_features"])
        self.trees = [_Tree(t, positive, width) for t in forest["trees"]]

    def _stats(self, model_input):
        if hasattr(model_input, "columns"):
            missing = [c for c in STATS if c not in model_input.columns]
            if missing:
                raise ValueError(f"missing columns {missing}: the model takes {STATS}")
            model_input = model_input[STATS].to_numpy()
        x = np.asarray(model_input, dtype=np.float64)
        if x.ndim != 2 or x.shape[1] != len(STATS):
            raise ValueError(f"expected rows of {len(STATS)} stats, got shape {x.shape}")
        return x

    def vote_fraction(self, model_input):
        """The share of the trees' votes, before calibration."""
        x = _columns(self._stats(model_input), self.feature_set)
        total = np.zeros(len(x))
        for tree in self.trees:
            total = total + tree.leaf_proba(x)  # tree by tree, as legendary sums
        return total / len(self.trees)

    def predict_proba(self, model_input):
        votes = self.vote_fraction(model_input)
        return votes if self.calibration is None else self.calibration(votes)

    def predict(self, model_input, params=None):
        """Legendary or not; with ``params={"predict_method": "predict_proba"}``, the
        probability of legendary instead (one number per row, as ``legendary serve``
        reports it)."""
        method = (params or {}).get("predict_method", "predict")
        if method == "predict_proba":
            return self.predict_proba(model_input)
        if method != "predict":
            raise ValueError(
                f"predict_method must be 'predict' or 'predict_proba', not {method!r}"
            )
        return self.predict_proba(model_input) > self.threshold


def _load_pyfunc(path):
    """MLflow's entry point: ``path`` is the flavor's ``data`` (``model.json``)."""
    with open(path, encoding="utf-8") as f:
        return LegendaryForest(json.load(f))
