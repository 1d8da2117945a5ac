//! On a desktop: Mewtwo and its why, Bulbasaur by hand, the page's bounds, copy as curl,
//! the model card and the data catalogue.

use fantoccini::Locator;
use fantoccini::key::Key;
use serde_json::Value;

use super::*;

/// The waterfall as shown: base rate, the pushes in order (exact and as written), the total.
struct Why {
    base: f64,
    base_shown: f64,
    pushes: Vec<(String, f64, f64)>,
    total: f64,
    total_shown: f64,
}

async fn read_why(client: &Client) -> Why {
    let v = js(
        client,
        "const rows = [...document.querySelectorAll('#why-chart .step[data-stat]')];
         return {
           base: Number(document.getElementById('why-base').dataset.value),
           base_shown: document.getElementById('why-base').textContent,
           total: Number(document.getElementById('why-total').dataset.value),
           total_shown: document.getElementById('why-total').textContent,
           pushes: rows.map((r) => [r.dataset.stat,
             Number(r.querySelector('.push-value').dataset.push),
             r.querySelector('.push-value').textContent]),
         };",
    )
    .await;
    Why {
        base: v["base"].as_f64().unwrap(),
        base_shown: shown_number(v["base_shown"].as_str().unwrap()),
        pushes: v["pushes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| {
                (
                    p[0].as_str().unwrap().to_owned(),
                    p[1].as_f64().unwrap(),
                    shown_number(p[2].as_str().unwrap()),
                )
            })
            .collect(),
        total: v["total"].as_f64().unwrap(),
        total_shown: shown_number(v["total_shown"].as_str().unwrap()),
    }
}

#[tokio::test]
#[ignore = "needs chromium + chromedriver: scripts/test.sh installs them"]
async fn a_person_finds_mewtwo_sees_why_and_the_pushes_add_up_to_the_answer() {
    let app = spawn_app().await;
    let b = browser(1200, 1400).await;
    let client = &b.client;
    client.goto(&app.url("/")).await.unwrap();

    // The model card in plain words, with recall and a human date; the overall importances.
    wait_for(client, "//*[@id='importance-chart']/*[@role='listitem']").await;
    let recall = wait_for(
        client,
        "//dl[@id='model-quality']/dt[text()='Finds legendaries (recall)']/following-sibling::dd[1]",
    )
    .await
    .text()
    .await
    .unwrap();
    let card: Value = reqwest::get(app.url("/model"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let hold = &card["metrics"]["holdout"];
    let (found, missed) = (
        hold["confusion_matrix"][1][1].as_u64().unwrap(),
        hold["confusion_matrix"][1][0].as_u64().unwrap(),
    );
    let expected = format!(
        "{:.0}%: {found} of the {} legendaries",
        hold["recall"].as_f64().unwrap() * 100.0,
        found + missed
    );
    assert_eq!(recall, expected);
    let trained = wait_for(
        client,
        "//dl[@id='model-card']/dt[text()='Trained']/following-sibling::dd[1]",
    )
    .await
    .text()
    .await
    .unwrap();
    assert!(
        human_date(&trained),
        "the training date is not human: {trained}"
    );

    // Pick Mewtwo: its stats fill in, the answer and its why come at once.
    choose(client, "Mewtwo", "Mewtwo").await;
    wait_for(client, "//p[@id='verdict' and text()='Legendary']").await;
    let sp_atk = client.find(Locator::Id("special_attack")).await.unwrap();
    assert_eq!(sp_atk.prop("value").await.unwrap().as_deref(), Some("154"));
    wait_for(
        client,
        "//div[@id='why' and not(@hidden)]//*[@id='why-total']",
    )
    .await;

    // What the page shows is the server's explanation, and it adds up.
    let server = explained(&app, &mewtwo()).await;
    let why = read_why(client).await;
    assert_eq!(why.pushes.len(), 6);
    let sum: f64 = why.pushes.iter().map(|(_, exact, _)| exact).sum();
    assert!((why.base + sum - why.total).abs() < 1e-9, "exact sum");
    let shown_sum: f64 = why.pushes.iter().map(|(_, _, shown)| shown).sum();
    // Each written number is rounded to 0.1 point: eight of them differ by at most 0.4.
    assert!(
        (why.base_shown + shown_sum - why.total_shown).abs() <= 0.4 + 1e-9,
        "{} + {shown_sum} vs {}",
        why.base_shown,
        why.total_shown
    );
    assert!((why.total - server["probability"].as_f64().unwrap()).abs() < 1e-12);
    assert!((why.base - server["base_value"].as_f64().unwrap()).abs() < 1e-12);
    for (stat, exact, _) in &why.pushes {
        assert!((exact - server["contributions"][stat].as_f64().unwrap()).abs() < 1e-12);
    }
    let sizes: Vec<f64> = why.pushes.iter().map(|(_, e, _)| e.abs()).collect();
    assert!(
        sizes.windows(2).all(|w| w[0] >= w[1]),
        "sorted by size: {sizes:?}"
    );
    let probability = text_of(client, "probability").await;
    assert!(
        probability.contains(&format!("{:.1}%", why.total * 100.0)),
        "{probability}"
    );

    // The top reason, in words, is the biggest push up (the answer is legendary).
    let (key, push, _) = why
        .pushes
        .iter()
        .filter(|(_, e, _)| *e > 0.0)
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .unwrap();
    let name = NAMES.iter().find(|(k, _)| k == key).unwrap().1;
    let value = MEWTWO
        .iter()
        .find(|(k, _)| *k == key.replace("defense", "defence"))
        .unwrap()
        .1;
    let top = text_of(client, "top-reason").await;
    assert_eq!(
        top,
        format!(
            "Top reason: {name} {value} pushes it up by {:.1} points.",
            push * 100.0
        )
    );
    screenshot(client, "mewtwo.png").await;

    // "Copy as curl" holds the exact request, and that request gives the same answer.
    let command = js(
        client,
        "return document.getElementById('curl').textContent;",
    )
    .await;
    let command = command.as_str().unwrap();
    let prefix = format!(
        "curl -s -X POST '{}' -H 'Content-Type: application/json' -d '",
        app.url("/pokemon-type?explain=true")
    );
    assert!(command.starts_with(&prefix), "{command}");
    let body: Value = serde_json::from_str(
        command
            .strip_prefix(&prefix)
            .unwrap()
            .strip_suffix('\'')
            .unwrap(),
    )
    .unwrap();
    assert_eq!(explained(&app, &body).await, server);
    client
        .find(Locator::Id("copy-curl"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for(
        client,
        "//span[@id='copy-status' and contains(., 'curl command')]",
    )
    .await;

    // Bulbasaur typed by hand, Enter in the last field.
    for (id, value) in [
        ("hp", "45"),
        ("attack", "49"),
        ("defence", "49"),
        ("special_attack", "65"),
        ("special_defense", "65"),
        ("speed", "45"),
    ] {
        type_into(client, id, value).await;
    }
    let speed = client.find(Locator::Id("speed")).await.unwrap();
    speed.send_keys(&Key::Enter.to_string()).await.unwrap();
    wait_for(client, "//p[@id='verdict' and text()='Not legendary']").await;
    let top = text_of(client, "top-reason").await;
    assert!(top.contains("pulls it down"), "{top}");
    screenshot(client, "bulbasaur.png").await;

    // Out of the page's bounds, too big or too small, or empty: the page says so and scores
    // nothing (the answer goes away rather than staying from the last valid stats).
    for (value, message) in [
        (
            "999",
            "HP must be a whole number from 1 to 255 (base stats in the games), got 999.",
        ),
        (
            "-5",
            "HP must be a whole number from 1 to 255 (base stats in the games), got -5.",
        ),
        ("", "HP is empty."),
    ] {
        type_into(client, "hp", value).await;
        client
            .find(Locator::Id("submit"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        let error = wait_for(
            client,
            &format!("//div[@id='error' and contains(., '{message}')]"),
        )
        .await;
        assert!(error.is_displayed().await.unwrap());
        wait_for(
            client,
            "//div[@id='answer' and contains(., 'No answer until')]",
        )
        .await;
        let hp = client.find(Locator::Id("hp")).await.unwrap();
        assert_eq!(
            hp.attr("aria-invalid").await.unwrap().as_deref(),
            Some("true")
        );
    }
    screenshot(client, "error.png").await;

    // Back within bounds, it answers again.
    type_into(client, "hp", "45").await;
    client
        .find(Locator::Id("submit"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for(client, "//p[@id='verdict' and text()='Not legendary']").await;

    // The data catalogue: a generation typed in its box leaves that data set alone.
    wait_for(
        client,
        "//table[@id='datasets']//td[text()='Pokémon of generation 9']",
    )
    .await;
    type_into(client, "datasets-search", "7").await;
    wait_for(client, "//p[@id='datasets-status' and text()='1 data set']").await;
    let row = wait_for(client, "//table[@id='datasets']/tbody/tr").await;
    let text = row.text().await.unwrap();
    assert!(text.contains("Pokémon of generation 7"), "{text}");
    screenshot(client, "datasets.png").await;

    b.client.close().await.unwrap();
    app.shut_down().await;
}

/// `25 Nov 2026`: day, short month, year; no clock time, no ISO timestamp.
fn human_date(text: &str) -> bool {
    let parts: Vec<&str> = text.split(' ').collect();
    matches!(parts.as_slice(), [d, m, y]
        if d.parse::<u8>().is_ok() && m.len() == 3 && y.len() == 4 && y.parse::<u16>().is_ok())
}
