//! The gate on real forests of the bundled data, fitted the way `train` fits them: what the
//! issue asks of it. Each model is an evaluation fit on the training side of the stat-line
//! hold-out, answering the held-out rows, as the gate pairs them.

use super::pairing::{Answers, Paired};
use super::verdict::{Evidence, GateRules, Verdict, judge};
use crate::dataset::{self, Split, holdout_split};
use crate::model::FeatureSet;
use crate::train::{MetricName, Metrics, TrainConfig, fit_config};

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
    let split = holdout_split(&rows, &labels, 0.2);
    Data {
        generations: dataset.rows.iter().map(|p| p.generation).collect(),
        rows,
        labels,
        split,
    }
}

/// The evaluation fit of `config` on the training side, its labels changed by `relabel`,
/// answering the held-out rows.
fn answers(data: &Data, config: &TrainConfig, relabel: impl Fn(usize, bool) -> bool) -> Answers {
    let rows: Vec<[f64; 6]> = data.split.train.iter().map(|&i| data.rows[i]).collect();
    let labels: Vec<bool> = data
        .split
        .train
        .iter()
        .map(|&i| relabel(i, data.labels[i]))
        .collect();
    let model = fit_config(config, &rows, &labels).unwrap();
    let held: Vec<[f64; 6]> = data.split.test.iter().map(|&i| data.rows[i]).collect();
    Answers::of(&model, &held)
}

fn verdict(data: &Data, champion: Answers, challenger: Answers) -> Verdict {
    let labels: Vec<bool> = data.split.test.iter().map(|&i| data.labels[i]).collect();
    let paired = Paired {
        generations: data
            .split
            .test
            .iter()
            .map(|&i| data.generations[i])
            .collect(),
        from_log: labels.len(),
        labels,
        champion,
        challenger,
        ..Paired::default()
    };
    let metrics = Metrics::of_decisions(
        &paired.labels,
        &paired.challenger.proba,
        &paired.challenger.decided,
    );
    judge(
        MetricName::RocAuc,
        0.001,
        &GateRules::default(),
        &metrics,
        &Evidence::Paired {
            version: "1",
            paired: &paired,
        },
    )
}

fn recipe(seed: u64) -> TrainConfig {
    let mut config = TrainConfig::default();
    config.params.seed = seed;
    config
}

#[test]
#[ignore = "fits 13 default forests (a minute or two): scripts/test.sh runs it"]
fn the_same_recipe_with_another_seed_is_refused_and_a_real_margin_is_promoted() {
    let data = data();
    let champion = answers(&data, &recipe(1), |_, y| y);
    let mut promoted = Vec::new();
    for seed in 2..=11 {
        let v = verdict(
            &data,
            champion.clone(),
            answers(&data, &recipe(seed), |_, y| y),
        );
        println!("seed {seed}:\n{v}");
        if v.promoted {
            promoted.push(seed);
        }
    }
    assert!(
        promoted.len() <= 1,
        "a challenger equal up to noise was promoted for seeds {promoted:?}"
    );

    // A weak champion (a few shallow trees on the raw stats) against the default recipe.
    let mut weak = recipe(1);
    weak.params.n_trees = 5;
    weak.params.max_depth = Some(2);
    weak.params.features = FeatureSet::Raw;
    weak.params.mtry = Some(2);
    let v = verdict(
        &data,
        answers(&data, &weak, |_, y| y),
        answers(&data, &recipe(2), |_, y| y),
    );
    println!("real margin:\n{v}");
    assert!(v.promoted, "{v}");
}

#[test]
#[ignore = "fits 2 default forests: scripts/test.sh runs it"]
fn a_challenger_better_on_average_but_worse_on_generation_9_is_refused_naming_it() {
    let data = data();
    // The champion: a weaker recipe (fewer, shallower trees) that learned generation 9.
    let mut weaker = recipe(1);
    weaker.params.n_trees = 20;
    weaker.params.max_depth = Some(4);
    let champion = answers(&data, &weaker, |_, y| y);
    // The challenger: the default recipe, taught that no Pokémon of generation 9 is legendary.
    let challenger = answers(&data, &recipe(2), |i, y| y && data.generations[i] != 9);
    let v = verdict(&data, champion, challenger);
    println!("{v}");
    assert!(!v.promoted, "{v}");
    let failed = v.failed();
    assert!(
        failed
            .iter()
            .any(|f| f.starts_with("slice generation 9 (newest)")),
        "{failed:?}"
    );
}
