//! One self-contained binary: run from `/`, with no flags and no files around it, `legendary
//! serve` answers the original demo's two requests with the model compiled into it, prints a
//! URL to click, and the web page's search works.

use serde_json::Value;

use crate::support::process::Server;

const DEMO: &str = r#"{"columns":["hp","attack","defense","special_attack","special_defense","speed"],"index":[272,293,414,263,49],"data":[[80,70,70,90,100,70],[64,51,23,51,23,28],[70,94,50,94,50,66],[38,30,41,30,41,60],[70,65,60,90,75,90]]}"#;
const DEMO_LEGENDARY: &str = r#"{"columns":["hp","attack","defense","special_attack","special_defense","speed"],"index":[384,150,482,382,485],"data":[[105,180,100,180,100,115],[106,150,70,194,120,140],[75,125,70,125,70,115],[100,150,90,180,160,90],[91,90,106,130,106,77]]}"#;

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
