//! The bundled data's rows and the server's scoring and monitoring answers, as the end-to-end
//! tests that replay traffic (monitoring, the closed loop) read and send them.

use serde_json::{Value, json};

use super::repo;

/// The six stats' column names, in a row's order.
pub const STATS: [&str; 6] = legendary_forest::FEATURES;

/// One row of a generation CSV.
#[derive(Debug, Clone)]
pub struct Row {
    /// The CSV line as written.
    pub line: String,
    /// The six stats, in [`STATS`] order.
    pub stats: [f64; 6],
    /// The label.
    pub legendary: bool,
}

/// The header and the rows of the bundled `data/pokemon/generation-{g}.csv`.
pub fn generation(g: u8) -> (String, Vec<Row>) {
    let path = repo().join(format!("data/pokemon/generation-{g}.csv"));
    let text = std::fs::read_to_string(&path).unwrap();
    let mut lines = text.lines();
    let header = lines.next().unwrap().to_owned();
    let names: Vec<&str> = header.split(',').collect();
    let at = |name: &str| names.iter().position(|n| *n == name).unwrap();
    let (stats, label) = (STATS.map(at), at("legendary"));
    let rows = lines
        .filter(|l| !l.trim().is_empty())
        .map(|line| {
            // No quoted commas in these columns' rows: names and types are plain words.
            let cells: Vec<&str> = line.split(',').collect();
            Row {
                line: line.to_owned(),
                stats: stats.map(|i| cells[i].parse::<f64>().unwrap()),
                legendary: cells[label] == "True",
            }
        })
        .collect();
    (header, rows)
}

/// The six stats of every row of the bundled `generations`.
pub fn stats_of(generations: std::ops::RangeInclusive<u8>) -> Vec<[f64; 6]> {
    generations
        .flat_map(|g| generation(g).1.into_iter().map(|r| r.stats))
        .collect()
}

/// `POST {base}/invocations` of `rows` as one `dataframe_split`: the answers, after a 200.
pub async fn score(client: &reqwest::Client, base: &str, rows: &[[f64; 6]]) -> Vec<bool> {
    let body = json!({"dataframe_split": {"columns": STATS, "data": rows}});
    let answer = client
        .post(format!("{base}/invocations"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    let answer: Value = answer.json().await.unwrap();
    serde_json::from_value(answer["predictions"].clone()).unwrap()
}

/// `GET {base}/monitoring`.
pub async fn monitoring(client: &reqwest::Client, base: &str) -> Value {
    client
        .get(format!("{base}/monitoring"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}
