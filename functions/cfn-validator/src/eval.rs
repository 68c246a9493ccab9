//! Evaluation of a template's intrinsic functions, sound by default.
//!
//! A template does not say which values its parameters will take, so a resource is evaluated once per
//! *scenario*: one choice for every parameter and every undecidable condition the resource actually
//! touches. A parameter's candidates are its `AllowedValues`, or else its `Default` plus "any value"
//! (an [`Unknown`]); a condition that depends on an unknown value is tried both ways, consistently for
//! the whole resource (the same condition gives the same branch everywhere in one scenario). Under a
//! template configuration file the given values are the only candidates.
//!
//! The scenarios are enumerated by [`explore`], an odometer over the choices made while evaluating: each
//! run replays a prefix of earlier choices and takes the first option for anything new, so only the
//! variables a resource really depends on multiply its runs.

use crate::template::{Loc, Node, Value};
use std::collections::{BTreeMap, HashMap};
use std::fmt;

/// An evaluated value with the position of the template text it came from.
#[derive(Clone, Debug, PartialEq)]
pub struct Ev {
    pub loc: Loc,
    pub val: Val,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Val {
    Null,
    Bool(bool),
    Number(String),
    String(String),
    List(Vec<Ev>),
    Map(Vec<(String, Ev)>),
    /// A value not known before deployment.
    Unknown(Unknown),
}

/// Why a value is not known before deployment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Unknown {
    /// A parameter that can take any value (the reason says why).
    Parameter { name: String, why: String },
    /// `AWS::Region`, `AWS::AccountId`, ...
    Pseudo(String),
    /// `Ref` to a resource (`attribute` None) or `Fn::GetAtt`.
    Resource { id: String, attribute: Option<String> },
    /// A function whose result only exists at deployment (`Fn::ImportValue`, `Fn::GetAZs`, ...).
    Function(&'static str),
    /// Built from other values, one of which is unknown. `pattern`, when known (`Fn::Sub`), is the text's
    /// shape: literal pieces (`Some`) and unknown ones (`None`).
    Derived { function: &'static str, part: Box<Unknown>, pattern: Option<Vec<Option<String>>> },
    /// The template is wrong here; the error is reported separately.
    Invalid,
}

impl fmt::Display for Unknown {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Unknown::Parameter { name, why } => write!(f, "parameter `{name}` {why}"),
            Unknown::Pseudo(name) => write!(f, "`{name}` is only known at deployment"),
            Unknown::Resource { id, attribute: None } => write!(f, "it refers to resource `{id}`"),
            Unknown::Resource { id, attribute: Some(a) } => {
                write!(f, "`Fn::GetAtt {id}.{a}` is only known at deployment")
            }
            Unknown::Function(name) => write!(f, "`{name}` is only known at deployment"),
            Unknown::Derived { function, part, .. } => write!(f, "{function} uses a value that is not known: {part}"),
            Unknown::Invalid => write!(f, "the expression is invalid"),
        }
    }
}

impl Unknown {
    /// Whether the value, once known, may be `text` (surrounding whitespace aside; `text` has none).
    /// Conservative: true unless it provably cannot — a pseudo parameter, an AWS resource's `Ref` or its
    /// `...Arn`/`...Id`/`...Name` attribute never contains `*`, and an `Fn::Sub` result keeps its literal
    /// pieces (`arn:${AWS::Partition}:s3:::b/*` is never `*`).
    pub fn may_be(&self, text: &str, template: &Template<'_>) -> bool {
        match self {
            Unknown::Parameter { .. } | Unknown::Function(_) => true,
            Unknown::Pseudo(_) => !text.contains('*'),
            Unknown::Resource { id, attribute } => {
                // A custom resource's provider chooses its physical id and attributes freely, and attributes
                // such as a nested stack's `Outputs.X` or an SSM parameter's `Value` are free text.
                let aws_type = template
                    .resource_type(id)
                    .is_some_and(|ty| ty.starts_with("AWS::") && ty != "AWS::CloudFormation::CustomResource");
                let identifier = attribute.as_deref().is_none_or(|a| {
                    !a.contains('.') && (a.ends_with("Arn") || a.ends_with("Id") || a.ends_with("Name"))
                });
                !(aws_type && identifier && text.contains('*'))
            }
            Unknown::Derived { pattern: Some(pattern), .. } => {
                // A dynamic reference (`{{resolve:...}}`) is replaced at deployment by any text.
                if pattern.iter().flatten().any(|literal| literal.contains("{{resolve:")) {
                    return true;
                }
                // Whitespace is dropped from the literal pieces: the value is compared trimmed, and dropping
                // more only lets more values fit (conservative).
                let squeezed: Vec<Option<String>> = pattern
                    .iter()
                    .map(|piece| piece.as_ref().map(|l| l.chars().filter(|c| !c.is_whitespace()).collect::<String>()))
                    .filter(|piece| piece.as_ref().is_none_or(|l| !l.is_empty()))
                    .collect();
                matches_pattern(&squeezed, text)
            }
            Unknown::Derived { pattern: None, .. } => true,
            Unknown::Invalid => false,
        }
    }
}

/// Whether `text` fits `pattern`, where a `None` piece stands for any text.
fn matches_pattern(pattern: &[Option<String>], text: &str) -> bool {
    match pattern.split_first() {
        None => text.is_empty(),
        Some((Some(literal), rest)) => text.strip_prefix(literal.as_str()).is_some_and(|t| matches_pattern(rest, t)),
        Some((None, rest)) => {
            (0..=text.len()).filter(|&i| text.is_char_boundary(i)).any(|i| matches_pattern(rest, &text[i..]))
        }
    }
}

impl Ev {
    fn new(loc: Loc, val: Val) -> Self {
        Self { loc, val }
    }

    pub fn get(&self, key: &str) -> Option<&Ev> {
        match &self.val {
            Val::Map(entries) => entries.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    pub fn items(&self) -> &[Ev] {
        match &self.val {
            Val::List(items) => items,
            _ => &[],
        }
    }

    pub fn entries(&self) -> &[(String, Ev)] {
        match &self.val {
            Val::Map(entries) => entries,
            _ => &[],
        }
    }

    pub fn unknown(&self) -> Option<&Unknown> {
        match &self.val {
            Val::Unknown(u) => Some(u),
            _ => None,
        }
    }

    /// A scalar as CloudFormation passes it to a resource: strings, numbers and booleans as text.
    pub fn text(&self) -> Option<String> {
        match &self.val {
            Val::String(s) | Val::Number(s) => Some(s.clone()),
            Val::Bool(b) => Some(b.to_string()),
            _ => None,
        }
    }

    /// A boolean property: `true`/`false` or the strings "true"/"false" in any case, and the YAML 1.1
    /// spellings `yes`/`no`, `on`/`off`, `y`/`n` (CloudFormation's YAML reader and cfn tools take them as
    /// booleans; taking them as anything else would let `PubliclyAccessible: yes` pass unseen).
    pub fn boolean(&self) -> Option<bool> {
        match &self.val {
            Val::Bool(b) => Some(*b),
            Val::String(s) => match s.to_ascii_lowercase().as_str() {
                "true" | "yes" | "on" | "y" => Some(true),
                "false" | "no" | "off" | "n" => Some(false),
                _ => None,
            },
            _ => None,
        }
    }
}

/// A problem CloudFormation itself would reject (undefined reference, missing mapping key, ...).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct TemplateError {
    pub loc: Loc,
    pub message: String,
}

/// One way a parameter may be given.
#[derive(Clone, Debug)]
struct Candidate {
    /// `None`: any value, for the reason in `why`.
    value: Option<ParamValue>,
    label: String,
    why: &'static str,
}

impl Candidate {
    fn value(label: String, value: ParamValue) -> Self {
        Self { value: Some(value), label, why: "" }
    }

    fn any(label: String, why: &'static str) -> Self {
        Self { value: None, label, why }
    }
}

#[derive(Clone, Debug)]
enum ParamValue {
    Text(String),
    List(Vec<String>),
}

#[derive(Clone, Debug)]
struct Parameter {
    candidates: Vec<Candidate>,
}

/// Parameter values from a template configuration file (`{"Parameters": {...}}`).
pub type Assignment = BTreeMap<String, String>;

/// The parts of a template evaluation needs, with each parameter's candidate values.
#[derive(Debug)]
pub struct Template<'t> {
    parameters: HashMap<&'t str, Parameter>,
    conditions: HashMap<&'t str, &'t Node>,
    mappings: Option<&'t Node>,
    resources: HashMap<&'t str, &'t Node>,
    /// Problems found while reading the sections themselves.
    pub errors: Vec<TemplateError>,
}

const PSEUDO: &[&str] = &[
    "AWS::AccountId",
    "AWS::NotificationARNs",
    "AWS::Partition",
    "AWS::Region",
    "AWS::StackId",
    "AWS::StackName",
    "AWS::URLSuffix",
];

impl<'t> Template<'t> {
    /// `assignment` None: every value each parameter may take. Some: exactly the configuration's values
    /// (a parameter it does not give takes its Default).
    pub fn new(root: &'t Node, assignment: Option<&Assignment>) -> Self {
        let mut errors = Vec::new();
        let mut parameters = HashMap::new();
        if let Some(section) = root.get("Parameters") {
            for (key, decl) in section.entries() {
                parameters.insert(key.name.as_str(), Parameter::new(&key.name, decl, assignment));
            }
        }
        if let Some(assignment) = assignment {
            for name in assignment.keys() {
                if !parameters.contains_key(name.as_str()) {
                    errors.push(TemplateError {
                        loc: root.get("Parameters").map_or(root.loc, |p| p.loc),
                        message: format!(
                            "the configuration gives parameter `{name}`, which the template does not declare \
                             (CloudFormation rejects the stack)"
                        ),
                    });
                }
            }
        }
        let conditions = root
            .get("Conditions")
            .map(|c| c.entries().iter().map(|(k, v)| (k.name.as_str(), v)).collect())
            .unwrap_or_default();
        let resources = root
            .get("Resources")
            .map(|c| c.entries().iter().map(|(k, v)| (k.name.as_str(), v)).collect())
            .unwrap_or_default();
        Self { parameters, conditions, mappings: root.get("Mappings"), resources, errors }
    }

    pub fn has_resource(&self, id: &str) -> bool {
        self.resources.contains_key(id)
    }

    /// The type of resource `id`, if it is declared with a literal type.
    pub fn resource_type(&self, id: &str) -> Option<&'t str> {
        self.resources.get(id).and_then(|r| r.get("Type")).and_then(Node::as_str)
    }
}

impl Parameter {
    fn new(name: &str, decl: &Node, assignment: Option<&Assignment>) -> Self {
        let ty = decl.get("Type").and_then(Node::as_str).unwrap_or("String");
        let is_list = ty == "CommaDelimitedList" || ty.starts_with("List<");
        let value_of = |text: &str| {
            if is_list {
                ParamValue::List(text.split(',').map(|s| s.trim().to_string()).collect())
            } else {
                ParamValue::Text(text.to_string())
            }
        };
        let default = decl.get("Default").and_then(scalar_text);
        let one = |candidate| Self { candidates: vec![candidate] };
        if ty.starts_with("AWS::SSM::Parameter::Value<") {
            return one(Candidate::any(format!("{name}=<from SSM>"), "is read from SSM Parameter Store at deployment"));
        }
        if let Some(assignment) = assignment {
            return match (assignment.get(name), default) {
                (Some(text), _) => one(Candidate::value(format!("{name}={text}"), value_of(text))),
                (None, Some(text)) => one(Candidate::value(format!("{name}={text} (Default)"), value_of(&text))),
                (None, None) => one(Candidate::any(
                    format!("{name}=<not given>"),
                    "has no value in the configuration and no Default",
                )),
            };
        }
        let allowed: Vec<String> =
            decl.get("AllowedValues").map(|a| a.items().iter().filter_map(scalar_text).collect()).unwrap_or_default();
        if !allowed.is_empty() {
            let mut candidates: Vec<Candidate> = Vec::new();
            // The Default first, so the first scenario is the one a plain deployment gets.
            for text in default.iter().chain(allowed.iter()) {
                let label = format!("{name}={text}");
                if !candidates.iter().any(|c| c.label == label) {
                    candidates.push(Candidate::value(label, value_of(text)));
                }
            }
            return Self { candidates };
        }
        let mut candidates = Vec::new();
        let why = match &default {
            Some(text) => {
                candidates.push(Candidate::value(format!("{name}={text} (Default)"), value_of(text)));
                "has no AllowedValues, so its Default can be overridden with any value"
            }
            None => "has no Default and no AllowedValues, so it can be any value",
        };
        candidates.push(Candidate::any(format!("{name}=<any value>"), why));
        Self { candidates }
    }
}

fn scalar_text(node: &Node) -> Option<String> {
    match &node.value {
        Value::String(s) | Value::Number(s) => Some(s.clone()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Var {
    Param(String),
    Cond(String),
    /// An unknown Fn::FindInMap key (`AWS::Region`, a free parameter): one of the keys at that level.
    MapKey(String),
}

#[derive(Debug)]
struct Choice {
    index: usize,
    count: usize,
}

/// Chooses, run after run, every combination of the options met while evaluating.
#[derive(Debug, Default)]
struct Chooser {
    prefix: Vec<usize>,
    made: Vec<Choice>,
    assigned: HashMap<Var, usize>,
    labels: Vec<String>,
}

impl Chooser {
    fn choose(&mut self, var: Var, count: usize, label: impl Fn(usize) -> String) -> usize {
        if let Some(&index) = self.assigned.get(&var) {
            return index;
        }
        let position = self.made.len();
        let index = self.prefix.get(position).copied().unwrap_or(0);
        self.made.push(Choice { index, count });
        self.assigned.insert(var, index);
        if count > 1 {
            self.labels.push(label(index));
        }
        index
    }

    /// The prefix for the next run, or None when every combination has been run.
    fn next(&self) -> Option<Vec<usize>> {
        let position = self.made.iter().rposition(|c| c.index + 1 < c.count)?;
        let mut prefix: Vec<usize> = self.made[..position].iter().map(|c| c.index).collect();
        prefix.push(self.made[position].index + 1);
        Some(prefix)
    }
}

/// One scenario's evaluation context.
#[derive(Debug)]
pub struct Evaluator<'e, 't> {
    template: &'e Template<'t>,
    chooser: Chooser,
    errors: Vec<TemplateError>,
    depth: usize,
}

/// The runs of one exploration.
#[derive(Debug)]
pub struct Exploration<T> {
    /// Each run's result with the choices that made its scenario (empty when nothing was chosen).
    pub runs: Vec<(Vec<String>, T)>,
    /// Template errors met in any run, deduplicated.
    pub errors: Vec<TemplateError>,
    /// True when the limit stopped the enumeration early.
    pub truncated: bool,
}

/// Runs `f` once per scenario, at most `limit` times.
pub fn explore<'t, T>(
    template: &Template<'t>,
    limit: usize,
    mut f: impl FnMut(&mut Evaluator<'_, 't>) -> T,
) -> Exploration<T> {
    let mut runs = Vec::new();
    let mut errors = Vec::new();
    let mut prefix = Vec::new();
    loop {
        let mut evaluator =
            Evaluator { template, chooser: Chooser { prefix, ..Chooser::default() }, errors: Vec::new(), depth: 0 };
        let result = f(&mut evaluator);
        errors.append(&mut evaluator.errors);
        let next = evaluator.chooser.next();
        runs.push((std::mem::take(&mut evaluator.chooser.labels), result));
        match next {
            None => break,
            Some(_) if runs.len() >= limit => {
                errors.sort();
                errors.dedup();
                return Exploration { runs, errors, truncated: true };
            }
            Some(p) => prefix = p,
        }
    }
    errors.sort();
    errors.dedup();
    Exploration { runs, errors, truncated: false }
}

/// Three-valued truth of a condition.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Tri {
    True,
    False,
    Unknown,
}

impl From<bool> for Tri {
    fn from(b: bool) -> Self {
        if b { Tri::True } else { Tri::False }
    }
}

const MAX_DEPTH: usize = 64;

impl<'e, 't> Evaluator<'e, 't> {
    fn error(&mut self, loc: Loc, message: impl Into<String>) -> Val {
        self.errors.push(TemplateError { loc, message: message.into() });
        Val::Unknown(Unknown::Invalid)
    }

    /// Whether the named condition holds in this scenario (an undecidable one is chosen both ways).
    pub fn condition(&mut self, name: &str, loc: Loc) -> bool {
        match self.condition_value(name, loc) {
            Tri::True => true,
            Tri::False => false,
            Tri::Unknown => {
                let index = self.chooser.choose(Var::Cond(name.to_string()), 2, |i| {
                    format!("condition {name} {}", if i == 0 { "true" } else { "false" })
                });
                index == 0
            }
        }
    }

    fn condition_value(&mut self, name: &str, loc: Loc) -> Tri {
        if let Some(&index) = self.chooser.assigned.get(&Var::Cond(name.to_string())) {
            return Tri::from(index == 0);
        }
        let Some(node) = self.template.conditions.get(name).copied() else {
            self.error(loc, format!("condition `{name}` is not defined in Conditions"));
            return Tri::Unknown;
        };
        if self.depth > MAX_DEPTH {
            self.error(loc, format!("condition `{name}` refers to itself"));
            return Tri::Unknown;
        }
        self.depth += 1;
        let value = self.condition_expr(node);
        self.depth -= 1;
        value
    }

    fn condition_expr(&mut self, node: &Node) -> Tri {
        let [(key, arg)] = node.entries() else {
            self.error(node.loc, "a condition must be one of Fn::Equals, Fn::And, Fn::Or, Fn::Not or Condition");
            return Tri::Unknown;
        };
        match key.name.as_str() {
            "Condition" => match arg.as_str() {
                Some(name) => self.condition_value(name, arg.loc),
                None => {
                    self.error(arg.loc, "Condition takes the name of a condition");
                    Tri::Unknown
                }
            },
            "Fn::Equals" => {
                let [a, b] = arg.items() else {
                    self.error(arg.loc, "Fn::Equals takes a list of two values");
                    return Tri::Unknown;
                };
                let (a, b) = (self.eval_or_null(a), self.eval_or_null(b));
                match (comparable(&a), comparable(&b)) {
                    (Some(a), Some(b)) => Tri::from(a == b),
                    _ => Tri::Unknown,
                }
            }
            "Fn::Not" => match arg.items() {
                [inner] => match self.condition_expr(inner) {
                    Tri::True => Tri::False,
                    Tri::False => Tri::True,
                    Tri::Unknown => Tri::Unknown,
                },
                _ => {
                    self.error(arg.loc, "Fn::Not takes a list of one condition");
                    Tri::Unknown
                }
            },
            op @ ("Fn::And" | "Fn::Or") => {
                let is_and = op == "Fn::And";
                let mut result = Tri::from(is_and);
                if arg.items().len() < 2 {
                    self.error(arg.loc, format!("{op} takes a list of 2 to 10 conditions"));
                }
                for item in arg.items() {
                    match (self.condition_expr(item), is_and) {
                        (Tri::False, true) => return Tri::False,
                        (Tri::True, false) => return Tri::True,
                        (Tri::Unknown, _) => result = Tri::Unknown,
                        _ => {}
                    }
                }
                result
            }
            other => {
                self.error(key.loc, format!("`{other}` cannot be used in a condition"));
                Tri::Unknown
            }
        }
    }

    fn eval_or_null(&mut self, node: &Node) -> Ev {
        self.eval(node).unwrap_or(Ev::new(node.loc, Val::Null))
    }

    /// Evaluates a value; None is `AWS::NoValue` (the property or list item is removed).
    pub fn eval(&mut self, node: &Node) -> Option<Ev> {
        if self.depth > MAX_DEPTH {
            return Some(Ev::new(node.loc, self.error(node.loc, "the value is nested too deeply")));
        }
        self.depth += 1;
        let result = self.eval_inner(node);
        self.depth -= 1;
        result
    }

    fn eval_inner(&mut self, node: &Node) -> Option<Ev> {
        let loc = node.loc;
        let val = match &node.value {
            Value::Null => Val::Null,
            Value::Bool(b) => Val::Bool(*b),
            Value::Number(n) => Val::Number(n.clone()),
            Value::String(s) => Val::String(s.clone()),
            Value::List(items) => Val::List(items.iter().filter_map(|i| self.eval(i)).collect()),
            Value::Map(entries) => {
                if let [(key, arg)] = entries.as_slice()
                    && (key.name == "Ref" || key.name.starts_with("Fn::"))
                {
                    return self.intrinsic(&key.name, arg, loc);
                }
                Val::Map(entries.iter().filter_map(|(k, v)| self.eval(v).map(|v| (k.name.clone(), v))).collect())
            }
        };
        Some(Ev::new(loc, val))
    }

    fn intrinsic(&mut self, function: &str, arg: &Node, loc: Loc) -> Option<Ev> {
        let val = match function {
            "Ref" => return self.reference(arg, loc),
            "Fn::If" => {
                let [cond, yes, no] = arg.items() else {
                    return Some(Ev::new(
                        loc,
                        self.error(arg.loc, "Fn::If takes [condition, value if true, value if false]"),
                    ));
                };
                let Some(name) = cond.as_str() else {
                    return Some(Ev::new(loc, self.error(cond.loc, "Fn::If takes the name of a condition")));
                };
                let branch = if self.condition(name, cond.loc) { yes } else { no };
                return self.eval(branch);
            }
            "Fn::GetAtt" => {
                let parts: Vec<String> = match &arg.value {
                    Value::String(s) => s.splitn(2, '.').map(str::to_string).collect(),
                    Value::List(items) => {
                        items.iter().map(|i| self.eval_or_null(i).text().unwrap_or_default()).collect()
                    }
                    _ => Vec::new(),
                };
                match parts.as_slice() {
                    [id, attribute] if !id.is_empty() && !attribute.is_empty() => {
                        if !self.template.has_resource(id) {
                            self.error(
                                arg.loc,
                                format!("Fn::GetAtt refers to `{id}`, which is not a resource of the template"),
                            )
                        } else {
                            Val::Unknown(Unknown::Resource { id: id.clone(), attribute: Some(attribute.clone()) })
                        }
                    }
                    _ => self.error(arg.loc, "Fn::GetAtt takes [resource, attribute] or \"resource.attribute\""),
                }
            }
            "Fn::Sub" => self.sub(arg),
            "Fn::Join" => self.join(arg),
            "Fn::Select" => return self.select(arg, loc),
            "Fn::Split" => self.split(arg),
            "Fn::FindInMap" => return self.find_in_map(arg, loc),
            "Fn::ImportValue" => Val::Unknown(Unknown::Function("Fn::ImportValue")),
            "Fn::GetAZs" => Val::Unknown(Unknown::Function("Fn::GetAZs")),
            "Fn::Base64" => Val::Unknown(Unknown::Function("Fn::Base64")),
            "Fn::Cidr" => Val::Unknown(Unknown::Function("Fn::Cidr")),
            "Fn::Transform" => Val::Unknown(Unknown::Function("Fn::Transform")),
            "Fn::ToJsonString" => Val::Unknown(Unknown::Function("Fn::ToJsonString")),
            "Fn::Length" => Val::Unknown(Unknown::Function("Fn::Length")),
            "Fn::GetParam" => Val::Unknown(Unknown::Function("Fn::GetParam")),
            other => {
                // Not an intrinsic function: an ordinary map with one key that happens to start with "Fn::".
                let key = other.to_string();
                return self.eval(arg).map(|v| Ev::new(loc, Val::Map(vec![(key, v)])));
            }
        };
        Some(Ev::new(loc, val))
    }

    fn reference(&mut self, arg: &Node, loc: Loc) -> Option<Ev> {
        let Some(name) = arg.as_str() else {
            return Some(Ev::new(loc, self.error(arg.loc, "Ref takes a name")));
        };
        if name == "AWS::NoValue" {
            return None;
        }
        Some(Ev::new(loc, self.name_value(name, arg.loc)))
    }

    /// The value of a name as `Ref` or `${name}` sees it.
    fn name_value(&mut self, name: &str, loc: Loc) -> Val {
        if PSEUDO.contains(&name) {
            return Val::Unknown(Unknown::Pseudo(name.to_string()));
        }
        if let Some(parameter) = self.template.parameters.get(name) {
            return self.param(name, parameter, loc);
        }
        if self.template.has_resource(name) {
            return Val::Unknown(Unknown::Resource { id: name.to_string(), attribute: None });
        }
        self.error(loc, format!("`{name}` is not a parameter, a resource or a pseudo parameter of the template"))
    }

    fn param(&mut self, name: &str, parameter: &Parameter, loc: Loc) -> Val {
        let candidates = &parameter.candidates;
        let index =
            self.chooser.choose(Var::Param(name.to_string()), candidates.len(), |i| candidates[i].label.clone());
        let candidate = &candidates[index.min(candidates.len() - 1)];
        match &candidate.value {
            Some(ParamValue::Text(text)) => Val::String(text.clone()),
            Some(ParamValue::List(items)) => {
                Val::List(items.iter().map(|s| Ev::new(loc, Val::String(s.clone()))).collect())
            }
            None => Val::Unknown(Unknown::Parameter { name: name.to_string(), why: candidate.why.to_string() }),
        }
    }

    fn sub(&mut self, arg: &Node) -> Val {
        let (text, vars) = match &arg.value {
            Value::String(s) => (s.as_str(), None),
            Value::List(items) => match items.as_slice() {
                [t, vars] if t.as_str().is_some() => (t.as_str().unwrap_or_default(), Some(vars)),
                [t] if t.as_str().is_some() => (t.as_str().unwrap_or_default(), None),
                _ => return self.error(arg.loc, "Fn::Sub takes a string or [string, {variables}]"),
            },
            _ => return self.error(arg.loc, "Fn::Sub takes a string or [string, {variables}]"),
        };
        let mut out = String::new();
        let mut rest = text;
        let mut unknown = None;
        // The text's shape: literal pieces and unknown values.
        let mut pattern: Vec<Option<String>> = Vec::new();
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let Some(end) = after.find('}') else {
                out.push_str(&rest[start..]);
                rest = "";
                break;
            };
            let name = &after[..end];
            rest = &after[end + 1..];
            if let Some(literal) = name.strip_prefix('!') {
                out.push_str("${");
                out.push_str(literal);
                out.push('}');
                continue;
            }
            let name = name.trim();
            let value = match vars.and_then(|v| v.get(name)) {
                Some(node) => self.eval_or_null(node).val,
                None => match name.split_once('.') {
                    Some((id, attribute)) if !self.template.parameters.contains_key(name) => {
                        if self.template.has_resource(id) {
                            Val::Unknown(Unknown::Resource {
                                id: id.to_string(),
                                attribute: Some(attribute.to_string()),
                            })
                        } else {
                            self.error(arg.loc, format!("Fn::Sub refers to `{name}`, but `{id}` is not a resource"))
                        }
                    }
                    _ => self.name_value(name, arg.loc),
                },
            };
            match value {
                Val::String(s) | Val::Number(s) => out.push_str(&s),
                Val::Bool(b) => out.push_str(&b.to_string()),
                Val::Unknown(u) => {
                    pattern.push(Some(std::mem::take(&mut out)));
                    pattern.push(None);
                    unknown.get_or_insert(u);
                }
                _ => {
                    self.error(arg.loc, format!("Fn::Sub variable `{name}` is not a string"));
                    pattern.push(Some(std::mem::take(&mut out)));
                    pattern.push(None);
                    unknown.get_or_insert(Unknown::Invalid);
                }
            }
        }
        out.push_str(rest);
        match unknown {
            Some(Unknown::Invalid) => Val::Unknown(Unknown::Invalid),
            Some(part) => {
                pattern.push(Some(out));
                pattern.retain(|piece| piece.as_ref().is_none_or(|literal| !literal.is_empty()));
                Val::Unknown(Unknown::Derived { function: "Fn::Sub", part: Box::new(part), pattern: Some(pattern) })
            }
            None => Val::String(out),
        }
    }

    fn join(&mut self, arg: &Node) -> Val {
        let [delimiter, list] = arg.items() else {
            return self.error(arg.loc, "Fn::Join takes [delimiter, [values]]");
        };
        let Some(delimiter) = delimiter.as_str() else {
            return self.error(delimiter.loc, "the Fn::Join delimiter must be a string");
        };
        let list = self.eval_or_null(list);
        let items = match list.val {
            Val::List(items) => items,
            Val::Unknown(u) => return derived("Fn::Join", u),
            _ => return self.error(list.loc, "Fn::Join takes a list of values"),
        };
        let mut parts = Vec::with_capacity(items.len());
        for item in items {
            match item.val {
                Val::String(s) | Val::Number(s) => parts.push(s),
                Val::Bool(b) => parts.push(b.to_string()),
                Val::Unknown(u) => return derived("Fn::Join", u),
                _ => return self.error(item.loc, "Fn::Join can only join strings"),
            }
        }
        Val::String(parts.join(delimiter))
    }

    fn select(&mut self, arg: &Node, loc: Loc) -> Option<Ev> {
        let [index, list] = arg.items() else {
            return Some(Ev::new(loc, self.error(arg.loc, "Fn::Select takes [index, [values]]")));
        };
        let index_value = self.eval_or_null(index);
        let list = self.eval_or_null(list);
        let val = match (&index_value.val, list.val) {
            (Val::Unknown(u), _) => derived("Fn::Select", u.clone()),
            (_, Val::Unknown(u)) => derived("Fn::Select", u),
            (_, Val::List(items)) => match index_value.text().and_then(|t| t.parse::<usize>().ok()) {
                Some(i) if i < items.len() => return items.into_iter().nth(i),
                Some(i) => {
                    self.error(index.loc, format!("Fn::Select index {i} is past the end of a list of {}", items.len()))
                }
                None => self.error(index.loc, "the Fn::Select index must be a non-negative number"),
            },
            _ => self.error(list.loc, "Fn::Select takes a list"),
        };
        Some(Ev::new(loc, val))
    }

    fn split(&mut self, arg: &Node) -> Val {
        let [delimiter, source] = arg.items() else {
            return self.error(arg.loc, "Fn::Split takes [delimiter, string]");
        };
        let Some(delimiter) = delimiter.as_str().filter(|d| !d.is_empty()) else {
            return self.error(delimiter.loc, "the Fn::Split delimiter must be a non-empty string");
        };
        let source = self.eval_or_null(source);
        match source.val {
            Val::String(s) => {
                Val::List(s.split(delimiter).map(|p| Ev::new(source.loc, Val::String(p.to_string()))).collect())
            }
            Val::Unknown(u) => derived("Fn::Split", u),
            _ => self.error(source.loc, "Fn::Split takes a string"),
        }
    }

    fn find_in_map(&mut self, arg: &Node, loc: Loc) -> Option<Ev> {
        let items = arg.items();
        if !(3..=4).contains(&items.len()) {
            return Some(Ev::new(
                loc,
                self.error(arg.loc, "Fn::FindInMap takes [map, top-level key, second-level key]"),
            ));
        }
        let default = items.get(3).and_then(|d| d.get("DefaultValue"));
        let mut node = self.template.mappings;
        let mut path: Vec<String> = Vec::with_capacity(3);
        for (depth, item) in items[..3].iter().enumerate() {
            let value = self.eval_or_null(item);
            let key = match (&value.val, value.text()) {
                (Val::Unknown(Unknown::Invalid), _) => return Some(Ev::new(loc, Val::Unknown(Unknown::Invalid))),
                // A key only known at deployment (`!Ref AWS::Region`) can only be one of the keys the map has
                // (else CloudFormation fails): each of them is a scenario.
                (Val::Unknown(u), _) if depth > 0 && node.is_some_and(|n| !n.entries().is_empty()) => {
                    let keys: Vec<String> =
                        node.map(|n| n.entries().iter().map(|(k, _)| k.name.clone()).collect()).unwrap_or_default();
                    let name = match u {
                        Unknown::Parameter { name, .. } | Unknown::Pseudo(name) => name.clone(),
                        _ => format!("Fn::FindInMap key of {}", path.join(" > ")),
                    };
                    let var = Var::MapKey(format!("{} > {name}", path.join(" > ")));
                    let index = self.chooser.choose(var, keys.len(), |i| format!("{name}={}", keys[i]));
                    keys[index].clone()
                }
                (Val::Unknown(u), _) => return Some(Ev::new(loc, derived("Fn::FindInMap", u.clone()))),
                (_, Some(text)) => text,
                _ => return Some(Ev::new(loc, self.error(item.loc, "Fn::FindInMap keys must be strings"))),
            };
            path.push(key);
            node = node.and_then(|n| n.get(&path[depth]));
            if node.is_none() {
                if let Some(default) = default {
                    return self.eval(default);
                }
                return Some(Ev::new(
                    loc,
                    self.error(item.loc, format!("Fn::FindInMap: Mappings has no `{}`", path.join(" > "))),
                ));
            }
        }
        node.and_then(|n| self.eval(n)).map(|mut ev| {
            ev.loc = loc;
            ev
        })
    }
}

fn derived(function: &'static str, part: Unknown) -> Val {
    match part {
        Unknown::Invalid => Val::Unknown(Unknown::Invalid),
        part => Val::Unknown(Unknown::Derived { function, part: Box::new(part), pattern: None }),
    }
}

/// The text `Fn::Equals` compares, or None for an unknown value.
fn comparable(ev: &Ev) -> Option<String> {
    match &ev.val {
        Val::Unknown(_) => None,
        Val::List(items) => items.iter().map(comparable).collect::<Option<Vec<_>>>().map(|v| v.join(",")),
        Val::Null => Some(String::new()),
        _ => ev.text(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::template::parse;

    fn all_values(template_text: &str, resource: &str, assignment: Option<&Assignment>) -> Vec<(Vec<String>, String)> {
        let root = parse(template_text).expect("template parses");
        let template = Template::new(&root, assignment);
        let node = root.get("Resources").and_then(|r| r.get(resource)).expect("resource exists");
        let exploration = explore(&template, 100, |ev| {
            if let Some(c) = node.get("Condition").and_then(Node::as_str)
                && !ev.condition(c, node.loc)
            {
                return "<absent>".to_string();
            }
            node.get("Properties").and_then(|p| ev.eval(p)).map(|p| show(&p)).unwrap_or_default()
        });
        exploration.runs
    }

    fn show(ev: &Ev) -> String {
        match &ev.val {
            Val::Null => "null".into(),
            Val::Bool(b) => b.to_string(),
            Val::Number(n) | Val::String(n) => n.clone(),
            Val::List(items) => format!("[{}]", items.iter().map(show).collect::<Vec<_>>().join(",")),
            Val::Map(entries) => {
                format!("{{{}}}", entries.iter().map(|(k, v)| format!("{k}:{}", show(v))).collect::<Vec<_>>().join(","))
            }
            Val::Unknown(u) => format!("<{u}>"),
        }
    }

    const TEMPLATE: &str = r#"
Parameters:
  Env: {Type: String, AllowedValues: [dev, prod], Default: dev}
  Cidr: {Type: String, Default: 10.0.0.0/8}
  Ports: {Type: CommaDelimitedList, Default: "22,443"}
Conditions:
  IsProd: !Equals [!Ref Env, prod]
  OpenCidr: !Equals [!Ref Cidr, 0.0.0.0/0]
  Both: !And [!Condition IsProd, !Condition OpenCidr]
Mappings:
  Net: {dev: {Cidr: 10.1.0.0/16}, prod: {Cidr: 0.0.0.0/0}}
  Amis: {us-east-1: {Image: ami-east}, eu-west-1: {Image: ami-west}}
Resources:
  ByEnv:
    Type: X
    Properties:
      A: !FindInMap [Net, !Ref Env, Cidr]
      B: !If [IsProd, !Sub "${Env}-x", !Ref AWS::NoValue]
  ByRegion:
    Type: X
    Properties:
      A: !FindInMap [Net, !Ref Env, Cidr]
      B: !FindInMap [Amis, !Ref AWS::Region, Image]
  ByCidr:
    Type: X
    Properties:
      A: !Ref Cidr
      B: !If [OpenCidr, open, closed]
      C: !If [OpenCidr, again-open, again-closed]
  Conditional:
    Type: X
    Condition: IsProd
    Properties: {A: !Select [1, !Ref Ports], B: !Join ["-", [!Select [0, !Split [",", "a,b"]], !GetAtt ByEnv.Arn]]}
"#;

    #[test]
    fn allowed_values_are_each_tried_and_mappings_follow() {
        let runs = all_values(TEMPLATE, "ByEnv", None);
        let values: Vec<_> = runs.iter().map(|(_, v)| v.as_str()).collect();
        assert_eq!(values, ["{A:10.1.0.0/16}", "{A:0.0.0.0/0,B:prod-x}"]);
        assert_eq!(runs[0].0, ["Env=dev"]);
        assert_eq!(runs[1].0, ["Env=prod"]);
    }

    #[test]
    fn an_unknown_map_key_is_each_of_the_map_keys() {
        let runs = all_values(TEMPLATE, "ByRegion", None);
        let values: Vec<_> = runs.iter().map(|(labels, v)| format!("{} => {v}", labels.join(" & "))).collect();
        assert_eq!(
            values,
            [
                "Env=dev & AWS::Region=us-east-1 => {A:10.1.0.0/16,B:ami-east}",
                "Env=dev & AWS::Region=eu-west-1 => {A:10.1.0.0/16,B:ami-west}",
                "Env=prod & AWS::Region=us-east-1 => {A:0.0.0.0/0,B:ami-east}",
                "Env=prod & AWS::Region=eu-west-1 => {A:0.0.0.0/0,B:ami-west}",
            ]
        );
    }

    #[test]
    fn a_free_parameter_is_its_default_or_anything_and_conditions_stay_consistent() {
        let runs = all_values(TEMPLATE, "ByCidr", None);
        let values: Vec<_> = runs.iter().map(|(labels, v)| format!("{} => {v}", labels.join(" & "))).collect();
        assert_eq!(
            values,
            [
                "Cidr=10.0.0.0/8 (Default) => {A:10.0.0.0/8,B:closed,C:again-closed}",
                "Cidr=<any value> & condition OpenCidr true => {A:<parameter `Cidr` has no AllowedValues, so its \
                 Default can be overridden with any value>,B:open,C:again-open}",
                "Cidr=<any value> & condition OpenCidr false => {A:<parameter `Cidr` has no AllowedValues, so its \
                 Default can be overridden with any value>,B:closed,C:again-closed}",
            ]
        );
    }

    #[test]
    fn resource_conditions_select_lists_and_unknown_parts() {
        let runs = all_values(TEMPLATE, "Conditional", None);
        let values: Vec<_> = runs.iter().map(|(_, v)| v.as_str()).collect();
        assert_eq!(values[0], "<absent>");
        assert_eq!(
            values[1],
            "{A:443,B:<Fn::Join uses a value that is not known: `Fn::GetAtt ByEnv.Arn` is only known at deployment>}"
        );
        assert!(
            values[2]
                .starts_with("{A:<Fn::Select uses a value that is not known: parameter `Ports` has no AllowedValues")
        );
        assert_eq!(runs[2].0, ["Env=prod", "Ports=<any value>"]);
        assert_eq!(values.len(), 3);
    }

    #[test]
    fn a_configuration_fixes_the_values() {
        let assignment: Assignment =
            [("Env".to_string(), "prod".to_string()), ("Cidr".into(), "0.0.0.0/0".into())].into();
        let runs = all_values(TEMPLATE, "ByCidr", Some(&assignment));
        assert_eq!(runs.len(), 1);
        assert_eq!(runs[0].1, "{A:0.0.0.0/0,B:open,C:again-open}");
        let runs = all_values(TEMPLATE, "ByEnv", Some(&assignment));
        assert_eq!(runs.iter().map(|(_, v)| v.as_str()).collect::<Vec<_>>(), ["{A:0.0.0.0/0,B:prod-x}"]);
    }

    #[test]
    fn unknown_values_that_cannot_be_a_wildcard() {
        let text = r#"
Parameters:
  Free: {Type: String}
Resources:
  Bucket: {Type: AWS::S3::Bucket}
  Custom: {Type: Custom::Thing}
  Nested: {Type: AWS::CloudFormation::Stack}
  R:
    Type: X
    Properties:
      Arn: !Sub "arn:${AWS::Partition}:s3:::${Free}/*"
      Objects: !Sub "${Bucket.Arn}/*"
      Bare: !Sub "${Free}"
      Star: !Sub "${Free}*"
      Service: !Sub "${Free}:*"
      BucketArn: !GetAtt Bucket.Arn
      CustomValue: !GetAtt Custom.Value
      Partition: !Ref AWS::Partition
      Import: !ImportValue shared
      Output: !GetAtt Nested.Outputs.Target
      Padded: !Sub " ${Free} "
      Resolved: !Sub "{{resolve:ssm:${Free}}}"
"#;
        let root = parse(text).expect("parses");
        let template = Template::new(&root, None);
        let node = root.get("Resources").and_then(|r| r.get("R")).and_then(|r| r.get("Properties")).expect("props");
        let exploration = explore(&template, 10, |ev| ev.eval(node).expect("properties"));
        // The run where Free is "any value".
        let (_, props) = exploration.runs.last().expect("a run");
        let may_be = |key: &str, text: &str| match &props.get(key).expect(key).val {
            Val::Unknown(u) => u.may_be(text, &template),
            other => panic!("{key} is known: {other:?}"),
        };
        assert!(!may_be("Arn", "*"), "literal arn: prefix");
        assert!(!may_be("Objects", "*"), "ends with /*");
        assert!(may_be("Bare", "*") && may_be("Star", "*"), "the parameter may be empty or *");
        assert!(may_be("Service", "*:*") && !may_be("Service", "*"));
        assert!(!may_be("BucketArn", "*"), "an AWS resource's ARN");
        assert!(may_be("CustomValue", "*"), "a custom resource's attribute may be anything");
        assert!(!may_be("Partition", "*") && may_be("Import", "*"));
        assert!(may_be("Output", "*"), "a nested stack's output is free text");
        assert!(may_be("Padded", "*"), "compared trimmed");
        assert!(may_be("Resolved", "*"), "a dynamic reference");
    }

    #[test]
    fn template_errors_are_collected_with_positions() {
        let text = "Resources:\n  R:\n    Type: X\n    Properties:\n      A: !Ref Nope\n      B: !FindInMap [M, a, b]\n      C: !If [Missing, 1, 2]\n";
        let root = parse(text).expect("parses");
        let template = Template::new(&root, None);
        let node = root.get("Resources").and_then(|r| r.get("R")).and_then(|r| r.get("Properties")).expect("props");
        let exploration = explore(&template, 10, |ev| ev.eval(node));
        let messages: Vec<String> = exploration.errors.iter().map(|e| format!("{}: {}", e.loc, e.message)).collect();
        assert_eq!(
            messages,
            [
                "5:15: `Nope` is not a parameter, a resource or a pseudo parameter of the template",
                "6:22: Fn::FindInMap: Mappings has no `M`",
                "7:15: condition `Missing` is not defined in Conditions",
            ]
        );
    }

    #[test]
    fn sub_replaces_variables_and_keeps_literals() {
        let text = "Parameters:\n  P: {Type: String, AllowedValues: [v]}\nResources:\n  R:\n    Type: X\n    Properties:\n      A: !Sub 'a-${P}-${!Lit}-${X}'\n      B: !Sub ['${Y}', {Y: !Ref P}]\n  X: {Type: Y}\n";
        let runs = all_values(text, "R", None);
        assert_eq!(runs.len(), 1);
        assert_eq!(runs[0].1, "{A:<Fn::Sub uses a value that is not known: it refers to resource `X`>,B:v}");
    }
}
