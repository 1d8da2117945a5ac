"""MLflow ``python_function`` loader for a legendary smartcore forest (``model.json``).

Shipped inside every model directory ``legendary train`` writes (``code/``), so that
``mlflow.pyfunc.load_model(uri).predict(df)``, ``mlflow.pyfunc.spark_udf``, ``mlflow models
predict`` and ``mlflow models serve`` work with nothing but NumPy, and give exactly legendary's
answers: the same derived columns, the same leaf in every tree (``x <= threshold`` goes to the
true child, NaN goes right), the same leaf probabilities (recovered from the Gini impurity),
summed tree by tree in file order, then the same calibration map (``calibration`` in
``model.json``, when present), so the probabilities are bit-identical to ``legendary serve``'s.

The trees are compiled once, at load, for a QuickScorer evaluation (``_Block``): instead of
walking each tree level by level, every row looks up, per column, which leaves its value rules
out, as bitvectors that NumPy ANDs for hundreds of rows and all trees at once. A million rows
of the default forest take about 3 s in one process, fifteen times less than the walk did.
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
# Columns with few distinct thresholds share a table of at most this many rows (the default
# forest's five counting columns take two tables instead of five).
_MERGED_ROWS = 256
# Most whole numbers a column's thresholds span for its ranks to be looked up (``_Ranks``).
_DENSE_RANKS = 4096
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
                    raise ValueError(f"tree {t}, node {c}: reached twice (a cycle, or shared)")
                reached[c] = True
            stack += [(i, False), (f_child, True), (t_child, True)]
        if not all(reached):
            raise ValueError(f"tree {t}, node {reached.index(False)}: not reachable from the root")


class _Ranks:
    """How many of a column's distinct thresholds (sorted) lie below each value:
    ``searchsorted``, or for whole values (stats are) a lookup in the answers for every whole
    number from the smallest threshold's floor to the largest's plus 1, clipped to that range
    (below it no threshold is lower, above it every one is), a sixth of the cost."""

    def __init__(self, distinct):
        self.distinct, self.n = distinct, len(distinct)
        self.dense = None
        low, high = np.floor(distinct[0]), np.floor(distinct[-1]) + 1.0
        if np.isfinite(low) and np.isfinite(high) and high - low < _DENSE_RANKS:
            self.low, self.high = low, high
            self.dense = np.searchsorted(distinct, np.arange(low, high + 1.0))

    def __call__(self, x):
        if self.dense is None:
            return np.searchsorted(self.distinct, x)
        with np.errstate(invalid="ignore"):  # NaN to int, fixed below
            whole = np.trunc(x) == x  # not NaN, not a fraction
            at = np.clip(x, self.low, self.high)
            at -= self.low
            rank = np.take(self.dense, at.astype(np.intp), mode="clip")
        if not whole.all():
            other = ~whole
            rank[other] = np.searchsorted(self.distinct, x[other])
        return rank


class _Block:
    """Consecutive trees compiled for a QuickScorer evaluation (Lucchese et al., SIGIR 2015),
    which replaces the walk down each tree by lookups and bitwise ANDs that NumPy does for many
    rows at once.

    Each tree's leaves are bits, left to right, of 64-bit words. A split whose test ``x <= t``
    is false rules out the leaves under its true child; the leaf a row reaches is the leftmost
    one that no false test ruled out, i.e. the tree's lowest bit left set. On one column, the
    tests that are false for a value ``x`` are exactly those with ``t < x``: with the column's
    distinct thresholds sorted, a prefix of them, as long as ``searchsorted(thresholds, x)``
    (NaN sorts after every threshold, so every test is false and NaN goes right, as in
    legendary). So each column has a table whose row ``r`` holds, for every word, the AND of the
    masks of the tests on the ``r`` smallest thresholds, and a row's words are the AND, over the
    columns, of the table rows its values select. Columns with few thresholds share one table,
    indexed by their ranks together, so a row takes fewer ANDs.

    A tree of up to 64 leaves is a slot of one word, shared with other such trees (each at its
    own bit offset): the words a row ANDs are fewer than the trees. A larger tree has a slot for
    each 64 leaves, in words of its own, and its leaf is in its first slot with a bit left."""

    def __init__(self, trees):
        n_leaves = [len(tree.leaves) for tree in trees]
        place, n_words = self._pack(n_leaves)
        # A slot per word for the tree at its bottom (bit 0), then one for each tree placed
        # higher in a word, which is shifted down to be read.
        shifted = [p for p in place if p[1]]
        self.shifted_word = np.array([w for w, _ in shifted], dtype=np.intp)
        self.shifted_by = np.array([b for _, b in shifted], dtype=np.uint64)
        n_slots = n_words + len(shifted)
        self.tree_slot, self.large = [], []  # each tree's first slot; trees of several slots
        leaf_proba = np.zeros((n_slots, _WORD))
        valid = [0] * n_words  # the bits that are leaves
        entries = {}  # column -> [(threshold, word, bits ruled out)]
        for tree, (word, shift), n in zip(trees, place, n_leaves):
            slot = word if shift == 0 else n_words + shifted.index((word, shift))
            if n > _WORD:
                self.large.append((len(self.tree_slot), slot, -(-n // _WORD)))
            self.tree_slot.append(slot)
            for k, p in enumerate(tree.leaves):
                leaf_proba[slot + k // _WORD, k % _WORD] = p
                valid[word + k // _WORD] |= 1 << (shift + k % _WORD)
            for column, threshold, lo, hi in tree.splits:
                for j in range(lo // _WORD, (hi - 1) // _WORD + 1):
                    a, b = max(lo - j * _WORD, 0), min(hi - j * _WORD, _WORD)
                    ruled_out = (1 << (shift + b)) - (1 << (shift + a))
                    entries.setdefault(column, []).append((threshold, word + j, ruled_out))
        self.valid = np.array(valid, dtype=np.uint64)
        self.tables = self._merge([self._table(c, entries[c], n_words) for c in sorted(entries)])
        if self.tables:  # the bits that are no leaf are never an answer
            self.tables[0][1][:] &= self.valid
        # The leaf probability of slot s's lowest bit b sits at s * 64 + b; the lowest-bit step
        # gives b + 1, hence the -1.
        self.offsets = (np.arange(n_slots, dtype=np.intp) * _WORD - 1)[:, None]
        self.leaf_proba = leaf_proba.ravel()
        # Slots already in tree order, one per tree, need no reordering before the sum.
        self.in_order = self.tree_slot == list(range(n_slots))
        self.tree_slot = np.array(self.tree_slot, dtype=np.intp)

    @staticmethod
    def _pack(n_leaves):
        """Each tree's first word and bit offset: trees of up to 64 leaves share words, largest
        first, each into the fullest word it fits (best fit); a larger tree takes words of its
        own. Returns the places in tree order, and the number of words."""
        place = [None] * len(n_leaves)
        with_free = [[] for _ in range(_WORD + 1)]  # free bits -> words with that many free
        n_words = 0
        for t in sorted(range(len(n_leaves)), key=lambda t: -n_leaves[t]):
            n = n_leaves[t]
            if n > _WORD:
                place[t] = (n_words, 0)
                n_words += -(-n // _WORD)
                continue
            free = next((f for f in range(n, _WORD + 1) if with_free[f]), None)
            if free is None:
                word, free = n_words, _WORD
                n_words += 1
            else:
                word = with_free[free].pop()
            place[t] = (word, _WORD - free)
            with_free[free - n].append(word)
        return place, n_words

    @staticmethod
    def _table(column, entries, n_words):
        """One column's ``(lookups, table)``: row ``r`` of the table ANDs the masks of the tests
        on the ``r`` smallest of its distinct thresholds (row 0: no test false)."""
        thresholds, words, ruled_out = zip(*entries)
        distinct = np.unique(np.array(thresholds, dtype=np.float64))
        rows = np.searchsorted(distinct, thresholds) + 1
        table = np.full((len(distinct) + 1, n_words), _ALL, dtype=np.uint64)
        masks = np.array([~r & int(_ALL) for r in ruled_out], dtype=np.uint64)
        np.bitwise_and.at(table, (rows, np.array(words, dtype=np.intp)), masks)
        return [(column, _Ranks(distinct))], np.bitwise_and.accumulate(table, axis=0)

    @staticmethod
    def _merge(tables):
        """Columns with the fewest thresholds merged while their joint table has at most
        ``_MERGED_ROWS`` rows: row ``r_a * n_b + r_b`` of A and B's table is ``A[r_a] & B[r_b]``."""
        merged = []
        for lookups, table in sorted(tables, key=lambda t: len(t[1])):
            if merged and len(merged[-1][1]) * len(table) <= _MERGED_ROWS:
                held, joint = merged[-1]
                joint = (joint[:, None, :] & table[None, :, :]).reshape(-1, table.shape[1])
                merged[-1] = (held + lookups, joint)
            else:
                merged.append((lookups, table))
        return merged

    def ranks(self, x):
        """Each table's row for each row of ``x`` (Fortran ordered, so a column is contiguous)."""
        out = []
        for lookups, _ in self.tables:
            rank = None
            for column, ranks in lookups:
                r = ranks(x[:, column])
                rank = r if rank is None else rank * (ranks.n + 1) + r
            out.append(rank)
        return out

    def add_votes(self, ranks, total):
        """Adds each tree's leaf probability to ``total`` (one per row), tree by tree in order."""
        m = len(total)
        n_words = len(self.valid)
        words = np.empty((m, n_words), dtype=np.uint64)
        if not self.tables:
            words[:] = self.valid
        scratch = np.empty_like(words)
        for k, ((_, table), rank) in enumerate(zip(self.tables, ranks)):
            # 'clip' does not buffer the output; every rank is in range anyway.
            np.take(table, rank, axis=0, out=words if k == 0 else scratch, mode="clip")
            if k:
                np.bitwise_and(words, scratch, out=words)
        # b + 1 for each slot's lowest bit b, slots along the second axis: the words', then the
        # shifted ones'.
        lowest = np.empty((m, len(self.offsets)), dtype=np.uint8)
        _lowest_bits(words, scratch, lowest[:, :n_words])
        if len(self.shifted_word):
            up = np.take(words, self.shifted_word, axis=1, mode="clip")
            np.right_shift(up, self.shifted_by, out=up)  # the bits above: other trees'
            _lowest_bits(up, np.empty_like(up), lowest[:, n_words:])
        proba = np.take(self.leaf_proba, np.add(lowest.T, self.offsets), mode="clip")
        # Row 0 the sum so far, then one row per tree, in tree order.
        rows = np.empty((len(self.tree_slot) + 1, m))
        rows[0] = total
        if self.in_order:
            rows[1:] = proba
        else:
            np.take(proba, self.tree_slot, axis=0, out=rows[1:], mode="clip")
        for t, s0, n in self.large:  # its leaf is in its first slot (word) with a bit left
            for s in range(s0 + n - 1, s0 - 1, -1):
                rows[1 + t] = np.where(words[:, s] != 0, proba[s], rows[1 + t])
        _sum_rows(rows, total)


def _lowest_bits(words, scratch, out):
    """Writes ``b + 1`` for the lowest bit ``b`` set in each of ``words`` to ``out`` (64 for a
    word of none too: a large tree's slot that is empty is told by its word)."""
    # The bits up to the lowest one are those that change when 1 is subtracted.
    np.subtract(words, np.uint64(1), out=scratch)
    np.bitwise_xor(scratch, words, out=scratch)
    if _popcount is not None:
        _popcount(scratch, out=out)
    else:
        # Plus 1, halved, that is 2^b, whose float exponent is 1023 + b, and
        # (1023 + b + 2) mod 128 is b + 1.
        np.add(scratch >> np.uint64(1), np.uint64(1), out=scratch)
        exponent = scratch.astype(np.float64).view(np.uint64) >> np.uint64(52)
        np.bitwise_and(exponent + np.uint64(2), np.uint64(127), out=out, casting="unsafe")


def _rows_add_in_order():
    """Whether ``np.add.reduce`` over the first axis of a C-ordered matrix adds its rows one
    after the other, as a loop does: NumPy sums pairwise only along the contiguous axis, as its
    documentation says; checked once on the NumPy at hand, with sums whose rounding depends on
    the order."""
    rng = np.random.default_rng(0)
    rows = rng.random((257, 64)) * np.exp(rng.normal(0.0, 20.0, (257, 1)))
    total = np.zeros(64)
    for row in rows:
        total = total + row
    return np.array_equal(np.add.reduce(rows, axis=0), total)


_ROWS_ADD_IN_ORDER = _rows_add_in_order()


def _sum_rows(rows, out):
    """``out = ((rows[0] + rows[1]) + rows[2]) + ...``, in exactly that order (float addition
    is not associative: it is the order legendary sums the trees in)."""
    if _ROWS_ADD_IN_ORDER:
        np.add.reduce(rows, axis=0, out=out)
    else:
        out[:] = rows[0]
        for row in rows[1:]:
            np.add(out, row, out=out)


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


def _multiples(v, divisors):
    """For each divisor, whether ``v % of == 0``: the float remainder, which is what legendary's
    ``is_multiple`` answers (its tests prove it). Where ``1 <= |v| <= 1e15`` it is whether
    ``v / of`` is whole, a third of the cost of ``fmod``: the quotient is correctly rounded, so
    it is whole when ``of`` divides ``v``; otherwise ``v`` is at least one ulp(v) (at most 1
    there) from any multiple ``of * n``, farther than the quotient's rounding (at most
    ``of / 8`` ulp(v) for an ``of`` of at most 20) can bring it to ``n``. ``fmod`` answers
    elsewhere (below 1, a quotient may underflow to 0)."""
    with np.errstate(invalid="ignore"):
        magnitude = np.abs(v)
        small = (magnitude >= 1.0) & (magnitude <= 1e15)
        other = ~small
        out = []
        for of in divisors:
            q = v / float(of)
            multiple = (np.trunc(q) == q) & small
            if other.any():
                multiple[other] = np.fmod(v[other], float(of)) == 0.0
            out.append(multiple)
        return out


# A sorting network for six values (twelve compare-exchanges, checked against np.sort on
# every arrangement of six values by the tests of legendary_pyfunc).
_SORT6 = [(0, 5), (1, 3), (2, 4), (1, 2), (3, 4), (0, 3), (2, 5), (0, 1), (2, 3), (4, 5),
          (1, 2), (3, 4)]


def _sorted_rows(stats_t):
    """Each row's six stats in increasing order, as six contiguous rows (the input is too):
    a sorting network over whole columns, ten times cheaper than sorting six values per row;
    np.sort where a stat is NaN, which sorts last there (as Rust's total_cmp puts positive
    NaN), while minimum and maximum would spread it."""
    if np.isnan(stats_t).any():
        return np.ascontiguousarray(np.sort(stats_t.T, axis=1).T)
    s = [row.copy() for row in stats_t]
    for i, j in _SORT6:
        low = np.minimum(s[i], s[j])
        np.maximum(s[i], s[j], out=s[j])
        s[i] = low
    return np.stack(s)


def _columns(stats, feature_set):
    """The forest's columns for rows of the six stats (``FeatureSet::fill`` in legendary),
    Fortran ordered (each column contiguous, as the scoring reads them)."""
    if feature_set == "raw":
        return np.asfortranarray(stats)
    if feature_set not in ("derived", "regularity"):
        raise ValueError(f"unknown feature set {feature_set!r}")
    stats_t = np.ascontiguousarray(stats.T)  # a view when pandas gave the rows
    s = _sorted_rows(stats_t)
    width = 11 if feature_set == "derived" else 15
    out = np.empty((width, len(stats)))
    out[:6] = stats_t
    total = out[6]
    np.add(s[0], s[1], out=total)  # in this order, as legendary sums
    for i in range(2, 6):
        total += s[i]
    out[7], out[8] = s[0], s[1]
    np.subtract(s[5], s[0], out=out[9])
    if feature_set == "derived":
        mean = total / 6.0
        sq = [(s[i] - mean) * (s[i] - mean) for i in range(6)]
        var = (sq[0] + sq[1] + sq[2] + sq[3] + sq[4] + sq[5]) / 6.0
        np.sqrt(var, out=out[10])
        return out.T
    five, ten = _multiples(stats_t, (5, 10))
    np.add.reduce(five, axis=0, dtype=np.float64, out=out[10])
    np.add.reduce(ten, axis=0, dtype=np.float64, out=out[11])
    # Equal stats are neighbours once sorted (NaN equals nothing, not even itself, so each
    # NaN is a distinct value and in no tie): distinct values are 6 less the neighbours equal
    # to their predecessor; the largest tie is the longest run of equal neighbours.
    same = s[1:] == s[:-1]
    np.subtract(6.0, np.add.reduce(same, axis=0, dtype=np.float64), out=out[12])
    run = (s[0] == s[0]).astype(np.float64)
    largest = run.copy()
    for i in range(5):
        run = np.where(same[i], run + 1.0, (s[i + 1] == s[i + 1]).astype(np.float64))
        np.maximum(largest, run, out=largest)
    out[13] = largest
    out[14] = _multiples(total, (20,))[0]
    return out.T


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
            x = _columns(stats[start:start + _BATCH_ROWS], self.feature_set)
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
