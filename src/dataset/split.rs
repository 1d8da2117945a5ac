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
