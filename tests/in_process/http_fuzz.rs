//! Thousands of random and mutated requests against the live router: never a 5xx, and the
//! server keeps answering `/ping` and good requests.

use legendary_forest::SplitMix64;

const CONTENT_TYPES: &[&str] = &[
    "application/json",
    "application/json; format=pandas-split",
    "application/json; format=pandas-records",
    "application/json; charset=utf-8",
    "application/json; charset=latin-1",
    "text/csv",
    "text/csv; charset=UTF-8",
    "Application/JSON",
    "text/plain",
    "application/vnd.apache.parquet",
    "multipart/form-data; boundary=x",
    "",
    ";;;",
    "application/json; foo",
];

fn seeds() -> Vec<Vec<u8>> {
    let text =
        std::fs::read_to_string(crate::support::repo().join("tests/fixtures/scoring-corpus.jsonl"))
            .unwrap();
    text.lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|v| v["body"].as_str().map(|b| b.as_bytes().to_vec()))
        .filter(|b| !b.starts_with(b"<"))
        .collect()
}

/// Flips, inserts, deletes and duplicates bytes, or splices two seeds.
fn mutate(rng: &mut SplitMix64, seeds: &[Vec<u8>]) -> Vec<u8> {
    let mut body = seeds[rng.below(seeds.len())].clone();
    for _ in 0..=rng.below(6) {
        let len = body.len().max(1);
        match rng.below(6) {
            0 if !body.is_empty() => {
                let i = rng.below(len);
                body[i] = (rng.next_u64() & 0xff) as u8;
            }
            1 => body.insert(rng.below(len), b"{}[],:\"0.-e9nulltrueNaN"[rng.below(22)]),
            2 if !body.is_empty() => {
                body.remove(rng.below(len));
            }
            3 => {
                let other = &seeds[rng.below(seeds.len())];
                let cut = rng.below(other.len().max(1));
                body.truncate(rng.below(len));
                body.extend_from_slice(&other[cut..]);
            }
            4 => {
                body = (0..rng.below(64))
                    .map(|_| (rng.next_u64() & 0xff) as u8)
                    .collect()
            }
            _ => {
                let i = rng.below(len);
                let chunk = body[..i.min(body.len())].to_vec();
                body.extend_from_slice(&chunk);
            }
        }
    }
    body
}

#[tokio::test]
async fn random_and_mutated_bodies_never_cause_a_5xx() {
    let app = crate::support::app::spawn_app().await;
    let seeds = seeds();
    let mut rng = SplitMix64::new(20261125);
    let mut statuses = std::collections::BTreeMap::new();
    for i in 0..3000 {
        let body = mutate(&mut rng, &seeds);
        let ct = CONTENT_TYPES[rng.below(CONTENT_TYPES.len())];
        let response = app
            .post("/invocations", (!ct.is_empty()).then_some(ct), body.clone())
            .await;
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        assert!(
            status < 500,
            "request {i} ({ct}) got {status}: {text}\nbody: {:?}",
            String::from_utf8_lossy(&body)
        );
        if status != 200 {
            let json: serde_json::Value =
                serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}"));
            assert!(
                json["error_code"].is_string() && json["message"].is_string(),
                "{text}"
            );
        }
        *statuses.entry(status).or_insert(0) += 1;
        if i % 500 == 0 {
            assert_eq!(app.get("/ping").await.status(), 200);
        }
    }
    println!("statuses: {statuses:?}");
    assert!(
        statuses.len() >= 3,
        "the mutations should reach several outcomes: {statuses:?}"
    );
    assert_eq!(app.get("/ping").await.status(), 200);
    app.shut_down().await;
}
