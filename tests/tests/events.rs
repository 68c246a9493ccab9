//! Every sample event in events/ is a CodePipeline job event our types read, named after its function, whose
//! UserParameters that function's own configuration accepts, and whose input artifacts are in
//! events/artifacts/; each function has at least two.

use codepipeline_action::event::parse_event;
use codepipeline_action::params::parse_user_parameters;
use std::collections::BTreeMap;

#[test]
fn every_file_in_events_parses_with_its_functions_configuration() {
    let dir = test_support::lambda::events_dir();
    let mut per_function: BTreeMap<&str, usize> = BTreeMap::new();
    for entry in std::fs::read_dir(&dir).expect("events/ exists") {
        let path = entry.expect("entry").path();
        let name = path.file_name().and_then(|n| n.to_str()).expect("file name").to_string();
        if name == "README.md" || name == "artifacts" {
            continue;
        }
        assert!(name.ends_with(".json"), "{name} is not a .json event");
        let text = std::fs::read_to_string(&path).expect("read");
        let value: serde_json::Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name}: not JSON: {e}"));
        let event = parse_event(value).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(!event.job.id.is_empty(), "{name}");
        for input in &event.job.data.input_artifacts {
            let dir = test_support::lambda::artifact_dir(&input.location.s3_location.object_key);
            assert!(dir.is_dir(), "{name}: its input artifact has no folder {}", dir.display());
        }
        let params = event.job.data.action_configuration.configuration.user_parameters.as_deref();
        let function = ["cfn-validator", "sg-validator", "db-deploy"]
            .into_iter()
            .find(|f| name.starts_with(&format!("{f}-")))
            .unwrap_or_else(|| {
                panic!("{name} is not named after a function (cfn-validator-, sg-validator-, db-deploy-)")
            });
        let parsed = match function {
            "cfn-validator" => parse_user_parameters::<cfn_validator::action::Config>(params).map(|_| ()),
            "sg-validator" => parse_user_parameters::<sg_validator::config::Config>(params).map(|_| ()),
            _ => parse_user_parameters::<db_deploy::config::Parameters>(params).map(|_| ()),
        };
        parsed.unwrap_or_else(|e| panic!("{name}: UserParameters refused by {function}: {e}"));
        *per_function.entry(function).or_default() += 1;
    }
    for function in ["cfn-validator", "sg-validator", "db-deploy"] {
        assert!(per_function.get(function).copied().unwrap_or(0) >= 2, "events/ needs two events for {function}");
    }
}
