//! The Open Inference Protocol v2 over gRPC (`legendary::server::grpc::serve`, what
//! `--grpc-port` serves) beside the HTTP application, on one state: metadata, readiness, and
//! `ModelInfer` answering exactly what `/invocations` answers for every Pokémon, from raw bytes
//! and from typed contents; errors are the gRPC codes REST's statuses stand for, never
//! `INTERNAL`; the calls are counted in `/metrics`.

use legendary::http::{AppState, ServerLimits};
use legendary::server::grpc::proto::grpc_inference_service_client::GrpcInferenceServiceClient;
use legendary::server::grpc::proto::model_infer_request::{
    InferInputTensor, InferRequestedOutputTensor,
};
use legendary::server::grpc::proto::{
    InferTensorContents, ModelInferRequest, ModelInferResponse, ModelMetadataRequest,
    ModelReadyRequest, ServerLiveRequest, ServerMetadataRequest, ServerReadyRequest,
};
use legendary_scoring::Limits;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tonic::Code;
use tonic::transport::Channel;

use crate::support::app::{TestApp, bundled_model, pokedex, spawn_state};

const STATS: [&str; 6] = legendary_forest::FEATURES;

/// The HTTP application and the gRPC server on one state, and a client of the latter.
struct Both {
    http: TestApp,
    grpc: GrpcInferenceServiceClient<Channel>,
    stop: tokio::sync::oneshot::Sender<()>,
    server: tokio::task::JoinHandle<()>,
}

async fn spawn_both(state: AppState) -> Both {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn({
        let state = state.clone();
        async move {
            legendary::server::grpc::serve(listener, state, async move {
                let _ = stopped.await;
            })
            .await
            .unwrap();
        }
    });
    let grpc = GrpcInferenceServiceClient::connect(format!("http://{addr}"))
        .await
        .unwrap()
        .max_decoding_message_size(usize::MAX);
    Both {
        http: spawn_state(state).await,
        grpc,
        stop,
        server,
    }
}

impl Both {
    async fn shut_down(self) {
        let _ = self.stop.send(());
        self.server.await.unwrap();
        self.http.shut_down().await;
    }
}

/// Registry version 7 of `pokemon`, under `limits`.
fn state_with(limits: ServerLimits) -> AppState {
    let state = AppState::new(limits, None);
    state.set_model(bundled_model());
    state
}

fn tensor(name: &str, datatype: &str, shape: Vec<i64>) -> InferInputTensor {
    InferInputTensor {
        name: name.to_owned(),
        datatype: datatype.to_owned(),
        shape,
        parameters: Default::default(),
        contents: None,
    }
}

fn infer(inputs: Vec<InferInputTensor>, raw: Vec<Vec<u8>>) -> ModelInferRequest {
    ModelInferRequest {
        model_name: "pokemon".to_owned(),
        model_version: String::new(),
        id: String::new(),
        parameters: Default::default(),
        inputs,
        outputs: Vec::new(),
        raw_input_contents: raw,
    }
}

/// The decisions and probabilities of an answer's raw outputs.
fn outputs(answer: &ModelInferResponse) -> (Vec<bool>, Vec<f64>) {
    assert_eq!(answer.outputs.len(), 2, "{answer:?}");
    assert_eq!(answer.outputs[0].name, "predict");
    assert_eq!(answer.outputs[0].datatype, "BOOL");
    assert_eq!(answer.outputs[1].name, "predict_proba");
    assert_eq!(answer.outputs[1].datatype, "FP64");
    let decisions = answer.raw_output_contents[0]
        .iter()
        .map(|&b| match b {
            0 => false,
            1 => true,
            other => panic!("a BOOL byte is {other}"),
        })
        .collect();
    let probabilities = answer.raw_output_contents[1]
        .chunks_exact(8)
        .map(|b| f64::from_le_bytes(b.try_into().unwrap()))
        .collect();
    (decisions, probabilities)
}

#[tokio::test]
async fn grpc_answers_as_invocations_does_for_every_pokemon() {
    let mut both = spawn_both(state_with(ServerLimits::default())).await;
    let grpc = &mut both.grpc;
    let rows: Vec<[f64; 6]> = pokedex().rows.iter().map(|p| p.stats).collect();
    let n = rows.len();

    assert!(
        grpc.server_live(ServerLiveRequest {})
            .await
            .unwrap()
            .into_inner()
            .live
    );
    assert!(
        grpc.server_ready(ServerReadyRequest {})
            .await
            .unwrap()
            .into_inner()
            .ready
    );
    let server = grpc
        .server_metadata(ServerMetadataRequest {})
        .await
        .unwrap()
        .into_inner();
    assert_eq!(server.name, "legendary");
    let ready = |version: &str| ModelReadyRequest {
        name: "pokemon".to_owned(),
        version: version.to_owned(),
    };
    assert!(
        grpc.model_ready(ready(""))
            .await
            .unwrap()
            .into_inner()
            .ready
    );
    assert!(
        grpc.model_ready(ready("7"))
            .await
            .unwrap()
            .into_inner()
            .ready
    );
    let meta = grpc
        .model_metadata(ModelMetadataRequest {
            name: "pokemon".to_owned(),
            version: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(meta.versions, ["7"]);
    let inputs: Vec<&str> = meta.inputs.iter().map(|i| i.name.as_str()).collect();
    assert_eq!(inputs, STATS);
    assert!(
        meta.inputs
            .iter()
            .all(|i| i.datatype == "FP64" && i.shape == [-1])
    );
    let outputs_meta: Vec<(&str, &str)> = meta
        .outputs
        .iter()
        .map(|o| (o.name.as_str(), o.datatype.as_str()))
        .collect();
    assert_eq!(
        outputs_meta,
        [("predict", "BOOL"), ("predict_proba", "FP64")]
    );

    // MLflow's answers for every Pokémon: decisions, and probabilities through params.
    let split = json!({"dataframe_split": {"columns": STATS, "data": rows}});
    let decided: Value = both
        .http
        .score(split.to_string())
        .await
        .json()
        .await
        .unwrap();
    let mut with_proba = split.clone();
    with_proba["params"] = json!({"predict_method": "predict_proba"});
    let proba: Value = both
        .http
        .score(with_proba.to_string())
        .await
        .json()
        .await
        .unwrap();
    let expected_decisions: Vec<bool> =
        serde_json::from_value(decided["predictions"].clone()).unwrap();
    let expected_proba: Vec<f64> = serde_json::from_value(proba["predictions"].clone()).unwrap();

    // One [N, 6] FP64 tensor as raw bytes (tritonclient's way), and one INT32 tensor per
    // stat in typed contents.
    let raw: Vec<u8> = rows
        .as_flattened()
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    let mut matrix = infer(vec![tensor("stats", "FP64", vec![n as i64, 6])], vec![raw]);
    matrix.id = "all".to_owned();
    let columns = infer(
        STATS
            .iter()
            .enumerate()
            .map(|(c, name)| InferInputTensor {
                contents: Some(InferTensorContents {
                    int_contents: rows.iter().map(|r| r[c] as i32).collect(),
                    ..Default::default()
                }),
                ..tensor(name, "INT32", vec![n as i64])
            })
            .collect(),
        Vec::new(),
    );
    for request in [matrix, columns] {
        let id = request.id.clone();
        let answer = grpc.model_infer(request).await.unwrap().into_inner();
        assert_eq!(
            (answer.model_name.as_str(), answer.model_version.as_str()),
            ("pokemon", "7")
        );
        assert_eq!(answer.id, id);
        assert_eq!(answer.outputs[0].shape, [n as i64]);
        let (decisions, probabilities) = outputs(&answer);
        assert_eq!(decisions, expected_decisions);
        // To the bit: the same forest, the same calibration, f64 both ways.
        assert_eq!(probabilities, expected_proba);
    }

    // Asked for one output, it gets that one.
    let mut one = infer(
        vec![InferInputTensor {
            contents: Some(InferTensorContents {
                fp32_contents: rows[0].iter().map(|&v| v as f32).collect(),
                ..Default::default()
            }),
            ..tensor("x", "FP32", vec![1, 6])
        }],
        Vec::new(),
    );
    one.outputs = vec![InferRequestedOutputTensor {
        name: "predict_proba".to_owned(),
        parameters: Default::default(),
    }];
    let answer = grpc.model_infer(one).await.unwrap().into_inner();
    assert_eq!(answer.outputs.len(), 1);
    assert_eq!(answer.outputs[0].name, "predict_proba");
    assert_eq!(
        answer.raw_output_contents[0],
        expected_proba[0].to_le_bytes()
    );

    // The calls are in the server's metrics, by method.
    let metrics = both.http.get("/metrics").await.text().await.unwrap();
    assert!(
        metrics
            .lines()
            .any(|l| l.starts_with("legendary_http_requests_total{")
                && l.contains(r#"route="/inference.GRPCInferenceService/ModelInfer""#)
                && l.contains(r#"code="200""#)
                && l.ends_with(" 3")),
        "{metrics}"
    );
    both.shut_down().await;
}

#[tokio::test]
async fn bad_calls_get_the_code_rest_stands_for_and_its_message() {
    let limits = ServerLimits {
        scoring: Limits { max_rows: 10 },
        ..ServerLimits::default()
    };
    let mut both = spawn_both(state_with(limits)).await;
    let grpc = &mut both.grpc;
    let f64s = |values: &[f64]| {
        values
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect::<Vec<u8>>()
    };
    let row = [106.0, 110.0, 90.0, 154.0, 90.0, 130.0];
    let mut other_model = infer(vec![tensor("x", "FP64", vec![1, 6])], vec![f64s(&row)]);
    other_model.model_name = "other".to_owned();
    let mut other_version = infer(vec![tensor("x", "FP64", vec![1, 6])], vec![f64s(&row)]);
    other_version.model_version = "6".to_owned();
    let mut both_forms = tensor("x", "FP64", vec![1, 6]);
    both_forms.contents = Some(InferTensorContents {
        fp64_contents: row.to_vec(),
        ..Default::default()
    });
    let cases = [
        (other_model, Code::NotFound, "is not served here"),
        (other_version, Code::NotFound, "Version '6'"),
        (
            infer(vec![tensor("x", "FP64", vec![1, 5])], vec![f64s(&row[..5])]),
            Code::InvalidArgument,
            "must be [N, 6]",
        ),
        (
            infer(vec![tensor("x", "FP64", vec![1, 6])], vec![vec![0; 47]]),
            Code::InvalidArgument,
            "47 raw bytes",
        ),
        (
            infer(vec![tensor("x", "BOOL", vec![1, 6])], vec![vec![1; 6]]),
            Code::InvalidArgument,
            "datatype BOOL",
        ),
        (
            infer(vec![tensor("x", "BYTES", vec![1, 6])], Vec::new()),
            Code::InvalidArgument,
            "datatype BYTES",
        ),
        (
            infer(
                vec![tensor("x", "FP64", vec![1, 6])],
                vec![f64s(&row), f64s(&row)],
            ),
            Code::InvalidArgument,
            "1 inputs but 2 raw_input_contents",
        ),
        (
            infer(vec![both_forms], vec![f64s(&row)]),
            Code::InvalidArgument,
            "both contents and raw_input_contents",
        ),
        (
            infer(vec![tensor("x", "FP64", vec![1, 6])], Vec::new()),
            Code::InvalidArgument,
            "holds 6 values, but its data has 0",
        ),
        (
            infer(
                vec![tensor("x", "FP64", vec![1, 6])],
                vec![f64s(&[f64::NAN; 6])],
            ),
            Code::InvalidArgument,
            "not a finite number",
        ),
        (
            infer(Vec::new(), Vec::new()),
            Code::InvalidArgument,
            "no inputs",
        ),
        (
            infer(
                vec![tensor("x", "FP64", vec![11, 6])],
                vec![f64s(&[1.0; 66])],
            ),
            Code::ResourceExhausted,
            "10",
        ),
    ];
    for (request, code, expected) in cases {
        let status = grpc.model_infer(request.clone()).await.unwrap_err();
        assert_eq!(status.code(), code, "{request:?}: {status:?}");
        assert!(
            status.message().contains(expected),
            "{request:?}: {status:?}"
        );
    }
    let status = grpc
        .model_ready(ModelReadyRequest {
            name: "pokemon".to_owned(),
            version: "8".to_owned(),
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::NotFound);
    both.shut_down().await;
}

#[tokio::test]
async fn before_a_model_is_loaded_grpc_is_live_not_ready_and_unavailable() {
    let mut both = spawn_both(AppState::new(ServerLimits::default(), None)).await;
    let grpc = &mut both.grpc;
    assert!(
        grpc.server_live(ServerLiveRequest {})
            .await
            .unwrap()
            .into_inner()
            .live
    );
    assert!(
        !grpc
            .server_ready(ServerReadyRequest {})
            .await
            .unwrap()
            .into_inner()
            .ready
    );
    let status = grpc
        .model_infer(infer(
            vec![tensor("x", "FP64", vec![0, 6])],
            vec![Vec::new()],
        ))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unavailable, "{status:?}");
    // Once the model is set (start-up, or a hot reload), the same server answers with it.
    both.http.state.set_model(bundled_model());
    assert!(
        grpc.server_ready(ServerReadyRequest {})
            .await
            .unwrap()
            .into_inner()
            .ready
    );
    let answer = grpc
        .model_infer(infer(
            vec![tensor("x", "FP64", vec![0, 6])],
            vec![Vec::new()],
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(answer.outputs[0].shape, [0]);
    both.shut_down().await;
}
