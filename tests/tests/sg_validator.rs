//! sg-validator against real CloudFormation stacks in moto, through a proxy that makes moto's list calls
//! page as AWS does (and refuses chosen calls): the reference's blind spots, two regions, several pages
//! of groups, deletion only on violation and only when allowed, termination protection, a deletion that
//! outlasts the invocation, a missing stack, a stack without groups, denied calls and failing regions.

use aws_sdk_cloudformation::types::Parameter;
use aws_sdk_ec2::types::{IpPermission, IpRange, Ipv6Range, PrefixListId};
use codepipeline_action::Harness;
use sg_validator::action::SgValidator;
use sg_validator::check::check;
use sg_validator::discover::RegionClients;
use sg_validator::evaluate::Policy;
use std::collections::BTreeMap;
use std::time::Duration;
use test_support::moto::moto;
use test_support::paging::PagingProxy;
use test_support::rig::{self, JobEvent, REGION, invocation, settings};
use test_support::standin::{CodePipelineStandIn, RecordedOutcome};

const OTHER_REGION: &str = "eu-west-1";
const APPROVED: &str = "72.21.196.67/32";

struct Rig {
    aws: aws_config::SdkConfig,
    proxy: PagingProxy,
    standin: CodePipelineStandIn,
}

/// A unique stack name ending in `suffix` (e.g. "-test").
fn stack_name(prefix: &str, suffix: &str) -> String {
    format!("{prefix}-{}{suffix}", &uuid::Uuid::new_v4().simple().to_string()[..10])
}

/// A tcp ingress rule: (from port, to port, CIDR).
type Rule<'a> = (i32, i32, &'a str);
/// A security group: (logical id, its ingress rules).
type GroupSpec<'a> = (&'a str, &'a [Rule<'a>]);

/// A template with one security group per `(logical id, [(from, to, cidr)])`.
fn groups_template(groups: &[GroupSpec<'_>]) -> String {
    let mut out = String::from("Resources:\n");
    for (name, rules) in groups {
        out.push_str(&format!(
            "  {name}:\n    Type: AWS::EC2::SecurityGroup\n    Properties:\n      GroupDescription: {name}\n"
        ));
        if !rules.is_empty() {
            out.push_str("      SecurityGroupIngress:\n");
            for (from, to, cidr) in *rules {
                out.push_str(&format!(
                    "        - {{IpProtocol: tcp, FromPort: {from}, ToPort: {to}, CidrIp: {cidr}}}\n"
                ));
            }
        }
    }
    out
}

impl Rig {
    /// Pages of at most 5 items.
    async fn new() -> Self {
        let proxy = PagingProxy::start(moto().endpoint(), 5);
        let aws = rig::aws_config(proxy.endpoint()).await;
        Self { aws, proxy, standin: CodePipelineStandIn::start() }
    }

    fn clients(&self, region: &str) -> RegionClients {
        RegionClients::new(&self.aws, region)
    }

    async fn create_stack(&self, region: &str, name: &str, template: &str, parameters: &[(&str, &str)]) {
        let mut request = self.clients(region).cloudformation.create_stack().stack_name(name).template_body(template);
        for (key, value) in parameters {
            request = request.parameters(Parameter::builder().parameter_key(*key).parameter_value(*value).build());
        }
        request.send().await.unwrap_or_else(|e| panic!("create stack {name} in {region}: {e:?}"));
    }

    /// Creates a stack with termination protection (moto does not implement UpdateTerminationProtection).
    async fn create_protected_stack(&self, region: &str, name: &str, template: &str) {
        self.clients(region)
            .cloudformation
            .create_stack()
            .stack_name(name)
            .template_body(template)
            .enable_termination_protection(true)
            .send()
            .await
            .unwrap_or_else(|e| panic!("create stack {name} in {region}: {e:?}"));
    }

    async fn exists(&self, region: &str, name: &str) -> bool {
        self.clients(region).describe_stack(name).await.expect("describe").is_some()
    }

    /// The physical id of a stack's resource.
    async fn physical_id(&self, region: &str, stack: &str, logical: &str) -> String {
        let output = self
            .clients(region)
            .cloudformation
            .describe_stack_resource()
            .stack_name(stack)
            .logical_resource_id(logical)
            .send()
            .await
            .expect("describe stack resource");
        output.stack_resource_detail().and_then(|d| d.physical_resource_id()).expect("physical id").to_string()
    }

    async fn add_ingress(&self, region: &str, group: &str, permission: IpPermission) {
        self.clients(region)
            .ec2
            .authorize_security_group_ingress()
            .group_id(group)
            .ip_permissions(permission)
            .send()
            .await
            .expect("authorize ingress");
    }

    /// Runs one job through the Lambda handler; the job id.
    async fn run(&self, user_parameters: &str) -> String {
        let job = self.standin.new_job();
        self.invoke(JobEvent::new(&job).user_parameters(user_parameters), None).await;
        job
    }

    async fn invoke(&self, event: JobEvent, deadline: Option<Duration>) {
        let action = SgValidator { poll: Duration::from_millis(50) };
        let harness =
            Harness::new(action, self.aws.clone(), rig::reporter(&self.aws, self.standin.endpoint()), settings());
        harness.handle(invocation(event.to_json(), deadline)).await.expect("handled");
    }

    fn failure(&self, job: &str) -> (String, String) {
        let result = self.standin.only_result(job);
        let (kind, message) = result.failure();
        (kind.to_string(), message.to_string())
    }

    fn success(&self, job: &str) -> (String, BTreeMap<String, String>) {
        let result = self.standin.only_result(job);
        let (summary, variables) = result.success();
        (summary.to_string(), variables.clone())
    }

    /// `protocol ports from source` of every violation of `stack` in `region`.
    async fn violations(&self, region: &str, stack: &str, policy: &Policy) -> Vec<String> {
        let report = check(&self.aws, stack, &[region.to_string()], policy).await;
        assert!(report.errors.is_empty(), "{:?}", report.problems());
        assert_eq!(report.stacks.len(), 1, "stack {stack} found");
        let mut out: Vec<String> = report
            .violations
            .iter()
            .map(|v| {
                if v.protocol == "all" {
                    format!("all from {}", v.source)
                } else {
                    format!("{} {} from {}", v.protocol, v.ports, v.source)
                }
            })
            .collect();
        out.sort();
        out
    }
}

fn approved(cidrs: &[&str]) -> Policy {
    Policy { approved: cidrs.iter().map(|c| c.parse().expect("cidr")).collect(), ..Policy::default() }
}

fn world_v6(port: i32) -> IpPermission {
    IpPermission::builder()
        .ip_protocol("tcp")
        .from_port(port)
        .to_port(port)
        .ipv6_ranges(Ipv6Range::builder().cidr_ipv6("::/0").build())
        .build()
}

fn all_traffic(cidr: &str) -> IpPermission {
    IpPermission::builder().ip_protocol("-1").ip_ranges(IpRange::builder().cidr_ip(cidr).build()).build()
}

#[tokio::test]
async fn the_reference_blind_spots_are_violations() {
    let rig = Rig::new().await;
    let policy = approved(&[APPROVED]);

    // The approved network beside 0.0.0.0/0 (the reference passes: the approved text appears).
    let stack = stack_name("beside", "-test");
    rig.create_stack(REGION, &stack, &groups_template(&[("Sg", &[(22, 22, APPROVED), (22, 22, "0.0.0.0/0")])]), &[])
        .await;
    assert_eq!(rig.violations(REGION, &stack, &policy).await, ["tcp 22 from 0.0.0.0/0"]);

    // ::/0 (moto's CloudFormation ignores inline CidrIpv6: added through EC2).
    let stack = stack_name("ipv6", "-test");
    rig.create_stack(REGION, &stack, &groups_template(&[("Sg", &[(22, 22, APPROVED)])]), &[]).await;
    let group = rig.physical_id(REGION, &stack, "Sg").await;
    rig.add_ingress(REGION, &group, world_v6(22)).await;
    assert_eq!(rig.violations(REGION, &stack, &policy).await, ["tcp 22 from ::/0"]);

    // Protocol -1 without ports (moto's CloudFormation fails on it: added through EC2).
    let stack = stack_name("all", "-test");
    rig.create_stack(REGION, &stack, &groups_template(&[("Sg", &[(22, 22, APPROVED)])]), &[]).await;
    let group = rig.physical_id(REGION, &stack, "Sg").await;
    rig.add_ingress(REGION, &group, all_traffic("0.0.0.0/0")).await;
    assert_eq!(rig.violations(REGION, &stack, &policy).await, ["all from 0.0.0.0/0"]);

    // 0-65535.
    let stack = stack_name("range", "-test");
    rig.create_stack(REGION, &stack, &groups_template(&[("Sg", &[(22, 22, APPROVED), (0, 65535, "0.0.0.0/0")])]), &[])
        .await;
    assert_eq!(rig.violations(REGION, &stack, &policy).await, ["tcp 0-65535 from 0.0.0.0/0"]);

    // A network whose text contains the approved one, and a supernet of it.
    let stack = stack_name("lookalike", "-test");
    let rules: &[(i32, i32, &str)] = &[(22, 22, "172.21.196.67/32"), (22, 22, "72.21.196.0/24")];
    rig.create_stack(REGION, &stack, &groups_template(&[("Sg", rules)]), &[]).await;
    assert_eq!(
        rig.violations(REGION, &stack, &policy).await,
        ["tcp 22 from 172.21.196.67/32", "tcp 22 from 72.21.196.0/24"]
    );

    // An approved supernet approves what it contains (the reference's text match fails it).
    let stack = stack_name("supernet", "-test");
    rig.create_stack(REGION, &stack, &groups_template(&[("Sg", &[(22, 22, "10.20.0.0/16")])]), &[]).await;
    assert!(rig.violations(REGION, &stack, &approved(&["10.0.0.0/8"])).await.is_empty());
    assert_eq!(rig.violations(REGION, &stack, &policy).await, ["tcp 22 from 10.20.0.0/16"]);
}

#[tokio::test]
async fn standalone_ingress_on_a_group_outside_the_stack_and_nested_stacks_are_followed() {
    let rig = Rig::new().await;
    let s3 = rig::s3(&rig::aws_config(moto().endpoint()).await);
    let bucket = rig::new_bucket(&s3).await;
    let inner = groups_template(&[("InnerSg", &[(22, 22, "0.0.0.0/0")])]);
    rig::put(&s3, &bucket, "inner.yaml", inner.into_bytes()).await;
    let ec2 = rig.clients(REGION).ec2;
    let outside = ec2
        .create_security_group()
        .group_name(format!("outside-{}", uuid::Uuid::new_v4()))
        .description("not in the stack")
        .send()
        .await
        .expect("outside group")
        .group_id()
        .expect("id")
        .to_string();
    let template = format!(
        r#"
Parameters:
  OutsideGroup: {{Type: String}}
Resources:
  WebSg:
    Type: AWS::EC2::SecurityGroup
    Properties:
      GroupDescription: web
      SecurityGroupIngress:
        - {{IpProtocol: tcp, FromPort: 22, ToPort: 22, CidrIp: {APPROVED}}}
  SshOnOutsideGroup:
    Type: AWS::EC2::SecurityGroupIngress
    Properties: {{GroupId: !Ref OutsideGroup, IpProtocol: tcp, FromPort: 22, ToPort: 22, CidrIp: 0.0.0.0/0}}
  Inner:
    Type: AWS::CloudFormation::Stack
    Properties: {{TemplateURL: "https://s3.amazonaws.com/{bucket}/inner.yaml"}}
"#
    );
    let stack = stack_name("outside", "-test");
    rig.create_stack(REGION, &stack, &template, &[("OutsideGroup", &outside)]).await;

    let report = check(&rig.aws, &stack, &[REGION.to_string()], &approved(&[APPROVED])).await;
    assert!(report.problems().is_empty(), "{:?}", report.problems());
    assert_eq!(report.groups_checked, 3, "WebSg, the outside group and the nested stack's group");
    let mut shown: Vec<String> =
        report.violations.iter().map(|v| format!("{} {}", v.group_id == outside, v.source)).collect();
    shown.sort();
    assert_eq!(shown, ["false 0.0.0.0/0", "true 0.0.0.0/0"], "the nested group and the outside group");

    // The violation is in a nested stack: the root stack is the one deleted.
    let job = rig
        .run(&format!(
            r#"{{"stackName": "{stack}", "approvedCidrs": ["{APPROVED}"], "onViolation": "delete-stack", "deletableStacks": ["outside-*"]}}"#
        ))
        .await;
    let (_, message) = rig.failure(&job);
    assert!(message.contains(&format!("\nStack {stack} in {REGION}: deleted (DELETE_COMPLETE).\n")), "{message}");
    assert!(!rig.exists(REGION, &stack).await);
}

#[tokio::test]
async fn two_regions_several_pages_and_deletion_only_where_the_violation_is() {
    let rig = Rig::new().await;
    let stack = stack_name("paged", "-test");
    let clean: Vec<String> = (0..12).map(|i| format!("Sg{i:02}")).collect();
    let clean_groups: Vec<GroupSpec<'_>> =
        clean.iter().map(|name| (name.as_str(), &[(22, 22, APPROVED)][..])).collect();
    rig.create_stack(REGION, &stack, &groups_template(&clean_groups), &[]).await;
    let mut mixed = clean_groups.clone();
    mixed[11] = ("Sg11", &[(22, 22, APPROVED), (20, 30, "0.0.0.0/0")]);
    rig.create_stack(OTHER_REGION, &stack, &groups_template(&mixed), &[]).await;

    let job = rig
        .run(&format!(
            r#"{{"stackName": "{stack}", "regions": ["{REGION}", "{OTHER_REGION}"], "approvedCidrs": ["{APPROVED}"],
                "onViolation": "delete-stack", "deletableStacks": ["*-test"]}}"#
        ))
        .await;
    let (kind, message) = rig.failure(&job);
    assert_eq!(kind, "JobFailed");
    let lines: Vec<&str> = message.lines().collect();
    assert_eq!(lines[0], format!("1 violation in stack {stack} (24 security groups in 2 regions checked)."));
    assert_eq!(lines[1], format!("Stack {stack} in {OTHER_REGION}: deleted (DELETE_COMPLETE)."));
    assert!(lines[2].starts_with(&format!("{OTHER_REGION} : sg-")), "{message}");
    assert!(lines[2].ends_with(" : tcp 20-30 from 0.0.0.0/0"), "{message}");
    assert_eq!(lines.len(), 3, "{message}");
    assert!(!rig.exists(OTHER_REGION, &stack).await, "the violating region's stack is deleted");
    assert!(rig.exists(REGION, &stack).await, "the clean region's stack is left alone");
    // 12 resources in pages of 5, in two regions; groups in pages of 5 too.
    assert!(rig.proxy.pages("ListStackResources") >= 6, "{}", rig.proxy.pages("ListStackResources"));
    assert!(rig.proxy.pages("DescribeSecurityGroups") >= 6, "{}", rig.proxy.pages("DescribeSecurityGroups"));
}

#[tokio::test]
async fn a_clean_stack_passes_with_output_variables_and_is_not_deleted() {
    let rig = Rig::new().await;
    let stack = stack_name("clean", "-test");
    let template = groups_template(&[("A", &[(22, 22, APPROVED)]), ("B", &[(443, 443, "0.0.0.0/0")]), ("C", &[])]);
    rig.create_stack(REGION, &stack, &template, &[]).await;
    let job = rig
        .run(&format!(
            r#"{{"stackName": "{stack}", "approvedCidrs": ["{APPROVED}"], "onViolation": "delete-stack", "deletableStacks": ["*"]}}"#
        ))
        .await;
    let (summary, variables) = rig.success(&job);
    assert_eq!(summary, format!("3 security groups in 1 region checked, no violations (stack {stack})"));
    assert_eq!(variables["groupsChecked"], "3");
    assert_eq!(variables["violations"], "0");
    assert_eq!(variables["regionsChecked"], "1");
    assert!(rig.exists(REGION, &stack).await);
}

#[tokio::test]
async fn deletion_needs_a_matching_name_and_no_termination_protection() {
    let rig = Rig::new().await;
    let open = groups_template(&[("Sg", &[(22, 22, "0.0.0.0/0")])]);
    let prod = stack_name("app", "-prod");
    rig.create_stack(REGION, &prod, &open, &[]).await;
    let protected = stack_name("protected", "-test");
    rig.create_protected_stack(REGION, &protected, &open).await;
    let params = |stack: &str| {
        format!(r#"{{"stackName": "{stack}", "onViolation": "delete-stack", "deletableStacks": ["*-test"]}}"#)
    };

    let job = rig.run(&params(&prod)).await;
    let (_, message) = rig.failure(&job);
    assert!(
        message.contains(&format!(
            "Stack {prod} in {REGION}: not deleted: its name matches none of deletableStacks (*-test)."
        )),
        "{message}"
    );
    assert!(rig.exists(REGION, &prod).await);

    let job = rig.run(&params(&protected)).await;
    let (_, message) = rig.failure(&job);
    assert!(
        message.contains(&format!("Stack {protected} in {REGION}: not deleted: termination protection is enabled.")),
        "{message}"
    );
    assert!(rig.exists(REGION, &protected).await);

    // The reference's form: the stack name as a plain string; the function's region; fail, never delete.
    let job = rig.run(&prod).await;
    let (kind, message) = rig.failure(&job);
    assert_eq!(kind, "JobFailed");
    assert!(
        message.starts_with(&format!("1 violation in stack {prod} (1 security group in 1 region checked).")),
        "{message}"
    );
    assert!(message.contains("not deleted: onViolation is \"fail\"."), "{message}");
    assert!(message.ends_with(" : tcp 22 from 0.0.0.0/0"), "{message}");
}

#[tokio::test]
async fn a_deletion_that_outlasts_the_invocation_continues_in_the_next_one() {
    let rig = Rig::new().await;
    let stack = stack_name("slow", "-test");
    rig.create_stack(REGION, &stack, &groups_template(&[("Sg", &[(22, 22, "0.0.0.0/0")])]), &[]).await;
    rig.proxy.slow_deletions(1);
    let job = rig.standin.new_job();
    let params = format!(r#"{{"stackName": "{stack}", "onViolation": "delete-stack", "deletableStacks": ["slow-*"]}}"#);
    // A 4 s Lambda deadline leaves no time to wait once DeleteStack is accepted.
    rig.invoke(JobEvent::new(&job).user_parameters(&params), Some(Duration::from_secs(4))).await;
    match rig.standin.only_result(&job).outcome {
        RecordedOutcome::Success { summary, continuation_token, output_variables, .. } => {
            let summary = summary.unwrap_or_default();
            assert!(summary.contains(&format!("Deleting stack {stack} in {REGION} (DELETE_IN_PROGRESS)")), "{summary}");
            assert!(continuation_token.is_some());
            assert!(output_variables.is_empty());
        }
        other => panic!("expected progress, got {other:?}"),
    }
    let (next, token) = rig.standin.continuation_of(&job).expect("continued");
    rig.invoke(JobEvent::new(&next).user_parameters(&params).continuation_token(&token), None).await;
    let (kind, message) = rig.failure(&next);
    assert_eq!(kind, "JobFailed");
    assert!(message.contains(&format!("Stack {stack} in {REGION}: deleted (DELETE_COMPLETE).")), "{message}");
    assert!(message.ends_with(" : tcp 22 from 0.0.0.0/0"), "{message}");
}

#[tokio::test]
async fn a_missing_stack_is_a_configuration_error_naming_the_regions() {
    let rig = Rig::new().await;
    let stack = stack_name("missing", "-test");
    let job = rig.run(&format!(r#"{{"stackName": "{stack}", "regions": ["{REGION}", "{OTHER_REGION}"]}}"#)).await;
    let (kind, message) = rig.failure(&job);
    assert_eq!(kind, "ConfigurationError");
    assert_eq!(
        message,
        format!(
            "stack {stack} does not exist in {REGION}, {OTHER_REGION} (searched with cloudformation:DescribeStacks); \
             check the stack name in UserParameters and `regions`"
        )
    );
}

#[tokio::test]
async fn a_stack_without_groups_passes_unless_configured_to_fail() {
    let rig = Rig::new().await;
    let stack = stack_name("nogroups", "-test");
    rig.create_stack(REGION, &stack, "Resources:\n  Bucket:\n    Type: AWS::S3::Bucket\n", &[]).await;
    let job = rig.run(&stack).await;
    let (summary, variables) = rig.success(&job);
    assert_eq!(summary, format!("stack {stack} has no security groups in {REGION}: nothing to check"));
    assert_eq!(variables["groupsChecked"], "0");
    let job = rig.run(&format!(r#"{{"stackName": "{stack}", "noGroups": "fail"}}"#)).await;
    let (kind, message) = rig.failure(&job);
    assert_eq!(kind, "JobFailed");
    assert!(message.ends_with("(noGroups is \"fail\")"), "{message}");
}

#[tokio::test]
async fn a_denied_call_is_a_permission_error_naming_the_call() {
    let rig = Rig::new().await;
    let stack = stack_name("denied", "-test");
    rig.create_stack(REGION, &stack, &groups_template(&[("Sg", &[(22, 22, APPROVED)])]), &[]).await;
    rig.proxy.refuse(REGION, "DescribeSecurityGroups", "UnauthorizedOperation");
    let job = rig.run(&stack).await;
    let (kind, message) = rig.failure(&job);
    assert_eq!(kind, "PermissionError");
    assert!(message.contains("ec2:DescribeSecurityGroups in us-east-1 failed: UnauthorizedOperation"), "{message}");
    assert!(message.contains("(grant ec2:DescribeSecurityGroups to the function's role)"), "{message}");
}

#[tokio::test]
async fn a_failing_region_is_reported_never_skipped() {
    let rig = Rig::new().await;
    let stack = stack_name("regions", "-test");
    rig.create_stack(REGION, &stack, &groups_template(&[("Sg", &[(22, 22, APPROVED)])]), &[]).await;
    // What CloudFormation answers in a region that is not enabled for the account.
    rig.proxy.refuse("ap-southeast-2", "DescribeStacks", "InvalidClientTokenId");
    let params = format!(
        r#"{{"stackName": "{stack}", "regions": ["{REGION}", "ap-southeast-2"], "approvedCidrs": ["{APPROVED}"]}}"#
    );
    let job = rig.run(&params).await;
    let (kind, message) = rig.failure(&job);
    assert_eq!(kind, "JobFailed");
    let lines: Vec<&str> = message.lines().collect();
    assert_eq!(
        lines[0],
        format!(
            "No violation in what could be checked (1 security group in 2 regions) of stack {stack}, but not everything \
             could be checked, so the job fails:"
        )
    );
    assert!(
        lines[1].starts_with("cloudformation:DescribeStacks in ap-southeast-2 failed: InvalidClientTokenId"),
        "{message}"
    );
    assert!(
        lines[1].ends_with(
            "(the region refused the credentials: it is probably not enabled for this account; enable it or remove \
             it from `regions`)"
        ),
        "{message}"
    );

    // With a violation in the region that could be read, both are reported.
    let open = stack_name("regions-open", "-test");
    rig.create_stack(REGION, &open, &groups_template(&[("Sg", &[(22, 22, "0.0.0.0/0")])]), &[]).await;
    let job = rig.run(&format!(r#"{{"stackName": "{open}", "regions": ["{REGION}", "ap-southeast-2"]}}"#)).await;
    let (_, message) = rig.failure(&job);
    assert!(
        message.contains("tcp 22 from 0.0.0.0/0\nNot checked:\ncloudformation:DescribeStacks in ap-southeast-2"),
        "{message}"
    );
}

#[tokio::test]
async fn prefix_lists_are_resolved_or_labelled_unverified() {
    let rig = Rig::new().await;
    let stack = stack_name("prefix", "-test");
    rig.create_stack(REGION, &stack, &groups_template(&[("Sg", &[(22, 22, APPROVED)])]), &[]).await;
    let ec2 = rig.clients(REGION).ec2;
    let list = ec2
        .create_managed_prefix_list()
        .prefix_list_name(format!("office-{}", uuid::Uuid::new_v4().simple()))
        .max_entries(5)
        .address_family("IPv4")
        .entries(aws_sdk_ec2::types::AddPrefixListEntry::builder().cidr("10.1.0.0/16").build())
        .entries(aws_sdk_ec2::types::AddPrefixListEntry::builder().cidr("0.0.0.0/0").build())
        .send()
        .await
        .expect("prefix list");
    let list_id = list.prefix_list().and_then(|p| p.prefix_list_id()).expect("id").to_string();
    let group = rig.physical_id(REGION, &stack, "Sg").await;
    let via_list = IpPermission::builder()
        .ip_protocol("tcp")
        .from_port(22)
        .to_port(22)
        .prefix_list_ids(PrefixListId::builder().prefix_list_id(&list_id).build())
        .build();
    rig.add_ingress(REGION, &group, via_list).await;
    let params = format!(r#"{{"stackName": "{stack}", "approvedCidrs": ["{APPROVED}", "10.0.0.0/8"]}}"#);

    let job = rig.run(&params).await;
    let (_, message) = rig.failure(&job);
    assert!(message.ends_with(&format!(" : tcp 22 from 0.0.0.0/0 (in {list_id})")), "{message}");

    rig.proxy.refuse(REGION, "GetManagedPrefixListEntries", "UnauthorizedOperation");
    let job = rig.run(&params).await;
    let (_, message) = rig.failure(&job);
    assert!(
        message.ends_with(&format!(" : tcp 22 from {list_id} (unverified: prefix list entries could not be read)")),
        "{message}"
    );
    let passing = format!(r#"{{"stackName": "{stack}", "approvedCidrs": ["{APPROVED}"], "prefixLists": "pass"}}"#);
    let job = rig.run(&passing).await;
    let (summary, _) = rig.success(&job);
    assert!(
        summary.ends_with(
            "1 exposure through prefix lists that could not be read passed unverified (prefixLists is \"pass\")"
        ),
        "{summary}"
    );
}

#[tokio::test]
async fn all_regions_means_every_enabled_region() {
    let rig = Rig::new().await;
    let stack = stack_name("everywhere", "-test");
    rig.create_stack(OTHER_REGION, &stack, &groups_template(&[("Sg", &[(22, 22, APPROVED)])]), &[]).await;
    let enabled = rig.clients(REGION).enabled_regions().await.expect("regions");
    assert!(enabled.len() > 2 && enabled.contains(&OTHER_REGION.to_string()));
    let job =
        rig.run(&format!(r#"{{"stackName": "{stack}", "regions": "all", "approvedCidrs": ["{APPROVED}"]}}"#)).await;
    let (summary, variables) = rig.success(&job);
    assert_eq!(
        summary,
        format!("1 security group in {} regions checked, no violations (stack {stack})", enabled.len())
    );
    assert_eq!(variables["regionsChecked"], enabled.len().to_string());
}
