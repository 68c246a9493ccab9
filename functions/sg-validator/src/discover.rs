//! Finding a stack's security groups in one region: the stack's resources (recursively through nested
//! stacks), the groups that its standalone `AWS::EC2::SecurityGroupIngress` resources change (which may
//! live outside the stack), and every group tagged `aws:cloudformation:stack-name=<stack>` (the
//! reference's filter). Every list call is paginated.

use crate::evaluate::{Group, Permission, PrefixLists};
use aws_sdk_cloudformation::error::ProvideErrorMetadata;
use aws_sdk_cloudformation::types::TemplateStage;
use aws_sdk_ec2::types::Filter;
use cfn_validator::template::{self, Node};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

/// Nested stacks are followed this deep (CloudFormation itself stops well before).
const MAX_NESTING: usize = 10;
/// Values per `group-id` filter in one DescribeSecurityGroups call (EC2 accepts up to 200).
const IDS_PER_CALL: usize = 200;
/// `MaxResults` of DescribeSecurityGroups pages (EC2's maximum).
const GROUPS_PER_PAGE: i32 = 1000;

/// A failed AWS call: which call, in which region, and the SDK's error as the source.
#[derive(Debug, thiserror::Error)]
#[error("{call} in {region} failed: {detail}", detail = CallError::detail(self))]
pub struct CallError {
    pub call: &'static str,
    pub region: String,
    /// The service's error code (`AccessDenied`, `UnauthorizedOperation`, `OptInRequired`, ...), if any.
    pub code: Option<String>,
    /// The service's error message, if it sent one.
    pub message: Option<String>,
    #[source]
    pub source: Box<dyn std::error::Error + Send + Sync>,
}

impl CallError {
    pub fn new<E>(call: &'static str, region: &str, error: aws_sdk_ec2::error::SdkError<E>) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        // A service error keeps its code and message; a transport error (timeout, refused connection)
        // has neither and stays whole as the source.
        let (code, message) = match error.as_service_error() {
            Some(service) => (service.code().map(str::to_string), service.message().map(str::to_string)),
            None => (None, None),
        };
        Self { call, region: region.to_string(), code, message, source: Box::new(error) }
    }

    fn detail(&self) -> String {
        match (&self.code, &self.message) {
            (Some(code), Some(message)) => format!("{code}: {message}"),
            (Some(code), None) => code.clone(),
            (None, Some(message)) => message.clone(),
            (None, None) => codepipeline_action::error::error_chain(self.source.as_ref()),
        }
    }

    /// Whether the caller lacks permission (the job fails as a PermissionError).
    pub fn is_access_denied(&self) -> bool {
        matches!(self.code.as_deref(), Some("AccessDenied" | "AccessDeniedException" | "UnauthorizedOperation"))
    }

    /// Whether the region refused the credentials themselves, which is how AWS answers in a region that is
    /// not enabled for the account (EC2 `AuthFailure`, CloudFormation `InvalidClientTokenId`, ...).
    pub fn is_region_not_enabled(&self) -> bool {
        matches!(
            self.code.as_deref(),
            Some("OptInRequired" | "AuthFailure" | "InvalidClientTokenId" | "UnrecognizedClientException")
        )
    }
}

/// The stack as CloudFormation describes it in one region.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StackInfo {
    pub region: String,
    pub name: String,
    pub stack_id: String,
    pub status: String,
    /// Why the stack is in its status (set for failures).
    pub status_reason: Option<String>,
    pub termination_protection: bool,
    /// Set when the stack is itself nested in another one (its root stack's id).
    pub root_id: Option<String>,
}

impl StackInfo {
    fn from_sdk(region: &str, stack: &aws_sdk_cloudformation::types::Stack) -> Self {
        Self {
            region: region.to_string(),
            name: stack.stack_name().unwrap_or_default().to_string(),
            stack_id: stack.stack_id().unwrap_or_default().to_string(),
            status: stack.stack_status().map(|s| s.as_str().to_string()).unwrap_or_default(),
            status_reason: stack.stack_status_reason().map(str::to_string),
            termination_protection: stack.enable_termination_protection().unwrap_or(false),
            root_id: stack.root_id().filter(|root| Some(*root) != stack.stack_id()).map(str::to_string),
        }
    }
}

/// A standalone ingress resource whose target group could not be determined: the job cannot vouch for
/// what it opens, so it is reported (and fails the check), never skipped.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnresolvedIngress {
    pub region: String,
    /// The (nested) stack that holds it.
    pub stack: String,
    pub logical_id: String,
    pub reason: String,
}

impl fmt::Display for UnresolvedIngress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} : {} ({}) : the security group this AWS::EC2::SecurityGroupIngress changes could not be determined: {}",
            self.region, self.logical_id, self.stack, self.reason
        )
    }
}

/// What one region holds of the stack, ready for evaluation.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RegionScan {
    pub region: String,
    /// None when the stack does not exist in the region.
    pub stack: Option<StackInfo>,
    /// The groups from the stack's resources, standalone ingress targets and the tag filter, described.
    pub groups: Vec<Group>,
    /// Group ids (or default-VPC names) the stack names that EC2 does not know: not checked.
    pub missing: Vec<String>,
    /// Standalone ingress resources whose target group could not be determined.
    pub unresolved_ingress: Vec<UnresolvedIngress>,
    /// The entries of every prefix list the groups use (None: could not be read).
    pub prefix_lists: PrefixLists,
}

/// A standalone ingress resource found in a (nested) stack.
#[derive(Clone, Debug)]
struct IngressResource {
    stack: String,
    logical_id: String,
    physical_id: String,
}

/// One (nested) stack's resources: logical id -> physical id.
type ResourceIds = BTreeMap<String, String>;

/// AWS clients for one region.
#[derive(Clone, Debug)]
pub struct RegionClients {
    pub region: String,
    pub cloudformation: aws_sdk_cloudformation::Client,
    pub ec2: aws_sdk_ec2::Client,
}

impl RegionClients {
    pub fn new(base: &aws_config::SdkConfig, region: &str) -> Self {
        let config = base.to_builder().region(aws_config::Region::new(region.to_string())).build();
        Self {
            region: region.to_string(),
            cloudformation: aws_sdk_cloudformation::Client::new(&config),
            ec2: aws_sdk_ec2::Client::new(&config),
        }
    }

    /// The stack, by name or id; None when it does not exist (a deleted stack is reported by id only,
    /// with status DELETE_COMPLETE).
    pub async fn describe_stack(&self, stack: &str) -> Result<Option<StackInfo>, CallError> {
        match self.cloudformation.describe_stacks().stack_name(stack).send().await {
            Ok(output) => Ok(output.stacks().first().map(|s| StackInfo::from_sdk(&self.region, s))),
            Err(error) => {
                let missing = error.as_service_error().is_some_and(|e| {
                    e.code() == Some("ValidationError") && e.message().is_some_and(|m| m.contains("does not exist"))
                });
                if missing {
                    Ok(None)
                } else {
                    Err(CallError::new("cloudformation:DescribeStacks", &self.region, error))
                }
            }
        }
    }

    /// Asks CloudFormation to delete the stack (idempotent: deleting a deleting stack is accepted).
    pub async fn delete_stack(&self, stack_id: &str) -> Result<(), CallError> {
        self.cloudformation
            .delete_stack()
            .stack_name(stack_id)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| CallError::new("cloudformation:DeleteStack", &self.region, e))
    }

    /// Every enabled region of the account (DescribeRegions in this client's region).
    pub async fn enabled_regions(&self) -> Result<Vec<String>, CallError> {
        let output = self
            .ec2
            .describe_regions()
            .send()
            .await
            .map_err(|e| CallError::new("ec2:DescribeRegions", &self.region, e))?;
        let mut regions: Vec<String> =
            output.regions().iter().filter_map(|r| r.region_name().map(str::to_string)).collect();
        regions.sort();
        regions.dedup();
        Ok(regions)
    }

    /// Everything this region holds of `stack`: found through the stack (if it exists here) and through
    /// the tag filter, concurrently; then the groups described and their prefix lists resolved.
    pub async fn scan(&self, stack: &str) -> Result<RegionScan, CallError> {
        let (through_stack, tagged) = futures::join!(self.through_stack(stack), self.tagged_groups(stack));
        let (info, mut ids, unresolved_ingress) = through_stack?;
        let mut groups = tagged?;
        for group in &groups {
            ids.remove(&group.group_id);
        }
        let (described, missing) = self.groups(&ids).await?;
        groups.extend(described);
        groups.sort_by(|a, b| a.group_id.cmp(&b.group_id));
        groups.dedup_by(|a, b| a.group_id == b.group_id);
        let prefix_lists = self.prefix_lists(&groups).await;
        Ok(RegionScan { region: self.region.clone(), stack: info, groups, missing, unresolved_ingress, prefix_lists })
    }

    /// The stack (if here), the group ids of its resources and of its standalone ingress targets.
    async fn through_stack(
        &self,
        stack: &str,
    ) -> Result<(Option<StackInfo>, BTreeSet<String>, Vec<UnresolvedIngress>), CallError> {
        let Some(info) = self.describe_stack(stack).await? else {
            return Ok((None, BTreeSet::new(), Vec::new()));
        };
        let mut group_ids = BTreeSet::new();
        let mut ingress = Vec::new();
        let mut resources: BTreeMap<String, ResourceIds> = BTreeMap::new();
        let mut pending = vec![(info.stack_id.clone(), 0_usize)];
        while let Some((name, depth)) = pending.pop() {
            let ids = resources.entry(name.clone()).or_default();
            let mut pages =
                self.cloudformation.list_stack_resources().stack_name(&name).into_paginator().items().send();
            while let Some(item) = pages.next().await {
                let resource =
                    item.map_err(|e| CallError::new("cloudformation:ListStackResources", &self.region, e))?;
                let logical = resource.logical_resource_id().unwrap_or_default().to_string();
                let physical = resource.physical_resource_id().unwrap_or_default().to_string();
                match resource.resource_type() {
                    Some("AWS::EC2::SecurityGroup") if !physical.is_empty() => {
                        group_ids.insert(physical.clone());
                    }
                    Some("AWS::EC2::SecurityGroupIngress") => ingress.push(IngressResource {
                        stack: name.clone(),
                        logical_id: logical.clone(),
                        physical_id: physical.clone(),
                    }),
                    Some("AWS::CloudFormation::Stack") if !physical.is_empty() && depth < MAX_NESTING => {
                        pending.push((physical.clone(), depth + 1));
                    }
                    _ => {}
                }
                ids.insert(logical, physical);
            }
        }
        let mut unresolved = Vec::new();
        let mut templates: BTreeMap<String, Result<StackTemplate, String>> = BTreeMap::new();
        for rule in ingress {
            match self.target_of_ingress(&rule, &resources, &mut templates).await? {
                Ok(group) => {
                    group_ids.insert(group);
                }
                Err(reason) => unresolved.push(UnresolvedIngress {
                    region: self.region.clone(),
                    stack: display_stack(&rule.stack),
                    logical_id: rule.logical_id,
                    reason,
                }),
            }
        }
        Ok((Some(info), group_ids, unresolved))
    }

    /// The group a standalone ingress resource changes: by its rule id (`sgr-...`, what CloudFormation
    /// returns as its physical id), else by its `GroupId` / `GroupName` in the stack's template.
    async fn target_of_ingress(
        &self,
        rule: &IngressResource,
        resources: &BTreeMap<String, ResourceIds>,
        templates: &mut BTreeMap<String, Result<StackTemplate, String>>,
    ) -> Result<Result<String, String>, CallError> {
        if rule.physical_id.starts_with("sgr-")
            && let Some(group) = self.group_of_rule(&rule.physical_id).await?
        {
            return Ok(Ok(group));
        }
        if !templates.contains_key(&rule.stack) {
            let template = self.stack_template(&rule.stack).await?;
            templates.insert(rule.stack.clone(), template);
        }
        let template = match templates.get(&rule.stack) {
            Some(Ok(template)) => template,
            Some(Err(reason)) => return Ok(Err(reason.clone())),
            None => return Ok(Err("the stack's template could not be read".into())),
        };
        let empty = ResourceIds::new();
        let ids = resources.get(&rule.stack).unwrap_or(&empty);
        match template.ingress_target(&rule.logical_id, ids) {
            Ok(Target::GroupId(id)) => Ok(Ok(id)),
            Ok(Target::GroupName(name)) => Ok(self.group_named(&name).await?.map(|g| g.group_id).ok_or_else(|| {
                format!(
                    "no security group named `{name}` (its `GroupName`) exists in the default VPC of {}",
                    self.region
                )
            })),
            Err(reason) => Ok(Err(reason)),
        }
    }

    /// The group a security group rule (`sgr-...`) belongs to.
    async fn group_of_rule(&self, rule: &str) -> Result<Option<String>, CallError> {
        let filter = Filter::builder().name("security-group-rule-id").values(rule).build();
        let mut pages = self.ec2.describe_security_group_rules().filters(filter).into_paginator().items().send();
        while let Some(item) = pages.next().await {
            let rule = item.map_err(|e| CallError::new("ec2:DescribeSecurityGroupRules", &self.region, e))?;
            if let Some(group) = rule.group_id() {
                return Ok(Some(group.to_string()));
            }
        }
        Ok(None)
    }

    /// The group with this name in the default VPC (what a name means to EC2 and CloudFormation); None when
    /// there is none.
    async fn group_named(&self, name: &str) -> Result<Option<Group>, CallError> {
        match self.ec2.describe_security_groups().group_names(name).send().await {
            Ok(output) => Ok(output.security_groups().first().map(|g| self.group(g))),
            Err(error) if error.as_service_error().and_then(|e| e.code()) == Some("InvalidGroup.NotFound") => Ok(None),
            Err(error) => Err(CallError::new("ec2:DescribeSecurityGroups", &self.region, error)),
        }
    }

    /// The (processed) template and parameter values of a stack; Err(reason) when it cannot be used.
    async fn stack_template(&self, stack: &str) -> Result<Result<StackTemplate, String>, CallError> {
        let output = self
            .cloudformation
            .get_template()
            .stack_name(stack)
            .template_stage(TemplateStage::Processed)
            .send()
            .await
            .map_err(|e| CallError::new("cloudformation:GetTemplate", &self.region, e))?;
        let Some(body) = output.template_body() else {
            return Ok(Err("GetTemplate returned no template body".into()));
        };
        let root = match template::parse(body) {
            Ok(root) => root,
            Err(error) => return Ok(Err(format!("the stack's template could not be parsed ({error})"))),
        };
        let described = self
            .cloudformation
            .describe_stacks()
            .stack_name(stack)
            .send()
            .await
            .map_err(|e| CallError::new("cloudformation:DescribeStacks", &self.region, e))?;
        let parameters = described
            .stacks()
            .first()
            .map(|s| {
                s.parameters()
                    .iter()
                    .filter_map(|p| {
                        let value = p.resolved_value().or(p.parameter_value())?;
                        Some((p.parameter_key()?.to_string(), value.to_string()))
                    })
                    .collect()
            })
            .unwrap_or_default();
        Ok(Ok(StackTemplate { root, parameters }))
    }

    /// Groups tagged with the stack's name (the reference's filter).
    async fn tagged_groups(&self, stack: &str) -> Result<Vec<Group>, CallError> {
        let filter = Filter::builder().name("tag:aws:cloudformation:stack-name").values(stack).build();
        self.describe_groups(vec![filter]).await
    }

    /// Every group matching `filters`, with its ingress permissions, page by page.
    pub async fn describe_groups(&self, filters: Vec<Filter>) -> Result<Vec<Group>, CallError> {
        let mut out = Vec::new();
        let mut pages = self
            .ec2
            .describe_security_groups()
            .set_filters(Some(filters))
            .max_results(GROUPS_PER_PAGE)
            .into_paginator()
            .items()
            .send();
        while let Some(item) = pages.next().await {
            let group = item.map_err(|e| CallError::new("ec2:DescribeSecurityGroups", &self.region, e))?;
            out.push(self.group(&group));
        }
        Ok(out)
    }

    fn group(&self, group: &aws_sdk_ec2::types::SecurityGroup) -> Group {
        Group {
            region: self.region.clone(),
            group_id: group.group_id().unwrap_or_default().to_string(),
            ingress: group.ip_permissions().iter().map(permission).collect(),
        }
    }

    /// The groups with these ids (a `group-id` filter per chunk, each paginated) or, for an id that is not
    /// `sg-...`, this name in the default VPC (the physical id CloudFormation gives a group created without
    /// a `VpcId`). Also returns the ids and names EC2 does not know: they were not checked.
    pub async fn groups(&self, ids: &BTreeSet<String>) -> Result<(Vec<Group>, Vec<String>), CallError> {
        let (by_id, by_name): (Vec<&String>, Vec<&String>) = ids.iter().partition(|id| id.starts_with("sg-"));
        let mut out = Vec::new();
        for chunk in by_id.chunks(IDS_PER_CALL) {
            let values = chunk.iter().map(|s| s.to_string()).collect();
            let filter = Filter::builder().name("group-id").set_values(Some(values)).build();
            out.extend(self.describe_groups(vec![filter]).await?);
        }
        let found: BTreeSet<&str> = out.iter().map(|g| g.group_id.as_str()).collect();
        let mut missing: Vec<String> =
            by_id.iter().filter(|id| !found.contains(id.as_str())).map(|id| id.to_string()).collect();
        for name in by_name {
            match self.group_named(name).await? {
                Some(group) => out.push(group),
                None => missing.push(name.clone()),
            }
        }
        Ok((out, missing))
    }

    /// The entries of every prefix list the groups' ingress uses.
    async fn prefix_lists(&self, groups: &[Group]) -> PrefixLists {
        let ids: BTreeSet<&String> =
            groups.iter().flat_map(|g| g.ingress.iter().flat_map(|p| p.prefix_lists.iter())).collect();
        let mut out = PrefixLists::new();
        for id in ids {
            out.insert(id.clone(), self.prefix_list(id).await);
        }
        out
    }

    /// A managed prefix list's CIDRs; None when they cannot be read (no permission, not shared, ...).
    pub async fn prefix_list(&self, id: &str) -> Option<Vec<String>> {
        let mut cidrs = Vec::new();
        let mut pages = self.ec2.get_managed_prefix_list_entries().prefix_list_id(id).into_paginator().items().send();
        while let Some(item) = pages.next().await {
            match item {
                Ok(entry) => cidrs.extend(entry.cidr().map(str::to_string)),
                Err(error) => {
                    let error = CallError::new("ec2:GetManagedPrefixListEntries", &self.region, error);
                    tracing::warn!(prefix_list = id, error = %error, "prefix list not readable; judged by `prefixLists`");
                    return None;
                }
            }
        }
        Some(cidrs)
    }
}

/// A stack id (ARN) shown by its name.
pub fn display_stack(stack: &str) -> String {
    // arn:aws:cloudformation:region:account:stack/NAME/uuid
    stack.strip_prefix("arn:").and_then(|rest| rest.split('/').nth(1)).unwrap_or(stack).to_string()
}

/// What a standalone ingress resource names as its group.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Target {
    GroupId(String),
    GroupName(String),
}

/// A stack's template with the stack's parameter values, to resolve `GroupId` / `GroupName`.
#[derive(Clone, Debug)]
struct StackTemplate {
    root: Node,
    parameters: BTreeMap<String, String>,
}

impl StackTemplate {
    fn ingress_target(&self, logical_id: &str, resources: &ResourceIds) -> Result<Target, String> {
        let properties = self
            .root
            .get("Resources")
            .and_then(|r| r.get(logical_id))
            .and_then(|r| r.get("Properties"))
            .ok_or_else(|| format!("`{logical_id}` has no Properties in the stack's template"))?;
        if let Some(node) = properties.get("GroupId") {
            return self.resolve(node, resources).map(Target::GroupId);
        }
        if let Some(node) = properties.get("GroupName") {
            return self.resolve(node, resources).map(Target::GroupName);
        }
        Err("it has neither GroupId nor GroupName".into())
    }

    /// A literal, a `Ref` to a parameter or resource, or `Fn::GetAtt [X, GroupId]`.
    fn resolve(&self, node: &Node, resources: &ResourceIds) -> Result<String, String> {
        if let Some(text) = node.as_str() {
            return Ok(text.to_string());
        }
        if let Some(name) = node.get("Ref").and_then(Node::as_str) {
            if let Some(value) = self.parameters.get(name) {
                return Ok(value.clone());
            }
            return resources
                .get(name)
                .filter(|p| !p.is_empty())
                .cloned()
                .ok_or_else(|| format!("`Ref: {name}` names neither a parameter nor a created resource"));
        }
        if let Some(args) = node.get("Fn::GetAtt") {
            let parts: Vec<&str> = match args.as_str() {
                Some(dotted) => dotted.splitn(2, '.').collect(),
                None => args.items().iter().filter_map(Node::as_str).collect(),
            };
            if let [resource, "GroupId"] = parts.as_slice() {
                return resources
                    .get(*resource)
                    .filter(|p| !p.is_empty())
                    .cloned()
                    .ok_or_else(|| format!("`Fn::GetAtt: {resource}.GroupId` names no created resource"));
            }
        }
        let function = node.entries().first().map_or("a value", |(key, _)| key.name.as_str());
        Err(format!("its group is given by {function}, which is only known to CloudFormation"))
    }
}

fn permission(p: &aws_sdk_ec2::types::IpPermission) -> Permission {
    Permission {
        protocol: p.ip_protocol().unwrap_or("-1").to_string(),
        from_port: p.from_port(),
        to_port: p.to_port(),
        ipv4_ranges: p.ip_ranges().iter().filter_map(|r| r.cidr_ip().map(str::to_string)).collect(),
        ipv6_ranges: p.ipv6_ranges().iter().filter_map(|r| r.cidr_ipv6().map(str::to_string)).collect(),
        prefix_lists: p.prefix_list_ids().iter().filter_map(|r| r.prefix_list_id().map(str::to_string)).collect(),
        groups: p.user_id_group_pairs().iter().filter_map(|r| r.group_id().map(str::to_string)).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn template(text: &str, parameters: &[(&str, &str)]) -> StackTemplate {
        StackTemplate {
            root: template::parse(text).expect("template"),
            parameters: parameters.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
        }
    }

    #[test]
    fn ingress_targets_from_the_template() {
        let t = template(
            r#"
Resources:
  Literal: {Type: AWS::EC2::SecurityGroupIngress, Properties: {GroupId: sg-literal}}
  FromParameter: {Type: AWS::EC2::SecurityGroupIngress, Properties: {GroupId: !Ref Outside}}
  FromResource: {Type: AWS::EC2::SecurityGroupIngress, Properties: {GroupId: !Ref Sg}}
  FromGetAtt: {Type: AWS::EC2::SecurityGroupIngress, Properties: {GroupId: !GetAtt Sg.GroupId}}
  ByName: {Type: AWS::EC2::SecurityGroupIngress, Properties: {GroupName: !Ref Name}}
  Imported: {Type: AWS::EC2::SecurityGroupIngress, Properties: {GroupId: !ImportValue shared-sg}}
  Neither: {Type: AWS::EC2::SecurityGroupIngress, Properties: {IpProtocol: tcp}}
"#,
            &[("Outside", "sg-outside"), ("Name", "default")],
        );
        let resources: ResourceIds = [("Sg".to_string(), "sg-in-stack".to_string())].into();
        let target = |id: &str| t.ingress_target(id, &resources);
        assert_eq!(target("Literal"), Ok(Target::GroupId("sg-literal".into())));
        assert_eq!(target("FromParameter"), Ok(Target::GroupId("sg-outside".into())));
        assert_eq!(target("FromResource"), Ok(Target::GroupId("sg-in-stack".into())));
        assert_eq!(target("FromGetAtt"), Ok(Target::GroupId("sg-in-stack".into())));
        assert_eq!(target("ByName"), Ok(Target::GroupName("default".into())));
        assert_eq!(
            target("Imported"),
            Err("its group is given by Fn::ImportValue, which is only known to CloudFormation".into())
        );
        assert_eq!(target("Neither"), Err("it has neither GroupId nor GroupName".into()));
        assert!(target("Missing").is_err());
    }

    #[test]
    fn stack_ids_are_shown_by_name() {
        assert_eq!(
            display_stack("arn:aws:cloudformation:us-east-1:123456789012:stack/app-test-Inner-1X2Y/5a6b-7c8d"),
            "app-test-Inner-1X2Y"
        );
        assert_eq!(display_stack("app-test"), "app-test");
    }
}
