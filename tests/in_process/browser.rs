//! The page and the API explorer in a real browser: headless Chromium driven over WebDriver by
//! a chromedriver each test starts on a free port, against the real application with the
//! bundled model. Ignored by default; `scripts/install-browser.sh` installs Chromium,
//! chromedriver and axe-core. Screenshots go to `target/screenshots/` (paths are printed).

use fantoccini::key::Key;
use fantoccini::{Client, Locator};
use serde_json::{Value, json};

use crate::support::app::{TestApp, spawn_app};
use crate::support::browser::{
    Driver, axe_serious, horizontal_overflow, js, open_browser, screenshot, start_driver, wait_for,
};

const MEWTWO: [(&str, u32); 6] = [
    ("hp", 106),
    ("attack", 110),
    ("defence", 90),
    ("special_attack", 154),
    ("special_defense", 90),
    ("speed", 130),
];
/// Dragonite: legendary by a hair (about 51 %) for the bundled model, ordinary in the data.
const DRAGONITE: &str =
    "hp=91&attack=134&defense=95&special_attack=100&special_defense=100&speed=80";
/// The page's names of the explanation's keys.
const NAMES: [(&str, &str); 6] = [
    ("hp", "HP"),
    ("attack", "Attack"),
    ("defense", "Defense"),
    ("special_attack", "Special Attack"),
    ("special_defense", "Special Defense"),
    ("speed", "Speed"),
];

/// One browser test at a time: each starts a Chromium, and several at once beside the rest of
/// the suite on a small machine only make the waits flaky.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// A browser on its own chromedriver; both end with the test.
struct Browser {
    client: Client,
    _driver: Driver,
    _profile: tempfile::TempDir,
    _turn: tokio::sync::MutexGuard<'static, ()>,
}

/// A browser whose page (not window) is `width`×`height` CSS pixels.
async fn browser(width: u32, height: u32) -> Browser {
    let turn = ONE_AT_A_TIME.lock().await;
    let (driver, port) = start_driver();
    let profile = tempfile::tempdir().unwrap();
    let client = open_browser(port, profile.path()).await;
    // The window's size includes what is not the page; grow it until the page is the size.
    client.set_window_size(width, height).await.unwrap();
    let inner = js(&client, "return [window.innerWidth, window.innerHeight];").await;
    let (w, h) = (inner[0].as_u64().unwrap(), inner[1].as_u64().unwrap());
    client
        .set_window_size(2 * width - w as u32, 2 * height - h as u32)
        .await
        .unwrap();
    Browser {
        client,
        _driver: driver,
        _profile: profile,
        _turn: turn,
    }
}

/// Replaces the text of a field.
async fn type_into(client: &Client, id: &str, text: &str) {
    let field = client.find(Locator::Id(id)).await.unwrap();
    field.clear().await.unwrap();
    if !text.is_empty() {
        field.send_keys(text).await.unwrap();
    }
}

/// Types `query` in the search and waits until `name` is the first match, then picks it.
async fn choose(client: &Client, query: &str, name: &str) {
    type_into(client, "search", query).await;
    wait_for(
        client,
        &format!("//ul[@id='search-results']/li[1][@data-name=\"{name}\"]"),
    )
    .await
    .click()
    .await
    .unwrap();
}

async fn text_of(client: &Client, id: &str) -> String {
    client
        .find(Locator::Id(id))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

/// A number as the page writes it: `16.8%`, `+21.3`, `−3.2` (a real minus sign).
fn shown_number(text: &str) -> f64 {
    text.trim()
        .trim_end_matches('%')
        .replace('−', "-")
        .parse()
        .unwrap_or_else(|e| panic!("{text:?}: {e}"))
}

/// The server's own explained answer for the stats, to check the page against.
async fn explained(app: &TestApp, stats: &Value) -> Value {
    reqwest::Client::new()
        .post(app.url("/pokemon-type?explain=true"))
        .json(stats)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

fn mewtwo() -> Value {
    Value::Object(
        MEWTWO
            .iter()
            .map(|(k, v)| ((*k).to_owned(), json!(v)))
            .collect(),
    )
}

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

    // The link's stats are in the fields and answered at once.
    let verdict = wait_for(client, "//p[@id='verdict']").await;
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

#[tokio::test]
#[ignore = "needs chromium + chromedriver + axe-core: scripts/test.sh installs them"]
async fn the_docs_explorer_renders_every_operation_tries_one_and_axe_finds_nothing_serious() {
    let app = spawn_app().await;
    let b = browser(1200, 1400).await;
    let client = &b.client;

    // The page, with an answer and its why on it, has no serious accessibility problem.
    client
        .goto(&app.url(&format!("/?{DRAGONITE}")))
        .await
        .unwrap();
    wait_for(client, "//div[@id='why' and not(@hidden)]").await;
    wait_for(client, "//*[@id='importance-chart']").await;
    let found = axe_serious(client).await;
    assert!(found.is_empty(), "axe on /: {found:#?}");

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

    let found = axe_serious(client).await;
    assert!(found.is_empty(), "axe on /docs: {found:#?}");

    b.client.close().await.unwrap();
    app.shut_down().await;
}
