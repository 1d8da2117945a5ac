//! The page in a real browser: headless Chromium driven over WebDriver by a chromedriver this
//! test starts on a free port. Ignored by default; `scripts/install-browser.sh` installs both.
//! Screenshots go to `target/screenshots/` for a person to look at.

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::key::Key;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;

use crate::support::app::spawn_app;
use crate::support::free_port;

const WAIT: Duration = Duration::from_secs(15);

/// Kills chromedriver (and so its Chromium) when the test ends, even on a panic.
struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn program(var: &str, default: &str) -> String {
    std::env::var(var).unwrap_or_else(|_| default.to_owned())
}

/// Starts chromedriver and waits until it accepts connections.
fn start_driver() -> (Driver, u16) {
    let port = free_port();
    let child = Command::new(program("CHROMEDRIVER", "/usr/bin/chromedriver"))
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromedriver runs (scripts/install-browser.sh installs it)");
    let driver = Driver(child);
    let deadline = Instant::now() + WAIT;
    // chromedriver gives no readiness signal but its port, so poll it.
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "chromedriver did not listen");
        std::thread::sleep(Duration::from_millis(50));
    }
    (driver, port)
}

async fn open_browser(port: u16, profile: &Path) -> Client {
    let args = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
        "--window-size=1200,1000",
    ]
    .iter()
    .map(|a| (*a).to_owned())
    .chain([format!("--user-data-dir={}", profile.display())])
    .collect::<Vec<_>>();
    let caps = json!({
        "browserName": "chrome",
        "goog:chromeOptions": { "binary": program("CHROMIUM", "/usr/bin/chromium"), "args": args },
    });
    let serde_json::Value::Object(caps) = caps else {
        unreachable!()
    };
    ClientBuilder::rustls()
        .unwrap()
        .capabilities(caps)
        .connect(&format!("http://127.0.0.1:{port}"))
        .await
        .expect("a WebDriver session with headless Chromium")
}

async fn screenshot(client: &Client, name: &str) -> PathBuf {
    let dir = Path::new("target/screenshots");
    std::fs::create_dir_all(dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, client.screenshot().await.unwrap()).unwrap();
    path
}

async fn wait_for(client: &Client, xpath: &str) -> fantoccini::elements::Element {
    client
        .wait()
        .at_most(WAIT)
        .for_element(Locator::XPath(xpath))
        .await
        .unwrap_or_else(|e| panic!("waiting for {xpath}: {e}"))
}

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
