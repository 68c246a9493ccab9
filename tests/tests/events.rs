//! Every sample event in events/ is a CodePipeline job event our types read.

use codepipeline_action::event::parse_event;

#[test]
fn every_file_in_events_parses() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../events");
    let mut count = 0;
    for entry in std::fs::read_dir(&dir).expect("events/ exists") {
        let path = entry.expect("entry").path();
        assert_eq!(path.extension().and_then(|e| e.to_str()), Some("json"), "{} is not a .json event", path.display());
        let text = std::fs::read_to_string(&path).expect("read");
        let value: serde_json::Value =
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: not JSON: {e}", path.display()));
        let event = parse_event(value).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert!(!event.job.id.is_empty(), "{}", path.display());
        count += 1;
    }
    assert!(count >= 1, "events/ holds no event");
}
