//! The gate on real forests of the bundled data, fitted the way `train` fits them: the same
//! recipe with another seed is refused, a real margin is promoted, and a challenger better on
//! average but worse on the newest generation is refused naming that slice. Each model is an
//! evaluation fit on the training side of the stat-line hold-out, answering the held-out rows,
//! as the gate pairs them.
//!
//! For the last one the data is altered: on the bundled rows generation 9's stat lines look
//! like every other generation's, so no forest can be wrong on generation 9 alone (even one
//! taught that every generation-9 Pokémon is legendary moved its held-out Brier score only from
//! 0.087 to 0.092, within noise). There, generation 9's stats are scaled by 3, beyond every
//! other generation's range: a region of the feature space only its rows occupy, as a new
//! generation with a new kind of stat line would.

use super::pairing::{Answers, ChampionRecord, pair};
use super::verdict::{Evidence, GateRules, Verdict, judge};
use crate::dataset::{self, Holdout, Split};
use crate::train::{HeldOut, MetricName, Metrics, TrainConfig, fit_config};

struct Data {
    rows: Vec<[f64; 6]>,
    labels: Vec<bool>,
    generations: Vec<u8>,
    split: Split,
}

fn data() -> Data {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("data/pokemon");
    let dataset = dataset::load(&root, &dataset::Generations::all()).unwrap();
    let rows: Vec<[f64; 6]> = dataset.rows.iter().map(|p| p.stats).collect();
    let labels = dataset.labels();
    let split = Holdout::StatLine.split(&rows, &labels, 0.2, 0);
    Data {
        generations: dataset.rows.iter().map(|p| p.generation).collect(),
        rows,
        labels,
        split,
    }
}

/// [`data`] with generation 9's stats scaled by 3 (see the module docs), split again.
fn generation_9_apart() -> Data {
    let mut data = data();
    for (row, &generation) in data.rows.iter_mut().zip(&data.generations) {
        if generation == 9 {
            row.iter_mut().for_each(|v| *v *= 3.0);
        }
    }
    data.split = Holdout::StatLine.split(&data.rows, &data.labels, 0.2, 0);
    data
}

/// The evaluation fit of `config` on the training side, answering the held-out rows.
fn answers(data: &Data, config: &TrainConfig) -> Answers {
    answers_taught(data, config, &data.labels)
}

/// [`answers`] of a model taught `labels` (one per row of `data`) on its training side; the
/// held-out rows are judged on their true labels all the same.
fn answers_taught(data: &Data, config: &TrainConfig, labels: &[bool]) -> Answers {
    let rows: Vec<[f64; 6]> = data.split.train.iter().map(|&i| data.rows[i]).collect();
    let labels: Vec<bool> = data.split.train.iter().map(|&i| labels[i]).collect();
    let model = fit_config(config, &rows, &labels).unwrap();
    let held: Vec<[f64; 6]> = data.split.test.iter().map(|&i| data.rows[i]).collect();
    Answers::of(&model, &held)
}

/// The gate's verdict on ROC AUC, the rows paired as the gate pairs them (each stat line once
/// per label), both models' answers being their evaluation fits'.
fn verdict(data: &Data, champion: Answers, challenger: Answers) -> Verdict {
    verdict_on(MetricName::RocAuc, data, champion, challenger)
}

/// [`verdict`], the gain judged on `metric`.
fn verdict_on(metric: MetricName, data: &Data, champion: Answers, challenger: Answers) -> Verdict {
    let held_out = HeldOut {
        rows: data.split.test.iter().map(|&i| data.rows[i]).collect(),
        labels: data.split.test.iter().map(|&i| data.labels[i]).collect(),
        generations: data
            .split
            .test
            .iter()
            .map(|&i| data.generations[i])
            .collect(),
        data_sha256: String::new(),
    };
    let paired = pair(
        &held_out,
        &challenger,
        &champion,
        &ChampionRecord::default(),
    )
    .unwrap();
    let metrics = Metrics::of_decisions(&held_out.labels, &challenger.proba, &challenger.decided);
    judge(
        metric,
        0.001,
        &GateRules::default(),
        &metrics,
        &Evidence::Paired {
            version: "1",
            paired: &paired,
            new_data: false,
        },
    )
}

fn recipe(seed: u64) -> TrainConfig {
    let mut config = TrainConfig::default();
    config.params.seed = seed;
    config
}

#[test]
#[ignore = "fits 11 default forests and a tree (a minute or two): scripts/test.sh runs it"]
fn the_same_recipe_with_another_seed_is_refused_and_a_real_margin_is_promoted() {
    let data = data();
    let champion = answers(&data, &recipe(1));
    let mut promoted = Vec::new();
    for seed in 2..=11 {
        let v = verdict(&data, champion.clone(), answers(&data, &recipe(seed)));
        println!("seed {seed}:\n{v}");
        if v.promoted {
            promoted.push(seed);
        }
    }
    assert!(
        promoted.len() <= 1,
        "a challenger equal up to noise was promoted for seeds {promoted:?}"
    );

    // A champion of one tree against the default recipe: better by a real margin.
    let mut one = recipe(1);
    one.params.n_trees = 1;
    let v = verdict(&data, answers(&data, &one), answers(&data, &recipe(2)));
    println!("real margin:\n{v}");
    assert!(v.promoted, "{v}");
}

#[test]
#[ignore = "fits two default forests and a stump (half a minute): scripts/test.sh runs it"]
fn a_challenger_better_on_average_but_worse_on_the_newest_generation_is_refused_naming_it() {
    let data = generation_9_apart();
    // The champion: one stump on the raw stats (a real but poor model).
    let mut stump = recipe(1);
    stump.params.n_trees = 1;
    stump.params.max_depth = Some(1);
    stump.params.features = crate::model::FeatureSet::Raw;
    stump.params.mtry = Some(6);
    let champion = answers(&data, &stump);
    // The challenger: the default recipe, taught half of generation 9's labels (every other
    // row) the wrong way round, an upstream labelling bug in the new generation's file. Measured:
    // Brier gain +0.021, interval [0.003, 0.039], over the 225 paired rows; generation 9's 26
    // rows −0.204, interval [−0.256, −0.157].
    let mut flip = false;
    let wrong: Vec<bool> = data
        .labels
        .iter()
        .zip(&data.generations)
        .map(|(&legendary, &generation)| {
            if generation == 9 {
                flip = !flip;
            }
            legendary ^ (generation == 9 && flip)
        })
        .collect();
    let challenger = answers_taught(&data, &recipe(2), &wrong);
    let v = verdict_on(MetricName::Brier, &data, champion.clone(), challenger);
    println!("wrong on generation 9:\n{v}");
    let gain = v.gain().unwrap();
    assert!(gain.passed, "better on average: {v}");
    assert!(!v.promoted, "{v}");
    let failed = v.failed();
    assert_eq!(failed.len(), 1, "{v}");
    assert!(
        failed[0].starts_with("slice generation 9 (newest)"),
        "{failed:?}"
    );

    // The same challenger taught the right labels passes every check, generation 9 included.
    let right = answers(&data, &recipe(2));
    let v = verdict_on(MetricName::Brier, &data, champion, right);
    println!("right on generation 9:\n{v}");
    assert!(v.promoted, "{v}");
}
