//! One test per `ModelUri` parse rule.

use super::*;

fn parse(text: &str) -> ModelUri {
    text.parse()
        .unwrap_or_else(|error| panic!("{text}: {error}"))
}

fn parse_err(text: &str) -> String {
    match text.parse::<ModelUri>() {
        Ok(uri) => panic!("{text} parsed as {uri:?}"),
        Err(error) => error.to_string(),
    }
}

#[test]
fn stages_are_case_insensitive_and_spelled_canonically() {
    for text in [
        "models:/pokemon/Production",
        "models:/pokemon/production",
        "models:/pokemon/PRODUCTION",
    ] {
        assert_eq!(
            parse(text),
            ModelUri::Stage {
                name: "pokemon".to_owned(),
                stage: Stage::Production
            }
        );
    }
    assert_eq!(parse("models:/p/staging").to_string(), "models:/p/Staging");
    assert_eq!(
        parse("models:/p/archived").to_string(),
        "models:/p/Archived"
    );
    assert_eq!(parse("models:/p/none").to_string(), "models:/p/None");
}

#[test]
fn an_unknown_stage_lists_the_valid_ones() {
    let message = parse_err("models:/pokemon/Prod");
    assert!(
        message.contains("`Prod`") && message.contains("Production"),
        "{message}"
    );
}

#[test]
fn digits_are_a_version_and_latest_is_latest() {
    assert_eq!(
        parse("models:/pokemon/3"),
        ModelUri::Version {
            name: "pokemon".to_owned(),
            version: 3
        }
    );
    assert_eq!(
        parse("models:/pokemon/LATEST"),
        ModelUri::Latest {
            name: "pokemon".to_owned()
        }
    );
    assert_eq!(
        parse("models:/pokemon/latest").to_string(),
        "models:/pokemon/latest"
    );
}

#[test]
fn an_at_sign_names_an_alias() {
    assert_eq!(
        parse("models:/pokemon@champion"),
        ModelUri::Alias {
            name: "pokemon".to_owned(),
            alias: "champion".to_owned()
        }
    );
    assert!(parse_err("models:/pokemon@").contains("models:/NAME@ALIAS"));
    assert!(parse_err("models:/@champion").contains("models:/NAME@ALIAS"));
}

#[test]
fn a_bare_name_is_refused_with_a_hint_but_a_logged_model_id_is_accepted() {
    let message = parse_err("models:/pokemon");
    assert!(message.contains("models:/pokemon/latest"), "{message}");
    assert_eq!(
        parse("models:/m-186336deca7b44918f29b4511ca3ebd3"),
        ModelUri::LoggedModel {
            model_id: "m-186336deca7b44918f29b4511ca3ebd3".to_owned()
        }
    );
}

#[test]
fn malformed_models_uris_are_refused() {
    for text in [
        "models:/",
        "models:",
        "models:pokemon/1",
        "models://profile/pokemon/1",
        "models:/a/b/c",
        "models:/a//1",
    ] {
        parse_err(text);
    }
}

#[test]
fn runs_uris_split_run_id_and_path() {
    assert_eq!(
        parse("runs:/0123abcd/model/sub/"),
        ModelUri::Run {
            run_id: "0123abcd".to_owned(),
            path: "model/sub".to_owned()
        }
    );
    assert_eq!(
        parse("runs:/0123abcd"),
        ModelUri::Run {
            run_id: "0123abcd".to_owned(),
            path: String::new()
        }
    );
    parse_err("runs:/");
    parse_err("runs://host/x");
}

#[test]
fn mlflow_artifacts_uris_keep_the_proxy_path() {
    assert_eq!(
        parse("mlflow-artifacts:/1/models/m-1/artifacts"),
        ModelUri::Artifacts {
            path: "1/models/m-1/artifacts".to_owned()
        }
    );
    assert_eq!(
        parse("mlflow-artifacts://127.0.0.1:5000/4/run/artifacts/model"),
        ModelUri::Artifacts {
            path: "4/run/artifacts/model".to_owned()
        }
    );
    parse_err("mlflow-artifacts:/");
}

#[test]
fn paths_without_a_scheme_and_file_uris_are_local() {
    assert_eq!(
        parse("models/pokemon"),
        ModelUri::Local(PathBuf::from("models/pokemon"))
    );
    assert_eq!(
        parse("/srv/model"),
        ModelUri::Local(PathBuf::from("/srv/model"))
    );
    assert_eq!(
        parse("file:///srv/model"),
        ModelUri::Local(PathBuf::from("/srv/model"))
    );
    assert_eq!(
        parse("file://localhost/srv/model"),
        ModelUri::Local(PathBuf::from("/srv/model"))
    );
    assert_eq!(
        parse("C:\\models"),
        ModelUri::Local(PathBuf::from("C:\\models"))
    );
    parse_err("file://otherhost/srv/model");
    parse_err("");
}

#[test]
fn other_schemes_are_refused_by_name() {
    let message = parse_err("s3://bucket/model");
    assert!(message.contains("`s3:`"), "{message}");
}

#[test]
fn only_stage_alias_and_latest_are_moving() {
    assert!(parse("models:/p/Production").is_moving());
    assert!(parse("models:/p@champion").is_moving());
    assert!(parse("models:/p/latest").is_moving());
    assert!(!parse("models:/p/1").is_moving());
    assert!(!parse("runs:/r/model").is_moving());
    assert!(!parse("mlflow-artifacts:/1/x").is_moving());
    assert!(!parse("models/pokemon").is_moving());
}

#[test]
fn env_parts_default_to_production_and_accept_other_selectors() {
    assert_eq!(
        ModelUri::from_env_parts("pokemon", None)
            .unwrap()
            .to_string(),
        "models:/pokemon/Production"
    );
    assert_eq!(
        ModelUri::from_env_parts("pokemon", Some(""))
            .unwrap()
            .to_string(),
        "models:/pokemon/Production"
    );
    assert_eq!(
        ModelUri::from_env_parts("pokemon", Some("staging"))
            .unwrap()
            .to_string(),
        "models:/pokemon/Staging"
    );
    assert_eq!(
        ModelUri::from_env_parts("pokemon", Some("4"))
            .unwrap()
            .to_string(),
        "models:/pokemon/4"
    );
    assert_eq!(
        ModelUri::from_env_parts("pokemon", Some("@champion"))
            .unwrap()
            .to_string(),
        "models:/pokemon@champion"
    );
    assert!(ModelUri::from_env_parts("", Some("Production")).is_err());
    assert!(ModelUri::from_env_parts("a/b", None).is_err());
    assert!(ModelUri::from_env_parts("pokemon", Some("Prod")).is_err());
}

#[test]
fn display_round_trips() {
    for text in [
        "models:/pokemon/Production",
        "models:/pokemon/7",
        "models:/pokemon@champion",
        "models:/pokemon/latest",
        "models:/m-abc123",
        "runs:/abc/model",
        "mlflow-artifacts:/1/abc/artifacts/model",
    ] {
        assert_eq!(parse(text).to_string(), text);
    }
}
