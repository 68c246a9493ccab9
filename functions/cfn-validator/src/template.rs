//! CloudFormation templates, JSON or YAML, parsed into values that keep their line and column.
//!
//! YAML short-form tags become their long form as CloudFormation reads them (`!Ref x` is
//! `{"Ref": "x"}`, `!GetAtt a.b` is `{"Fn::GetAtt": ["a", "b"]}`, `!Sub s` is `{"Fn::Sub": s}`, ...);
//! anchors, aliases and `<<` merge keys are resolved. JSON goes through the same parser (YAML 1.2 is a
//! superset of JSON), so both formats give identical trees with positions.
//!
//! Duplicate mapping keys are a parse error: parsers disagree on which one wins, so a duplicated
//! `SecurityGroupIngress` could hide an open rule from one tool and not from CloudFormation.

use std::collections::HashMap;
use std::fmt;
use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser, Tag};
use yaml_rust2::scanner::{Marker, TScalarStyle};

/// A 1-based line and column.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Loc {
    pub line: u32,
    pub column: u32,
}

impl Loc {
    fn from_marker(mark: Marker) -> Self {
        Self {
            line: u32::try_from(mark.line()).unwrap_or(u32::MAX).max(1),
            column: u32::try_from(mark.col() + 1).unwrap_or(u32::MAX),
        }
    }
}

impl fmt::Display for Loc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.column)
    }
}

/// A value with the position of its first character.
#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    pub loc: Loc,
    pub value: Value,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    /// The number as written (`22`, `0x16`, `1e3`): conversions are the caller's, per property.
    Number(String),
    String(String),
    List(Vec<Node>),
    /// Keys in document order.
    Map(Vec<(Key, Node)>),
}

#[derive(Clone, Debug, PartialEq)]
pub struct Key {
    pub loc: Loc,
    pub name: String,
}

impl Node {
    /// The value under `key` of a mapping.
    pub fn get(&self, key: &str) -> Option<&Node> {
        match &self.value {
            Value::Map(entries) => entries.iter().find(|(k, _)| k.name == key).map(|(_, v)| v),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    pub fn entries(&self) -> &[(Key, Node)] {
        match &self.value {
            Value::Map(entries) => entries,
            _ => &[],
        }
    }

    pub fn items(&self) -> &[Node] {
        match &self.value {
            Value::List(items) => items,
            _ => &[],
        }
    }
}

/// Why a template could not be read, and where.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{loc}: {message}")]
pub struct ParseError {
    pub loc: Loc,
    pub message: String,
}

/// The short-form tags CloudFormation accepts, and the key each becomes.
const SHORT_FORMS: &[(&str, &str)] = &[
    ("Ref", "Ref"),
    ("Condition", "Condition"),
    ("GetAtt", "Fn::GetAtt"),
    ("Sub", "Fn::Sub"),
    ("If", "Fn::If"),
    ("Equals", "Fn::Equals"),
    ("Not", "Fn::Not"),
    ("And", "Fn::And"),
    ("Or", "Fn::Or"),
    ("FindInMap", "Fn::FindInMap"),
    ("Join", "Fn::Join"),
    ("Select", "Fn::Select"),
    ("Split", "Fn::Split"),
    ("Base64", "Fn::Base64"),
    ("Cidr", "Fn::Cidr"),
    ("ImportValue", "Fn::ImportValue"),
    ("GetAZs", "Fn::GetAZs"),
    ("Transform", "Fn::Transform"),
    ("ToJsonString", "Fn::ToJsonString"),
    ("Length", "Fn::Length"),
    ("ForEach", "Fn::ForEach"),
];

/// Parses one template (JSON or YAML; one document).
pub fn parse(text: &str) -> Result<Node, ParseError> {
    let mut builder = Builder::default();
    let mut parser = Parser::new_from_str(text);
    parser
        .load(&mut builder, true)
        .map_err(|e| ParseError { loc: within(text, Loc::from_marker(*e.marker())), message: e.info().to_string() })?;
    if let Some(error) = builder.error {
        return Err(error);
    }
    builder.root.ok_or(ParseError { loc: Loc { line: 1, column: 1 }, message: "the file is empty".into() })
}

/// An error at the end of the input is reported after the last character, not on a line that does not exist.
fn within(text: &str, loc: Loc) -> Loc {
    let lines = text.lines().count().max(1);
    if usize::try_from(loc.line).unwrap_or(usize::MAX) <= lines {
        return loc;
    }
    let last = text.lines().last().unwrap_or_default();
    Loc {
        line: u32::try_from(lines).unwrap_or(u32::MAX),
        column: u32::try_from(last.chars().count() + 1).unwrap_or(u32::MAX),
    }
}

/// Values that aliases may copy in one file: far above any real template, far below exhausting memory.
const MAX_ALIAS_VALUES: usize = 1_000_000;

fn count_values(node: &Node) -> usize {
    1 + match &node.value {
        Value::List(items) => items.iter().map(count_values).sum(),
        Value::Map(entries) => entries.iter().map(|(_, v)| count_values(v)).sum(),
        _ => 0,
    }
}

enum Frame {
    List {
        loc: Loc,
        anchor: usize,
        tag: Option<Tag>,
        items: Vec<Node>,
    },
    Map {
        loc: Loc,
        anchor: usize,
        tag: Option<Tag>,
        entries: Vec<(Key, Node)>,
        pending_key: Option<Node>,
        merges: Vec<Node>,
    },
}

#[derive(Default)]
struct Builder {
    stack: Vec<Frame>,
    /// Each anchor's value and its number of values.
    anchors: HashMap<usize, (Node, usize)>,
    /// Values copied by aliases so far (bounded: an alias bomb must not exhaust memory).
    expanded: usize,
    root: Option<Node>,
    error: Option<ParseError>,
}

impl Builder {
    fn fail(&mut self, loc: Loc, message: impl Into<String>) {
        if self.error.is_none() {
            self.error = Some(ParseError { loc, message: message.into() });
        }
    }

    /// A finished node: applies its tag, records its anchor, attaches it to its parent.
    fn complete(&mut self, node: Node, anchor: usize, tag: Option<&Tag>) {
        let node = match tag {
            Some(tag) => match apply_tag(node, tag) {
                Ok(node) => node,
                Err(error) => {
                    self.fail(error.loc, error.message);
                    return;
                }
            },
            None => node,
        };
        if anchor > 0 {
            let size = count_values(&node);
            self.anchors.insert(anchor, (node.clone(), size));
        }
        self.attach(node);
    }

    fn attach(&mut self, node: Node) {
        match self.stack.last_mut() {
            None => self.root = Some(node),
            Some(Frame::List { items, .. }) => items.push(node),
            Some(Frame::Map { pending_key, .. }) if pending_key.is_none() => *pending_key = Some(node),
            Some(Frame::Map { entries, pending_key, merges, .. }) => {
                let key_node = pending_key.take().expect("checked above");
                let name = match &key_node.value {
                    Value::String(s) | Value::Number(s) => s.clone(),
                    Value::Bool(b) => b.to_string(),
                    Value::Null => "null".to_string(),
                    Value::List(_) | Value::Map(_) => {
                        let loc = key_node.loc;
                        self.fail(loc, "a mapping key must be a scalar");
                        return;
                    }
                };
                if name == "<<" && matches!(key_node.value, Value::String(_)) {
                    merges.push(node);
                    return;
                }
                if let Some((first, _)) = entries.iter().find(|(k, _)| k.name == name) {
                    let message = format!("duplicate key `{name}` (first at line {})", first.loc.line);
                    let loc = key_node.loc;
                    self.fail(loc, message);
                    return;
                }
                entries.push((Key { loc: key_node.loc, name }, node));
            }
        }
    }
}

impl MarkedEventReceiver for Builder {
    fn on_event(&mut self, event: Event, mark: Marker) {
        if self.error.is_some() {
            return;
        }
        let loc = Loc::from_marker(mark);
        match event {
            Event::Scalar(text, style, anchor, tag) => {
                let value = if tag.is_none() && style == TScalarStyle::Plain {
                    plain_scalar(text)
                } else {
                    Value::String(text)
                };
                self.complete(Node { loc, value }, anchor, tag.as_ref());
            }
            Event::Alias(id) => match self.anchors.get(&id) {
                Some((node, size)) => {
                    self.expanded += size;
                    if self.expanded > MAX_ALIAS_VALUES {
                        self.fail(
                            loc,
                            format!("aliases expand to more than {MAX_ALIAS_VALUES} values (an alias bomb?)"),
                        );
                        return;
                    }
                    let node = node.clone();
                    self.attach(node);
                }
                None => self.fail(loc, "alias to an unknown anchor"),
            },
            Event::SequenceStart(anchor, tag) => self.stack.push(Frame::List { loc, anchor, tag, items: Vec::new() }),
            Event::MappingStart(anchor, tag) => self.stack.push(Frame::Map {
                loc,
                anchor,
                tag,
                entries: Vec::new(),
                pending_key: None,
                merges: Vec::new(),
            }),
            Event::SequenceEnd => {
                if let Some(Frame::List { loc, anchor, tag, items }) = self.stack.pop() {
                    self.complete(Node { loc, value: Value::List(items) }, anchor, tag.as_ref());
                }
            }
            Event::MappingEnd => {
                if let Some(Frame::Map { loc, anchor, tag, mut entries, merges, .. }) = self.stack.pop() {
                    // A block mapping's start event comes after its first key: the map starts at that key.
                    let loc = entries.first().map_or(loc, |(key, _)| key.loc.min(loc));
                    // `<<` merges: explicit keys win, then earlier merge sources over later ones.
                    for source in merges {
                        let sources = match source.value {
                            Value::List(items) => items,
                            other => vec![Node { loc: source.loc, value: other }],
                        };
                        for merged in sources {
                            let Value::Map(merged_entries) = merged.value else {
                                self.fail(merged.loc, "a `<<` merge value must be a mapping or a list of mappings");
                                return;
                            };
                            for (key, value) in merged_entries {
                                if !entries.iter().any(|(k, _)| k.name == key.name) {
                                    entries.push((key, value));
                                }
                            }
                        }
                    }
                    self.complete(Node { loc, value: Value::Map(entries) }, anchor, tag.as_ref());
                }
            }
            Event::DocumentStart if self.root.is_some() => {
                self.fail(loc, "a template file must hold one YAML document, this one holds several");
            }
            _ => {}
        }
    }
}

/// YAML 1.2 core schema resolution of a plain scalar.
fn plain_scalar(text: String) -> Value {
    match text.as_str() {
        "" | "~" | "null" | "Null" | "NULL" => Value::Null,
        "true" | "True" | "TRUE" => Value::Bool(true),
        "false" | "False" | "FALSE" => Value::Bool(false),
        _ if is_number(&text) => Value::Number(text),
        _ => Value::String(text),
    }
}

fn is_number(text: &str) -> bool {
    let unsigned = text.strip_prefix(['-', '+']).unwrap_or(text);
    if let Some(hex) = unsigned.strip_prefix("0x") {
        return !hex.is_empty() && hex.bytes().all(|b| b.is_ascii_hexdigit());
    }
    if let Some(oct) = unsigned.strip_prefix("0o") {
        return !oct.is_empty() && oct.bytes().all(|b| (b'0'..=b'7').contains(&b));
    }
    matches!(unsigned, ".inf" | ".Inf" | ".INF")
        || (unsigned.bytes().next().is_some_and(|b| b.is_ascii_digit() || b == b'.') && unsigned.parse::<f64>().is_ok())
}

fn apply_tag(node: Node, tag: &Tag) -> Result<Node, ParseError> {
    let loc = node.loc;
    if tag.handle == "!!" || tag.handle == "tag:yaml.org,2002:" {
        return Ok(match (tag.suffix.as_str(), node.value) {
            ("str", Value::Number(s) | Value::String(s)) => Node { loc, value: Value::String(s) },
            ("str", Value::Bool(b)) => Node { loc, value: Value::String(b.to_string()) },
            (_, value) => Node { loc, value },
        });
    }
    if tag.handle != "!" {
        return Err(ParseError { loc, message: format!("unknown tag {}{}", tag.handle, tag.suffix) });
    }
    let Some((_, key)) = SHORT_FORMS.iter().find(|(short, _)| *short == tag.suffix) else {
        return Err(ParseError {
            loc,
            message: format!(
                "unknown tag !{}; CloudFormation accepts {}",
                tag.suffix,
                SHORT_FORMS.iter().map(|(s, _)| format!("!{s}")).collect::<Vec<_>>().join(", ")
            ),
        });
    };
    let argument = match (tag.suffix.as_str(), node.value) {
        // `!GetAtt Resource.Attribute` (scalar form): split at the first dot.
        ("GetAtt", Value::String(text)) => {
            let Some((resource, attribute)) = text.split_once('.') else {
                return Err(ParseError { loc, message: format!("!GetAtt {text:?} must be Resource.Attribute") });
            };
            Node {
                loc,
                value: Value::List(vec![
                    Node { loc, value: Value::String(resource.into()) },
                    Node { loc, value: Value::String(attribute.into()) },
                ]),
            }
        }
        (_, value) => Node { loc, value },
    };
    Ok(Node { loc, value: Value::Map(vec![(Key { loc, name: (*key).to_string() }, argument)]) })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A compact rendering: `{k: v}`, `[a, b]`, scalars bare, each with `@line:col` where asked.
    fn show(node: &Node) -> String {
        match &node.value {
            Value::Null => "null".into(),
            Value::Bool(b) => b.to_string(),
            Value::Number(n) => format!("#{n}"),
            Value::String(s) => format!("{s:?}"),
            Value::List(items) => format!("[{}]", items.iter().map(show).collect::<Vec<_>>().join(", ")),
            Value::Map(entries) => format!(
                "{{{}}}",
                entries.iter().map(|(k, v)| format!("{}: {}", k.name, show(v))).collect::<Vec<_>>().join(", ")
            ),
        }
    }

    fn parsed(text: &str) -> Node {
        parse(text).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn short_forms_become_long_forms() {
        let node = parsed(
            "A: !Ref Vpc\nB: !GetAtt Sg.GroupId\nC: !GetAtt [Sg, GroupId]\nD: !Sub '${AWS::Region}-x'\n\
             E: !If [IsProd, !Ref P, !Ref AWS::NoValue]\nF: !Equals [!Ref Env, prod]\nG: !Not [!Condition C]\n\
             H: !And [!Condition A, !Or [!Condition B, !Condition C]]\nI: !FindInMap [M, !Ref AWS::Region, Ami]\n\
             J: !Join ['', [a, b]]\nK: !Select [0, !Split [',', 'a,b']]\nL: !Base64 x\nM: !Cidr [10.0.0.0/16, 4, 8]\n\
             N: !ImportValue shared-sg\nO: !GetAZs ''\nP: !Transform {Name: T}\n",
        );
        assert_eq!(
            show(&node),
            "{A: {Ref: \"Vpc\"}, B: {Fn::GetAtt: [\"Sg\", \"GroupId\"]}, C: {Fn::GetAtt: [\"Sg\", \"GroupId\"]}, \
             D: {Fn::Sub: \"${AWS::Region}-x\"}, E: {Fn::If: [\"IsProd\", {Ref: \"P\"}, {Ref: \"AWS::NoValue\"}]}, \
             F: {Fn::Equals: [{Ref: \"Env\"}, \"prod\"]}, G: {Fn::Not: [{Condition: \"C\"}]}, \
             H: {Fn::And: [{Condition: \"A\"}, {Fn::Or: [{Condition: \"B\"}, {Condition: \"C\"}]}]}, \
             I: {Fn::FindInMap: [\"M\", {Ref: \"AWS::Region\"}, \"Ami\"]}, J: {Fn::Join: [\"\", [\"a\", \"b\"]]}, \
             K: {Fn::Select: [#0, {Fn::Split: [\",\", \"a,b\"]}]}, L: {Fn::Base64: \"x\"}, \
             M: {Fn::Cidr: [\"10.0.0.0/16\", #4, #8]}, N: {Fn::ImportValue: \"shared-sg\"}, O: {Fn::GetAZs: \"\"}, \
             P: {Fn::Transform: {Name: \"T\"}}}"
        );
    }

    #[test]
    fn json_and_yaml_give_the_same_tree_with_positions() {
        let json = parsed(
            "{\n  \"Resources\": {\n    \"Sg\": {\"Type\": \"AWS::EC2::SecurityGroup\", \"Port\": 22}\n  }\n}\n",
        );
        let yaml = parsed("Resources:\n  Sg:\n    Type: AWS::EC2::SecurityGroup\n    Port: 22\n");
        assert_eq!(show(&json), show(&yaml));
        let port = |n: &Node| n.get("Resources").and_then(|r| r.get("Sg")).and_then(|s| s.get("Port")).map(|p| p.loc);
        assert_eq!(port(&json), Some(Loc { line: 3, column: 55 }));
        assert_eq!(port(&yaml), Some(Loc { line: 4, column: 11 }));
    }

    #[test]
    fn anchors_aliases_and_merge_keys() {
        let node = parsed(
            "Base: &rule {IpProtocol: tcp, FromPort: 22, ToPort: 22}\nOpen:\n  <<: *rule\n  CidrIp: 0.0.0.0/0\n  ToPort: 23\nCopy: *rule\n",
        );
        assert_eq!(
            show(node.get("Open").expect("open")),
            "{CidrIp: \"0.0.0.0/0\", ToPort: #23, IpProtocol: \"tcp\", FromPort: #22}"
        );
        assert_eq!(show(node.get("Copy").expect("copy")), "{IpProtocol: \"tcp\", FromPort: #22, ToPort: #22}");
    }

    #[test]
    fn scalars_follow_the_core_schema_and_quotes_make_strings() {
        let node = parsed("a: 22\nb: '22'\nc: true\nd: ~\ne: 0.0.0.0/0\nf: -1\ng: !!str 80\nh: 1.5\ni: \"-1\"\n");
        assert_eq!(
            show(&node),
            "{a: #22, b: \"22\", c: true, d: null, e: \"0.0.0.0/0\", f: #-1, g: \"80\", h: #1.5, i: \"-1\"}"
        );
    }

    #[test]
    fn errors_carry_a_position() {
        let err = parse("Resources:\n  Sg:\n    Type: [unclosed\n").expect_err("bad yaml");
        assert!(err.loc.line >= 3, "{err}");
        let err = parse("A: 1\nB: 2\nA: 3\n").expect_err("duplicate");
        assert_eq!(err.to_string(), "3:1: duplicate key `A` (first at line 1)");
        let err = parse("A: !Reff X\n").expect_err("unknown tag");
        assert!(
            err.to_string().starts_with("1:10: unknown tag !Reff; CloudFormation accepts !Ref, !Condition"),
            "{err}"
        );
        let err = parse("A: !GetAtt NoDot\n").expect_err("getatt");
        assert_eq!(err.to_string(), "1:12: !GetAtt \"NoDot\" must be Resource.Attribute");
        let err = parse("").expect_err("empty");
        assert_eq!(err.to_string(), "1:1: the file is empty");
        let err = parse("a: 1\n---\nb: 2\n").expect_err("two docs");
        assert!(err.message.contains("one YAML document"), "{err}");
    }

    #[test]
    fn alias_bombs_are_refused() {
        let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for level in 1..10 {
            let previous = format!("*a{}", level - 1);
            text.push_str(&format!("a{level}: &a{level} [{}]\n", [previous.as_str(); 10].join(", ")));
        }
        let error = parse(&text).expect_err("refused");
        assert!(error.message.starts_with("aliases expand to more than 1000000 values"), "{error}");
    }

    #[test]
    fn json_with_tabs_and_unicode() {
        let node = parsed("{\n\t\"Description\": \"caf\\u00e9 — ok\",\n\t\"Resources\": {}\n}");
        assert_eq!(node.get("Description").and_then(Node::as_str), Some("café — ok"));
    }
}
