//! Seeded, stratified train/test splits and k-fold cross-validation folds, row by row or
//! with groups of rows kept together.
//!
//! The shuffle uses its own small PRNG (SplitMix64) so that the same seed gives the same
//! split on every platform and with every version of every dependency.

use legendary_forest::SplitMix64;

/// Row indices of a train/test split.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Split {
    /// Rows to fit on.
    pub train: Vec<usize>,
    /// Rows held out for evaluation.
    pub test: Vec<usize>,
}

/// Indices of each class, each list shuffled with `seed`.
fn shuffled_by_class(labels: &[bool], seed: u64) -> [Vec<usize>; 2] {
    let mut rng = SplitMix64::new(seed);
    let mut negatives: Vec<usize> = (0..labels.len()).filter(|&i| !labels[i]).collect();
    let mut positives: Vec<usize> = (0..labels.len()).filter(|&i| labels[i]).collect();
    rng.shuffle(&mut negatives);
    rng.shuffle(&mut positives);
    [negatives, positives]
}

/// Splits rows so that each class keeps its proportion in both parts.
///
/// `test_size` is the held-out fraction (0 < test_size < 1); each class contributes
/// `round(n_class * test_size)` rows, at least one when it has two or more.
pub(crate) fn stratified_split(labels: &[bool], test_size: f64, seed: u64) -> Split {
    let mut train = Vec::new();
    let mut test = Vec::new();
    for class in shuffled_by_class(labels, seed) {
        let mut n_test = (class.len() as f64 * test_size).round() as usize;
        if class.len() >= 2 {
            n_test = n_test.clamp(1, class.len() - 1);
        }
        test.extend_from_slice(&class[..n_test]);
        train.extend_from_slice(&class[n_test..]);
    }
    train.sort_unstable();
    test.sort_unstable();
    Split { train, test }
}

/// How a training picks the rows it holds out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Holdout {
    /// By the hash of each row's stat line ([`holdout_split`]): the same rows for every seed
    /// and as data grows, which is what lets the gate pair two models row by row.
    #[default]
    StatLine,
    /// A seeded stratified shuffle ([`stratified_split`]): the only hold-out before the
    /// stat-line one, kept so that a model trained then is retrained byte for byte.
    Seeded,
}

impl Holdout {
    /// The split of `rows` (labels `labels`) this hold-out makes; `seed` is used by `Seeded`.
    pub(crate) fn split(
        self,
        rows: &[[f64; 6]],
        labels: &[bool],
        test_size: f64,
        seed: u64,
    ) -> Split {
        match self {
            Self::StatLine => holdout_split(rows, labels, test_size),
            Self::Seeded => stratified_split(labels, test_size, seed),
        }
    }

    /// True for the seeded hold-out (a recorded config that names none had it).
    pub fn is_seeded(&self) -> bool {
        *self == Self::Seeded
    }
}

impl std::fmt::Display for Holdout {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::StatLine => "stat-line",
            Self::Seeded => "seeded",
        })
    }
}

impl std::str::FromStr for Holdout {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "stat-line" => Ok(Self::StatLine),
            "seeded" => Ok(Self::Seeded),
            other => Err(format!(
                "'{other}' is not a hold-out: expected stat-line or seeded"
            )),
        }
    }
}

/// The gate's hold-out: a row is held out when the hash of its six stats falls under
/// `test_size`, so the choice is a function of the stat line alone.
///
/// Why not a seeded shuffle: the gate compares the challenger with the champion on rows
/// *neither* has seen, and the two are trained with different seeds, and often on different
/// data (a new generation added). With a hash, every training of any seed holds out the same
/// rows, and rows added later never move the old ones, so a champion's logged hold-out
/// predictions pair with a challenger's row by row. Identical stat lines (18 Arceus formes,
/// Glalie and Phione) land on the same side, as grouped cross-validation keeps them together.
///
/// Each class keeps about its share (a binomial draw, not an exact count); a class with two or
/// more rows always has at least one on each side: the missing side takes the class's row
/// whose hash is nearest the cut, which keeps the choice stable as data grows.
pub(crate) fn holdout_split(rows: &[[f64; 6]], labels: &[bool], test_size: f64) -> Split {
    let position: Vec<f64> = rows.iter().map(stat_line_position).collect();
    let mut test: Vec<bool> = position.iter().map(|&u| u < test_size).collect();
    for class in [false, true] {
        let members: Vec<usize> = (0..labels.len()).filter(|&i| labels[i] == class).collect();
        if members.len() < 2 {
            continue;
        }
        let held = members.iter().filter(|&&i| test[i]).count();
        // The side this class has no row on, if any.
        let empty_side = match held {
            0 => true,
            h if h == members.len() => false,
            _ => continue,
        };
        let by_distance = |&i: &usize| (position[i] - test_size).abs();
        if let Some(&i) = members
            .iter()
            .min_by(|a, b| by_distance(a).total_cmp(&by_distance(b)))
        {
            // Every row of this stat line moves with it (the pairing relies on it).
            let line = rows[i].map(f64::to_bits);
            for &j in &members {
                if rows[j].map(f64::to_bits) == line {
                    test[j] = empty_side;
                }
            }
        }
    }
    let (test, train) = (0..rows.len()).partition(|&i| test[i]);
    Split { train, test }
}

/// Where a stat line falls in [0, 1): the first 8 bytes of the SHA-256 of its six values (as
/// little-endian f64 bits, after a fixed domain prefix), over 2^64. The same on every platform
/// and in every version.
pub(crate) fn stat_line_position(stats: &[f64; 6]) -> f64 {
    use sha2::{Digest, Sha256};
    let mut hasher = Sha256::new();
    hasher.update(b"legendary-holdout-v1");
    for v in stats {
        // -0.0 and 0.0 are one stat value.
        let v = if *v == 0.0 { 0.0f64 } else { *v };
        hasher.update(v.to_bits().to_le_bytes());
    }
    let digest = hasher.finalize();
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    #[allow(
        clippy::cast_precision_loss,
        reason = "a position in [0, 1), 53 bits are plenty"
    )]
    let u = (u64::from_le_bytes(first) >> 11) as f64 / (1u64 << 53) as f64;
    u
}

/// Stratified k-fold: `k` splits whose test parts partition the rows, each class spread
/// evenly over the folds.
pub(crate) fn kfold(labels: &[bool], k: usize, seed: u64) -> Vec<Split> {
    let k = k.max(2);
    let mut folds: Vec<Vec<usize>> = vec![Vec::new(); k];
    let mut next = 0;
    for class in shuffled_by_class(labels, seed) {
        // Deal rows round-robin, continuing where the previous class stopped, so fold
        // sizes differ by at most one.
        for i in class {
            folds[next % k].push(i);
            next += 1;
        }
    }
    (0..k)
        .map(|f| {
            let mut test = folds[f].clone();
            test.sort_unstable();
            let mut train: Vec<usize> = folds
                .iter()
                .enumerate()
                .filter(|(g, _)| *g != f)
                .flat_map(|(_, rows)| rows.iter().copied())
                .collect();
            train.sort_unstable();
            Split { train, test }
        })
        .collect()
}

/// Each row's group: rows with identical values share one (numbered in order of first
/// appearance). The data has 136 rows on 44 such lines (18 Arceus formes, 18 Silvally formes,
/// Glalie and Phione with opposite labels): a row-level fold puts copies of a test row in
/// training, which flatters cross-validation.
pub(crate) fn identical_groups(rows: &[[f64; 6]]) -> Vec<usize> {
    let mut ids: std::collections::HashMap<[u64; 6], usize> = std::collections::HashMap::new();
    rows.iter()
        .map(|r| {
            let key = r.map(f64::to_bits);
            let next = ids.len();
            *ids.entry(key).or_insert(next)
        })
        .collect()
}

/// Stratified group k-fold: `k` splits whose test parts partition the rows, every group in
/// one fold, each class spread as evenly as whole groups allow.
///
/// A group's class is legendary when any of its rows is. Groups are shuffled with `seed`
/// within their class, then (largest first, a stable sort so equal sizes keep the shuffled
/// order) each goes to the fold holding the fewest rows of its class, ties to the fold with
/// the fewest rows, then the lowest index. With all groups of size one this deals rows as
/// evenly as [`kfold`] does (fold sizes differ by at most one within a class).
pub(crate) fn grouped_kfold(labels: &[bool], groups: &[usize], k: usize, seed: u64) -> Vec<Split> {
    let k = k.max(2);
    let n_groups = groups.iter().max().map_or(0, |m| m + 1);
    let mut members: Vec<Vec<usize>> = vec![Vec::new(); n_groups];
    for (row, &g) in groups.iter().enumerate() {
        members[g].push(row);
    }
    let group_labels: Vec<bool> = members
        .iter()
        .map(|rows| rows.iter().any(|&r| labels[r]))
        .collect();
    let mut fold_of_row = vec![0usize; labels.len()];
    let mut class_rows = [vec![0usize; k], vec![0usize; k]];
    let mut total_rows = vec![0usize; k];
    for (class, mut order) in shuffled_by_class(&group_labels, seed)
        .into_iter()
        .enumerate()
    {
        order.sort_by_key(|&g| std::cmp::Reverse(members[g].len()));
        for g in order {
            let fold = (0..k)
                .min_by_key(|&f| (class_rows[class][f], total_rows[f], f))
                .unwrap_or(0);
            class_rows[class][fold] += members[g].len();
            total_rows[fold] += members[g].len();
            for &r in &members[g] {
                fold_of_row[r] = fold;
            }
        }
    }
    (0..k)
        .map(|f| {
            let (test, train) = (0..labels.len()).partition(|&r| fold_of_row[r] == f);
            Split { train, test }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels() -> Vec<bool> {
        (0..100).map(|i| i % 10 == 0).collect()
    }

    /// Distinct stat lines, one in ten legendary, with a few repeated lines.
    fn stat_lines(n: usize) -> (Vec<[f64; 6]>, Vec<bool>) {
        let rows = (0..n)
            .map(|i| {
                let v = (i % (n - 5)) as f64; // the last five repeat the first five
                [v, v + 1.0, 50.0, 60.0, 70.0, 80.0]
            })
            .collect();
        let labels = (0..n).map(|i| i % 10 == 0).collect();
        (rows, labels)
    }

    #[test]
    fn the_holdout_depends_on_the_stat_line_alone_and_survives_new_rows() {
        let (rows, labels) = stat_lines(400);
        let before = holdout_split(&rows, &labels, 0.2);
        let share = before.test.len() as f64 / rows.len() as f64;
        assert!((0.12..0.28).contains(&share), "{share}");
        // Adding rows (a new generation) moves none of the old ones.
        let (mut more, mut more_labels) = (rows, labels);
        for i in 0..100 {
            more.push([1000.0 + f64::from(i), 1.0, 2.0, 3.0, 4.0, 5.0]);
            more_labels.push(i % 3 == 0);
        }
        let after = holdout_split(&more, &more_labels, 0.2);
        let old: Vec<usize> = after.test.iter().copied().filter(|&i| i < 400).collect();
        assert_eq!(old, before.test);
        assert!(after.test.iter().any(|&i| i >= 400));
        // Disjoint and complete.
        let mut all: Vec<usize> = after.train.iter().chain(&after.test).copied().collect();
        all.sort_unstable();
        assert_eq!(all, (0..500).collect::<Vec<_>>());
    }

    #[test]
    fn identical_stat_lines_are_held_out_together() {
        let (rows, labels) = stat_lines(200);
        let s = holdout_split(&rows, &labels, 0.3);
        for i in 0..5 {
            assert_eq!(s.test.contains(&i), s.test.contains(&(195 + i)), "line {i}");
        }
    }

    #[test]
    fn each_class_with_two_rows_has_one_on_each_side() {
        // Two legendaries: whatever their hashes, one is held out and one is trained on.
        let rows: Vec<[f64; 6]> = (0..30)
            .map(|i| [f64::from(i), 0.0, 0.0, 0.0, 0.0, 0.0])
            .collect();
        let labels: Vec<bool> = (0..30).map(|i| i < 2).collect();
        for test_size in [0.01, 0.2, 0.99] {
            let s = holdout_split(&rows, &labels, test_size);
            assert_eq!(
                s.test.iter().filter(|&&i| labels[i]).count(),
                1,
                "{test_size}"
            );
            assert!(s.train.iter().any(|&i| !labels[i]), "{test_size}");
            assert!(s.test.iter().any(|&i| !labels[i]), "{test_size}");
        }
    }

    #[test]
    fn a_stat_line_position_is_pinned() {
        // Pinned so that a change of hashing (which would silently change every hold-out and
        // unpair every champion's logged predictions) fails here first.
        let p = stat_line_position(&[45.0, 49.0, 49.0, 65.0, 65.0, 45.0]);
        assert!((0.0..1.0).contains(&p));
        assert_eq!(p, stat_line_position(&[45.0, 49.0, 49.0, 65.0, 65.0, 45.0]));
        // The same figure from Python's hashlib and struct, computed independently.
        assert_eq!(format!("{p:.12}"), "0.387835513129");
    }

    #[test]
    fn split_is_stratified_disjoint_and_complete() {
        let y = labels();
        let s = stratified_split(&y, 0.2, 7);
        assert_eq!(s.test.len(), 20);
        assert_eq!(s.test.iter().filter(|&&i| y[i]).count(), 2);
        let mut all: Vec<usize> = s.train.iter().chain(&s.test).copied().collect();
        all.sort_unstable();
        assert_eq!(all, (0..100).collect::<Vec<_>>());
    }

    #[test]
    fn same_seed_same_split_and_other_seed_other_split() {
        let y = labels();
        assert_eq!(stratified_split(&y, 0.2, 1), stratified_split(&y, 0.2, 1));
        assert_ne!(stratified_split(&y, 0.2, 1), stratified_split(&y, 0.2, 2));
    }

    #[test]
    fn kfold_test_parts_partition_the_rows_with_balanced_classes() {
        let y = labels();
        let folds = kfold(&y, 5, 3);
        let mut seen: Vec<usize> = folds.iter().flat_map(|f| f.test.clone()).collect();
        seen.sort_unstable();
        assert_eq!(seen, (0..100).collect::<Vec<_>>());
        for f in &folds {
            assert_eq!(f.test.len(), 20);
            assert_eq!(f.test.iter().filter(|&&i| y[i]).count(), 2);
            assert_eq!(f.train.len() + f.test.len(), 100);
        }
    }

    #[test]
    fn identical_rows_share_a_group_numbered_by_first_appearance() {
        let rows = [[1.0; 6], [2.0; 6], [1.0; 6], [3.0; 6], [2.0; 6]];
        assert_eq!(identical_groups(&rows), vec![0, 1, 0, 2, 1]);
    }

    #[test]
    fn grouped_folds_keep_groups_together_and_partition_the_rows() {
        let y = labels();
        // Groups of 1 to 4 rows, labels varying inside some of them.
        let groups: Vec<usize> = (0..100).map(|i| i / 3 + usize::from(i % 7 == 0)).collect();
        let folds = grouped_kfold(&y, &groups, 5, 11);
        let mut seen: Vec<usize> = folds.iter().flat_map(|f| f.test.clone()).collect();
        seen.sort_unstable();
        assert_eq!(seen, (0..100).collect::<Vec<_>>());
        for f in &folds {
            assert_eq!(f.train.len() + f.test.len(), 100);
            for &t in &f.test {
                assert!(
                    f.train.iter().all(|&r| groups[r] != groups[t]),
                    "row {t}'s group is split across train and test"
                );
            }
            assert!((15..=25).contains(&f.test.len()), "{}", f.test.len());
        }
    }

    #[test]
    fn with_singleton_groups_grouped_folds_are_as_balanced_as_row_folds() {
        let y = labels();
        let groups: Vec<usize> = (0..100).collect();
        for f in grouped_kfold(&y, &groups, 5, 3) {
            assert_eq!(f.test.len(), 20);
            assert_eq!(f.test.iter().filter(|&&i| y[i]).count(), 2);
        }
        assert_ne!(
            grouped_kfold(&y, &groups, 5, 3),
            grouped_kfold(&y, &groups, 5, 4)
        );
    }
}
