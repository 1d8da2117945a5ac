//! A shared link: stats filled and answered, a borderline answer, keyboard sliders moving the
//! address, a reload, links out of bounds and by name.

use fantoccini::Locator;
use fantoccini::key::Key;
use serde_json::json;

use super::*;

#[tokio::test]
#[ignore = "needs chromium + chromedriver: scripts/test.sh installs them"]
async fn a_shared_link_fills_the_stats_follows_the_sliders_survives_a_reload_and_borderline_says_so()
 {
    let app = spawn_app().await;
    let b = browser(1200, 1000).await;
    let client = &b.client;
    client
        .goto(&app.url(&format!("/?{DRAGONITE}")))
        .await
        .unwrap();

    // The link's stats are in the fields and answered at once, within the page's policy.
    let verdict = wait_for(client, "//p[@id='verdict']").await;
    let csp = csp_violations(client).await;
    assert!(csp.is_empty(), "CSP on a shared link: {csp:#?}");
    assert_eq!(
        client
            .find(Locator::Id("attack"))
            .await
            .unwrap()
            .prop("value")
            .await
            .unwrap()
            .as_deref(),
        Some("134")
    );

    // Dragonite is within 10 points of the line: borderline, with the line on the bar.
    let server = explained(
        &app,
        &json!({"hp": 91, "attack": 134, "defense": 95, "special_attack": 100, "special_defense": 100, "speed": 80}),
    )
    .await;
    let p = server["probability"].as_f64().unwrap();
    assert!(
        (p - 0.5).abs() < 0.1,
        "Dragonite is not borderline for this model: {p}"
    );
    assert_eq!(
        verdict.text().await.unwrap(),
        "Borderline — could go either way"
    );
    let lean = text_of(client, "lean").await;
    assert!(
        lean.starts_with(if p > 0.5 {
            "It leans legendary"
        } else {
            "It leans not legendary"
        }) && lean.contains("50.0% line"),
        "{lean}"
    );
    let mark = js(
        client,
        "const m = document.getElementById('threshold-mark').getBoundingClientRect();
         const bar = document.querySelector('.meter').getBoundingClientRect();
         return (m.left + m.width / 2 - bar.left) / bar.width;",
    )
    .await;
    assert!(
        (mark.as_f64().unwrap() - 0.5).abs() < 0.01,
        "line at {mark}"
    );
    screenshot(client, "borderline.png").await;

    // Keyboard: Tab from the HP field reaches its slider; arrow keys move it and re-score.
    let hp = client.find(Locator::Id("hp")).await.unwrap();
    hp.send_keys(&Key::Tab.to_string()).await.unwrap();
    let focused = js(client, "return document.activeElement.id;").await;
    assert_eq!(focused, json!("hp-range"));
    let slider = client.find(Locator::Id("hp-range")).await.unwrap();
    for _ in 0..3 {
        slider.send_keys(&Key::Right.to_string()).await.unwrap();
    }
    wait_for(
        client,
        "//div[@id='why-chart']/*[@data-stat='hp' and contains(., 'HP 94')]",
    )
    .await;
    let url = client.current_url().await.unwrap();
    assert!(url.query().unwrap().contains("hp=94"), "{url}");
    assert!(url.query().unwrap().contains("attack=134"), "{url}");
    let before = text_of(client, "probability").await;

    // Reloading the address gives the same stats and the same answer.
    client.refresh().await.unwrap();
    wait_for(client, "//p[@id='probability']").await;
    assert_eq!(text_of(client, "probability").await, before);
    let hp = client.find(Locator::Id("hp")).await.unwrap();
    assert_eq!(hp.prop("value").await.unwrap().as_deref(), Some("94"));
    let csp = csp_violations(client).await;
    assert!(csp.is_empty(), "CSP after a reload: {csp:#?}");

    // A link out of bounds is said to be, not scored; a name alone picks that Pokémon.
    client
        .goto(&app.url("/?hp=999&attack=1&defense=1&special_attack=1&special_defense=1&speed=1"))
        .await
        .unwrap();
    wait_for(client, "//div[@id='error' and contains(., 'got 999')]").await;
    assert!(client.find(Locator::Id("verdict")).await.is_err());
    client.goto(&app.url("/?name=mewtwo")).await.unwrap();
    wait_for(client, "//p[@id='verdict' and text()='Legendary']").await;
    let url = client.current_url().await.unwrap();
    assert!(
        url.query().unwrap().contains("special_attack=154")
            && url.query().unwrap().contains("name=Mewtwo"),
        "{url}"
    );

    b.client.close().await.unwrap();
    app.shut_down().await;
}
