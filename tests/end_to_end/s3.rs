//! Artifacts on a REAL S3 server: a single-node Garage (`tests/support/garage.rs`), started
//! and stopped by the tests. Run by `scripts/test.sh` (it installs Garage once into a cache
//! and exports `LEGENDARY_GARAGE_BIN`).

use std::time::Instant;

use crate::support::garage::Garage;

#[tokio::test]
#[ignore = "needs garage (scripts/install-garage.sh)"]
async fn a_single_node_garage_starts_with_a_key_allowed_on_its_bucket() {
    let started = Instant::now();
    let garage = Garage::start();
    eprintln!("garage up in {:?}", started.elapsed());
    let info = garage.cli(&["bucket", "info", &garage.bucket]);
    assert!(info.contains(&garage.key_id), "{info}");
    assert!(garage.secret.len() >= 32);
    // Unsigned requests are refused: the bucket is not public.
    let answer = reqwest::get(format!("{}/{}/x", garage.endpoint, garage.bucket)).await;
    assert_eq!(answer.unwrap().status(), 403);
}
