//! A calibrated model on the page: the waterfall explains the share of the trees' votes and
//! ends with the chance the calibration reads them as, the only row on the decision line's
//! scale; the model card says the chance is calibrated.

use legendary::acquire::Served;
use legendary::http::{AppState, ServerLimits};
use legendary_mlflow::Resolved;

use super::*;
use crate::in_process::calibrated::calibrated_dir;
use crate::support::app::{pokedex, spawn_state};

#[tokio::test]
#[ignore = "needs chromium + chromedriver: scripts/test.sh installs them"]
async fn with_a_calibrated_model_the_why_ends_at_the_votes_then_the_calibrated_chance() {
    let (_tmp, dir) = calibrated_dir();
    let state = AppState::new(ServerLimits::default(), Some(pokedex()));
    state.set_model(Served::new(dir, "models/calibrated", Resolved::default()));
    let app = spawn_state(state).await;
    let b = browser(1200, 1400).await;
    let client = &b.client;
    client.goto(&app.url("/")).await.unwrap();
    wait_for(client, "//*[@id='importance-chart']/*[@role='listitem']").await;
    choose(client, "Mewtwo", "Mewtwo").await;
    wait_for(
        client,
        "//div[@id='why' and not(@hidden)]//*[@id='why-chance']",
    )
    .await;

    let server = explained(&app, &mewtwo()).await;
    let (votes, chance) = (
        server["vote_fraction"].as_f64().unwrap(),
        server["probability"].as_f64().unwrap(),
    );
    assert_ne!(votes, chance, "{server}");
    let v = js(
        client,
        "const value = (id) => Number(document.getElementById(id).dataset.value);
         const steps = [...document.querySelectorAll('#why-chart .step')];
         return {
           total: value('why-total'), chance: value('why-chance'),
           lines: steps.map((s) => s.querySelectorAll('.line').length),
           intro: document.getElementById('why-intro').textContent,
           card: document.getElementById('model-card').textContent,
         };",
    )
    .await;
    assert_eq!(v["total"].as_f64(), Some(votes));
    assert_eq!(v["chance"].as_f64(), Some(chance));
    // Base, six pushes and the votes on the votes' scale; the chance alone on the line's.
    assert_eq!(v["lines"], json!([0, 0, 0, 0, 0, 0, 0, 0, 1]), "{v}");
    let intro = v["intro"].as_str().unwrap();
    assert!(
        intro.contains("of the trees' votes") && intro.contains("calibration reads as"),
        "{intro}"
    );
    assert!(
        text_of(client, "probability")
            .await
            .contains(&format!("{:.1}%", chance * 100.0))
    );
    assert!(v["card"].as_str().unwrap().contains("calibrated"), "{v}");
    screenshot(client, "calibrated-why.png").await;
    app.shut_down().await;
}
