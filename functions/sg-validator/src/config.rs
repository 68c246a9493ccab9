//! UserParameters: a plain string is the stack name (the reference's form); JSON gives the rest.

use crate::evaluate::{Policy, PrefixListVerdict, Protocol};
use codepipeline_action::{ActionConfig, ConfigError};
use globset::{Glob, GlobSet, GlobSetBuilder};
use ipnet::IpNet;
use serde::Deserialize;

/// The network the reference approved (hard-coded there); the plain-string form keeps it.
pub const REFERENCE_APPROVED: &str = "72.21.196.67/32";

/// Which regions to search.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Regions {
    /// The function's own region.
    Own,
    /// Every region enabled for the account (DescribeRegions).
    All,
    List(Vec<String>),
}

impl<'de> Deserialize<'de> for Regions {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Text(String),
            List(Vec<String>),
        }
        match Raw::deserialize(deserializer)? {
            Raw::Text(text) if text == "all" => Ok(Regions::All),
            Raw::Text(text) => Err(serde::de::Error::custom(format!(
                "`{text}`: give a list of regions (e.g. [\"eu-west-1\"]) or \"all\""
            ))),
            Raw::List(list) if list.is_empty() => Err(serde::de::Error::custom("the list of regions is empty")),
            Raw::List(list) => Ok(Regions::List(list)),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OnViolation {
    Fail,
    DeleteStack,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NoGroups {
    Pass,
    Fail,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Config {
    pub stack_name: String,
    #[serde(default = "own_region")]
    pub regions: Regions,
    #[serde(default)]
    pub approved_cidrs: Vec<String>,
    #[serde(default = "default_ports")]
    pub ports: Vec<u16>,
    #[serde(default = "default_protocols")]
    pub protocols: Vec<String>,
    #[serde(default = "fail")]
    pub on_violation: OnViolation,
    /// Glob patterns a stack name must match before it may be deleted; none = never delete.
    #[serde(default)]
    pub deletable_stacks: Vec<String>,
    #[serde(default = "prefix_fail")]
    pub prefix_lists: PrefixListVerdict,
    /// What a stack without security groups means.
    #[serde(default = "no_groups_pass")]
    pub no_groups: NoGroups,
}

fn own_region() -> Regions {
    Regions::Own
}
fn default_ports() -> Vec<u16> {
    vec![22]
}
fn default_protocols() -> Vec<String> {
    vec!["tcp".into()]
}
fn fail() -> OnViolation {
    OnViolation::Fail
}
fn prefix_fail() -> PrefixListVerdict {
    PrefixListVerdict::Fail
}
fn no_groups_pass() -> NoGroups {
    NoGroups::Pass
}

impl ActionConfig for Config {
    fn from_absent() -> Result<Self, ConfigError> {
        Err(ConfigError::invalid(
            "UserParameters is empty: give the stack name, or JSON such as {\"stackName\": \"my-app-test\"}",
        ))
    }

    fn from_text(text: &str) -> Result<Self, ConfigError> {
        Ok(Self {
            stack_name: text.trim().to_string(),
            regions: Regions::Own,
            // Drop-in compatible with the reference, which approved this network (hard-coded).
            approved_cidrs: vec![REFERENCE_APPROVED.to_string()],
            ports: default_ports(),
            protocols: default_protocols(),
            on_violation: OnViolation::Fail,
            deletable_stacks: Vec::new(),
            prefix_lists: PrefixListVerdict::Fail,
            no_groups: NoGroups::Pass,
        })
    }

    fn validate(&self) -> Result<(), ConfigError> {
        if self.stack_name.trim().is_empty() {
            return Err(ConfigError::invalid("UserParameters: `stackName` is empty"));
        }
        self.policy()?;
        self.deletable()?;
        if self.on_violation == OnViolation::DeleteStack && self.deletable_stacks.is_empty() {
            return Err(ConfigError::invalid(
                "UserParameters: `onViolation` is \"delete-stack\" but `deletableStacks` is empty, so no stack may be \
                 deleted; give patterns such as [\"*-test\"]",
            ));
        }
        Ok(())
    }
}

impl Config {
    pub fn policy(&self) -> Result<Policy, ConfigError> {
        let approved = self
            .approved_cidrs
            .iter()
            .map(|text| {
                text.trim().parse::<IpNet>().map_err(|_| {
                    ConfigError::invalid(format!(
                        "UserParameters: `approvedCidrs`: `{text}` is not a network in CIDR notation (e.g. 72.21.196.67/32)"
                    ))
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let protocols = self
            .protocols
            .iter()
            .map(|text| {
                Protocol::parse(text).ok_or_else(|| {
                    ConfigError::invalid(format!(
                        "UserParameters: `protocols`: `{text}` is not a protocol (tcp, udp or a number)"
                    ))
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        if self.ports.is_empty() {
            return Err(ConfigError::invalid("UserParameters: `ports` is empty"));
        }
        Ok(Policy { approved, ports: self.ports.clone(), protocols, prefix_lists: self.prefix_lists })
    }

    /// The stack-name patterns that allow deletion.
    pub fn deletable(&self) -> Result<GlobSet, ConfigError> {
        let mut set = GlobSetBuilder::new();
        for pattern in &self.deletable_stacks {
            set.add(Glob::new(pattern).map_err(|e| {
                ConfigError::invalid(format!("UserParameters: `deletableStacks` pattern `{pattern}`: {e}"))
            })?);
        }
        set.build().map_err(|e| ConfigError::invalid(format!("UserParameters: `deletableStacks`: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use codepipeline_action::params::parse_user_parameters;

    #[test]
    fn plain_string_is_the_stack_name() {
        let config: Config = parse_user_parameters(Some(" my-app-test ")).expect("valid");
        assert_eq!(config.stack_name, "my-app-test");
        assert_eq!(config.regions, Regions::Own);
        let policy = config.policy().expect("policy");
        assert_eq!(policy.approved, ["72.21.196.67/32".parse::<IpNet>().expect("cidr")], "the reference's network");
        assert_eq!(Policy { approved: Vec::new(), ..policy }, Policy::default());
    }

    #[test]
    fn json_form() {
        let config: Config = parse_user_parameters(Some(
            r#"{"stackName": "app-test", "regions": "all", "approvedCidrs": ["72.21.196.67/32", "2001:db8::/32"],
                "ports": [22, 3389], "protocols": ["tcp", "udp"], "onViolation": "delete-stack",
                "deletableStacks": ["*-test"], "prefixLists": "pass", "noGroups": "fail"}"#,
        ))
        .expect("valid");
        assert_eq!(config.regions, Regions::All);
        assert_eq!(config.on_violation, OnViolation::DeleteStack);
        assert!(config.deletable().expect("globs").is_match("app-test"));
        assert!(!config.deletable().expect("globs").is_match("app-prod"));
        let policy = config.policy().expect("policy");
        assert_eq!(policy.protocols, [Protocol::TCP, Protocol::UDP]);
        assert_eq!(policy.prefix_lists, PrefixListVerdict::Pass);
    }

    #[test]
    fn bad_user_parameters_say_what_is_wrong() {
        let error = |raw: Option<&str>| parse_user_parameters::<Config>(raw).expect_err("invalid").to_string();
        assert!(error(None).contains("give the stack name"));
        assert!(error(Some(r#"{"stack": "x"}"#)).contains("unknown field `stack`"));
        assert!(error(Some(r#"{"stackName": "x", "regions": "eu-west-1"}"#)).contains("or \"all\""));
        assert!(error(Some(r#"{"stackName": "x", "approvedCidrs": ["10.0.0.0/33"]}"#)).contains("not a network"));
        assert!(
            error(Some(r#"{"stackName": "x", "onViolation": "delete-stack"}"#)).contains("`deletableStacks` is empty")
        );
        assert!(error(Some(r#"{"stackName": "x", "protocols": ["sctp"]}"#)).contains("`sctp` is not a protocol"));
    }
}
