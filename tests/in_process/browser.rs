//! The page in a real browser: headless Chromium driven over WebDriver by a chromedriver this
//! test starts on a free port. Ignored by default; `scripts/install-browser.sh` installs both.
//! Screenshots go to `target/screenshots/` for a person to look at.

use fantoccini::key::Key;
use fantoccini::{Client, Locator};

use crate::support::app::spawn_app;
use crate::support::browser::{open_browser, screenshot, start_driver, wait_for};

/// Replaces the text of a stat field.
async fn type_stat(client: &Client, id: &str, text: &str) {
    let field = client.find(Locator::Id(id)).await.unwrap();
    field.clear().await.unwrap();
    if !text.is_empty() {
        field.send_keys(text).await.unwrap();
    }
}

#[tokio::test]
#[ignore = "needs chromium + chromedriver: scripts/test.sh installs them"]
async fn a_person_finds_mewtwo_tries_bulbasaur_and_sees_the_servers_error() {
    let app = spawn_app().await;
    let (_driver, port) = start_driver();
    let profile = tempfile::tempdir().unwrap();
    let client = open_browser(port, profile.path()).await;
    // Tall enough for the whole page in one screenshot.
    client.set_window_size(1200, 1300).await.unwrap();
    client.goto(&app.url("/")).await.unwrap();

    // The model card and the importance chart come from GET /model.
    wait_for(&client, "//*[@id='importance-chart']").await;
    wait_for(
        &client,
        "//dl[@id='model-card']/dt[text()='Held-out ROC AUC']",
    )
    .await;

    // Search, pick Mewtwo from the list: its stats fill in and the answer comes.
    let search = client.find(Locator::Id("search")).await.unwrap();
    search.send_keys("Mewtwo").await.unwrap();
    wait_for(
        &client,
        "//ul[@id='search-results']/li[@data-name='Mewtwo']",
    )
    .await
    .click()
    .await
    .unwrap();
    let verdict = wait_for(&client, "//p[@id='verdict' and text()='Legendary']").await;
    assert!(
        verdict
            .attr("class")
            .await
            .unwrap()
            .unwrap()
            .contains("legendary")
    );
    let sp_atk = client.find(Locator::Id("special_attack")).await.unwrap();
    assert_eq!(sp_atk.prop("value").await.unwrap().as_deref(), Some("154"));
    let probability = client.find(Locator::Id("probability")).await.unwrap();
    assert!(probability.text().await.unwrap().contains('%'));
    let shot = screenshot(&client, "mewtwo.png").await;
    eprintln!("screenshot: {}", shot.display());

    // Type Bulbasaur's stats and press Enter in the last field.
    for (id, value) in [
        ("hp", "45"),
        ("attack", "49"),
        ("defence", "49"),
        ("special_attack", "65"),
        ("special_defense", "65"),
        ("speed", "45"),
    ] {
        type_stat(&client, id, value).await;
    }
    let speed = client.find(Locator::Id("speed")).await.unwrap();
    speed.send_keys(&Key::Enter.to_string()).await.unwrap();
    wait_for(&client, "//p[@id='verdict' and text()='Not legendary']").await;
    screenshot(&client, "bulbasaur.png").await;

    // A negative stat: the server's 400 message is shown, naming the field.
    type_stat(&client, "hp", "-5").await;
    client
        .find(Locator::Id("submit"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let error = wait_for(&client, "//div[@id='error' and contains(., '`hp`')]").await;
    let text = error.text().await.unwrap();
    assert!(
        text.contains("at least 0") && text.contains("HTTP 400"),
        "{text}"
    );

    // An empty field: the same, for that field.
    type_stat(&client, "hp", "45").await;
    type_stat(&client, "attack", "").await;
    let attack = client.find(Locator::Id("attack")).await.unwrap();
    attack.send_keys(&Key::Enter.to_string()).await.unwrap();
    wait_for(
        &client,
        "//div[@id='error' and contains(., 'Field `attack` is empty')]",
    )
    .await;
    screenshot(&client, "error.png").await;

    // The data catalogue: a generation typed in its box leaves that data set alone.
    wait_for(
        &client,
        "//table[@id='datasets']//td[text()='Pokémon of generation 9']",
    )
    .await;
    let datasets = client.find(Locator::Id("datasets-search")).await.unwrap();
    datasets.send_keys("7").await.unwrap();
    wait_for(
        &client,
        "//p[@id='datasets-status' and text()='1 data set']",
    )
    .await;
    let row = wait_for(&client, "//table[@id='datasets']/tbody/tr").await;
    let text = row.text().await.unwrap();
    assert!(
        text.contains("Pokémon of generation 7") && text.contains("legendary"),
        "{text}"
    );
    screenshot(&client, "datasets.png").await;

    // On a phone-sized window the page is one column.
    type_stat(&client, "attack", "49").await;
    client.set_window_size(390, 844).await.unwrap();
    screenshot(&client, "phone.png").await;

    client.set_window_size(1200, 1600).await.unwrap();
    client.goto(&app.url("/docs")).await.unwrap();
    wait_for(&client, "//section[@id='post-/pokemon-type']").await;
    screenshot(&client, "docs.png").await;

    client.close().await.unwrap();
    app.shut_down().await;
}
