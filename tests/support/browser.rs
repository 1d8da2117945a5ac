//! Headless Chromium over WebDriver, for the tests that look at the page in a real browser:
//! a chromedriver on a free port (killed with its Chromium when dropped), a session, waits
//! screenshots, page geometry and an axe-core accessibility check. `scripts/install-browser.sh`
//! installs both programs and axe-core.

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;

use super::free_port;
use super::watchdog::{self, Watched};

pub const WAIT: Duration = Duration::from_secs(15);

/// chromedriver and the Chromium it starts, in their own process group: stopped whole when the
/// test ends, even on a panic, and by the watchdog if the test process dies. (Killing
/// chromedriver alone left its headless Chromium running after every browser test.)
pub struct Driver(Watched);

fn program(var: &str, default: &str) -> String {
    std::env::var(var).unwrap_or_else(|_| default.to_owned())
}

/// Starts chromedriver and waits until it accepts connections.
pub fn start_driver() -> (Driver, u16) {
    let port = free_port();
    let mut command =
        watchdog::command(Path::new(&program("CHROMEDRIVER", "/usr/bin/chromedriver")));
    command
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let mut driver = Driver(Watched::spawn(
        command,
        "chromedriver (scripts/install-browser.sh installs it)",
    ));
    let deadline = Instant::now() + WAIT;
    // chromedriver gives no readiness signal but its port, so poll it.
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        if let Some(status) = driver.0.exited() {
            panic!("chromedriver exited with {status}");
        }
        assert!(Instant::now() < deadline, "chromedriver did not listen");
        std::thread::sleep(Duration::from_millis(50));
    }
    (driver, port)
}

pub async fn open_browser(port: u16, profile: &Path) -> Client {
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

/// Saves a PNG of the window to `target/screenshots/NAME` (a test artifact for a person to
/// look at) and prints its path.
pub async fn screenshot(client: &Client, name: &str) -> PathBuf {
    let dir = Path::new("target/screenshots");
    std::fs::create_dir_all(dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, client.screenshot().await.unwrap()).unwrap();
    eprintln!("screenshot: {}", path.display());
    path
}

/// Runs a script in the page and returns what it returns.
pub async fn js(client: &Client, script: &str) -> serde_json::Value {
    client
        .execute(script, vec![])
        .await
        .unwrap_or_else(|e| panic!("{script}: {e}"))
}

/// Whether the page scrolls sideways: empty when it does not, else how far, with the
/// innermost elements that stick out past the window's right edge (to say what to fix).
pub async fn horizontal_overflow(client: &Client) -> Vec<String> {
    let found = js(
        client,
        "const root = document.documentElement;
         const over = root.scrollWidth - root.clientWidth;
         if (over <= 0) return [];
         const out = [...document.body.querySelectorAll('*')].filter((e) =>
           e.getBoundingClientRect().right > root.clientWidth + 0.5 &&
           ![...e.children].some((c) => c.getBoundingClientRect().right > root.clientWidth + 0.5));
         return [`${over} px too wide`, ...out.slice(0, 8).map((e) =>
           `${e.tagName.toLowerCase()}.${[...e.classList].join('.')} in ${e.parentElement.className}: ` +
           `right ${e.getBoundingClientRect().right}, \"${e.textContent.slice(0, 30)}\"`)];",
    )
    .await;
    serde_json::from_value(found).unwrap()
}

/// The pinned axe-core that `scripts/install-browser.sh` fetched, or `$AXE_CORE_JS`.
fn axe_source() -> String {
    let path = std::env::var("AXE_CORE_JS").map_or_else(
        |_| {
            let cache = std::env::var("XDG_CACHE_HOME").map_or_else(
                |_| PathBuf::from(std::env::var("HOME").unwrap()).join(".cache"),
                PathBuf::from,
            );
            cache.join("legendary-axe/4.14.1/axe.min.js")
        },
        PathBuf::from,
    );
    std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (scripts/install-browser.sh fetches axe-core)",
            path.display()
        )
    })
}

/// Runs axe-core on the page as it is now and returns its serious and critical violations,
/// each as `id (impact): help, on: selectors`.
pub async fn axe_serious(client: &Client) -> Vec<String> {
    axe(client, "v.impact === 'serious' || v.impact === 'critical'").await
}

/// Runs axe-core on the page as it is now and returns every violation, whatever its impact.
pub async fn axe_all(client: &Client) -> Vec<String> {
    axe(client, "true").await
}

/// axe-core's violations that pass `filter` (a JS expression of `v`).
async fn axe(client: &Client, filter: &str) -> Vec<String> {
    client.execute(&axe_source(), vec![]).await.unwrap();
    let found = client
        .execute_async(
            &format!(
                "const done = arguments[arguments.length - 1];
             axe.run(document, {{ resultTypes: ['violations'] }})
               .then((r) => done(r.violations
                 .filter((v) => {filter})
                 .map((v) => `${{v.id}} (${{v.impact}}): ${{v.help}}, on: ${{v.nodes.map((n) => n.target.join(' ')).join('; ')}}`)))
               .catch((e) => done([`axe failed: ${{e}}`]));"
            ),
            vec![],
        )
        .await
        .unwrap();
    serde_json::from_value(found).unwrap()
}

pub async fn wait_for(client: &Client, xpath: &str) -> fantoccini::elements::Element {
    client
        .wait()
        .at_most(WAIT)
        .for_element(Locator::XPath(xpath))
        .await
        .unwrap_or_else(|e| panic!("waiting for {xpath}: {e}"))
}

/// The page's Content-Security-Policy violations so far, as `directive blocked what at
/// file:line`. The first call on a page starts listening: a `ReportingObserver` with
/// `buffered` also receives the violations from before (WebDriver cannot run a script before
/// the page's own), and a `securitypolicyviolation` listener those after; later calls read.
pub async fn csp_violations(client: &Client) -> Vec<String> {
    let found = client
        .execute_async(
            "const done = arguments[arguments.length - 1];
             if (!window.__cspSeen) {
               const seen = window.__cspSeen = new Set();
               const say = (directive, blocked, file, line) =>
                 seen.add(`${directive} blocked ${blocked || 'inline'} at ${file || '?'}:${line || 0}`);
               document.addEventListener('securitypolicyviolation', (e) =>
                 say(e.effectiveDirective, e.blockedURI, e.sourceFile, e.lineNumber));
               new ReportingObserver((reports) => {
                 for (const r of reports) say(r.body.effectiveDirective, r.body.blockedURL, r.body.sourceFile, r.body.lineNumber);
               }, { types: ['csp-violation'], buffered: true }).observe();
             }
             setTimeout(() => done([...window.__cspSeen]), 300);",
            vec![],
        )
        .await
        .unwrap();
    serde_json::from_value(found).unwrap()
}
