//! The QuickScorer walk (Lucchese et al., SIGIR 2015), vectorised over rows (V-QuickScorer).
//! Each tree keeps, for each row, a 64-bit set of the leaves the row can still reach, leaves
//! numbered left to right (the left child is the `x <= threshold` side); a split the row goes
//! right at removes the leaves of its left subtree, in any order. When every split is seen,
//! the leftmost leaf left is the exit leaf. No path is followed, so nothing waits on a load.
//!
//! - **Blocks of rows** ([`QuickScorer::proba_block`]) first turn the block's values into
//!   integer [`Keys`] (`ceil(2x)`, or a rank among the feature's thresholds: exact, ordered
//!   as `x <= threshold` is), then go tree by tree: a tree's bitvectors for a pass of rows sit
//!   in eight registers while each of its splits costs a compare and an AND per register,
//!   then its exit leaves are looked up at once. Trees of at most 32 leaves use `u32` lanes,
//!   twice the rows per register.
//! - **A lone row** ([`QuickScorer::proba_one`]) goes feature by feature through every split
//!   sorted by threshold, and stops a feature at the first split the row goes left at: it
//!   sees only the splits that remove leaves.
//!
//! The answer is the same as the tree walk's, to the bit: the same leaf for every tree, and
//! the leaf fractions summed tree by tree in the same order. A tree with more than 64 leaves
//! has no bitvector: forests with one are walked as before ([`super::FlatForest`]).
//!
//! The block kernel runs under [`pulp::Arch::dispatch`], which picks AVX-512, AVX2 or baseline
//! code at run time, with no `unsafe` here.

use super::{BLOCK_ROWS, FlatForest, ROW_STRIDE};

/// Leaves a tree may have to be scored this way: one bit each in a `u64`.
pub(super) const MAX_LEAVES: usize = 64;

/// Leaves a tree may have to go in the block kernel's `u32` lanes.
const NARROW_LEAVES: usize = 32;

/// Vectors of bitvectors the block kernel keeps in registers while it applies a tree's
/// splits: half of AVX2's sixteen, a quarter of AVX-512's 32, leaving room for the column,
/// the threshold and the mask.
const PASS_VECTORS: usize = 8;

/// Every split of a forest twice: grouped by feature and sorted by threshold (for lone rows),
/// and tree by tree (for blocks); with the mask of leaves each removes, and every leaf's
/// legendary fraction.
#[derive(Debug, Clone)]
pub(super) struct QuickScorer {
    /// Splits on feature `f` are `offsets[f]..offsets[f + 1]` of the three arrays below.
    offsets: Vec<usize>,
    /// Ascending, a NaN threshold (a split every row takes to the right) first.
    thresholds: Vec<f64>,
    /// The tree of each split.
    trees: Vec<u32>,
    /// Ones everywhere but the leaves of the split's left subtree.
    masks: Vec<u64>,
    /// Tree `t`'s leaf `k` (left to right) is `leaf_proba[t][k]`. A full 64 per tree, so the
    /// exit leaf's index (a trailing-zero count, masked to 0..64) needs no bounds check and the
    /// lookups of a block vectorise into gathers (measured: 0.33 µs a row with a packed table
    /// and a clamp, 0.15 µs like this).
    leaf_proba: Vec<[f64; MAX_LEAVES]>,
    /// The same splits again, tree by tree, for the block kernel: tree `t`'s are
    /// `tree_offsets[t]..tree_offsets[t + 1]` of `tree_splits`.
    tree_offsets: Vec<usize>,
    tree_splits: Vec<TreeSplit>,
    /// Whether tree `t` has at most [`NARROW_LEAVES`] leaves, so the block kernel keeps its
    /// bitvectors in `u32` lanes: twice the rows per instruction.
    narrow: Vec<bool>,
    /// How each feature's values become the integer keys the block kernel compares.
    keys: Vec<Keys>,
}

/// A feature's values as `i32` keys that order against its thresholds' keys exactly as
/// `x <= threshold` does: a row goes right at a split when its key is above the split's. A
/// NaN threshold's key is `i32::MIN`, below every value's (every row goes right there, as
/// `x <= NaN` is false); a NaN value's is `i32::MAX`, above every threshold's.
#[derive(Debug, Clone)]
enum Keys {
    /// Every threshold is a multiple of 0.5 within ±2^29, as a forest trained on integers
    /// splits at midpoints: a threshold's key is `2t`, a value's `ceil(2x)`, since
    /// `x > t` exactly when `ceil(2x) > 2t` for an integer `2t`. No search.
    Halves,
    /// Otherwise the feature's distinct thresholds, ascending, NaN left out and `-0.0` as
    /// `0.0`: a value's key is how many are below it, a threshold's its index, so `x > t`
    /// exactly when every cut up to `t` is below `x`.
    Ranks(Vec<f64>),
}

/// Largest `|2t|` for [`Keys::Halves`]: far inside `i32`, so a saturated value's key stays
/// on the right side of every threshold's.
const HALVES_LIMIT: f64 = (1 << 30) as f64;

impl Keys {
    /// The keys for a feature split at `thresholds`.
    fn new(thresholds: impl Iterator<Item = f64> + Clone) -> Self {
        let halves = thresholds
            .clone()
            .filter(|t| !t.is_nan())
            .all(|t| (2.0 * t).fract() == 0.0 && (2.0 * t).abs() <= HALVES_LIMIT);
        if halves {
            return Self::Halves;
        }
        let mut cuts: Vec<f64> = thresholds
            .filter(|t| !t.is_nan())
            .map(|t| t + 0.0)
            .collect();
        cuts.sort_by(f64::total_cmp);
        cuts.dedup();
        Self::Ranks(cuts)
    }

    /// A threshold's key (one of those [`Keys::new`] saw).
    fn threshold(&self, t: f64) -> i32 {
        if t.is_nan() {
            return i32::MIN;
        }
        match self {
            Self::Halves => (2.0 * t) as i32,
            Self::Ranks(cuts) => below(cuts, t),
        }
    }

    /// A row value's key.
    #[inline(always)]
    fn value(&self, x: f64) -> i32 {
        if x.is_nan() {
            return i32::MAX;
        }
        match self {
            // `as` saturates (±inf too); above `i32::MIN`, which only NaN thresholds take.
            Self::Halves => ((2.0 * x).ceil() as i32).max(i32::MIN + 1),
            Self::Ranks(cuts) => below(cuts, x),
        }
    }
}

/// How many of `cuts` (ascending) are below the non-NaN `x`. Cuts are fewer than the forest's
/// nodes, far under `i32::MAX` (`ReadLimits`).
#[inline(always)]
fn below(cuts: &[f64], x: f64) -> i32 {
    i32::try_from(cuts.partition_point(|c| *c < x)).unwrap_or(i32::MAX)
}

/// One split as the block kernel reads it: the column it reads, its threshold's [`Keys`] key,
/// and the leaves it removes for the rows that go right.
#[derive(Debug, Clone, Copy)]
struct TreeSplit {
    mask: u64,
    key: i32,
    feature: u32,
}

impl QuickScorer {
    /// Lays out `flat` for QuickScorer, or `None` when a tree has more than [`MAX_LEAVES`].
    pub(super) fn build(flat: &FlatForest) -> Option<Self> {
        let n_features = flat.n_features;
        let mut by_feature: Vec<Vec<(f64, u32, u64)>> = vec![Vec::new(); n_features];
        let mut leaf_proba = Vec::with_capacity(flat.roots.len());
        let mut tree_offsets = Vec::with_capacity(flat.roots.len() + 1);
        let mut narrow = Vec::with_capacity(flat.roots.len());
        // (feature, threshold, mask) tree by tree; keyed once every threshold is known.
        let mut splits = Vec::new();
        for (tree, &(root, _)) in flat.roots.iter().enumerate() {
            let tree = u32::try_from(tree).ok()?;
            let leaves = number_leaves(flat, root as usize)?;
            let mut table = [0.0; MAX_LEAVES];
            for (slot, &at) in table.iter_mut().zip(&leaves.order) {
                *slot = flat.leaves[at].proba;
            }
            leaf_proba.push(table);
            narrow.push(leaves.order.len() <= NARROW_LEAVES);
            tree_offsets.push(splits.len());
            for (node, (first, end)) in leaves.left_ranges {
                let split = flat.nodes[node];
                let mask = !bits(first, end);
                by_feature[split.feature as usize].push((split.threshold, tree, mask));
                splits.push((split.feature, split.threshold, mask));
            }
        }
        tree_offsets.push(splits.len());
        let keys: Vec<Keys> = by_feature
            .iter()
            .map(|splits| Keys::new(splits.iter().map(|(t, _, _)| *t)))
            .collect();
        let mut tree_splits = Vec::with_capacity(splits.len());
        for (feature, threshold, mask) in splits {
            tree_splits.push(TreeSplit {
                mask,
                key: keys.get(feature as usize)?.threshold(threshold),
                feature,
            });
        }
        let mut offsets = Vec::with_capacity(n_features + 1);
        let (mut thresholds, mut trees, mut masks) = (Vec::new(), Vec::new(), Vec::new());
        for mut splits in by_feature {
            // NaN first: such a split removes its leaves for every row, and the block loop
            // stops at the first threshold at or above the block's largest value.
            splits.sort_by(|a, b| sort_key(a.0).total_cmp(&sort_key(b.0)));
            offsets.push(thresholds.len());
            for (t, tree, mask) in splits {
                thresholds.push(t);
                trees.push(tree);
                masks.push(mask);
            }
        }
        offsets.push(thresholds.len());
        Some(Self {
            offsets,
            thresholds,
            trees,
            masks,
            leaf_proba,
            tree_offsets,
            tree_splits,
            narrow,
            keys,
        })
    }

    /// Mean leaf fraction for up to [`BLOCK_ROWS`] rows (padded to [`ROW_STRIDE`]).
    pub(super) fn proba_block(&self, rows: &[[f64; ROW_STRIDE]], out: &mut [f64]) {
        pulp::Arch::new().dispatch(Block {
            scorer: self,
            rows,
            out,
        });
    }

    /// [`Self::proba_block`] with each instruction set this machine has (baseline, and AVX2 and
    /// AVX-512 where present), so tests see every kernel the dispatch could pick elsewhere.
    #[cfg(test)]
    pub(super) fn proba_block_every_arch(&self, rows: &[[f64; ROW_STRIDE]]) -> Vec<Vec<f64>> {
        use pulp::WithSimd;
        let run = |f: &dyn Fn(Block<'_>)| {
            let mut out = vec![0.0; rows.len()];
            f(Block {
                scorer: self,
                rows,
                out: &mut out,
            });
            out
        };
        let mut answers = vec![run(&|block| block.with_simd(pulp::Scalar::new()))];
        #[cfg(target_arch = "x86_64")]
        {
            if let Some(simd) = pulp::x86::V3::try_new() {
                answers.push(run(&|block| block.with_simd(simd)));
            }
            if let Some(simd) = pulp::x86::V4::try_new() {
                answers.push(run(&|block| block.with_simd(simd)));
            }
        }
        answers
    }

    /// Tree by tree, so a tree's bitvectors stay in registers while all its splits are
    /// applied, and its exit leaves are summed at once. The block's values first become
    /// [`Keys`], one column of [`BLOCK_ROWS`] per feature, as `i64` and as `i32` (for the
    /// narrow trees' `u32` lanes). A tree is gone through once per [`PASS_VECTORS`] vectors
    /// of rows (with AVX2: 32 rows in `u64` lanes, 64 in `u32`): more bitvectors than
    /// registers would go to memory and back at every split.
    ///
    /// Each split compares its rows afresh (one instruction per vector, the column read from
    /// L1). Comparing each distinct threshold once per block and keeping the answers was 10%
    /// faster with AVX-512, whose answers are one-byte mask registers, but slow on a Zen 3
    /// with AVX2, whose answers are full vectors (665 KB per block, out of L2): 1.98 ms for
    /// 1,000 rows in one run, 1.17 ms comparing afresh in the next (not the same run; the
    /// machine drifted ±15%). The `u32` lanes then took it to 1.03–1.06 ms, against
    /// 1.33–1.42 with `u64` lanes only, two builds alternated (126 of the bundled 200 trees
    /// have at most 32 leaves).
    #[inline(always)]
    fn block_kernel<S: pulp::Simd>(&self, simd: S, rows: &[[f64; ROW_STRIDE]], out: &mut [f64]) {
        let m = rows.len().min(BLOCK_ROWS);
        // Unused lanes hold key 0; their answers are dropped.
        let mut wide = [[0_i64; BLOCK_ROWS]; ROW_STRIDE];
        let mut narrow = [[0_i32; BLOCK_ROWS]; ROW_STRIDE];
        for (f, keys) in self.keys.iter().enumerate().take(ROW_STRIDE) {
            for (r, row) in rows[..m].iter().enumerate() {
                let key = keys.value(row[f]);
                narrow[f][r] = key;
                wide[f][r] = i64::from(key);
            }
        }
        let wide_width = (PASS_VECTORS * S::U64_LANES).min(BLOCK_ROWS);
        let narrow_width = (PASS_VECTORS * S::U32_LANES).min(BLOCK_ROWS);
        let mut sums = [0.0; BLOCK_ROWS];
        // Summed tree by tree in order, exactly as the walk sums.
        let trees = self.leaf_proba.iter().zip(&self.narrow);
        for ((table, &is_narrow), bounds) in trees.zip(self.tree_offsets.windows(2)) {
            let splits = self
                .tree_splits
                .get(bounds[0]..bounds[1])
                .unwrap_or_default();
            if is_narrow {
                for start in (0..m).step_by(narrow_width) {
                    let pass = start..start + narrow_width;
                    narrow_pass(simd, splits, &narrow, pass, table, &mut sums);
                }
            } else {
                for start in (0..m).step_by(wide_width) {
                    let pass = start..start + wide_width;
                    wide_pass(simd, splits, &wide, pass, table, &mut sums);
                }
            }
        }
        let n_trees = self.leaf_proba.len() as f64;
        for (o, sum) in out[..m].iter_mut().zip(&sums) {
            *o = sum / n_trees;
        }
    }

    /// One padded row, scalar: per feature, only the splits the row goes right at are seen
    /// (sorted, the first it goes left at ends the feature).
    pub(super) fn proba_one(&self, row: &[f64; ROW_STRIDE], state: &mut Vec<u64>) -> f64 {
        state.clear();
        state.resize(self.leaf_proba.len(), !0);
        for (x, bounds) in row.iter().zip(self.offsets.windows(2)) {
            let x = *x;
            for i in bounds[0]..bounds[1] {
                // `x <= NaN` is false: a NaN threshold always applies, a NaN `x` goes right
                // everywhere, as in the walk.
                if x <= self.thresholds[i] {
                    break;
                }
                if let Some(bv) = state.get_mut(self.trees[i] as usize) {
                    *bv &= self.masks[i];
                }
            }
        }
        let mut sum = 0.0;
        for (bv, table) in state.iter().zip(&self.leaf_proba) {
            sum += table[exit_leaf(*bv)];
        }
        sum / self.leaf_proba.len() as f64
    }
}

/// One call of the block kernel, as [`pulp`] dispatches it: `with_simd` is compiled once per
/// instruction set and inlined into a function with those features enabled, so the lane
/// loops of [`QuickScorer::block_kernel`] are vectorised for it. (A closure is not: pulp calls
/// it out of line, and it runs as baseline code. Measured: 0.98 µs a row as a closure, 0.54
/// through this.)
struct Block<'a> {
    scorer: &'a QuickScorer,
    rows: &'a [[f64; ROW_STRIDE]],
    out: &'a mut [f64],
}

impl pulp::WithSimd for Block<'_> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, simd: S) {
        self.scorer.block_kernel(simd, self.rows, self.out);
    }
}

/// The leftmost leaf still reachable. The exit leaf's bit is never cleared, so the mask only
/// keeps an impossible empty set (64 trailing zeros) inside the table.
#[inline(always)]
fn exit_leaf(bv: u64) -> usize {
    (bv.trailing_zeros() & 63) as usize
}

/// The rows of `pass` through one tree's `splits`, their bitvectors in `u64` lanes, and each
/// row's exit leaf fraction added to its sum.
#[inline(always)]
fn wide_pass<S: pulp::Simd>(
    simd: S,
    splits: &[TreeSplit],
    columns: &[[i64; BLOCK_ROWS]; ROW_STRIDE],
    pass: std::ops::Range<usize>,
    table: &[f64; MAX_LEAVES],
    sums: &mut [f64; BLOCK_ROWS],
) {
    let mut lanes = [!0_u64; BLOCK_ROWS];
    let lanes = &mut lanes[..pass.len()];
    for split in splits {
        let column = &columns[split.feature as usize % ROW_STRIDE];
        let xs = S::as_simd_i64s(column.get(pass.clone()).unwrap_or_default()).0;
        let key = simd.splat_i64s(i64::from(split.key));
        let mask = simd.splat_u64s(split.mask);
        // Written with explicit vectors: as plain loops over the lanes, LLVM sees an AND
        // reduction over the splits and vectorises the split loop instead, with gathers
        // (measured 2.1 ms for 1,000 rows against 1.0).
        for (bv, x) in S::as_mut_simd_u64s(lanes).0.iter_mut().zip(xs) {
            let right = simd.greater_than_i64s(*x, key);
            *bv = simd.select_u64s(right, simd.and_u64s(*bv, mask), *bv);
        }
    }
    let sums = sums.get_mut(pass).unwrap_or_default();
    for (sum, bv) in sums.iter_mut().zip(lanes.iter()) {
        *sum += table[exit_leaf(*bv)];
    }
}

/// [`wide_pass`] for a tree of at most [`NARROW_LEAVES`] leaves: `u32` lanes, `i32` keys.
#[inline(always)]
fn narrow_pass<S: pulp::Simd>(
    simd: S,
    splits: &[TreeSplit],
    columns: &[[i32; BLOCK_ROWS]; ROW_STRIDE],
    pass: std::ops::Range<usize>,
    table: &[f64; MAX_LEAVES],
    sums: &mut [f64; BLOCK_ROWS],
) {
    let mut lanes = [!0_u32; BLOCK_ROWS];
    let lanes = &mut lanes[..pass.len()];
    for split in splits {
        let column = &columns[split.feature as usize % ROW_STRIDE];
        let xs = S::as_simd_i32s(column.get(pass.clone()).unwrap_or_default()).0;
        let key = simd.splat_i32s(split.key);
        // The tree's leaves are bits 0..32, so the mask's upper half is all ones.
        let mask = simd.splat_u32s(split.mask as u32);
        for (bv, x) in S::as_mut_simd_u32s(lanes).0.iter_mut().zip(xs) {
            let right = simd.greater_than_i32s(*x, key);
            *bv = simd.select_u32s(right, simd.and_u32s(*bv, mask), *bv);
        }
    }
    let sums = sums.get_mut(pass).unwrap_or_default();
    for (sum, bv) in sums.iter_mut().zip(lanes.iter()) {
        *sum += table[(bv.trailing_zeros() & 31) as usize];
    }
}

/// Where NaN thresholds sort: before everything.
fn sort_key(threshold: f64) -> f64 {
    if threshold.is_nan() {
        f64::NEG_INFINITY
    } else {
        threshold
    }
}

/// Bits `first..end` set.
fn bits(first: usize, end: usize) -> u64 {
    let upto = |n: usize| if n >= 64 { !0 } else { (1_u64 << n) - 1 };
    upto(end) & !upto(first)
}

/// A tree's leaves left to right, and for each split the range of leaf numbers of its left
/// subtree.
struct Numbered {
    /// Flat node index of each leaf, in left-to-right order.
    order: Vec<usize>,
    /// (split node, (first leaf, one past the last leaf of its left subtree)).
    left_ranges: Vec<(usize, (usize, usize))>,
}

/// Numbers the leaves of the tree at `root` depth first, left child first, without recursion;
/// `None` past [`MAX_LEAVES`]. Trees were proven trees when read, so each node is seen once.
fn number_leaves(flat: &FlatForest, root: usize) -> Option<Numbered> {
    let is_leaf = |at: usize| flat.nodes[at].feature as usize >= flat.n_features;
    let mut order = Vec::new();
    // (node, leaves numbered when it was entered); `None` marks a split's second visit.
    let mut stack: Vec<(usize, Option<usize>)> = vec![(root, None)];
    let mut ranges = Vec::new();
    while let Some((at, visit)) = stack.pop() {
        if is_leaf(at) {
            order.push(at);
            if order.len() > MAX_LEAVES {
                return None;
            }
            continue;
        }
        let left = flat.nodes[at].children as usize;
        match visit {
            None => {
                // After the left subtree: note where it ended, then do the right one.
                stack.push((at, Some(order.len())));
                stack.push((left, None));
            }
            Some(first) => {
                ranges.push((at, (first, order.len())));
                stack.push((left + 1, None));
            }
        }
    }
    Some(Numbered {
        order,
        left_ranges: ranges,
    })
}

#[cfg(test)]
mod tests {
    use super::Keys;

    const ODD: [f64; 14] = [
        f64::NAN,
        -f64::NAN,
        f64::INFINITY,
        f64::NEG_INFINITY,
        0.0,
        -0.0,
        f64::MIN_POSITIVE,
        -f64::MIN_POSITIVE,
        5e-324,
        f64::MAX,
        f64::MIN,
        45.5,
        -45.5,
        46.0,
    ];

    /// Every value of `xs` against every threshold of `thresholds`, with the keys built from
    /// those thresholds.
    fn assert_keys_agree(thresholds: &[f64], xs: &[f64]) -> Keys {
        let keys = Keys::new(thresholds.iter().copied());
        for &x in xs {
            for &t in thresholds {
                #[allow(clippy::neg_cmp_op_on_partial_ord)] // NaN must go right
                let right = !(x <= t);
                assert_eq!(keys.value(x) > keys.threshold(t), right, "{x} against {t}");
            }
        }
        keys
    }

    #[test]
    fn ranks_go_right_exactly_where_the_float_compare_does() {
        // The thresholds themselves and their neighbours on both sides.
        let mut xs = ODD.to_vec();
        xs.extend(ODD.iter().flat_map(|t| [t.next_up(), t.next_down()]));
        let keys = assert_keys_agree(&ODD, &xs);
        assert!(matches!(keys, Keys::Ranks(_)), "{keys:?}");
    }

    #[test]
    fn halves_go_right_exactly_where_the_float_compare_does() {
        let limit = (1 << 29) as f64;
        let thresholds = [
            f64::NAN,
            -0.0,
            0.0,
            0.5,
            -0.5,
            45.5,
            46.0,
            -45.5,
            limit,
            -limit,
        ];
        let mut xs = ODD.to_vec();
        for t in thresholds {
            for d in [0.0, 0.25, 0.5, 1e-9, -1e-9, 1e9] {
                xs.push(t + d);
                xs.push(t - d);
            }
        }
        xs.extend([2.0 * limit, -2.0 * limit, 4.0 * limit, -4.0 * limit]);
        let keys = assert_keys_agree(&thresholds, &xs);
        assert!(matches!(keys, Keys::Halves), "{keys:?}");
        // Past the limit, or off the half grid, the keys are ranks.
        for odd in [2.0 * limit, 45.25] {
            let keys = assert_keys_agree(&[odd, 0.5], &xs);
            assert!(matches!(keys, Keys::Ranks(_)), "{keys:?}");
        }
    }
}
