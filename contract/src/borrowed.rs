//! A JSON document parsed without building a [`serde_json::Value`], for
//! validating request bodies on a server's hot path.
//!
//! A `Value` costs an allocation per string, per key and per container
//! (two per object with `preserve_order`), and as many frees when it is
//! dropped — several times the cost of the schema check itself. [`Doc`]
//! keeps every node in three flat vectors and borrows every string that
//! has no escape from the input, so parsing a typical request body
//! allocates three times whatever its size.
//!
//! The document is handed to `jsonschema` through its representation
//! traits ([`jsonschema::json`]), so the schema semantics are jsonschema's
//! own, not a re-implementation. What must match `Value` exactly is the
//! data model, and it does: numbers are the same [`serde_json::Number`]s
//! (from the same parser), strings the same decoded text, and an object
//! that repeats a key keeps the last value at the first position, like
//! `serde_json::Map::insert`. The contract crate's tests check both paths
//! agree on every schema over a corpus of valid and broken documents.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;

use jsonschema::json::{Array, Json, Node, NodeIdentity, Object};
use jsonschema::JsonType;
use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

/// Objects up to this size find repeated keys by comparing every pair;
/// larger ones use a hash map.
const LINEAR_DEDUP_MAX: usize = 32;

/// One node of a [`Doc`].
#[derive(Debug, Clone)]
enum Kind<'a> {
    Null,
    Bool(bool),
    Number(Number),
    String(Cow<'a, str>),
    /// `elements[start..start + len]`.
    Array {
        start: usize,
        len: usize,
    },
    /// `members[start..start + len]`.
    Object {
        start: usize,
        len: usize,
    },
}

/// A parsed JSON document; node 0 is the root.
#[derive(Debug, Default)]
pub(crate) struct Doc<'a> {
    nodes: Vec<Kind<'a>>,
    members: Vec<(Cow<'a, str>, usize)>,
    elements: Vec<usize>,
}

/// A JSON document parsed into flat storage that borrows its strings from
/// the input: what a server validates a request body as, instead of a
/// [`serde_json::Value`] (which allocates per key, string and container).
///
/// [`JsonDoc::is_valid`] gives the same verdict as [`crate::validate`] on
/// the parsed `Value` — the schema check is jsonschema's own — and
/// [`JsonDoc::str_member`] reads a top-level string like
/// `value.get(name).and_then(Value::as_str)`.
///
/// ```
/// let body = br#"{"org_id":"org-a","workspace_id":"ws-1","runtime":"claude-code"}"#;
/// let doc = contract::JsonDoc::parse(body).expect("JSON");
/// assert!(doc.is_valid(contract::SchemaId::EnsureImageRequest).unwrap());
/// assert_eq!(doc.str_member("org_id"), Some("org-a"));
/// assert!(contract::JsonDoc::parse(b"{oops").is_none());
/// ```
#[derive(Debug)]
pub struct JsonDoc<'a> {
    doc: Doc<'a>,
}

impl<'a> JsonDoc<'a> {
    /// Parse all of `json`, as [`serde_json::from_slice`] does; `None` when
    /// it is not JSON.
    pub fn parse(json: &'a [u8]) -> Option<Self> {
        Doc::parse(json).map(|doc| JsonDoc { doc })
    }

    /// Whether the schema `id` accepts the document: the verdict of
    /// [`crate::validate`] on the same document as a `Value`, without the
    /// violations (call `validate` for those). `Err` only for a broken
    /// embedded schema.
    pub fn is_valid(&self, id: crate::SchemaId) -> Result<bool, crate::ContractError> {
        crate::schema::is_valid_doc(id, &self.doc)
    }

    /// The top-level member `name` when the document is an object and the
    /// member a string (the last one, if the key repeats).
    pub fn str_member(&self, name: &str) -> Option<&str> {
        let root = self.doc.root();
        let object = root.as_object()?;
        object
            .members
            .iter()
            .find(|(key, _)| key == name)
            .and_then(|(_, child)| match root.at(*child).kind() {
                Kind::String(s) => Some(s.as_ref()),
                _ => None,
            })
    }

    /// The document as a [`serde_json::Value`].
    pub fn to_value(&self) -> Value {
        self.doc.to_value(0)
    }
}

impl<'a> Doc<'a> {
    /// Parse `json` (the whole slice, as [`serde_json::from_slice`] does).
    /// `None` when it is not JSON.
    pub(crate) fn parse(json: &'a [u8]) -> Option<Self> {
        match Scanner::scan(json) {
            Ok(doc) => Some(doc),
            Err(Unplain) => Self::parse_with_serde(json),
        }
    }

    /// The general parse: serde_json's own parser, building the same nodes.
    fn parse_with_serde(json: &'a [u8]) -> Option<Self> {
        let mut builder = Builder::with_capacity_for(json);
        let mut de = serde_json::Deserializer::from_slice(json);
        NodeSeed {
            builder: &mut builder,
        }
        .deserialize(&mut de)
        .ok()?;
        de.end().ok()?;
        Some(builder.doc)
    }

    /// The root node.
    pub(crate) fn root(&self) -> DocNode<'_> {
        DocNode {
            doc: self,
            index: 0,
        }
    }

    fn to_value(&self, index: usize) -> Value {
        match &self.nodes[index] {
            Kind::Null => Value::Null,
            Kind::Bool(b) => Value::Bool(*b),
            Kind::Number(n) => Value::Number(n.clone()),
            Kind::String(s) => Value::String(s.to_string()),
            Kind::Array { start, len } => Value::Array(
                self.elements[*start..start + len]
                    .iter()
                    .map(|child| self.to_value(*child))
                    .collect(),
            ),
            Kind::Object { start, len } => {
                let mut map = Map::new();
                for (key, child) in &self.members[*start..start + len] {
                    map.insert(key.to_string(), self.to_value(*child));
                }
                Value::Object(map)
            }
        }
    }
}

#[derive(Debug, Default)]
struct Builder<'a> {
    doc: Doc<'a>,
    /// Members of the objects being parsed, innermost last.
    open_members: Vec<(Cow<'a, str>, usize)>,
    /// Elements of the arrays being parsed, innermost last.
    open_elements: Vec<usize>,
}

impl<'a> Builder<'a> {
    /// Room for a typical document up front: growing the vectors costs
    /// more than the parse of a small body.
    fn with_capacity_for(json: &[u8]) -> Self {
        let hint = json.len() / 8 + 4;
        Builder {
            doc: Doc {
                nodes: Vec::with_capacity(hint),
                members: Vec::with_capacity(hint),
                elements: Vec::new(),
            },
            open_members: Vec::with_capacity(hint),
            open_elements: Vec::new(),
        }
    }

    fn push(&mut self, kind: Kind<'a>) -> usize {
        self.doc.nodes.push(kind);
        self.doc.nodes.len() - 1
    }

    /// Close the object whose members start at `open_members[mark]`:
    /// repeated keys keep the last value at the first position.
    fn close_object(&mut self, index: usize, mark: usize) {
        let open = &mut self.open_members[mark..];
        let mut removed = 0;
        if open.len() <= LINEAR_DEDUP_MAX {
            for i in 1..open.len() {
                let key: &str = &open[i].0;
                if let Some(j) = (0..i).find(|j| {
                    let other: &str = &open[*j].0;
                    other.len() == key.len() && other == key
                }) {
                    open[j].1 = open[i].1;
                    open[i].1 = usize::MAX;
                    removed += 1;
                }
            }
        } else {
            let mut first: HashMap<&str, usize> = HashMap::with_capacity(open.len());
            let mut moves = Vec::new();
            for (i, (key, _)) in open.iter().enumerate() {
                if let Some(j) = first.get(key.as_ref()) {
                    moves.push((*j, i));
                } else {
                    first.insert(key.as_ref(), i);
                }
            }
            for (j, i) in moves {
                open[j].1 = open[i].1;
                open[i].1 = usize::MAX;
                removed += 1;
            }
        }
        let start = self.doc.members.len();
        if removed == 0 {
            self.doc.members.extend(self.open_members.drain(mark..));
        } else {
            self.doc.members.extend(
                self.open_members
                    .drain(mark..)
                    .filter(|(_, child)| *child != usize::MAX),
            );
        }
        let len = self.doc.members.len() - start;
        self.doc.nodes[index] = Kind::Object { start, len };
    }
}

/// Why [`Scanner`] handed a document over to serde_json: it holds
/// something the scanner does not read itself (an escape, a fraction or an
/// exponent, a number outside `i64`/`u64`, deep nesting) or is not JSON.
#[derive(Debug)]
struct Unplain;

/// Nesting the scanner reads itself (serde_json's limit is 128).
const SCAN_DEPTH_MAX: usize = 100;

/// A parser for plain JSON — strings without escapes, integers, literals,
/// arrays and objects — that builds the same nodes as serde_json would and
/// hands anything else to it ([`Unplain`]). Request bodies are plain, and
/// reading them byte by byte costs a fraction of serde's visitor calls.
/// What it accepts it reads exactly as serde_json does (the tests compare
/// both on every document of the contract's corpus).
struct Scanner<'a> {
    text: &'a str,
    bytes: &'a [u8],
    pos: usize,
    builder: Builder<'a>,
}

impl<'a> Scanner<'a> {
    fn scan(json: &'a [u8]) -> Result<Doc<'a>, Unplain> {
        let text = std::str::from_utf8(json).map_err(|_| Unplain)?;
        let mut scanner = Scanner {
            text,
            bytes: json,
            pos: 0,
            builder: Builder::with_capacity_for(json),
        };
        scanner.value(0)?;
        scanner.skip_ws();
        if scanner.pos != json.len() {
            return Err(Unplain);
        }
        Ok(scanner.builder.doc)
    }

    fn skip_ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.bytes.get(self.pos) {
            self.pos += 1;
        }
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn value(&mut self, depth: usize) -> Result<usize, Unplain> {
        self.skip_ws();
        match self.peek().ok_or(Unplain)? {
            b'{' => self.object(depth + 1),
            b'[' => self.array(depth + 1),
            b'"' => {
                let s = self.string()?;
                Ok(self.builder.push(Kind::String(Cow::Borrowed(s))))
            }
            b't' => self.literal(b"true", Kind::Bool(true)),
            b'f' => self.literal(b"false", Kind::Bool(false)),
            b'n' => self.literal(b"null", Kind::Null),
            b'-' | b'0'..=b'9' => self.integer(),
            _ => Err(Unplain),
        }
    }

    fn literal(&mut self, word: &[u8], kind: Kind<'a>) -> Result<usize, Unplain> {
        if !self.bytes[self.pos..].starts_with(word) {
            return Err(Unplain);
        }
        self.pos += word.len();
        Ok(self.builder.push(kind))
    }

    /// A string without escapes; the opening quote is at `pos`.
    fn string(&mut self) -> Result<&'a str, Unplain> {
        let start = self.pos + 1;
        let rest = self.bytes.get(start..).ok_or(Unplain)?;
        // Control characters are not allowed raw; escapes are serde's.
        let len = find_quote_escape_or_control(rest).ok_or(Unplain)?;
        if rest[len] != b'"' {
            return Err(Unplain);
        }
        self.pos = start + len + 1;
        self.text.get(start..start + len).ok_or(Unplain)
    }

    /// An integer without fraction or exponent that serde_json reads as an
    /// `i64` or `u64` (so not `-0`, which it reads as a float).
    fn integer(&mut self) -> Result<usize, Unplain> {
        let negative = self.peek() == Some(b'-');
        if negative {
            self.pos += 1;
        }
        let digits_start = self.pos;
        let mut value: u64 = 0;
        while let Some(d @ b'0'..=b'9') = self.peek() {
            value = value
                .checked_mul(10)
                .and_then(|v| v.checked_add(u64::from(d - b'0')))
                .ok_or(Unplain)?;
            self.pos += 1;
        }
        let digits = self.pos - digits_start;
        if digits == 0
            || (digits > 1 && self.bytes[digits_start] == b'0')
            || matches!(self.peek(), Some(b'.' | b'e' | b'E'))
        {
            return Err(Unplain);
        }
        let number = if negative {
            if value == 0 || value > 1 << 63 {
                return Err(Unplain);
            }
            Number::from(0_i64.wrapping_sub_unsigned(value))
        } else {
            Number::from(value)
        };
        Ok(self.builder.push(Kind::Number(number)))
    }

    fn array(&mut self, depth: usize) -> Result<usize, Unplain> {
        if depth > SCAN_DEPTH_MAX {
            return Err(Unplain);
        }
        self.pos += 1;
        let index = self.builder.push(Kind::Null);
        let mark = self.builder.open_elements.len();
        self.skip_ws();
        if self.peek() == Some(b']') {
            self.pos += 1;
        } else {
            loop {
                let child = self.value(depth)?;
                self.builder.open_elements.push(child);
                self.skip_ws();
                match self.peek() {
                    Some(b',') => self.pos += 1,
                    Some(b']') => {
                        self.pos += 1;
                        break;
                    }
                    _ => return Err(Unplain),
                }
            }
        }
        let builder = &mut self.builder;
        let start = builder.doc.elements.len();
        builder
            .doc
            .elements
            .extend(builder.open_elements.drain(mark..));
        let len = builder.doc.elements.len() - start;
        builder.doc.nodes[index] = Kind::Array { start, len };
        Ok(index)
    }

    fn object(&mut self, depth: usize) -> Result<usize, Unplain> {
        if depth > SCAN_DEPTH_MAX {
            return Err(Unplain);
        }
        self.pos += 1;
        let index = self.builder.push(Kind::Null);
        let mark = self.builder.open_members.len();
        self.skip_ws();
        if self.peek() == Some(b'}') {
            self.pos += 1;
        } else {
            loop {
                self.skip_ws();
                if self.peek() != Some(b'"') {
                    return Err(Unplain);
                }
                let key = self.string()?;
                self.skip_ws();
                if self.peek() != Some(b':') {
                    return Err(Unplain);
                }
                self.pos += 1;
                let child = self.value(depth)?;
                self.builder.open_members.push((Cow::Borrowed(key), child));
                self.skip_ws();
                match self.peek() {
                    Some(b',') => self.pos += 1,
                    Some(b'}') => {
                        self.pos += 1;
                        break;
                    }
                    _ => return Err(Unplain),
                }
            }
        }
        self.builder.close_object(index, mark);
        Ok(index)
    }
}

/// The first `"`, `\\` or control character (below 0x20) in `bytes`,
/// eight bytes at a time (bit tricks on a `u64`), then byte by byte.
fn find_quote_escape_or_control(bytes: &[u8]) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    /// High bit set in each byte of `w` that is zero (and maybe above one).
    fn zero_bytes(w: u64) -> u64 {
        w.wrapping_sub(ONES) & !w & HIGHS
    }
    let mut at = 0;
    for chunk in bytes.chunks_exact(8) {
        let Ok(word) = <[u8; 8]>::try_from(chunk) else {
            break;
        };
        let w = u64::from_le_bytes(word);
        let hits = zero_bytes(w ^ (ONES * u64::from(b'"')))
            | zero_bytes(w ^ (ONES * u64::from(b'\\')))
            | (w.wrapping_sub(ONES * 0x20) & !w & HIGHS);
        if hits != 0 {
            break;
        }
        at += 8;
    }
    bytes[at..]
        .iter()
        .position(|b| matches!(b, b'"' | b'\\' | 0..=0x1f))
        .map(|p| at + p)
}

/// Parses one value into the builder; yields its node index.
struct NodeSeed<'b, 'a> {
    builder: &'b mut Builder<'a>,
}

impl<'de> DeserializeSeed<'de> for NodeSeed<'_, 'de> {
    type Value = usize;

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<usize, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for NodeSeed<'_, 'de> {
    type Value = usize;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<usize, E> {
        Ok(self.builder.push(Kind::Bool(v)))
    }

    fn visit_i64<E>(self, v: i64) -> Result<usize, E> {
        Ok(self.builder.push(Kind::Number(v.into())))
    }

    fn visit_u64<E>(self, v: u64) -> Result<usize, E> {
        Ok(self.builder.push(Kind::Number(v.into())))
    }

    fn visit_f64<E>(self, v: f64) -> Result<usize, E> {
        // As `Value` does: a float JSON cannot hold is null.
        let kind = Number::from_f64(v).map_or(Kind::Null, Kind::Number);
        Ok(self.builder.push(kind))
    }

    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<usize, E> {
        Ok(self.builder.push(Kind::String(Cow::Borrowed(v))))
    }

    fn visit_str<E>(self, v: &str) -> Result<usize, E> {
        Ok(self.builder.push(Kind::String(Cow::Owned(v.to_owned()))))
    }

    fn visit_string<E>(self, v: String) -> Result<usize, E> {
        Ok(self.builder.push(Kind::String(Cow::Owned(v))))
    }

    fn visit_unit<E>(self) -> Result<usize, E> {
        Ok(self.builder.push(Kind::Null))
    }

    fn visit_none<E>(self) -> Result<usize, E> {
        Ok(self.builder.push(Kind::Null))
    }

    fn visit_some<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<usize, D::Error> {
        deserializer.deserialize_any(self)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<usize, A::Error> {
        let builder = self.builder;
        let index = builder.push(Kind::Null);
        let mark = builder.open_elements.len();
        while let Some(child) = seq.next_element_seed(NodeSeed {
            builder: &mut *builder,
        })? {
            builder.open_elements.push(child);
        }
        let start = builder.doc.elements.len();
        builder
            .doc
            .elements
            .extend(builder.open_elements.drain(mark..));
        let len = builder.doc.elements.len() - start;
        builder.doc.nodes[index] = Kind::Array { start, len };
        Ok(index)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<usize, A::Error> {
        let builder = self.builder;
        let index = builder.push(Kind::Null);
        let mark = builder.open_members.len();
        while let Some(key) = map.next_key_seed(KeySeed)? {
            let child = map.next_value_seed(NodeSeed {
                builder: &mut *builder,
            })?;
            builder.open_members.push((key, child));
        }
        builder.close_object(index, mark);
        Ok(index)
    }
}

/// An object key, borrowed from the input unless it has escapes.
struct KeySeed;

impl<'de> DeserializeSeed<'de> for KeySeed {
    type Value = Cow<'de, str>;

    fn deserialize<D: de::Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> Result<Cow<'de, str>, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeySeed {
    type Value = Cow<'de, str>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object key")
    }

    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Cow<'de, str>, E> {
        Ok(Cow::Borrowed(v))
    }

    fn visit_str<E>(self, v: &str) -> Result<Cow<'de, str>, E> {
        Ok(Cow::Owned(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Cow<'de, str>, E> {
        Ok(Cow::Owned(v))
    }
}

/// The `jsonschema` representation of a [`Doc`].
#[derive(Debug)]
pub(crate) struct Borrowed;

/// A node of a [`Doc`], as `jsonschema` sees it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct DocNode<'a> {
    doc: &'a Doc<'a>,
    index: usize,
}

impl<'a> DocNode<'a> {
    fn kind(&self) -> &'a Kind<'a> {
        &self.doc.nodes[self.index]
    }

    fn at(&self, index: usize) -> DocNode<'a> {
        DocNode {
            doc: self.doc,
            index,
        }
    }
}

/// The members of an object node.
#[derive(Debug, Clone, Copy)]
pub(crate) struct DocObject<'a> {
    node: DocNode<'a>,
    members: &'a [(Cow<'a, str>, usize)],
}

/// The elements of an array node.
#[derive(Debug, Clone, Copy)]
pub(crate) struct DocArray<'a> {
    node: DocNode<'a>,
    elements: &'a [usize],
}

impl Json for Borrowed {
    type Node<'a> = DocNode<'a>;
    type PreparedKey = String;
    type StringBuffer = ();
    const ACYCLIC: bool = true;
    // `get` scans the members, so one pass over them (what `required`
    // does when an object is small enough) always beats a lookup per name.
    const KEYS_PER_LOOKUP: usize = 64;

    fn prepare_key(key: &str) -> String {
        key.to_owned()
    }

    fn with_string_node<T>((): &mut (), string: &str, f: impl FnOnce(DocNode<'_>) -> T) -> T {
        // `propertyNames` only; no contract schema uses it.
        let doc = Doc {
            nodes: vec![Kind::String(Cow::Borrowed(string))],
            ..Doc::default()
        };
        f(doc.root())
    }
}

impl<'a> Node<'a, Borrowed> for DocNode<'a> {
    type Object = DocObject<'a>;
    type Array = DocArray<'a>;
    type Number = &'a Number;

    fn as_object(&self) -> Option<DocObject<'a>> {
        match self.kind() {
            Kind::Object { start, len } => Some(DocObject {
                node: *self,
                members: &self.doc.members[*start..start + len],
            }),
            _ => None,
        }
    }

    fn as_array(&self) -> Option<DocArray<'a>> {
        match self.kind() {
            Kind::Array { start, len } => Some(DocArray {
                node: *self,
                elements: &self.doc.elements[*start..start + len],
            }),
            _ => None,
        }
    }

    fn as_string(&self) -> Option<Cow<'a, str>> {
        match self.kind() {
            Kind::String(s) => Some(Cow::Borrowed(s.as_ref())),
            _ => None,
        }
    }

    fn as_number(&self) -> Option<&'a Number> {
        match self.kind() {
            Kind::Number(n) => Some(n),
            _ => None,
        }
    }

    fn as_boolean(&self) -> Option<bool> {
        match self.kind() {
            Kind::Bool(b) => Some(*b),
            _ => None,
        }
    }

    fn is_null(&self) -> bool {
        matches!(self.kind(), Kind::Null)
    }

    fn json_type(&self) -> JsonType {
        match self.kind() {
            Kind::Null => JsonType::Null,
            Kind::Bool(_) => JsonType::Boolean,
            Kind::Number(_) => JsonType::Number,
            Kind::String(_) => JsonType::String,
            Kind::Array { .. } => JsonType::Array,
            Kind::Object { .. } => JsonType::Object,
        }
    }

    fn to_value(&self) -> Cow<'a, Value> {
        Cow::Owned(self.doc.to_value(self.index))
    }

    fn identity(&self) -> Option<NodeIdentity> {
        let doc = std::ptr::from_ref::<Doc<'a>>(self.doc) as usize;
        Some(NodeIdentity::tagged(
            doc,
            u32::try_from(self.index).unwrap_or(u32::MAX),
        ))
    }
}

/// Member iterator of a [`DocObject`].
#[derive(Debug)]
pub(crate) struct DocMembers<'a> {
    node: DocNode<'a>,
    inner: std::slice::Iter<'a, (Cow<'a, str>, usize)>,
}

impl<'a> Iterator for DocMembers<'a> {
    type Item = (&'a str, DocNode<'a>);

    fn next(&mut self) -> Option<Self::Item> {
        self.inner
            .next()
            .map(|(key, child)| (key.as_ref(), self.node.at(*child)))
    }
}

impl<'a> Object<'a, Borrowed> for DocObject<'a> {
    type Node = DocNode<'a>;
    type MemberName = &'a str;
    type MembersIter = DocMembers<'a>;

    fn len(&self) -> usize {
        self.members.len()
    }

    fn get(&self, key: &String) -> Option<DocNode<'a>> {
        self.members
            .iter()
            .find(|(name, _)| name == key)
            .map(|(_, child)| self.node.at(*child))
    }

    fn members(&self) -> DocMembers<'a> {
        DocMembers {
            node: self.node,
            inner: self.members.iter(),
        }
    }
}

/// Element iterator of a [`DocArray`].
#[derive(Debug)]
pub(crate) struct DocElements<'a> {
    node: DocNode<'a>,
    inner: std::slice::Iter<'a, usize>,
}

impl<'a> Iterator for DocElements<'a> {
    type Item = DocNode<'a>;

    fn next(&mut self) -> Option<DocNode<'a>> {
        self.inner.next().map(|child| self.node.at(*child))
    }
}

impl<'a> Array<'a, Borrowed> for DocArray<'a> {
    type Node = DocNode<'a>;
    type ElementsIter = DocElements<'a>;

    fn len(&self) -> usize {
        self.elements.len()
    }

    fn elements(&self) -> DocElements<'a> {
        DocElements {
            node: self.node,
            inner: self.elements.iter(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(text: &str) -> Value {
        let doc = Doc::parse(text.as_bytes()).expect("parses");
        doc.to_value(0)
    }

    #[test]
    fn documents_read_back_as_serde_json_values() {
        for text in [
            r#"{"a":1,"b":[1,2,{"c":"d"}],"e":{"f":null,"g":true,"h":-1.5}}"#,
            r#"[]"#,
            r#"{}"#,
            r#""esc\"aped \u00e9""#,
            r#"{"k\u00e9y":"v","n":18446744073709551615,"m":-9223372036854775808}"#,
            r#"  {"a":[[],[{}]]}  "#,
            "1e400",
        ] {
            let expected: Result<Value, _> = serde_json::from_str(text);
            match expected {
                Ok(v) => assert_eq!(round_trip(text), v, "{text}"),
                Err(_) => assert!(Doc::parse(text.as_bytes()).is_none(), "{text}"),
            }
        }
    }

    #[test]
    fn repeated_keys_keep_the_last_value_at_the_first_position() {
        let text = r#"{"a":1,"b":2,"a":3,"c":{"x":1,"x":"y"}}"#;
        let v = round_trip(text);
        assert_eq!(v, serde_json::from_str::<Value>(text).unwrap());
        let keys: Vec<&String> = v.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["a", "b", "c"]);
        let many: String = (0..100)
            .map(|i| format!("\"k{}\":{i}", i % 40))
            .collect::<Vec<_>>()
            .join(",");
        let text = format!("{{{many}}}");
        assert_eq!(
            round_trip(&text),
            serde_json::from_str::<Value>(&text).unwrap()
        );
    }

    #[test]
    fn the_scanner_reads_what_serde_json_reads() {
        let deep = format!("{}1{}", "[".repeat(120), "]".repeat(120));
        let mut texts: Vec<String> = [
            r#"{"a":1,"b":[1,2,{"c":"d"}],"e":{"f":null,"g":true,"h":false}}"#,
            " \t\r\n{ \"a\" : [ true , false , null ] , \"b\" : { } , \"c\" : [ ] } \n",
            r#"{"é":"ü","":""}"#,
            "0",
            "-0",
            "01",
            "-01",
            "1.0",
            "1e5",
            "1E5",
            "-",
            "18446744073709551615",
            "18446744073709551616",
            "-9223372036854775808",
            "-9223372036854775809",
            "-1",
            r#""a\u0041""#,
            "\"raw\ttab\"",
            "[1,]",
            "[,1]",
            r#"{"a":1,}"#,
            r#"{"a" 1}"#,
            r#"{a:1}"#,
            "{\"a\":1}}",
            "tru",
            "truex",
            "nulll",
            "[1 2]",
            "\"unterminated",
            "",
            "   ",
            r#"{"a":1,"a":2}"#,
        ]
        .map(String::from)
        .to_vec();
        texts.push(deep);
        texts.push(format!("{}1{}", "[".repeat(90), "]".repeat(90)));
        for text in &texts {
            let expected = serde_json::from_str::<Value>(text).ok();
            match Scanner::scan(text.as_bytes()) {
                Ok(doc) => assert_eq!(Some(doc.to_value(0)), expected, "{text}"),
                Err(Unplain) => {
                    let doc = Doc::parse(text.as_bytes());
                    assert_eq!(doc.map(|d| d.to_value(0)), expected, "{text}");
                }
            }
        }
        // Plain documents are the scanner's own.
        for text in [texts[0].as_str(), texts[1].as_str(), "0", "-1", "[[[]]]"] {
            assert!(Scanner::scan(text.as_bytes()).is_ok(), "{text}");
        }
        assert!(Scanner::scan(b"\xff").is_err());
    }

    #[test]
    fn the_string_scan_finds_the_first_special_byte() {
        for text in [
            "",
            "abc",
            "abcdefgh",
            "abcdefghijklmnop",
            "abcdefg\"",
            "abcdefgh\"",
            "abcdefghi\\",
            "é€😀 ok \u{1f} x",
            "\u{7f}\u{80}abcdefghijkl\n",
            "0123456789abcdef0123456789abcdef\"",
            "!!!!!!!!#######$$$$$$$$\"",
            "\u{20}\u{20}\u{20}\u{20}\u{20}\u{20}\u{20}\u{20}\u{1f}",
        ] {
            let expected = text
                .bytes()
                .position(|b| matches!(b, b'"' | b'\\' | 0..=0x1f));
            assert_eq!(
                find_quote_escape_or_control(text.as_bytes()),
                expected,
                "{text:?}"
            );
        }
        for b in 0..=255u8 {
            for at in 0..20 {
                let mut bytes = vec![b'a'; 24];
                bytes[at] = b;
                let expected = bytes
                    .iter()
                    .position(|b| matches!(b, b'"' | b'\\' | 0..=0x1f));
                assert_eq!(
                    find_quote_escape_or_control(&bytes),
                    expected,
                    "{b} at {at}"
                );
            }
        }
    }

    #[test]
    fn malformed_documents_do_not_parse() {
        for text in ["", "{", r#"{"a":}"#, "[1,]", "{} x", "nul", r#""\ud800""#] {
            assert!(Doc::parse(text.as_bytes()).is_none(), "{text}");
        }
    }
}
