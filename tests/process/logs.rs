//! Request ids (taken or made, echoed) and log lines: JSON, one access line per request, the
//! request id on every line of a request, no credentials or bodies.

use std::time::Duration;

use serde_json::Value;

use crate::support::app::body;
use crate::support::process::Server;

const SECRET: &str = "sekrit-token-do-not-log";

async fn score(client: &reqwest::Client, server: &Server, id: Option<&str>) -> reqwest::Response {
    let mut request = client
        .post(format!("http://{}/invocations", server.addr))
        .header("content-type", "application/json")
        .header("authorization", format!("Bearer {SECRET}"))
        .body(body(2));
    if let Some(id) = id {
        request = request.header("x-request-id", id);
    }
    request.send().await.unwrap()
}

/// The lines logged inside the request span of `id`.
fn lines_of<'a>(lines: &'a [Value], id: &str) -> Vec<&'a Value> {
    lines
        .iter()
        .filter(|l| l["span"]["request_id"] == id)
        .collect()
}

#[tokio::test]
async fn json_logs_carry_the_request_id_on_every_line_and_never_credentials() {
    let server = Server::start("json", "info,legendary=debug,tower_http=debug", &[]);
    let client = reqwest::Client::new();

    let given = score(&client, &server, Some("ops-test-42")).await;
    assert_eq!(given.status(), 200);
    assert_eq!(given.headers()["x-request-id"], "ops-test-42");
    let made = score(&client, &server, None).await;
    assert_eq!(made.status(), 200);
    let made_id = made.headers()["x-request-id"].to_str().unwrap().to_owned();
    assert_eq!(made_id.len(), 36, "a UUID: {made_id}");
    assert_eq!(
        client
            .get(format!("http://{}/nope", server.addr))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );

    server.terminate();
    let (status, log) = server.wait(Duration::from_secs(30));
    assert!(status.success(), "{status}");
    let lines: Vec<Value> = log
        .iter()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();

    for id in ["ops-test-42", made_id.as_str()] {
        let mine = lines_of(&lines, id);
        // tower-http's "started processing request", the handler's "scored", the access line.
        assert!(mine.len() >= 3, "{id}: {mine:#?}");
        let access: Vec<_> = mine.iter().filter(|l| l["message"] == "answered").collect();
        assert_eq!(access.len(), 1, "one access line per request: {mine:#?}");
        let access = access[0];
        assert_eq!(access["level"], "INFO");
        assert_eq!(access["status"], 200);
        assert_eq!(access["rows"], 2);
        assert!(access["latency_ms"].as_f64().unwrap() > 0.0);
        assert_eq!(access["span"]["method"], "POST");
        assert_eq!(access["span"]["route"], "/invocations");
    }
    // Every line inside a request span has a real id (the span is made after the id is).
    let in_requests: Vec<_> = lines
        .iter()
        .filter(|l| l["span"]["name"] == "request")
        .collect();
    assert!(in_requests.len() >= 7);
    assert!(in_requests.iter().all(|l| l["span"]["request_id"] != "-"));
    let unmatched = in_requests
        .iter()
        .find(|l| l["message"] == "answered" && l["status"] == 404)
        .unwrap();
    assert_eq!(unmatched["span"]["route"], "unmatched");
    // Neither credentials nor bodies reach the log.
    let raw = log.join("\n");
    assert!(!raw.contains(SECRET) && !raw.to_lowercase().contains("authorization"));
    assert!(!raw.contains("dataframe_split") && !raw.contains("\"predictions\""));
}

#[tokio::test]
async fn text_logs_name_the_request_id_and_the_access_fields() {
    let server = Server::start("text", "info", &[]);
    let client = reqwest::Client::new();
    assert_eq!(
        score(&client, &server, Some("text-id-7")).await.status(),
        200
    );
    server.terminate();
    let (status, log) = server.wait(Duration::from_secs(30));
    assert!(status.success(), "{status}");
    let access = log.iter().find(|l| l.contains("answered")).unwrap();
    for field in [
        r#"request_id="text-id-7""#,
        r#"route="/invocations""#,
        "method=POST",
        "status=200",
        "rows=2",
        "latency_ms=",
    ] {
        assert!(access.contains(field), "{field} missing: {access}");
    }
}
