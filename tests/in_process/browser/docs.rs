//! The API explorer: every operation, a try-it, and axe-core on both pages.

use fantoccini::Locator;
use serde_json::{Value, json};

use super::*;

#[tokio::test]
#[ignore = "needs chromium + chromedriver + axe-core: scripts/test.sh installs them"]
async fn the_docs_explorer_renders_every_operation_tries_one_and_axe_finds_nothing_serious() {
    let app = spawn_app().await;
    let b = browser(1200, 1400).await;
    let client = &b.client;

    // The page as it opens, with a borderline answer and its why, and with a stat out of
    // bounds, has no serious accessibility problem.
    client.goto(&app.url("/")).await.unwrap();
    wait_for(client, "//*[@id='importance-chart']").await;
    let csp = csp_violations(client).await;
    assert!(csp.is_empty(), "CSP on /: {csp:#?}");
    let found = axe_serious(client).await;
    assert!(found.is_empty(), "axe on / as it opens: {found:#?}");
    client
        .goto(&app.url(&format!("/?{DRAGONITE}")))
        .await
        .unwrap();
    wait_for(client, "//div[@id='why' and not(@hidden)]").await;
    wait_for(client, "//*[@id='importance-chart']").await;
    let csp = csp_violations(client).await;
    assert!(csp.is_empty(), "CSP on / with an answer: {csp:#?}");
    let found = axe_serious(client).await;
    assert!(found.is_empty(), "axe on / with an answer: {found:#?}");
    let hp = client.find(Locator::Id("hp")).await.unwrap();
    hp.clear().await.unwrap();
    hp.send_keys("999\n").await.unwrap();
    wait_for(client, "//div[@id='error' and contains(., 'got 999')]").await;
    let found = axe_serious(client).await;
    assert!(
        found.is_empty(),
        "axe on / with a stat out of bounds: {found:#?}"
    );

    // Every operation of the document is in the explorer.
    let doc: Value = reqwest::get(app.url("/openapi.json"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let operations = doc["paths"]
        .as_object()
        .unwrap()
        .values()
        .map(|item| item.as_object().unwrap().len())
        .sum::<usize>();
    client.goto(&app.url("/docs")).await.unwrap();
    wait_for(client, "//div[contains(@class, 'opblock-tag-section')]").await;
    let shown = js(
        client,
        "return document.querySelectorAll('.opblock').length;",
    )
    .await;
    assert_eq!(shown, json!(operations));
    let csp = csp_violations(client).await;
    assert!(csp.is_empty(), "CSP on /docs: {csp:#?}");
    // The explorer's own style sheet applies (it is a file: the policy allows no inline style).
    let size = js(
        client,
        "return getComputedStyle(document.querySelector('.top h1')).fontSize;",
    )
    .await;
    assert_eq!(size, json!("28.8px"));

    // Try it: GET /pokedex with q=150 from the explorer answers Mewtwo from this server.
    client
        .find(Locator::Css(
            "#operations-web-pokedex_search .opblock-summary-control",
        ))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let q = wait_for(
        client,
        "//*[@id='operations-web-pokedex_search']//tr[@data-param-name='q']//input",
    )
    .await;
    // The field starts with the documented example (`mew`).
    q.clear().await.unwrap();
    q.send_keys("150").await.unwrap();
    client
        .find(Locator::Css(
            "#operations-web-pokedex_search button.execute",
        ))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let body = wait_for(
        client,
        "//*[@id='operations-web-pokedex_search']//*[contains(@class, 'live-responses-table')]//*[contains(@class, 'response-col_description')]//pre",
    )
    .await;
    let text = body.text().await.unwrap();
    assert!(text.contains("\"Mewtwo\""), "{text}");
    screenshot(client, "docs.png").await;
    let csp = csp_violations(client).await;
    assert!(csp.is_empty(), "CSP on /docs after a try: {csp:#?}");

    let found = axe_serious(client).await;
    assert!(found.is_empty(), "axe on /docs: {found:#?}");

    // The check sees a violation when there is one: an inline style is refused and reported.
    js(
        client,
        "const s = document.createElement('style'); s.textContent = 'body { color: red }'; \
         document.head.appendChild(s); return null;",
    )
    .await;
    let csp = csp_violations(client).await;
    assert!(
        csp.iter().any(|v| v.starts_with("style-src")),
        "an inline style was not reported: {csp:#?}"
    );

    b.client.close().await.unwrap();
    app.shut_down().await;
}
