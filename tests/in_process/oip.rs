//! The Open Inference Protocol v2 over REST on the bundled model: metadata, readiness, and
//! `infer` answering exactly what `/invocations` answers for every Pokémon, in both input
//! layouts; errors are `{"error": …}` with a 4xx, never a 5xx.

use serde_json::{Value, json};

use legendary::http::{AppState, ServerLimits};

use crate::support::app::{bundled_model, pokedex, spawn_app, spawn_state, spawn_with_model};

const STATS: [&str; 6] = legendary_forest::FEATURES;

async fn get(client: &reqwest::Client, url: String) -> (u16, Value) {
    let response = client.get(url).send().await.unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

async fn post(client: &reqwest::Client, url: String, body: &Value) -> (u16, Value) {
    let response = client.post(url).json(body).send().await.unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

#[tokio::test]
async fn oip_rest_answers_as_invocations_does_for_every_pokemon() {
    let app = spawn_app().await;
    let client = &app.client;
    let rows: Vec<[f64; 6]> = pokedex().rows.iter().map(|p| p.stats).collect();
    let n = rows.len();

    let (status, server) = get(client, app.url("/v2")).await;
    assert_eq!((status, server["name"].as_str()), (200, Some("legendary")));
    assert_eq!(
        get(client, app.url("/v2/health/live")).await,
        (200, json!({"live": true}))
    );
    assert_eq!(
        get(client, app.url("/v2/health/ready")).await,
        (200, json!({"ready": true}))
    );
    // The bundled model is `models/pokemon`: named `pokemon`, with no registry version.
    let (status, meta) = get(client, app.url("/v2/models/pokemon")).await;
    assert_eq!(status, 200, "{meta}");
    assert_eq!(meta["name"], "pokemon");
    assert_eq!(meta["versions"], json!([]));
    let inputs: Vec<&str> = meta["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["name"].as_str().unwrap())
        .collect();
    assert_eq!(inputs, STATS);
    assert_eq!(
        meta["outputs"][0],
        json!({"name": "predict", "datatype": "BOOL", "shape": [-1]})
    );
    assert_eq!(
        get(client, app.url("/v2/models/pokemon/ready")).await,
        (200, json!({"name": "pokemon", "ready": true}))
    );

    // MLflow's answers for every Pokémon: decisions, and probabilities through params.
    let split = json!({"dataframe_split": {"columns": STATS, "data": rows}});
    let (_, decided) = post(client, app.url("/invocations"), &split).await;
    let mut with_proba = split.clone();
    with_proba["params"] = json!({"predict_method": "predict_proba"});
    let (_, proba) = post(client, app.url("/invocations"), &with_proba).await;

    // One [N, 6] tensor (as tritonclient sends it, flat) and one [N] tensor per stat.
    let matrix = json!({"id": "all", "inputs": [{"name": "stats", "shape": [n, 6], "datatype": "FP64",
        "data": rows.as_flattened()}]});
    let columns: Vec<Value> = STATS
        .iter()
        .enumerate()
        .map(|(c, name)| {
            let data: Vec<f64> = rows.iter().map(|r| r[c]).collect();
            json!({"name": name, "shape": [n], "datatype": "INT32", "data": data})
        })
        .collect();
    for body in [matrix, json!({"inputs": columns})] {
        let (status, answer) = post(client, app.url("/v2/models/pokemon/infer"), &body).await;
        assert_eq!(status, 200, "{answer}");
        assert_eq!(answer["model_name"], "pokemon");
        assert_eq!(answer["id"], body.get("id").cloned().unwrap_or(Value::Null));
        assert_eq!(answer["outputs"][0]["name"], "predict");
        assert_eq!(answer["outputs"][0]["shape"], json!([n]));
        assert_eq!(answer["outputs"][0]["data"], decided["predictions"]);
        assert_eq!(answer["outputs"][1]["datatype"], "FP64");
        assert_eq!(answer["outputs"][1]["data"], proba["predictions"]);
    }
    // Asked for one output, it gets that one.
    let one = json!({"inputs": [{"name": "x", "shape": [1, 6], "datatype": "FP32",
        "data": rows[0]}], "outputs": [{"name": "predict_proba"}]});
    let (_, answer) = post(client, app.url("/v2/models/pokemon/infer"), &one).await;
    assert_eq!(answer["outputs"].as_array().unwrap().len(), 1, "{answer}");
    assert_eq!(answer["outputs"][0]["data"][0], proba["predictions"][0]);
    app.shut_down().await;
}

#[tokio::test]
async fn oip_errors_are_4xx_with_an_error_field() {
    let app = spawn_app().await;
    let client = &app.client;
    let cases = [
        ("/v2/models/other", None, 404, "is not served here"),
        ("/v2/models/pokemon/versions/3", None, 404, "Version '3'"),
        (
            "/v2/models/pokemon/infer",
            Some(
                json!({"inputs": [{"name": "x", "shape": [1, 5], "datatype": "FP64", "data": [1, 2, 3, 4, 5]}]}),
            ),
            400,
            "must be [N, 6]",
        ),
        (
            "/v2/models/pokemon/infer",
            Some(
                json!({"inputs": [{"name": "hp", "shape": [1], "datatype": "FP64", "data": [1]}]}),
            ),
            400,
            "no input for attack",
        ),
        (
            "/v2/models/pokemon/infer",
            Some(json!({"nothing": 1})),
            400,
            "not an inference request",
        ),
        (
            "/v2/models/other/infer",
            Some(json!({"inputs": []})),
            404,
            "is not served here",
        ),
    ];
    for (path, body, status, expected) in cases {
        let (got, answer) = match &body {
            Some(body) => post(client, app.url(path), body).await,
            None => get(client, app.url(path)).await,
        };
        assert_eq!(got, status, "{path}: {answer}");
        assert!(
            answer["error"].as_str().unwrap().contains(expected),
            "{path}: {answer}"
        );
    }
    app.shut_down().await;
}

#[tokio::test]
async fn a_registry_version_is_served_under_its_name_and_version_or_the_served_name() {
    let row = json!({"inputs": [{"name": "x", "shape": [1, 6], "datatype": "FP64",
        "data": [106, 110, 90, 154, 90, 130]}]});
    // Registry version 7 of `pokemon`.
    let app = spawn_with_model().await;
    let (status, meta) = get(&app.client, app.url("/v2/models/pokemon/versions/7")).await;
    assert_eq!((status, &meta["versions"]), (200, &json!(["7"])), "{meta}");
    let (status, answer) = post(
        &app.client,
        app.url("/v2/models/pokemon/versions/7/infer"),
        &row,
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["model_version"], "7");
    let (status, _) = post(
        &app.client,
        app.url("/v2/models/pokemon/versions/6/infer"),
        &row,
    )
    .await;
    assert_eq!(status, 404);
    app.shut_down().await;

    // KServe names it after the InferenceService (`--served-name`).
    let state = AppState::new(ServerLimits::default(), None);
    state.set_model(bundled_model());
    state.set_served_name("legendary-isvc".to_owned());
    let app = spawn_state(state).await;
    let (status, answer) = post(
        &app.client,
        app.url("/v2/models/legendary-isvc/infer"),
        &row,
    )
    .await;
    assert_eq!(
        (status, &answer["model_name"]),
        (200, &json!("legendary-isvc")),
        "{answer}"
    );
    let (status, _) = get(&app.client, app.url("/v2/models/pokemon")).await;
    assert_eq!(status, 404);
    app.shut_down().await;
}
