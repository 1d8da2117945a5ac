//! The envelope's tests: the bundled model scored every way, and calibrated models read,
//! scored and refused.

use super::*;

/// The repository's root, where the bundled model and the data are.
fn repo() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn bundled() -> ForestModel {
    let bytes =
        std::fs::read(repo().join("models/pokemon/model.json")).unwrap_or_else(|e| panic!("{e}"));
    ForestModel::from_json(&bytes, &ReadLimits::default()).unwrap_or_else(|e| panic!("{e}"))
}

/// The six stats of every Pokémon in the bundled data.
fn every_pokemon() -> Vec<[f64; 6]> {
    let mut rows = Vec::new();
    for generation in 1..=9 {
        let path = repo().join(format!("data/pokemon/generation-{generation}.csv"));
        let mut reader = csv::Reader::from_path(path).unwrap_or_else(|e| panic!("{e}"));
        let header = reader.headers().unwrap_or_else(|e| panic!("{e}")).clone();
        let at: Vec<usize> = FEATURES
            .iter()
            .map(|f| {
                header
                    .iter()
                    .position(|h| h == *f)
                    .unwrap_or_else(|| panic!("{f}"))
            })
            .collect();
        for record in reader.records() {
            let record = record.unwrap_or_else(|e| panic!("{e}"));
            rows.push(std::array::from_fn(|i| {
                record[at[i]].parse().unwrap_or_else(|e| panic!("{e}"))
            }));
        }
    }
    rows
}

fn proba_batch(model: &ForestModel, values: &[f64]) -> Vec<f64> {
    let mut out = vec![0.0; values.len() / FEATURES.len()];
    model.proba_into(values, &mut out);
    out
}

fn proba_row(model: &ForestModel, row: &[f64]) -> f64 {
    proba_batch(model, row)[0]
}

/// Stats in [1, 255], seeded.
fn rows(n: usize) -> Vec<[f64; 6]> {
    let mut rng = crate::SplitMix64::new(7);
    (0..n)
        .map(|_| std::array::from_fn(|_| (1 + rng.below(255)) as f64))
        .collect()
}

#[test]
fn blocked_lone_and_voting_walks_agree_with_each_other_and_smartcore() {
    let model = bundled();
    let rows = rows(1000);
    // The compiled layout votes exactly as smartcore does on many rows, not only the example.
    model.self_check(&rows).unwrap_or_else(|e| panic!("{e}"));
    // Full blocks of 16, padded blocks of 8-15 rows, lone-row tails of 1-7, and lone rows
    // give bit-identical probabilities.
    let values: Vec<f64> = rows.iter().flatten().copied().collect();
    for n in [999, 27, 15, 8, 7, 1] {
        let batch = proba_batch(&model, &values[..6 * n]);
        assert_eq!(batch.len(), n);
        for (row, p) in rows.iter().zip(&batch) {
            assert_eq!(
                proba_row(&model, row).to_bits(),
                p.to_bits(),
                "batch of {n}"
            );
        }
    }
    // The tree walk QuickScorer replaced gives the same bits.
    let mut walked = vec![0.0; rows.len()];
    model.walk_proba_into(&values, &mut walked);
    assert_eq!(
        walked.iter().map(|p| p.to_bits()).collect::<Vec<_>>(),
        proba_batch(&model, &values)
            .iter()
            .map(|p| p.to_bits())
            .collect::<Vec<_>>()
    );
    // A NaN goes right, as in smartcore; the walk still ends on a leaf.
    assert!((0.0..=1.0).contains(&proba_row(&model, &[f64::NAN; 6])));
}

/// Padded forest rows of `raw`, for calling the walks directly.
fn padded(model: &ForestModel, raw: &[[f64; 6]]) -> Vec<[f64; ROW_STRIDE]> {
    raw.iter()
        .map(|r| {
            let mut cols = [0.0; features::MAX_WIDTH];
            let width = model.feature_set.fill(r, &mut cols);
            let mut row = [0.0; ROW_STRIDE];
            row[..width].copy_from_slice(&cols[..width]);
            row
        })
        .collect()
}

#[test]
fn quickscorer_and_the_tree_walk_agree_to_the_bit() {
    let model = bundled();
    let flat = model.flat();
    assert!(
        flat.has_quickscorer(),
        "the bundled trees have at most 64 leaves"
    );
    // Every Pokémon, 10,000 random stat lines 1-255, and values no Pokémon has.
    let mut raw = every_pokemon();
    raw.extend(rows(10_000));
    for odd in [
        f64::NAN,
        f64::INFINITY,
        f64::NEG_INFINITY,
        0.0,
        -0.0,
        -1.0,
        1e300,
        -1e300,
        f64::MIN_POSITIVE,
        80.5,
    ] {
        raw.push([odd; 6]);
        raw.push([100.0, odd, 100.0, 100.0, odd, 100.0]);
    }
    let padded = padded(&model, &raw);
    // Full blocks, partial blocks and lone rows (the scalar QuickScorer).
    for size in [BLOCK_ROWS, 20, 16, 13, 8, 7, 1] {
        for (i, block) in padded.chunks(size).enumerate() {
            let (mut quick, mut walked) = ([0.0; BLOCK_ROWS], [0.0; BLOCK_ROWS]);
            flat.proba_block(block, &mut quick, &mut forest::Scratch::default());
            flat.walk_block(block, &mut walked);
            for (q, w) in quick.iter().zip(&walked).take(block.len()) {
                assert_eq!(q.to_bits(), w.to_bits(), "block {i} of {size}: {q} vs {w}");
            }
            // The kernels the dispatch picks on other machines answer the same.
            if block.len() >= 8 {
                let every = flat.quickscorer_every_arch(block);
                assert!(!every.is_empty());
                for (arch, answers) in every.iter().enumerate() {
                    for (q, w) in answers.iter().zip(&walked) {
                        assert_eq!(q.to_bits(), w.to_bits(), "arch {arch}, block {i}");
                    }
                }
            }
        }
    }
}

/// FNV-1a over the bits of `values`, to pin a whole list of probabilities in one constant.
fn fingerprint(values: &[f64]) -> u64 {
    values.iter().fold(0xcbf2_9ce4_8422_2325, |h, v| {
        v.to_bits()
            .to_le_bytes()
            .iter()
            .fold(h, |h, b| (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3))
    })
}

/// The bundled `model.json` with `calibration` (JSON) inserted before `params`.
fn bundled_with(calibration: &str) -> Vec<u8> {
    let bytes =
        std::fs::read(repo().join("models/pokemon/model.json")).unwrap_or_else(|e| panic!("{e}"));
    let text = String::from_utf8(bytes).unwrap_or_else(|e| panic!("{e}"));
    let with = text.replacen(
        ",\"params\":",
        &format!(",\"calibration\":{calibration},\"params\":"),
        1,
    );
    assert_ne!(with, text, "the envelope has a params field");
    with.into_bytes()
}

/// The bundled model of November 2026, kept as a fixture of a model trained before
/// calibration existed (the bundled model itself may be retrained).
#[test]
fn a_model_written_before_calibration_loads_scores_and_writes_as_before() {
    let bytes = std::fs::read(repo().join("tests/fixtures/model-2026-11/model.json"))
        .unwrap_or_else(|e| panic!("{e}"));
    let model =
        ForestModel::from_json(&bytes, &ReadLimits::default()).unwrap_or_else(|e| panic!("{e}"));
    assert!(model.calibration().is_none());
    // Written back byte for byte: no `calibration` key appears.
    assert!(model.to_json().unwrap_or_default() == bytes);
    // Every Pokémon scores the bits it scored before calibration existed, and the
    // probability is the vote fraction.
    let values: Vec<f64> = every_pokemon().into_iter().flatten().collect();
    let proba = proba_batch(&model, &values);
    let mut votes = vec![0.0; proba.len()];
    model.vote_fraction_into(&values, &mut votes);
    assert_eq!(fingerprint(&proba), fingerprint(&votes));
    assert_eq!(fingerprint(&proba), BUNDLED_PROBABILITIES);
}

/// [`fingerprint`] of that model's probabilities of every Pokémon, in data order, as
/// the code before calibration computed them (taken with that commit's NumPy loader,
/// `legendary_pyfunc.py`, bit-identical to it by its own test).
const BUNDLED_PROBABILITIES: u64 = 12_452_649_599_024_990_936;

#[test]
fn a_calibrated_model_reports_the_mapped_vote_fraction_and_keeps_its_map() {
    let model = ForestModel::from_json(
        &bundled_with(r#"{"x":[0.1,0.3,0.6],"y":[0.0,0.4,0.95]}"#),
        &ReadLimits::default(),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let c = model
        .calibration()
        .cloned()
        .unwrap_or_else(|| panic!("no map"));
    let values: Vec<f64> = rows(500).into_iter().flatten().collect();
    let mut votes = vec![0.0; 500];
    model.vote_fraction_into(&values, &mut votes);
    let (proba, mut walked) = (proba_batch(&model, &values), vec![0.0; 500]);
    model.walk_proba_into(&values, &mut walked);
    for ((v, p), w) in votes.iter().zip(&proba).zip(&walked) {
        assert_eq!(c.apply(*v).to_bits(), p.to_bits());
        assert_eq!(p.to_bits(), w.to_bits());
    }
    assert!(votes.iter().zip(&proba).any(|(v, p)| v != p));
    // Lone rows take the same path.
    let row = &values[..6];
    assert_eq!(proba_row(&model, row).to_bits(), proba[0].to_bits());
    // The map survives writing and reading.
    let back = ForestModel::from_json(&model.to_json().unwrap_or_default(), &ReadLimits::default())
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(back.calibration(), Some(&c));
}

#[test]
fn a_bad_calibration_is_refused_with_what_is_wrong() {
    let refused = |calibration: &str| {
        ForestModel::from_json(&bundled_with(calibration), &ReadLimits::default())
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default()
    };
    let many = (0..=crate::MAX_KNOTS)
        .map(|i| format!("{}", i as f64 / 1e5))
        .collect::<Vec<_>>()
        .join(",");
    for (calibration, says) in [
        (
            r#"{"x":[0.2,0.1],"y":[0,1]}"#,
            "x[1] = 0.1 is below x[0] = 0.2",
        ),
        (r#"{"x":[0.1,0.2],"y":[1,0]}"#, "y[1] = 0 is below y[0] = 1"),
        (
            r#"{"x":[0.1,1.5],"y":[0,1]}"#,
            "x[1] = 1.5 is not a number in [0, 1]",
        ),
        (
            r#"{"x":[0.1,0.2],"y":[-1,1]}"#,
            "y[0] = -1 is not a number in [0, 1]",
        ),
        (r#"{"x":[0.1,0.2],"y":[0]}"#, "2 x values and 1 y values"),
        (r#"{"x":[],"y":[]}"#, "no knots"),
        (
            &format!(r#"{{"x":[{many}],"y":[{many}]}}"#),
            "10002 knots, more than the limit of 10001",
        ),
        (r#"{"x":[0.1,null],"y":[0,1]}"#, "not a legendary"),
        (r#"{"x":[0.1,0.2]}"#, "missing field `y`"),
        (r#"[0.1,0.2]"#, "not a legendary"),
    ] {
        let e = refused(calibration);
        assert!(e.contains(says), "{calibration}: {e}");
    }
}
