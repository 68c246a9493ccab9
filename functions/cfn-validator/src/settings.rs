//! What the rules check and how findings are scored: defaults, overridden by a rules file (TOML or YAML,
//! kept in the artifact), overridden in turn by the pipeline's own configuration (UserParameters), which
//! the authors of the templates cannot change.

use crate::rules::{RuleId, Severity};
use crate::template::{self, Node, Value};
use ipnet::IpNet;
use serde::Deserialize;
use std::collections::{BTreeMap, HashMap};

/// Scores at or above which a run is flagged (manual approval) or fails. The reference's: 5 and 50.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Thresholds {
    pub flagged: u32,
    pub fail: u32,
}

impl Default for Thresholds {
    fn default() -> Self {
        Self { flagged: 5, fail: 50 }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RuleSetting {
    pub enabled: bool,
    pub severity: Severity,
    pub risk: u32,
}

/// A rule from the rules file: a property path in resources of one type, matched against a pattern.
#[derive(Clone, Debug)]
pub struct CustomRule {
    pub id: String,
    pub resource_type: String,
    pub path: Vec<PathStep>,
    pub path_text: String,
    pub matcher: Matcher,
    pub severity: Severity,
    pub risk: u32,
    pub message: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PathStep {
    Key(String),
    Index(usize),
    /// Every item of a list or every value of a map.
    Each,
}

#[derive(Clone, Debug)]
pub enum Matcher {
    Equals(String),
    Regex(regex::Regex),
    /// The property is missing.
    Absent,
}

/// The settings a scan runs with.
#[derive(Clone, Debug)]
pub struct Settings {
    rules: HashMap<RuleId, RuleSetting>,
    /// Database and administration ports for `ingress-admin-port-world`.
    pub admin_ports: Vec<u16>,
    /// Ports meant to be public, which `ingress-other-port-world` leaves alone.
    pub public_ports: Vec<u16>,
    /// Networks SSH and RDP may come from (`ingress-unapproved-source`; empty = the rule has nothing to check).
    pub approved_networks: Vec<IpNet>,
    pub forbidden_amis: Vec<String>,
    pub thresholds: Thresholds,
    pub custom: Vec<CustomRule>,
    pub allow_suppressions: bool,
    /// Most scenarios evaluated per resource.
    pub scenario_limit: usize,
}

/// Default database/admin ports: FTP, Telnet, SMB, MSSQL, Oracle, NFS, MySQL, PostgreSQL, Redis, VNC, WinRM,
/// Elasticsearch, Memcached, MongoDB, Cassandra, CouchDB, Docker, Kubernetes API, etcd, Kafka, ZooKeeper.
pub const DEFAULT_ADMIN_PORTS: &[u16] = &[
    20, 21, 23, 135, 139, 445, 1433, 1434, 1521, 2049, 2375, 2376, 2379, 2380, 3306, 5432, 5900, 5984, 5985, 5986,
    6379, 6443, 7000, 7001, 9042, 9092, 9200, 9300, 11211, 27017, 27018, 2181,
];

impl Default for Settings {
    fn default() -> Self {
        Self {
            rules: RuleId::ALL
                .iter()
                .map(|&id| {
                    let meta = id.meta();
                    (id, RuleSetting { enabled: meta.enabled, severity: meta.severity, risk: meta.risk })
                })
                .collect(),
            admin_ports: DEFAULT_ADMIN_PORTS.to_vec(),
            public_ports: vec![443],
            approved_networks: Vec::new(),
            forbidden_amis: Vec::new(),
            thresholds: Thresholds::default(),
            custom: Vec::new(),
            allow_suppressions: true,
            scenario_limit: 256,
        }
    }
}

impl Settings {
    pub fn rule(&self, id: RuleId) -> RuleSetting {
        self.rules.get(&id).copied().unwrap_or(RuleSetting { enabled: false, severity: Severity::Note, risk: 0 })
    }

    /// Applies a rules file (`name` says which, for messages; TOML when it ends in `.toml`, else YAML/JSON).
    pub fn apply_rules_file(&mut self, name: &str, text: &str) -> Result<(), SettingsError> {
        let file: RulesFile = if name.ends_with(".toml") {
            toml::from_str(text).map_err(|e| SettingsError::new(name, e.to_string()))?
        } else {
            let node = template::parse(text).map_err(|e| SettingsError::new(name, e.to_string()))?;
            let json = to_json(&node);
            serde_path_to_error::deserialize(json).map_err(|e| {
                let path = e.path().to_string();
                SettingsError::new(name, format!("at `{path}`: {}", e.into_inner()))
            })?
        };
        self.apply(name, file)
    }

    fn apply(&mut self, name: &str, file: RulesFile) -> Result<(), SettingsError> {
        let error = |message: String| SettingsError::new(name, message);
        if let Some(thresholds) = file.thresholds {
            self.set_thresholds(thresholds).map_err(error)?;
        }
        if let Some(ports) = file.admin_ports {
            self.admin_ports = ports;
        }
        if let Some(ports) = file.public_ports {
            self.public_ports = ports;
        }
        if let Some(networks) = file.approved_networks {
            self.approved_networks = parse_networks(&networks).map_err(error)?;
        }
        if let Some(amis) = file.forbidden_amis {
            self.forbidden_amis = amis;
        }
        for (id, over) in file.rules {
            let rule = RuleId::parse(&id).ok_or_else(|| {
                let known: Vec<&str> = RuleId::ALL.iter().map(|r| r.as_str()).collect();
                error(format!("unknown rule `{id}` in `rules` (the rules are: {})", known.join(", ")))
            })?;
            if rule == RuleId::ParseError && over.enabled == Some(false) {
                return Err(error("`parse-error` cannot be disabled: an unreadable template is never a pass".into()));
            }
            let setting =
                self.rules.entry(rule).or_insert(RuleSetting { enabled: true, severity: Severity::Note, risk: 0 });
            if let Some(enabled) = over.enabled {
                setting.enabled = enabled;
            }
            if let Some(severity) = over.severity {
                setting.severity = severity;
            }
            if let Some(risk) = over.risk {
                setting.risk = risk;
            }
        }
        for (index, custom) in file.custom.into_iter().enumerate() {
            let rule = custom.build().map_err(|m| error(format!("custom[{index}]: {m}")))?;
            if self.custom.iter().any(|c| c.id == rule.id) {
                return Err(error(format!("custom[{index}]: rule id `{}` is used twice", rule.id)));
            }
            self.custom.push(rule);
        }
        Ok(())
    }

    pub fn set_thresholds(&mut self, thresholds: Thresholds) -> Result<(), String> {
        if thresholds.flagged > thresholds.fail {
            return Err(format!(
                "thresholds: `flagged` ({}) must not be above `fail` ({})",
                thresholds.flagged, thresholds.fail
            ));
        }
        self.thresholds = thresholds;
        Ok(())
    }
}

/// A rules file that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("rules file `{file}`: {message}")]
pub struct SettingsError {
    pub file: String,
    pub message: String,
}

impl SettingsError {
    fn new(file: &str, message: String) -> Self {
        Self { file: file.to_string(), message }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RulesFile {
    thresholds: Option<Thresholds>,
    admin_ports: Option<Vec<u16>>,
    public_ports: Option<Vec<u16>>,
    approved_networks: Option<Vec<String>>,
    forbidden_amis: Option<Vec<String>>,
    #[serde(default)]
    rules: BTreeMap<String, RuleOverride>,
    #[serde(default)]
    custom: Vec<CustomRuleFile>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleOverride {
    enabled: Option<bool>,
    severity: Option<Severity>,
    risk: Option<u32>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct CustomRuleFile {
    id: String,
    resource_type: String,
    path: String,
    equals: Option<String>,
    regex: Option<String>,
    #[serde(default)]
    absent: bool,
    risk: u32,
    #[serde(default = "default_custom_severity")]
    severity: Severity,
    message: Option<String>,
}

fn default_custom_severity() -> Severity {
    Severity::Warning
}

impl CustomRuleFile {
    fn build(self) -> Result<CustomRule, String> {
        let kebab = !self.id.is_empty()
            && self
                .id
                .split('-')
                .all(|w| !w.is_empty() && w.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit()));
        if !kebab {
            return Err(format!("rule id `{}` must be kebab-case (lowercase letters, digits and dashes)", self.id));
        }
        if RuleId::parse(&self.id).is_some() {
            return Err(format!("rule id `{}` is a built-in rule; configure it under `rules` instead", self.id));
        }
        let matcher = match (self.equals, self.regex, self.absent) {
            (Some(text), None, false) => Matcher::Equals(text),
            (None, Some(pattern), false) => {
                Matcher::Regex(regex::Regex::new(&pattern).map_err(|e| format!("`regex` does not compile: {e}"))?)
            }
            (None, None, true) => Matcher::Absent,
            _ => return Err("give exactly one of `equals`, `regex` or `absent: true`".into()),
        };
        let path = parse_path(&self.path)?;
        let message = self.message.unwrap_or_else(|| match &matcher {
            Matcher::Equals(text) => format!("`{}` is `{text}`", self.path),
            Matcher::Regex(re) => format!("`{}` matches `{}`", self.path, re.as_str()),
            Matcher::Absent => format!("`{}` is not set", self.path),
        });
        Ok(CustomRule {
            id: self.id,
            resource_type: self.resource_type,
            path,
            path_text: self.path,
            matcher,
            severity: self.severity,
            risk: self.risk,
            message,
        })
    }
}

/// `SecurityGroupIngress[*].CidrIp`, `Tags[0].Value`, `Policies.*.PolicyName`.
fn parse_path(text: &str) -> Result<Vec<PathStep>, String> {
    let mut steps = Vec::new();
    for part in text.split('.') {
        let (name, mut rest) = match part.find('[') {
            Some(i) => (&part[..i], &part[i..]),
            None => (part, ""),
        };
        match name {
            "" if rest.is_empty() => return Err(format!("path `{text}` has an empty step")),
            "" => {}
            "*" => steps.push(PathStep::Each),
            name => steps.push(PathStep::Key(name.to_string())),
        }
        while let Some(inner) = rest.strip_prefix('[') {
            let Some(end) = inner.find(']') else {
                return Err(format!("path `{text}`: `[` without `]`"));
            };
            let index = &inner[..end];
            steps.push(if index == "*" {
                PathStep::Each
            } else {
                PathStep::Index(
                    index.parse().map_err(|_| format!("path `{text}`: `[{index}]` is not an index or `*`"))?,
                )
            });
            rest = &inner[end + 1..];
        }
        if !rest.is_empty() {
            return Err(format!("path `{text}`: unexpected `{rest}`"));
        }
    }
    if steps.is_empty() {
        return Err("`path` is empty".into());
    }
    Ok(steps)
}

/// Networks given as CIDR text; a bare address is a single host.
pub fn parse_networks(texts: &[String]) -> Result<Vec<IpNet>, String> {
    texts
        .iter()
        .map(|text| {
            text.parse::<IpNet>()
                .or_else(|_| text.parse::<std::net::IpAddr>().map(IpNet::from))
                .map_err(|_| format!("`{text}` is not a network in CIDR notation (e.g. 72.21.196.67/32)"))
        })
        .collect()
}

/// A located YAML/JSON value as plain JSON (for serde).
pub fn to_json(node: &Node) -> serde_json::Value {
    use serde_json::Value as J;
    match &node.value {
        Value::Null => J::Null,
        Value::Bool(b) => J::Bool(*b),
        Value::Number(n) => n
            .parse::<i64>()
            .map(J::from)
            .ok()
            .or_else(|| n.parse::<f64>().ok().and_then(serde_json::Number::from_f64).map(J::Number))
            .unwrap_or_else(|| J::String(n.clone())),
        Value::String(s) => J::String(s.clone()),
        Value::List(items) => J::Array(items.iter().map(to_json).collect()),
        Value::Map(entries) => J::Object(entries.iter().map(|(k, v)| (k.name.clone(), to_json(v))).collect()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml_and_toml_rules_files_override_defaults() {
        let mut settings = Settings::default();
        settings
            .apply_rules_file(
                "rules.yaml",
                "thresholds: {flagged: 10, fail: 100}\napprovedNetworks: [72.21.196.67/32]\nrules:\n  ingress-http-world: {enabled: true, risk: 7}\n",
            )
            .expect("valid");
        assert_eq!(settings.thresholds, Thresholds { flagged: 10, fail: 100 });
        assert!(settings.rule(RuleId::IngressHttpWorld).enabled);
        assert_eq!(settings.rule(RuleId::IngressHttpWorld).risk, 7);
        settings
            .apply_rules_file(
                "rules.toml",
                "forbiddenAmis = [\"ami-1\"]\n[[custom]]\nid = \"no-public-ip\"\nresourceType = \"AWS::EC2::Instance\"\npath = \"NetworkInterfaces[*].AssociatePublicIpAddress\"\nequals = \"true\"\nrisk = 10\n",
            )
            .expect("valid");
        assert_eq!(settings.forbidden_amis, ["ami-1"]);
        assert_eq!(
            settings.custom[0].path,
            [
                PathStep::Key("NetworkInterfaces".into()),
                PathStep::Each,
                PathStep::Key("AssociatePublicIpAddress".into())
            ]
        );
    }

    #[test]
    fn bad_rules_files_say_what_and_where() {
        let error =
            |name: &str, text: &str| Settings::default().apply_rules_file(name, text).expect_err("invalid").to_string();
        assert_eq!(
            error("r.yaml", "rules:\n  ingress-ssh-world: {risk: high}\n"),
            "rules file `r.yaml`: at `rules.ingress-ssh-world.risk`: invalid type: string \"high\", expected u32"
        );
        assert!(error("r.yaml", "rulez: {}\n").contains("unknown field `rulez`"));
        assert!(error("r.yaml", "rules: {no-such-rule: {risk: 1}}\n").contains("unknown rule `no-such-rule`"));
        assert!(error("r.toml", "thresholds = { flagged = 60, fail = 50 }\n").contains("must not be above"));
        assert!(error("r.yaml", "approvedNetworks: [10.0.0.0/33]\n").contains("is not a network"));
        assert!(error("r.yaml", "rules: {parse-error: {enabled: false}}\n").contains("cannot be disabled"));
        assert!(
            error("r.yaml", "custom: [{id: Bad_Id, resourceType: X, path: A, equals: b, risk: 1}]\n")
                .contains("kebab-case")
        );
        assert!(
            error("r.yaml", "custom: [{id: x, resourceType: X, path: A, equals: b, regex: c, risk: 1}]\n")
                .contains("exactly one of")
        );
        assert!(error("r.toml", "thresholds = [").starts_with("rules file `r.toml`: TOML parse error at line 1"));
    }
}
