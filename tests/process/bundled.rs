//! One self-contained binary: run from `/`, with no flags and no files around it, `legendary
//! serve` answers the original demo's two requests with the model compiled into it, prints a
//! URL to click, and the web page's search works.

use serde_json::Value;

use crate::support::process::Server;
use crate::support::{DEMO, DEMO_LEGENDARY};

#[tokio::test]
async fn from_the_root_directory_the_bundled_model_answers_the_demo() {
    let server = Server::start_in_dir(std::path::Path::new("/"), &[]);
    let listening = server
        .log
        .iter()
        .find(|l| l.contains("listening"))
        .cloned()
        .unwrap_or_default();
    assert!(
        listening.contains("\"url\":\"http://127.0.0.1:"),
        "{listening}"
    );
    let base = format!("http://{}", server.addr);
    let client = reqwest::Client::new();
    for (body, expected) in [(DEMO, [false; 5]), (DEMO_LEGENDARY, [true; 5])] {
        let got: Vec<bool> = client
            .post(format!("{base}/invocations"))
            .header("content-type", "application/json; format=pandas-split")
            .body(body)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(got, expected);
    }
    let found: Value = client
        .get(format!("{base}/pokedex?q=mewtwo"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(found.to_string().contains("Mewtwo"), "{found}");
}
