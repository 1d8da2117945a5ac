//! On a 390×844 phone: search spellings, the verdict and its top reason without scrolling,
//! legible labels, and no sideways scrolling on the page or the API explorer.

use fantoccini::Locator;
use fantoccini::key::Key;
use serde_json::json;

use super::*;

#[tokio::test]
#[ignore = "needs chromium + chromedriver: scripts/test.sh installs them"]
async fn on_a_phone_the_verdict_and_its_top_reason_show_without_scrolling_and_search_forgives_spelling()
 {
    let app = spawn_app().await;
    let b = browser(390, 844).await;
    let client = &b.client;
    client.goto(&app.url("/")).await.unwrap();
    let viewport = js(client, "return [window.innerWidth, window.innerHeight];").await;
    assert_eq!(viewport, json!([390, 844]), "the window is a 390×844 phone");

    // How people type names: accents, punctuation, formes and Pokédex numbers.
    for (query, first) in [
        ("flabebe", "Flabe\u{301}be\u{301}"),
        ("mr mime", "Mr. Mime"),
        ("150", "Mewtwo"),
        ("farfetch'd", "Farfetch\u{2019}d"),
        ("mega mewtwo", "Mewtwo-Mega-X"),
    ] {
        type_into(client, "search", query).await;
        wait_for(
            client,
            &format!("//ul[@id='search-results']/li[1][@data-name=\"{first}\"]"),
        )
        .await;
    }
    client
        .find(Locator::Id("search"))
        .await
        .unwrap()
        .send_keys(&Key::Escape.to_string())
        .await
        .unwrap();

    choose(client, "mewtwo", "Mewtwo").await;
    wait_for(client, "//p[@id='verdict' and text()='Legendary']").await;
    wait_for(client, "//p[@id='top-reason']").await;
    let geometry = js(
        client,
        "const r = (id) => document.getElementById(id).getBoundingClientRect();
         return { scrollY: window.scrollY, height: window.innerHeight,
                  verdict: [r('verdict').top, r('verdict').bottom],
                  reason: [r('top-reason').top, r('top-reason').bottom] };",
    )
    .await;
    eprintln!("phone geometry after choosing Mewtwo: {geometry}");
    assert_eq!(geometry["scrollY"], json!(0), "{geometry}");
    for part in ["verdict", "reason"] {
        let (top, bottom) = (
            geometry[part][0].as_f64().unwrap(),
            geometry[part][1].as_f64().unwrap(),
        );
        assert!(
            top >= 0.0 && bottom <= 844.0,
            "{part} off screen: {geometry}"
        );
    }
    screenshot(client, "phone.png").await;

    // Every label of the charts and the bar is at least 12 px, and nothing scrolls sideways.
    let smallest = js(
        client,
        "return Math.min(...[...document.querySelectorAll('.step span, .bar-row span, .scale span')]
           .filter((e) => e.textContent.trim())
           .map((e) => parseFloat(getComputedStyle(e).fontSize)));",
    )
    .await;
    assert!(
        smallest.as_f64().unwrap() >= 12.0,
        "smallest label {smallest} px"
    );
    let over = horizontal_overflow(client).await;
    assert!(over.is_empty(), "/ scrolls sideways: {over:?}");

    client.goto(&app.url("/docs")).await.unwrap();
    wait_for(client, "//div[contains(@class, 'opblock-tag-section')]").await;
    let over = horizontal_overflow(client).await;
    assert!(over.is_empty(), "/docs scrolls sideways: {over:?}");
    // An operation opened shows its parameters and examples within the width too.
    client
        .find(Locator::Css(
            "#operations-demo-pokemon_type_query .opblock-summary-control",
        ))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for(
        client,
        "//*[@id='operations-demo-pokemon_type_query']//table[contains(@class, 'parameters')]",
    )
    .await;
    let over = horizontal_overflow(client).await;
    assert!(
        over.is_empty(),
        "an open operation scrolls sideways: {over:?}"
    );
    screenshot(client, "phone-docs.png").await;

    b.client.close().await.unwrap();
    app.shut_down().await;
}
