//! Limits and robustness at the HTTP level: body size (413 JSON), request timeout (504 JSON),
//! rows per request, and bad requests that never disturb concurrent good ones.

use std::time::Duration;

use legendary::http::ServerLimits;

use serde_json::Value;

const GOOD: &str = r#"{"dataframe_split":{"columns":["hp","attack","defense","special_attack","special_defense","speed"],"data":[[106,110,90,154,90,130]]}}"#;

fn rows(n: usize) -> String {
    let row = "[80,70,70,90,100,70]";
    let data = vec![row; n].join(",");
    format!(
        r#"{{"dataframe_split":{{"columns":["hp","attack","defense","special_attack","special_defense","speed"],"data":[{data}]}}}}"#
    )
}

#[tokio::test]
async fn a_body_over_the_limit_gets_a_413_json_error() {
    let limits = ServerLimits {
        max_body_bytes: 4096,
        ..ServerLimits::default()
    };
    let app = crate::support::app::spawn_with(limits).await;
    let response = app
        .post("/invocations", Some("application/json"), rows(500))
        .await;
    assert_eq!(response.status(), 413);
    assert_eq!(response.headers()["content-type"], "application/json");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error_code"], "REQUEST_LIMIT_EXCEEDED");
    assert!(body["message"].as_str().unwrap().contains("4096"));
    // The server is still fine.
    assert_eq!(
        app.post("/invocations", Some("application/json"), GOOD)
            .await
            .status(),
        200
    );
    app.shut_down().await;
}

/// A chunked body (no `Content-Length`) is counted as it arrives: over the limit is a 413,
/// a large body under it is scored whole.
#[tokio::test]
async fn a_chunked_body_is_limited_as_it_streams() {
    let limits = ServerLimits {
        max_body_bytes: 64 * 1024,
        ..ServerLimits::default()
    };
    let app = crate::support::app::spawn_with(limits).await;
    let chunked = |body: String| {
        let chunks: Vec<Result<Vec<u8>, std::io::Error>> = body
            .into_bytes()
            .chunks(1000)
            .map(|c| Ok(c.to_vec()))
            .collect();
        reqwest::Body::wrap_stream(futures_util::stream::iter(chunks))
    };
    let client = reqwest::Client::new();
    let over = client
        .post(app.url("/invocations"))
        .header("content-type", "application/json")
        .body(chunked(rows(4000)))
        .send()
        .await
        .unwrap();
    assert_eq!(over.status(), 413);
    let body: Value = over.json().await.unwrap();
    assert_eq!(body["error_code"], "REQUEST_LIMIT_EXCEEDED");
    let under = client
        .post(app.url("/invocations"))
        .header("content-type", "application/json")
        .body(chunked(rows(2500)))
        .send()
        .await
        .unwrap();
    assert_eq!(under.status(), 200);
    let body: Value = under.json().await.unwrap();
    assert_eq!(body["predictions"].as_array().unwrap().len(), 2500);
    app.shut_down().await;
}

#[tokio::test]
async fn a_request_past_the_timeout_gets_a_504_json_error() {
    let limits = ServerLimits {
        timeout: Duration::from_millis(1),
        ..ServerLimits::default()
    };
    let app = crate::support::app::spawn_with(limits).await;
    let response = app
        .post("/invocations", Some("application/json"), rows(300_000))
        .await;
    assert_eq!(response.status(), 504);
    assert_eq!(response.headers()["content-type"], "application/json");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error_code"], "DEADLINE_EXCEEDED");
    app.shut_down().await;
}

#[tokio::test]
async fn more_rows_than_the_cap_are_refused_with_a_clear_message() {
    let limits = ServerLimits {
        scoring: legendary_scoring::Limits { max_rows: 10 },
        ..ServerLimits::default()
    };
    let app = crate::support::app::spawn_with(limits).await;
    let response = app
        .post("/invocations", Some("application/json"), rows(11))
        .await;
    assert!(response.status().is_client_error(), "{}", response.status());
    let body: Value = response.json().await.unwrap();
    assert!(body["message"].as_str().unwrap().contains("10"), "{body}");
    assert_eq!(
        app.post("/invocations", Some("application/json"), rows(10))
            .await
            .status(),
        200
    );
    app.shut_down().await;
}

#[tokio::test]
async fn huge_and_malformed_requests_do_not_disturb_concurrent_good_ones() {
    let limits = ServerLimits {
        max_body_bytes: 8 * 1024 * 1024,
        ..ServerLimits::default()
    };
    let app = std::sync::Arc::new(crate::support::app::spawn_with(limits).await);
    let huge = rows(400_000); // over the 8 MiB limit
    let big_ok = rows(100_000); // scored in parallel off the async workers
    let mut bad = Vec::new();
    for i in 0..20 {
        let app = app.clone();
        let body = match i % 4 {
            0 => huge.clone(),
            1 => "{\"dataframe_split\": {\"columns\": [\"hp\"".to_owned(),
            2 => big_ok.clone(),
            _ => "\u{0}\u{1}garbage".to_owned(),
        };
        bad.push(tokio::spawn(async move {
            app.post("/invocations", Some("application/json"), body)
                .await
                .status()
        }));
    }
    let mut good = Vec::new();
    for _ in 0..200 {
        let app = app.clone();
        good.push(tokio::spawn(async move {
            let r = app
                .post("/invocations", Some("application/json"), GOOD)
                .await;
            (r.status(), r.text().await.unwrap())
        }));
    }
    for g in good {
        let (status, body) = g.await.unwrap();
        assert_eq!(status, 200);
        assert_eq!(body, r#"{"predictions": [true]}"#);
    }
    for b in bad {
        let status = b.await.unwrap();
        assert!(status == 200 || status == 400 || status == 413, "{status}");
    }
    assert_eq!(app.get("/ping").await.status(), 200);
}

#[tokio::test]
async fn an_unusable_request_id_is_replaced_not_echoed() {
    let app = crate::support::app::spawn_app().await;
    for given in ["x".repeat(400), "has spaces and \"quotes\"".to_owned()] {
        let response = app
            .client
            .get(app.url("/health"))
            .header("x-request-id", &given)
            .send()
            .await
            .unwrap();
        let echoed = response.headers()["x-request-id"]
            .to_str()
            .unwrap()
            .to_owned();
        assert_ne!(echoed, given);
        assert_eq!(echoed.len(), 36, "a fresh UUID: {echoed}");
    }
    let kept = app
        .client
        .get(app.url("/health"))
        .header("x-request-id", "trace-abc_123:4")
        .send()
        .await
        .unwrap();
    assert_eq!(kept.headers()["x-request-id"], "trace-abc_123:4");
    app.shut_down().await;
}
