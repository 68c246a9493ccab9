//! The check across regions: every region scanned concurrently (bounded), each group judged, and the
//! results gathered into one [`CheckReport`]. A region that fails is kept as an error, never skipped.

use crate::config::Regions;
use crate::discover::{CallError, RegionClients, RegionScan, StackInfo, UnresolvedIngress};
use crate::evaluate::{Policy, Violation, judge};
use futures::StreamExt;
use serde::Serialize;

/// Regions scanned at the same time.
pub const REGION_CONCURRENCY: usize = 8;

/// Everything the check found.
#[derive(Debug, Default)]
pub struct CheckReport {
    pub stack: String,
    /// The regions searched, in order.
    pub regions: Vec<String>,
    /// Where the stack exists.
    pub stacks: Vec<StackInfo>,
    pub groups_checked: usize,
    pub violations: Vec<Violation>,
    /// Exposures through prefix lists that could not be read, let through by `prefixLists: pass`.
    pub unverified_passed: Vec<Violation>,
    pub unresolved_ingress: Vec<UnresolvedIngress>,
    /// `(region, id or name)` of groups the stack names that EC2 does not know.
    pub missing_groups: Vec<(String, String)>,
    /// Regions whose scan failed.
    pub errors: Vec<CallError>,
}

/// How complete the check was, for the verdict.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Completeness {
    /// Every region scanned and every ingress resource resolved.
    Complete,
    /// Something could not be checked; a call was denied.
    Denied,
    /// Something could not be checked for another reason.
    Incomplete,
}

impl CheckReport {
    /// Gathers the region results (in the order of `regions`) and judges every group.
    pub fn gather(
        stack: &str,
        regions: &[String],
        results: Vec<Result<RegionScan, CallError>>,
        policy: &Policy,
    ) -> Self {
        let mut report = CheckReport { stack: stack.to_string(), regions: regions.to_vec(), ..CheckReport::default() };
        for result in results {
            match result {
                Ok(scan) => {
                    report.stacks.extend(scan.stack);
                    report.unresolved_ingress.extend(scan.unresolved_ingress);
                    report.missing_groups.extend(scan.missing.into_iter().map(|id| (scan.region.clone(), id)));
                    for group in &scan.groups {
                        let evaluation = judge(group, policy, &scan.prefix_lists);
                        report.violations.extend(evaluation.violations);
                        report.unverified_passed.extend(evaluation.unverified_passed);
                    }
                    report.groups_checked += scan.groups.len();
                }
                Err(error) => report.errors.push(error),
            }
        }
        report
    }

    pub fn completeness(&self) -> Completeness {
        if self.errors.iter().any(CallError::is_access_denied) {
            Completeness::Denied
        } else if self.errors.is_empty() && self.unresolved_ingress.is_empty() && self.missing_groups.is_empty() {
            Completeness::Complete
        } else {
            Completeness::Incomplete
        }
    }

    /// Regions with at least one violation.
    pub fn violating_regions(&self) -> Vec<&str> {
        let mut regions: Vec<&str> = self.violations.iter().map(|v| v.region.as_str()).collect();
        regions.sort_unstable();
        regions.dedup();
        regions
    }

    /// What could not be checked, one line each.
    pub fn problems(&self) -> Vec<String> {
        let mut out: Vec<String> = self.errors.iter().map(describe_error).collect();
        out.extend(self.unresolved_ingress.iter().map(ToString::to_string));
        out.extend(self.missing_groups.iter().map(|(region, id)| {
            format!("{region} : {id} : a security group of the stack that EC2 does not know (deleted meanwhile?)")
        }));
        out
    }

    /// The violations, then what could not be checked and what passed unverified, each under a heading.
    pub fn lines(&self) -> Vec<String> {
        let mut out: Vec<String> = self.violations.iter().map(ToString::to_string).collect();
        let problems = self.problems();
        if !problems.is_empty() {
            out.push("Not checked:".into());
            out.extend(problems);
        }
        if !self.unverified_passed.is_empty() {
            out.push("Passed without verification (prefix lists that could not be read, verdict \"pass\"):".into());
            out.extend(self.unverified_passed.iter().map(ToString::to_string));
        }
        out
    }

    /// `N groups in M regions`.
    pub fn scope(&self) -> String {
        format!(
            "{} in {}",
            plural(self.groups_checked, "security group", "security groups"),
            plural(self.regions.len(), "region", "regions")
        )
    }

    /// The machine-readable form (the CLI's JSON, the output of `--format json`).
    pub fn to_json(&self) -> JsonReport<'_> {
        JsonReport {
            stack: &self.stack,
            regions: &self.regions,
            stack_regions: self.stacks.iter().map(|s| s.region.as_str()).collect(),
            groups_checked: self.groups_checked,
            violations: &self.violations,
            unverified_passed: &self.unverified_passed,
            problems: self.problems(),
        }
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct JsonReport<'a> {
    pub stack: &'a str,
    pub regions: &'a [String],
    pub stack_regions: Vec<&'a str>,
    pub groups_checked: usize,
    pub violations: &'a [Violation],
    pub unverified_passed: &'a [Violation],
    pub problems: Vec<String>,
}

/// A failed call as one line, with advice for the common causes.
pub fn describe_error(error: &CallError) -> String {
    if error.is_access_denied() {
        format!("{error} (grant {} to the function's role)", error.call)
    } else if error.is_region_not_enabled() {
        format!(
            "{error} (the region refused the credentials: it is probably not enabled for this account; enable it or \
             remove it from `regions`)"
        )
    } else {
        error.to_string()
    }
}

pub fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// Scans `regions` concurrently (at most [`REGION_CONCURRENCY`] at a time) and judges the groups.
pub async fn check(base: &aws_config::SdkConfig, stack: &str, regions: &[String], policy: &Policy) -> CheckReport {
    // Owned items: a closure over borrowed ones is not general enough for the action's `Send` future.
    let owned: Vec<String> = regions.to_vec();
    let results: Vec<Result<RegionScan, CallError>> = futures::stream::iter(owned)
        .map(|region| async move { RegionClients::new(base, &region).scan(stack).await })
        .buffered(REGION_CONCURRENCY)
        .collect()
        .await;
    CheckReport::gather(stack, regions, results, policy)
}

/// Why the regions to search could not be determined.
#[derive(Debug)]
pub enum RegionsError {
    /// No region is configured for the function or the command line.
    NoRegion,
    Call(CallError),
}

/// The regions to search: a list (trimmed, repeats removed, order kept), the configuration's own region,
/// or every region enabled for the account.
pub async fn resolve_regions(aws: &aws_config::SdkConfig, regions: &Regions) -> Result<Vec<String>, RegionsError> {
    let own = aws.region().map(|r| r.as_ref().to_string());
    match regions {
        Regions::List(list) => {
            let mut unique: Vec<String> = Vec::with_capacity(list.len());
            for region in list.iter().map(|r| r.trim().to_string()) {
                if !unique.contains(&region) {
                    unique.push(region);
                }
            }
            Ok(unique)
        }
        Regions::Own => own.map(|r| vec![r]).ok_or(RegionsError::NoRegion),
        Regions::All => {
            let own = own.ok_or(RegionsError::NoRegion)?;
            RegionClients::new(aws, &own).enabled_regions().await.map_err(RegionsError::Call)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evaluate::{Group, Permission, PrefixListVerdict, PrefixLists};

    fn scan(region: &str, stack: bool, groups: Vec<Group>) -> RegionScan {
        RegionScan {
            region: region.into(),
            stack: stack.then(|| StackInfo {
                region: region.into(),
                name: "app-test".into(),
                stack_id: format!("arn:aws:cloudformation:{region}:123456789012:stack/app-test/1"),
                status: "CREATE_COMPLETE".into(),
                status_reason: None,
                termination_protection: false,
                root_id: None,
            }),
            groups,
            missing: Vec::new(),
            unresolved_ingress: Vec::new(),
            prefix_lists: PrefixLists::from([("pl-secret".to_string(), None)]),
        }
    }

    fn group(region: &str, id: &str, cidr: &str) -> Group {
        Group {
            region: region.into(),
            group_id: id.into(),
            ingress: vec![Permission {
                protocol: "tcp".into(),
                from_port: Some(22),
                to_port: Some(22),
                ipv4_ranges: vec![cidr.into()],
                prefix_lists: vec!["pl-secret".into()],
                ..Permission::default()
            }],
        }
    }

    fn denied() -> CallError {
        CallError {
            call: "ec2:DescribeSecurityGroups",
            region: "eu-west-1".into(),
            code: Some("UnauthorizedOperation".into()),
            message: Some("You are not authorized to perform this operation.".into()),
            source: Box::new(std::io::Error::other("denied")),
        }
    }

    #[test]
    fn regions_are_gathered_in_order_and_failures_kept() {
        let regions = vec!["us-east-1".to_string(), "eu-west-1".to_string(), "ap-south-1".to_string()];
        let policy = Policy { prefix_lists: PrefixListVerdict::Pass, ..Policy::default() };
        let report = CheckReport::gather(
            "app-test",
            &regions,
            vec![
                Ok(scan(
                    "us-east-1",
                    true,
                    vec![group("us-east-1", "sg-1", "0.0.0.0/0"), group("us-east-1", "sg-2", "10.0.0.0/8")],
                )),
                Err(denied()),
                Ok(scan("ap-south-1", false, vec![])),
            ],
            &policy,
        );
        assert_eq!(report.groups_checked, 2);
        assert_eq!(report.stacks.len(), 1);
        assert_eq!(report.scope(), "2 security groups in 3 regions");
        let shown: Vec<String> = report.violations.iter().map(ToString::to_string).collect();
        assert_eq!(shown, ["us-east-1 : sg-1 : tcp 22 from 0.0.0.0/0", "us-east-1 : sg-2 : tcp 22 from 10.0.0.0/8"]);
        assert_eq!(report.unverified_passed.len(), 2, "pl-secret on both groups, passed by the verdict");
        assert_eq!(report.violating_regions(), ["us-east-1"]);
        assert_eq!(report.completeness(), Completeness::Denied);
        assert_eq!(
            report.problems(),
            ["ec2:DescribeSecurityGroups in eu-west-1 failed: UnauthorizedOperation: You are not authorized to \
              perform this operation. (grant ec2:DescribeSecurityGroups to the function's role)"]
        );
        let json = serde_json::to_value(report.to_json()).expect("json");
        assert_eq!(json["groupsChecked"], 2);
        assert_eq!(json["stackRegions"], serde_json::json!(["us-east-1"]));
        assert_eq!(json["violations"][0]["groupId"], "sg-1");
        assert_eq!(json["violations"][0]["source"], "0.0.0.0/0");
    }

    #[test]
    fn unresolved_ingress_makes_the_check_incomplete() {
        let mut region = scan("us-east-1", true, vec![]);
        region.unresolved_ingress.push(UnresolvedIngress {
            region: "us-east-1".into(),
            stack: "app-test".into(),
            logical_id: "SshIn".into(),
            reason: "its group is given by Fn::ImportValue, which is only known to CloudFormation".into(),
        });
        let report = CheckReport::gather("app-test", &["us-east-1".into()], vec![Ok(region)], &Policy::default());
        assert_eq!(report.completeness(), Completeness::Incomplete);
        assert_eq!(report.scope(), "0 security groups in 1 region");
    }
}
