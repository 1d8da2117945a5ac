//! The monitoring view (`/monitoring.html`): generation 9 scored through `/invocations` drifts
//! some stats and not others, and the page's bars, verdicts, answer rate, chances and expected
//! quality are `/monitoring`'s own numbers; its history grows with each poll and follows new
//! rows; the time window is a click away; axe-core finds nothing. A server without a model,
//! then with an unmonitored one, gets its message instead of a broken view.

use legendary::http::{AppState, MonitorSettings, ServerLimits};
use std::time::{Duration, Instant};

use super::*;
use crate::support::app::{local_model, spawn_state};
use crate::support::browser::WAIT;
use crate::support::repo;

const STATS: [&str; 6] = legendary_forest::FEATURES;

/// The six stats of each row of the bundled data's generations `from..=to`.
fn generations(from: u32, to: u32) -> Vec<[f64; 6]> {
    let mut rows = Vec::new();
    for g in from..=to {
        let text = std::fs::read_to_string(repo().join(format!("data/pokemon/generation-{g}.csv")))
            .unwrap();
        let mut lines = text.lines();
        let names: Vec<&str> = lines.next().unwrap().split(',').collect();
        let at = STATS.map(|s| names.iter().position(|n| *n == s).unwrap());
        // No quoted commas in these rows: names and types are plain words.
        rows.extend(lines.filter(|l| !l.trim().is_empty()).map(|line| {
            let cells: Vec<&str> = line.split(',').collect();
            at.map(|i| cells[i].parse::<f64>().unwrap())
        }));
    }
    rows
}

/// Scores `n` rows cycled from `rows` through `/invocations`.
async fn score_cycled(app: &TestApp, rows: &[[f64; 6]], n: usize) {
    let data: Vec<[f64; 6]> = rows.iter().copied().cycle().take(n).collect();
    let body = json!({"dataframe_split": {"columns": STATS, "data": data}});
    let response = app.score(body.to_string()).await;
    assert!(response.status().is_success(), "{}", response.status());
}

async fn report(app: &TestApp) -> Value {
    app.get("/monitoring").await.json().await.unwrap()
}

/// What the page shows of the chosen window, with the raw numbers it drew from.
async fn shown(client: &Client) -> Value {
    js(
        client,
        "const rows = [...document.querySelectorAll('#drift-chart [role=listitem]')];
         const num = (s) => (s === undefined || s === '' ? null : Number(s));
         const data = (id) => num(document.getElementById(id).dataset.value);
         return {
           features: rows.map((r) => ({
             name: r.dataset.feature, psi: num(r.dataset.psi), js: num(r.dataset.js),
             drifted: r.dataset.drifted === 'true', marked: r.classList.contains('drifted'),
             badge: (r.querySelector('.badge') || {}).textContent || null,
             value: r.querySelector('.value').textContent, sub: r.querySelector('.sub').textContent,
             width: r.querySelector('.bar').getBoundingClientRect().width,
           })),
           rate: data('rate-text'), rateText: document.getElementById('rate-text').textContent,
           precision: data('expected-precision'), recall: data('expected-recall'), f1: data('expected-f1'),
           window: [...document.querySelectorAll('#mix-chart rect.window')].map((r) => Number(r.dataset.share)),
           reference: [...document.querySelectorAll('#mix-chart rect.reference')].map((r) => Number(r.dataset.share)),
           summary: document.getElementById('window-summary').textContent,
           polls: Number(document.getElementById('history-text').dataset.polls),
           points: document.querySelector('#history-psi polyline')?.getAttribute('points') || '',
         };",
    )
    .await
}

/// Waits until `check` holds for what the page shows, and returns that.
async fn until(client: &Client, what: &str, check: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + WAIT;
    loop {
        let v = shown(client).await;
        if check(&v) {
            return v;
        }
        assert!(Instant::now() < deadline, "waiting for {what}: {v:#}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The page's drawing of one window equals `/monitoring`'s numbers for it.
fn assert_matches(page: &Value, window: &Value) {
    let features = window["features"].as_array().unwrap();
    let drawn = page["features"].as_array().unwrap();
    assert_eq!(drawn.len(), features.len(), "{page:#}");
    for (d, f) in drawn.iter().zip(features) {
        let name = f["name"].as_str().unwrap();
        assert_eq!(d["name"], f["name"]);
        assert_eq!(d["psi"], f["psi"], "{name}");
        assert_eq!(d["js"], f["js"], "{name}");
        assert_eq!(d["drifted"], f["drifted"], "{name}");
        let drifted = f["drifted"].as_bool().unwrap();
        assert_eq!(d["marked"].as_bool(), Some(drifted), "{name}");
        assert_eq!(
            d["badge"].as_str(),
            drifted.then_some("drifted"),
            "{name}: the verdict is in words, not only colour"
        );
        let (psi, jsd) = (f["psi"].as_f64().unwrap(), f["js"].as_f64().unwrap());
        assert_eq!(
            d["value"].as_str().unwrap(),
            format!("PSI {psi:.3}"),
            "{name}"
        );
        assert!(
            d["sub"]
                .as_str()
                .unwrap()
                .starts_with(&format!("JS distance {jsd:.3}")),
            "{name}: {d}"
        );
    }
    assert_eq!(page["rate"], window["positive_rate"]);
    let rate = window["positive_rate"].as_f64().unwrap();
    assert!(
        page["rateText"]
            .as_str()
            .unwrap()
            .starts_with(&format!("{:.1}%", rate * 100.0)),
        "{page:#}"
    );
    for k in ["precision", "recall", "f1"] {
        assert_eq!(page[k], window["expected"][k], "{k}");
    }
    let counts: Vec<f64> = window["prediction"]["counts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_f64().unwrap())
        .collect();
    let rows: f64 = counts.iter().sum();
    let shares: Vec<f64> = counts.iter().map(|c| c / rows).collect();
    let numbers = |v: &Value| -> Vec<f64> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_f64().unwrap())
            .collect()
    };
    assert_eq!(numbers(&page["window"]), shares);
    assert_eq!(
        numbers(&page["reference"]),
        numbers(&window["prediction"]["reference"])
    );
}

#[tokio::test]
#[ignore = "needs chromium + chromedriver + axe-core: scripts/test.sh installs them"]
async fn the_monitoring_view_shows_generation_9_drifting_as_monitoring_says_and_its_history_grows()
{
    let app = spawn_app().await;
    // 1,000 rows of generation 9 (128 Pokémon, cycled): a full rows window, with a verdict.
    let new = generations(9, 9);
    score_cycled(&app, &new, 1000).await;
    let server = report(&app).await;
    let rows_window = &server["windows"][0];
    assert_eq!(rows_window["window"], "rows");
    assert_eq!(rows_window["rows"], 1000);

    let b = browser(1200, 1600).await;
    let client = &b.client;
    client
        .goto(&app.url("/monitoring.html?every=1"))
        .await
        .unwrap();
    wait_for(client, "//*[@id='drift-chart']/*[@role='listitem']").await;
    let page = shown(client).await;
    assert_matches(&page, rows_window);
    // Some stats drifted and some did not; the bars are drawn.
    let drifted: Vec<&str> = page["features"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["drifted"] == true)
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    assert!(
        !drifted.is_empty() && drifted.len() < 7,
        "generation 9 should drift some stats, not all: {drifted:?}"
    );
    assert!(
        page["features"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["width"].as_f64().unwrap() > 0.0),
        "{page:#}"
    );
    assert!(
        page["summary"]
            .as_str()
            .unwrap()
            .starts_with("1,000 rows scored in the last 1,000 rows"),
        "{page:#}"
    );
    eprintln!("drifted on generation 9: {drifted:?}");
    let csp = csp_violations(client).await;
    assert!(csp.is_empty(), "CSP on /monitoring.html: {csp:#?}");
    let found = axe_all(client).await;
    assert!(found.is_empty(), "axe on the monitoring view: {found:#?}");
    screenshot(client, "monitoring.png").await;

    // The history grows with each poll (one a second here).
    let before = page["polls"].as_u64().unwrap();
    let grown = until(client, "two more polls", |v| {
        v["polls"].as_u64() >= Some(before + 2)
    })
    .await;
    let points = grown["points"].as_str().unwrap().split(' ').count() as u64;
    assert_eq!(Some(points), grown["polls"].as_u64(), "{grown:#}");

    // Rows like the training ones replace generation 9 in the rows window: the page follows,
    // and the largest PSI over time is no longer flat.
    let old = generations(1, 8);
    let spread: Vec<[f64; 6]> = old.iter().step_by(old.len() / 1000).copied().collect();
    score_cycled(&app, &spread, 1000).await;
    let server = report(&app).await;
    let total_psi = server["windows"][0]["features"][6]["psi"].clone();
    let page = until(client, "the new rows on the page", |v| {
        v["features"][6]["psi"] == total_psi
    })
    .await;
    assert_matches(&page, &server["windows"][0]);
    let ys: std::collections::BTreeSet<&str> = page["points"]
        .as_str()
        .unwrap()
        .split(' ')
        .filter_map(|p| p.split(',').nth(1))
        .collect();
    assert!(ys.len() >= 2, "a flat history: {page:#}");

    // The time window holds both batches; the choice is in the address.
    client
        .find(Locator::Css("input[name='window'][value='time']"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let page = until(client, "the time window", |v| {
        v["summary"].as_str().unwrap().starts_with("2,000 rows")
    })
    .await;
    let server = report(&app).await;
    assert_eq!(server["windows"][1]["window"], "time");
    assert_matches(&page, &server["windows"][1]);
    let url = client.current_url().await.unwrap();
    assert!(url.as_str().contains("window=time"), "{url}");
    let found = axe_all(client).await;
    assert!(found.is_empty(), "axe on the time window: {found:#?}");
    screenshot(client, "monitoring-time.png").await;

    // A phone: one column, nothing wider than the screen.
    client.set_window_size(390, 844).await.unwrap();
    let inner = js(client, "return [window.innerWidth, window.innerHeight];").await;
    let (w, h) = (inner[0].as_u64().unwrap(), inner[1].as_u64().unwrap());
    client
        .set_window_size(780 - w as u32, 1688 - h as u32)
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let over = horizontal_overflow(client).await;
    assert!(over.is_empty(), "{over:#?}");
    screenshot(client, "monitoring-phone.png").await;

    b.client.close().await.unwrap();
    app.shut_down().await;
}

#[tokio::test]
#[ignore = "needs chromium + chromedriver + axe-core: scripts/test.sh installs them"]
async fn without_a_model_then_with_an_unmonitored_one_the_view_says_so() {
    let state = AppState::new(ServerLimits::default(), None);
    state.set_monitoring(MonitorSettings {
        enabled: false,
        ..MonitorSettings::default()
    });
    let app = spawn_state(state).await;
    let b = browser(1200, 1000).await;
    let client = &b.client;
    client
        .goto(&app.url("/monitoring.html?every=1"))
        .await
        .unwrap();
    let message = wait_for(client, "//p[@id='monitor-message' and @data-status='503']").await;
    let text = message.text().await.unwrap();
    assert!(text.contains("No model is loaded yet"), "{text}");

    // The model arrives, unmonitored: the next poll says so.
    app.state.set_model(local_model());
    let message = wait_for(client, "//p[@id='monitor-message' and @data-status='404']").await;
    let text = message.text().await.unwrap();
    assert!(
        text.starts_with("This model is not monitored: Monitoring is off (--no-monitoring)."),
        "{text}"
    );
    let view = js(
        client,
        "return [...document.querySelectorAll('main section')].filter((s) => !s.hidden).length;",
    )
    .await;
    assert_eq!(view, json!(1), "only the status is shown");
    let csp = csp_violations(client).await;
    assert!(csp.is_empty(), "CSP: {csp:#?}");
    let found = axe_all(client).await;
    assert!(found.is_empty(), "axe on the message: {found:#?}");
    screenshot(client, "monitoring-off.png").await;
    b.client.close().await.unwrap();
    app.shut_down().await;
}
