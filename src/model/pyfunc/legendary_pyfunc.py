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


# Leaves per bitvector word: a tree's leaves are the bits of one or more uint64 words.
_WORD = 64
_ALL = np.uint64(0xFFFF_FFFF_FFFF_FFFF)
# Rows scored per pass of the bitvector stage, so that its buffers (rows x words of 8 bytes:
# 1 MiB for the default 200 trees) stay in the cache.
_PASS_ROWS = 640
# Rows whose forest columns and threshold ranks are computed at once: bounds the memory a large
# batch takes (about 300 bytes a row) without paying NumPy's per-call cost on small slices.
_BATCH_ROWS = 65_536
# Most bytes of one block's lookup tables (per feature, one row of words per distinct threshold,
# 1.7 MiB for the default forest): a forest whose tables would be larger is scored in blocks
# of consecutive trees, each with its own tables.
_BLOCK_TABLE_BYTES = 16 << 20
# ``np.bitwise_count`` (NumPy 2.0+) finds a word's lowest bit in three operations; without it
# the float exponent does (any NumPy). Both give the same leaf; the tests run both.
_popcount = getattr(np, "bitwise_count", None)


def _leaf_proba(node, positive):
    """The fraction of legendary samples in a leaf, recovered from its Gini impurity: for two
    classes ``g = 2p(1-p)``, so the majority share is ``(1 + sqrt(1 - 2g)) / 2`` and ``output``
    says which class holds it (``leaf_probability`` in legendary, the same operations)."""
    g = min(max(node.get("impurity") or 0.0, 0.0), 0.5)
    majority = (1.0 + np.sqrt(1.0 - 2.0 * g)) / 2.0
    return float(majority if node["output"] == positive else 1.0 - majority)


class _Tree:
    """One tree, checked as legendary checks it (one tree rooted at node 0: links in range,
    every node reached exactly once, splits on existing columns with a value, leaves voting for
    existing classes), with its leaves numbered left to right (true child first).

    ``leaves`` holds their probabilities in that order; ``splits`` holds, for every split, its
    column, its threshold and the range ``[first, end)`` of the leaves under its true child:
    the leaves a row cannot reach when ``x <= threshold`` is false."""

    def __init__(self, tree, t, positive, n_classes, width):
        nodes = tree["nodes"]
        n = len(nodes)
        if n == 0:
            raise ValueError(f"tree {t} has no nodes")
        self.leaves, self.splits = [], []
        first, end = [0] * n, [0] * n
        reached = [False] * n
        reached[0] = True
        # Depth first without recursion (a tree may be as deep as it has nodes): a split is
        # entered (its children pushed, true child on top), then left once both are done.
        stack = [(0, True)]
        while stack:
            i, entering = stack.pop()
            node = nodes[i]
            t_child, f_child = node.get("true_child"), node.get("false_child")
            if not entering:
                end[i] = len(self.leaves)
                self.splits.append(
                    (node["split_feature"], float(node["split_value"]),
                     first[t_child], end[t_child])
                )
                continue
            first[i] = len(self.leaves)
            if t_child is None and f_child is None:
                if not 0 <= node["output"] < n_classes:
                    raise ValueError(f"tree {t}, node {i}: a leaf voting for an unknown class")
                self.leaves.append(_leaf_proba(node, positive))
                end[i] = len(self.leaves)
                continue
            if t_child is None or f_child is None:
                raise ValueError(f"tree {t}, node {i}: a split with one child")
            if not 0 <= node["split_feature"] < width:
                raise ValueError(f"tree {t}, node {i}: split feature out of range")
            value = node.get("split_value")
            if value is None or value != value:  # legendary refuses a split without a value
                raise ValueError(f"tree {t}, node {i}: split without value")
            for c in (t_child, f_child):
                if not 0 <= c < n:
                    raise ValueError(f"tree {t}, node {i}: child {c} is out of range")
                if reached[c]:
                    raise ValueError(f"tree {t}, node {c}: reached twice (a cycle or a shared child)")
                reached[c] = True
            stack += [(i, False), (f_child, True), (t_child, True)]
        if not all(reached):
            raise ValueError(f"tree {t}, node {reached.index(False)}: not reachable from the root")


class _Block:
    """Consecutive trees compiled for a QuickScorer evaluation (Lucchese et al., SIGIR 2015),
    which replaces the walk down each tree by lookups and bitwise ANDs that NumPy does for many
    rows at once.

    Each tree's leaves are bits of its words, left to right. A split whose test ``x <= t`` is
    false rules out the leaves under its true child; the leaf a row reaches is the leftmost one
    that no false test ruled out, i.e. the lowest bit left set. On one column, the tests that
    are false for a value ``x`` are exactly those with ``t < x``: with the column's distinct
    thresholds sorted, that is a prefix of them, whose length is ``searchsorted(thresholds, x)``
    (NaN sorts after every threshold, so every test is false and NaN goes right, as in
    legendary). So each column has a table whose row ``r`` is, for every word, the AND of the
    masks of the tests on the ``r`` smallest thresholds; a row's words are the AND, over the
    columns, of the table rows its values select."""

    def __init__(self, trees):
        sizes = [-(-len(tree.leaves) // _WORD) for tree in trees]
        self.first_word = np.cumsum([0] + sizes[:-1]).tolist()
        self.n_words = n_words = sum(sizes)
        self.sizes = sizes
        leaf_proba = np.zeros((n_words, _WORD))
        valid = [0] * n_words  # the bits that are leaves
        entries = {}  # column -> [(threshold, word, mask)]
        for tree, w0 in zip(trees, self.first_word):
            for k, p in enumerate(tree.leaves):
                leaf_proba[w0 + k // _WORD, k % _WORD] = p
                valid[w0 + k // _WORD] |= 1 << (k % _WORD)
            for column, threshold, lo, hi in tree.splits:
                for w in range(lo // _WORD, (hi - 1) // _WORD + 1):
                    a, b = max(lo - w * _WORD, 0), min(hi - w * _WORD, _WORD)
                    ruled_out = (1 << b) - (1 << a)
                    entries.setdefault(column, []).append((threshold, w0 + w, ~ruled_out & int(_ALL)))
        self.tables = []  # (column, sorted distinct thresholds, table)
        for column in sorted(entries):
            thresholds, words, masks = zip(*entries[column])
            distinct = np.unique(np.array(thresholds, dtype=np.float64))
            rows = np.searchsorted(distinct, thresholds) + 1
            table = np.full((len(distinct) + 1, n_words), _ALL, dtype=np.uint64)
            np.bitwise_and.at(table, (rows, np.array(words)), np.array(masks, dtype=np.uint64))
            # Row r: every test on the r smallest thresholds false.
            self.tables.append((column, distinct, np.bitwise_and.accumulate(table, axis=0)))
        self.valid = np.array(valid, dtype=np.uint64)
        if self.tables:  # the bits past a tree's last leaf are never its answer
            self.tables[0][2][:] &= self.valid
        # The leaf probability of word w's lowest bit b sits at w * 64 + b; the lowest-bit step
        # gives b + 1, hence the -1 here.
        self.offsets = (np.arange(n_words, dtype=np.intp) * _WORD - 1)[:, None]
        self.leaf_proba = leaf_proba.ravel()

    def ranks(self, x):
        """For each table, each row's count of thresholds below its value (``x`` Fortran
        ordered, so that a column is contiguous)."""
        return [np.searchsorted(distinct, x[:, column]) for column, distinct, _ in self.tables]

    def add_votes(self, ranks, total):
        """Adds each tree's leaf probability to ``total`` (one per row), tree by tree in order."""
        m = len(total)
        words = np.empty((m, self.n_words), dtype=np.uint64)
        scratch = np.empty_like(words)
        if not self.tables:
            words[:] = self.valid
        for k, ((_, _, table), rank) in enumerate(zip(self.tables, ranks)):
            # 'clip' does not buffer the output; every rank is in range anyway.
            if k == 0:
                np.take(table, rank, axis=0, out=words, mode="clip")
            else:
                np.take(table, rank, axis=0, out=scratch, mode="clip")
                np.bitwise_and(words, scratch, out=words)
        # b + 1 for each word's lowest set bit b: the bits up to it are those that change when
        # 1 is subtracted (an empty word, ruled out in favour of a later word, gives 64).
        np.subtract(words, np.uint64(1), out=scratch)
        np.bitwise_xor(scratch, words, out=scratch)
        lowest = np.empty((m, self.n_words), dtype=np.uint8)
        if _popcount is not None:
            _popcount(scratch, out=lowest)
        else:
            # The highest bit of 2^(b+1) - 1 is b: 2^(b+1) - 1 >> 1, plus 1, is 2^b, whose float
            # exponent is 1023 + b; (1023 + b + 2) mod 128 is b + 1.
            np.right_shift(scratch, np.uint64(1), out=scratch)
            np.add(scratch, np.uint64(1), out=scratch)
            exponent = scratch.astype(np.float64).view(np.uint64) >> np.uint64(52)
            np.bitwise_and(exponent + np.uint64(2), np.uint64(127), out=lowest, casting="unsafe")
        # Trees along the first axis, so each tree's probabilities are contiguous to add.
        at = np.add(lowest.T, self.offsets)
        proba = np.take(self.leaf_proba, at, mode="clip")
        for w0, size in zip(self.first_word, self.sizes):
            p = proba[w0]
            # A tree of more than 64 leaves: its leaf is in its first word that has a bit left.
            for w in range(w0 + size - 2, w0 - 1, -1):
                p = np.where(words[:, w] != 0, proba[w], p)
            np.add(total, p, out=total)


def _blocks(trees):
    """The trees in blocks of consecutive trees whose tables take at most
    ``_BLOCK_TABLE_BYTES`` (one block for the forests legendary trains by default)."""

    def novel(tree, distinct):
        """The tree's thresholds not yet in ``distinct``, and the table rows they add."""
        new = {}
        for column, threshold, _, _ in tree.splits:
            if threshold not in distinct.get(column, ()):
                new.setdefault(column, set()).add(threshold)
        return new, sum(len(s) + (c not in distinct) for c, s in new.items())

    blocks, start, words, rows, distinct = [], 0, 0, 0, {}
    for i, tree in enumerate(trees):
        size = -(-len(tree.leaves) // _WORD)
        new, more = novel(tree, distinct)
        if i > start and (rows + more) * (words + size) * 8 > _BLOCK_TABLE_BYTES:
            blocks.append(_Block(trees[start:i]))
            start, words, rows, distinct = i, 0, 0, {}
            new, more = novel(tree, distinct)
        for column, thresholds in new.items():
            distinct.setdefault(column, set()).update(thresholds)
        words, rows = words + size, rows + more
    blocks.append(_Block(trees[start:]))
    return blocks


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
        classes = forest["classes"]
        positive = classes.index(1)
        self.feature_set = envelope["feature_set"]
        self.threshold = float(envelope["decision_threshold"])
        knots = envelope.get("calibration")
        self.calibration = None if knots is None else _Calibration(knots)
        width = len(envelope["forest_features"])
        trees = [_Tree(t, i, positive, len(classes), width) for i, t in enumerate(forest["trees"])]
        if not trees:
            raise ValueError("the forest has no trees")
        self.n_trees = len(trees)
        self.blocks = _blocks(trees)

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
        """The share of the trees' votes, before calibration: each tree's leaf probability
        summed tree by tree in file order (float addition is not associative: this is the
        order legendary sums in), divided by the number of trees."""
        stats = self._stats(model_input)
        total = np.zeros(len(stats))
        for start in range(0, len(stats), _BATCH_ROWS):
            x = np.asfortranarray(_columns(stats[start:start + _BATCH_ROWS], self.feature_set))
            ranks = [block.ranks(x) for block in self.blocks]
            for s in range(0, len(x), _PASS_ROWS):
                e = min(s + _PASS_ROWS, len(x))
                for block, block_ranks in zip(self.blocks, ranks):
                    block.add_votes([r[s:e] for r in block_ranks], total[start + s:start + e])
        return total / self.n_trees

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
