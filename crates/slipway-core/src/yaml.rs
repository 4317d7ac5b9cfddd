//! A YAML tree that remembers where every node sits in its file.
//!
//! Checks need the line of each value to report it, and a bump needs its exact byte range to
//! rewrite it without touching anything else (comments, quoting, key order, layout). serde
//! deserialisation loses both, so this module builds a small tree from the parser's spanned
//! events. Aliases are expanded to copies of their anchored node, keeping the anchor's spans,
//! so an edit through an alias lands on the one place the value is written.
//!
//! The tree is bounded, so a few hundred hostile bytes cannot cost gigabytes or minutes: aliases
//! may copy at most [`MAX_ALIAS_NODES`] nodes in all (a "billion laughs" nests anchors so each
//! level multiplies the last), and collections may nest at most [`MAX_DEPTH`] deep. Past either
//! limit parsing stops with an error at the alias or collection that crossed it.

use std::collections::HashMap;
use std::ops::Range;

use granit_parser::{Event, Options, Parser, ScalarStyle};

/// How many nodes aliases may copy into one stream's tree, in all. Real files copy a few
/// thousand (Prow job templates, Helm values); an alias bomb copies billions.
pub const MAX_ALIAS_NODES: usize = 1_000_000;

/// How deeply collections may nest. Kubernetes objects nest about a dozen levels.
pub const MAX_DEPTH: usize = 256;

/// A node of a YAML document.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// What the node holds.
    pub value: Value,
    /// Byte range of the node in the source. For collections only the start is meaningful.
    pub span: Range<usize>,
    /// 1-based line where the node starts.
    pub line: usize,
}

/// The content of a node.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A scalar after escape processing, with the notation it was written in.
    Scalar(String, Style),
    /// A sequence.
    Sequence(Vec<Node>),
    /// A mapping, in source order.
    Mapping(Vec<(Node, Node)>),
}

/// How a scalar was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// Unquoted.
    Plain,
    /// In `'single quotes'`.
    SingleQuoted,
    /// In `"double quotes"`.
    DoubleQuoted,
    /// A `|` or `>` block scalar.
    Block,
}

/// A syntax error, with where it is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message} (line {line}, column {column})")]
pub struct YamlError {
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
    /// What the parser expected, lowercase.
    pub message: String,
}

impl Node {
    /// The value for `key` if this is a mapping holding it.
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.entries().iter().find(|(candidate, _)| candidate.as_str() == Some(key)).map(|(_, value)| value)
    }

    /// The scalar text, if this is a scalar.
    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::Scalar(text, _) => Some(text),
            _ => None,
        }
    }

    /// The scalar text, if this is a scalar that is not null (`~`, `null` or empty and plain).
    pub fn as_non_null_str(&self) -> Option<&str> {
        match &self.value {
            Value::Scalar(text, Style::Plain) if matches!(text.as_str(), "" | "~" | "null" | "Null" | "NULL") => None,
            Value::Scalar(text, _) => Some(text),
            _ => None,
        }
    }

    /// The items, if this is a sequence; empty otherwise.
    pub fn items(&self) -> &[Node] {
        match &self.value {
            Value::Sequence(items) => items,
            _ => &[],
        }
    }

    /// The entries, if this is a mapping; empty otherwise.
    pub fn entries(&self) -> &[(Node, Node)] {
        match &self.value {
            Value::Mapping(entries) => entries,
            _ => &[],
        }
    }

    /// How many nodes this one holds, itself included.
    pub fn size(&self) -> usize {
        match &self.value {
            Value::Scalar(..) => 1,
            Value::Sequence(items) => 1 + items.iter().map(Node::size).sum::<usize>(),
            Value::Mapping(entries) => 1 + entries.iter().map(|(key, value)| key.size() + value.size()).sum::<usize>(),
        }
    }

    /// Whether this is a mapping.
    pub fn is_mapping(&self) -> bool {
        matches!(self.value, Value::Mapping(_))
    }

    /// The byte range of `part` inside this scalar's source text, when it is written there
    /// verbatim exactly once (no escapes or line folding in the way). This is where an edit of
    /// `part` can be made without changing anything else.
    pub fn locate(&self, source: &str, part: Range<usize>) -> Option<Range<usize>> {
        let Value::Scalar(text, style) = &self.value else {
            return None;
        };
        if matches!(style, Style::Block) {
            return None;
        }
        let raw = source.get(self.span.clone())?;
        let inner_start = match style {
            Style::Plain => 0,
            _ => 1,
        };
        let inner = raw.get(inner_start..raw.len().saturating_sub(inner_start))?;
        if inner != text {
            return None;
        }
        text.get(part.clone())?;
        let start = self.span.start + inner_start + part.start;
        Some(start..start + part.len())
    }

    /// The byte range of this whole scalar's value inside `source` (see [`Node::locate`]).
    pub fn value_range(&self, source: &str) -> Option<Range<usize>> {
        let length = self.as_str()?.len();
        self.locate(source, 0..length)
    }
}

/// A key written twice in one mapping.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DuplicateKey {
    /// The key.
    pub key: String,
    /// The line of its first occurrence.
    pub first_line: usize,
    /// The line of the repeat.
    pub line: usize,
}

/// Every key written twice in a mapping of `node` or below it. YAML forbids them, but parsers
/// differ on which one wins, so they are reported, never silently resolved.
pub fn duplicate_keys(node: &Node) -> Vec<DuplicateKey> {
    fn visit(node: &Node, found: &mut Vec<DuplicateKey>) {
        match &node.value {
            Value::Scalar(..) => {}
            Value::Sequence(items) => items.iter().for_each(|item| visit(item, found)),
            Value::Mapping(entries) => {
                let mut seen: HashMap<&str, usize> = HashMap::new();
                for (key, value) in entries {
                    if let Some(text) = key.as_str() {
                        match seen.get(text) {
                            Some(first) => {
                                found.push(DuplicateKey { key: text.to_owned(), first_line: *first, line: key.line });
                            }
                            None => {
                                seen.insert(text, key.line);
                            }
                        }
                    }
                    visit(value, found);
                }
            }
        }
    }
    let mut found = Vec::new();
    visit(node, &mut found);
    found
}

/// Parses every document of a YAML stream. Empty documents are left out.
pub fn parse(source: &str) -> Result<Vec<Node>, YamlError> {
    let mut options = Options::default();
    options.emit_comments = false;
    let mut builder = Builder::default();
    for event in Parser::new_from_str_with_options(source, options) {
        let (event, span) = event.map_err(|error| YamlError {
            line: error.marker().line(),
            column: error.marker().col() + 1,
            message: error.info(),
        })?;
        let range = span.byte_range().unwrap_or(span.start.index()..span.end.index());
        let (line, column) = (span.start.line(), span.start.col() + 1);
        builder.push(event, range, line).map_err(|limit| YamlError { line, column, message: limit.message() })?;
    }
    Ok(builder.documents)
}

#[derive(Default)]
struct Builder {
    documents: Vec<Node>,
    stack: Vec<Open>,
    /// Anchored nodes, with how many nodes each holds.
    anchors: HashMap<usize, (Node, usize)>,
    /// Nodes copied through aliases so far.
    alias_nodes: usize,
}

/// A bound the tree would cross.
enum Limit {
    Aliases,
    Depth,
}

impl Limit {
    fn message(&self) -> String {
        match self {
            Limit::Aliases => format!(
                "aliases here would expand to more than {MAX_ALIAS_NODES} nodes (an alias bomb?); slipway stops reading"
            ),
            Limit::Depth => format!("collections nest more than {MAX_DEPTH} levels deep; slipway stops reading"),
        }
    }
}

struct Open {
    node: Node,
    anchor: usize,
    pending_key: Option<Node>,
}

impl Builder {
    fn push(&mut self, event: Event<'_>, span: Range<usize>, line: usize) -> Result<(), Limit> {
        match event {
            Event::DocumentStart(..) => self.anchors.clear(),
            Event::Scalar(text, style, anchor, _) => {
                let style = match style {
                    ScalarStyle::Plain => Style::Plain,
                    ScalarStyle::SingleQuoted => Style::SingleQuoted,
                    ScalarStyle::DoubleQuoted => Style::DoubleQuoted,
                    _ => Style::Block,
                };
                let node = Node { value: Value::Scalar(text.into_owned(), style), span, line };
                self.complete(node, anchor);
            }
            Event::SequenceStart(_, anchor, _) => self.open(Value::Sequence(Vec::new()), span, line, anchor)?,
            Event::MappingStart(_, anchor, _) => self.open(Value::Mapping(Vec::new()), span, line, anchor)?,
            Event::SequenceEnd | Event::MappingEnd => {
                if let Some(open) = self.stack.pop() {
                    self.complete(open.node, open.anchor);
                }
            }
            Event::Alias(anchor) => {
                if let Some((node, size)) = self.anchors.get(&anchor) {
                    self.alias_nodes = self.alias_nodes.saturating_add(*size);
                    if self.alias_nodes > MAX_ALIAS_NODES {
                        return Err(Limit::Aliases);
                    }
                    let node = node.clone();
                    self.complete(node, 0);
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn open(&mut self, value: Value, span: Range<usize>, line: usize, anchor: usize) -> Result<(), Limit> {
        if self.stack.len() >= MAX_DEPTH {
            return Err(Limit::Depth);
        }
        self.stack.push(Open { node: Node { value, span, line }, anchor, pending_key: None });
        Ok(())
    }

    fn complete(&mut self, node: Node, anchor: usize) {
        if anchor != 0 {
            self.anchors.insert(anchor, (node.clone(), node.size()));
        }
        let Some(parent) = self.stack.last_mut() else {
            let empty = matches!(&node.value, Value::Scalar(text, Style::Plain) if text.is_empty() || text == "~" || text == "null");
            if !empty {
                self.documents.push(node);
            }
            return;
        };
        match &mut parent.node.value {
            Value::Sequence(items) => items.push(node),
            Value::Mapping(entries) => match parent.pending_key.take() {
                Some(key) => entries.push((key, node)),
                None => parent.pending_key = Some(node),
            },
            Value::Scalar(..) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_a_tree_with_lines() {
        let source = "a: 1\nb:\n  - x\n  - {c: \"d\"}\n";
        let documents = parse(source).expect("valid");
        assert_eq!(documents.len(), 1);
        let root = &documents[0];
        assert_eq!(root.get("a").and_then(Node::as_str), Some("1"));
        let items = root.get("b").map(Node::items).unwrap_or_default();
        assert_eq!(items.len(), 2);
        assert_eq!(items[0].line, 3);
        let quoted = items[1].get("c").expect("c");
        assert_eq!(quoted.line, 4);
        assert_eq!(&source[quoted.span.clone()], "\"d\"");
        assert_eq!(quoted.value_range(source).map(|r| &source[r]), Some("d"));
    }

    #[test]
    fn splits_documents_and_drops_empty_ones() {
        let documents = parse("---\n---\nkind: A\n---\n# only a comment\n---\nkind: B\n").expect("valid");
        let kinds: Vec<_> = documents.iter().filter_map(|d| d.get("kind").and_then(Node::as_str)).collect();
        assert_eq!(kinds, ["A", "B"]);
    }

    #[test]
    fn aliases_keep_the_anchor_span() {
        let source = "base: &img example.com/app:v1\nother: *img\n";
        let root = parse(source).expect("valid").remove(0);
        let alias = root.get("other").expect("other");
        assert_eq!(alias.line, 1);
        assert_eq!(&source[alias.span.clone()], "example.com/app:v1");
    }

    #[test]
    fn locate_refuses_escaped_and_block_scalars() {
        let source = "a: \"x\\u0041y\"\nb: |\n  text\n";
        let root = parse(source).expect("valid").remove(0);
        assert_eq!(root.get("a").and_then(|n| n.value_range(source)), None);
        assert_eq!(root.get("b").and_then(|n| n.value_range(source)), None);
    }

    #[test]
    fn reports_the_line_of_a_syntax_error() {
        let error = parse("a: 1\nb: [unclosed\nc: 2\n").expect_err("invalid");
        assert!(error.line >= 2, "{error:?}");
        let error = parse("key: value\n  bad: indent\n").expect_err("invalid");
        assert_eq!(error.line, 2, "{error:?}");
    }

    #[test]
    fn an_alias_bomb_stops_at_the_alias_that_crosses_the_limit() {
        let mut source = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x]\n");
        for level in 1..=9 {
            let previous = level - 1;
            let items = vec![format!("*a{previous}"); 9].join(", ");
            source.push_str(&format!("a{level}: &a{level} [{items}]\n"));
        }
        assert!(source.len() < 600, "a few hundred bytes: {}", source.len());
        let error = parse(&source).expect_err("the bomb is refused");
        assert!(error.message.contains("alias bomb"), "{error:?}");
        assert!((7..=10).contains(&error.line), "at the level that crosses the limit: {error:?}");
    }

    #[test]
    fn ordinary_aliases_are_expanded() {
        let source = "base: &base {image: app:v1, args: [a, b]}\none: *base\ntwo: *base\n";
        let root = parse(source).expect("valid").remove(0);
        assert_eq!(root.get("two").and_then(|two| two.get("image")).and_then(Node::as_str), Some("app:v1"));
    }

    #[test]
    fn deep_nesting_is_refused_not_a_stack_overflow() {
        let source = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        // The parser has a recursion limit of its own; either limit gives an error, never a crash.
        assert!(parse(&source).is_err());
        let fine = format!("{}x{}", "[".repeat(100), "]".repeat(100));
        assert!(parse(&fine).is_ok());
    }

    #[test]
    fn duplicate_keys_are_found_at_every_level() {
        let root =
            parse("name: a\nspec:\n  image: x\n  image: y\nname: b\nlist:\n- {k: 1, k: 2}\n").expect("valid").remove(0);
        let found: Vec<(String, usize, usize)> =
            duplicate_keys(&root).into_iter().map(|d| (d.key, d.first_line, d.line)).collect();
        assert_eq!(found, [("image".into(), 3, 4), ("name".into(), 1, 5), ("k".into(), 7, 7)]);
        assert_eq!(duplicate_keys(&parse("a: 1\nb: 2\n").expect("valid").remove(0)), []);
    }

    #[test]
    fn null_scalars() {
        let root = parse("a: ~\nb:\nc: ''\n").expect("valid").remove(0);
        assert_eq!(root.get("a").and_then(Node::as_non_null_str), None);
        assert_eq!(root.get("b").and_then(Node::as_non_null_str), None);
        assert_eq!(root.get("c").and_then(Node::as_non_null_str), Some(""));
    }
}
