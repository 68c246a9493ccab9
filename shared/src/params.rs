//! UserParameters: absent, a plain string, or a JSON object, parsed into each action's typed config.
//!
//! Every config error becomes a [`ConfigError`], which the harness reports as a `ConfigurationError`
//! failure. Config structs must use `#[serde(deny_unknown_fields)]` so that a misspelt key is refused
//! with the key's name and the accepted keys instead of being silently ignored.

use serde::de::DeserializeOwned;

/// A problem with the action's configuration. Reported as `ConfigurationError`.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("UserParameters is not valid JSON (line {line}, column {column}): {reason}")]
    InvalidJson {
        line: usize,
        column: usize,
        reason: String,
        #[source]
        source: serde_json::Error,
    },
    #[error("UserParameters must be a JSON object or a plain string, not a JSON {found}")]
    NotAnObject { found: &'static str },
    #[error("UserParameters{at}: {reason}")]
    Field {
        /// ` at `path`` when the problem is inside the object, empty at the top level.
        at: String,
        reason: String,
        #[source]
        source: serde_json::Error,
    },
    /// Any other configuration problem an action finds (a missing file named in the config, ...).
    #[error("{0}")]
    Invalid(String),
}

impl ConfigError {
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::Invalid(message.into())
    }
}

/// The three shapes UserParameters can take.
#[derive(Debug, Clone, PartialEq)]
pub enum UserParameters<'a> {
    Absent,
    Text(&'a str),
    Json(serde_json::Map<String, serde_json::Value>),
}

impl<'a> UserParameters<'a> {
    /// Whitespace only counts as absent; text starting with `{` or `[` must be valid JSON (a typo in a JSON
    /// config must not silently turn it into a plain string).
    pub fn classify(raw: Option<&'a str>) -> Result<Self, ConfigError> {
        let Some(raw) = raw else {
            return Ok(Self::Absent);
        };
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            return Ok(Self::Absent);
        }
        if !(trimmed.starts_with('{') || trimmed.starts_with('[')) {
            return Ok(Self::Text(trimmed));
        }
        let value: serde_json::Value = serde_json::from_str(trimmed).map_err(|source| ConfigError::InvalidJson {
            line: source.line(),
            column: source.column(),
            reason: json_reason(&source),
            source,
        })?;
        match value {
            serde_json::Value::Object(map) => Ok(Self::Json(map)),
            serde_json::Value::Array(_) => Err(ConfigError::NotAnObject { found: "array" }),
            _ => Err(ConfigError::NotAnObject { found: "value" }),
        }
    }
}

/// serde_json's message without its trailing " at line X column Y" (we print those ourselves).
fn json_reason(err: &serde_json::Error) -> String {
    let text = err.to_string();
    match text.rfind(" at line ") {
        Some(at) => text[..at].to_string(),
        None => text,
    }
}

/// An action's typed configuration.
pub trait ActionConfig: DeserializeOwned + Sized {
    /// The configuration when UserParameters is absent or blank.
    fn from_absent() -> Result<Self, ConfigError>;
    /// The configuration from a plain (non-JSON) string, e.g. a stack name or a template path.
    fn from_text(text: &str) -> Result<Self, ConfigError>;
    /// Checks across fields that serde cannot express; runs after every successful parse.
    fn validate(&self) -> Result<(), ConfigError> {
        Ok(())
    }
}

/// Parses UserParameters into `C`.
pub fn parse_user_parameters<C: ActionConfig>(raw: Option<&str>) -> Result<C, ConfigError> {
    let config = match UserParameters::classify(raw)? {
        UserParameters::Absent => C::from_absent()?,
        UserParameters::Text(text) => C::from_text(text)?,
        UserParameters::Json(map) => from_json_object(map)?,
    };
    config.validate()?;
    Ok(config)
}

/// Deserialises a JSON object, naming the path of any problem (`regions[1]`, `thresholds.fail`).
pub fn from_json_object<C: DeserializeOwned>(
    map: serde_json::Map<String, serde_json::Value>,
) -> Result<C, ConfigError> {
    serde_path_to_error::deserialize(serde_json::Value::Object(map)).map_err(|err| {
        let mut path = err.path().to_string();
        let source = err.into_inner();
        // For an unknown key the path ends with the key itself, which the message already names.
        if source.to_string().starts_with("unknown field") {
            path = path.rsplit_once('.').map(|(parent, _)| parent.to_string()).unwrap_or_default();
        }
        let at = if path == "." || path.is_empty() { String::new() } else { format!(" at `{path}`") };
        ConfigError::Field { at, reason: source.to_string(), source }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields, rename_all = "camelCase")]
    struct Sample {
        stack_name: String,
        #[serde(default)]
        ports: Vec<u16>,
        #[serde(default)]
        nested: Option<Nested>,
    }

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Nested {
        fail: u32,
    }

    impl ActionConfig for Sample {
        fn from_absent() -> Result<Self, ConfigError> {
            Err(ConfigError::invalid("UserParameters is required: give the stack name, or JSON {\"stackName\": ...}"))
        }
        fn from_text(text: &str) -> Result<Self, ConfigError> {
            Ok(Sample { stack_name: text.to_string(), ports: vec![22], nested: None })
        }
        fn validate(&self) -> Result<(), ConfigError> {
            if self.ports.contains(&0) {
                return Err(ConfigError::invalid("ports: 0 is not a port"));
            }
            Ok(())
        }
    }

    fn parse(raw: Option<&str>) -> Result<Sample, String> {
        parse_user_parameters::<Sample>(raw).map_err(|e| e.to_string())
    }

    #[test]
    fn absent_and_blank_use_from_absent() {
        for raw in [None, Some(""), Some("   \n")] {
            let err = parse(raw).expect_err("absent is an error for Sample");
            assert!(err.contains("UserParameters is required"), "{err}");
        }
    }

    #[test]
    fn plain_string_is_trimmed_text() {
        assert_eq!(
            parse(Some("  app-test \n")),
            Ok(Sample { stack_name: "app-test".into(), ports: vec![22], nested: None })
        );
    }

    #[test]
    fn json_object_is_typed() {
        assert_eq!(
            parse(Some(r#"{"stackName": "a", "ports": [22, 3389], "nested": {"fail": 50}}"#)),
            Ok(Sample { stack_name: "a".into(), ports: vec![22, 3389], nested: Some(Nested { fail: 50 }) })
        );
    }

    #[test]
    fn bad_json_names_line_and_column() {
        let err = parse(Some("{\"stackName\": \"a\",\n \"ports\": [22,]}")).expect_err("bad json");
        assert_eq!(err, "UserParameters is not valid JSON (line 2, column 15): trailing comma");
    }

    #[test]
    fn unknown_key_names_the_key_and_the_accepted_keys() {
        let err = parse(Some(r#"{"stackName": "a", "port": [22]}"#)).expect_err("unknown key");
        assert_eq!(err, "UserParameters: unknown field `port`, expected one of `stackName`, `ports`, `nested`");
        let err = parse(Some(r#"{"stackName": "a", "nested": {"fial": 1}}"#)).expect_err("nested");
        assert_eq!(err, "UserParameters at `nested`: unknown field `fial`, expected `fail`");
    }

    #[test]
    fn wrong_type_names_the_path() {
        let err = parse(Some(r#"{"stackName": "a", "ports": [22, "x"]}"#)).expect_err("type");
        assert_eq!(err, "UserParameters at `ports[1]`: invalid type: string \"x\", expected u16");
    }

    #[test]
    fn missing_required_key() {
        let err = parse(Some(r#"{"ports": [22]}"#)).expect_err("missing");
        assert_eq!(err, "UserParameters: missing field `stackName`");
    }

    #[test]
    fn arrays_and_validation_errors() {
        assert_eq!(
            parse(Some("[1,2]")).expect_err("array"),
            "UserParameters must be a JSON object or a plain string, not a JSON array"
        );
        assert_eq!(parse(Some(r#"{"stackName": "a", "ports": [0]}"#)).expect_err("validate"), "ports: 0 is not a port");
    }
}
