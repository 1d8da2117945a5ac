//! The page and the API explorer in a real browser: headless Chromium driven over WebDriver by
//! a chromedriver each test starts on a free port, against the real application with the
//! bundled model. Ignored by default; `scripts/install-browser.sh` installs Chromium,
//! chromedriver and axe-core. Screenshots go to `target/screenshots/` (paths are printed).

use fantoccini::{Client, Locator};
use serde_json::{Value, json};

use crate::support::app::{TestApp, spawn_app};
use crate::support::browser::{
    Driver, axe_all, axe_serious, csp_violations, horizontal_overflow, js, open_browser,
    screenshot, start_driver, wait_for,
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

mod answer;
mod calibrated;
mod docs;
mod monitoring;
mod phone;
mod share;
