//! JSONPath (for `InputPath`, `OutputPath`, `ItemsPath`, `.$` fields) and reference paths
//! (for `ResultPath` and Choice `Variable`).
//!
//! Step Functions evaluates paths with Jayway-style JSONPath semantics: a *definite* path
//! (only `.name`, `['name']`, `[n]`) yields one value or fails; an *indefinite* path
//! (wildcards, slices, unions, filters, `..`) yields an array of every match, possibly empty.
//! <https://docs.aws.amazon.com/step-functions/latest/dg/amazon-states-language-paths.html>
//! A reference path is a definite path that may only use `.name`, `['name']` and `[n]`.
//! Paths beginning `$$` address the context object; `$name` addresses a workflow variable
//! (<https://docs.aws.amazon.com/step-functions/latest/dg/workflow-variables.html>).

use serde_json::{Map, Value};

/// Where a path starts.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Root {
    /// `$` — the effective input.
    Input,
    /// `$$` — the context object.
    Context,
    /// `$name` — a workflow variable.
    Variable(String),
}

/// A comparison literal in a filter expression.
#[derive(Debug, Clone, PartialEq)]
enum Lit {
    Value(Value),
}

#[derive(Debug, Clone, PartialEq)]
enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

#[derive(Debug, Clone, PartialEq)]
enum Filter {
    Exists(Vec<Seg>),
    Cmp(Vec<Seg>, CmpOp, Lit),
    And(Box<Filter>, Box<Filter>),
    Or(Box<Filter>, Box<Filter>),
    Not(Box<Filter>),
}

#[derive(Debug, Clone, PartialEq)]
enum Seg {
    Child(String),
    Index(i64),
    Wildcard,
    Descendant(Box<Seg>),
    Union(Vec<Seg>),
    Slice(Option<i64>, Option<i64>, Option<i64>),
    Filter(Filter),
}

/// A parsed JSONPath.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct JsonPath {
    pub(crate) root: Root,
    segs: Vec<Seg>,
    text: String,
}

/// Why a path could not be parsed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("invalid path '{path}': {reason}")]
pub(crate) struct PathSyntaxError {
    pub(crate) path: String,
    pub(crate) reason: String,
}

/// Most filter terms (`@…`, `!`, `(…)`) in one path. The filter parser and evaluator recurse
/// once per term, so this bounds their stack (issue 11: `$[?(!!!!…@.a)]` overflowed it).
const MAX_FILTER_TERMS: usize = 64;

struct P<'a> {
    s: &'a [u8],
    src: &'a str,
    i: usize,
    /// Filter terms parsed so far (see [`MAX_FILTER_TERMS`]).
    terms: usize,
}

impl<'a> P<'a> {
    fn err(&self, reason: impl Into<String>) -> PathSyntaxError {
        PathSyntaxError {
            path: self.src.to_string(),
            reason: reason.into(),
        }
    }
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }
    fn eat(&mut self, c: u8) -> bool {
        if self.peek() == Some(c) {
            self.i += 1;
            true
        } else {
            false
        }
    }
    fn ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.i += 1;
        }
    }
    fn name(&mut self) -> String {
        let start = self.i;
        while let Some(c) = self.peek() {
            if c == b'.' || c == b'[' {
                break;
            }
            self.i += 1;
        }
        self.src.get(start..self.i).unwrap_or("").to_string()
    }
    fn int(&mut self) -> Option<i64> {
        self.ws();
        let start = self.i;
        if self.peek() == Some(b'-') {
            self.i += 1;
        }
        while matches!(self.peek(), Some(b'0'..=b'9')) {
            self.i += 1;
        }
        if self.i == start || self.src.get(start..self.i) == Some("-") {
            self.i = start;
            return None;
        }
        self.src.get(start..self.i)?.parse().ok()
    }
    fn quoted(&mut self) -> Result<String, PathSyntaxError> {
        let q = self.peek().ok_or_else(|| self.err("unexpected end"))?;
        if q != b'\'' && q != b'"' {
            return Err(self.err("expected a quoted name"));
        }
        self.i += 1;
        let mut out = String::new();
        loop {
            let rest = self.src.get(self.i..).unwrap_or("");
            let mut chars = rest.chars();
            let c = chars
                .next()
                .ok_or_else(|| self.err("unterminated quoted name"))?;
            self.i += c.len_utf8();
            if c as u32 == q as u32 {
                return Ok(out);
            }
            if c == '\\' {
                // A backslash escapes the closing quote and itself; before anything else it is
                // kept (AWS-recorded: LocalStack scenarios/test_base_scenarios.snapshot.json,
                // ESCAPE_SEQUENCES_JSONPATH: `$['Test\""Name"']` selects the key `Test\""Name"`).
                let n = self
                    .src
                    .get(self.i..)
                    .unwrap_or("")
                    .chars()
                    .next()
                    .ok_or_else(|| self.err("unterminated escape"))?;
                if n as u32 == q as u32 || n == '\\' {
                    self.i += n.len_utf8();
                    out.push(n);
                } else {
                    out.push(c);
                }
            } else {
                out.push(c);
            }
        }
    }

    fn segs(&mut self, in_filter: bool) -> Result<Vec<Seg>, PathSyntaxError> {
        let mut segs = Vec::new();
        loop {
            match self.peek() {
                None => break,
                Some(b'.') => {
                    self.i += 1;
                    if self.eat(b'.') {
                        let inner = if self.eat(b'*') {
                            Seg::Wildcard
                        } else if self.peek() == Some(b'[') {
                            self.bracket()?
                        } else {
                            let n = self.name_f(in_filter);
                            if n.is_empty() {
                                return Err(self.err("empty name after '..'"));
                            }
                            Seg::Child(n)
                        };
                        segs.push(Seg::Descendant(Box::new(inner)));
                    } else if self.eat(b'*') {
                        segs.push(Seg::Wildcard);
                    } else {
                        let n = self.name_f(in_filter);
                        if n.is_empty() {
                            return Err(self.err("empty name after '.'"));
                        }
                        segs.push(Seg::Child(n));
                    }
                }
                Some(b'[') => segs.push(self.bracket()?),
                Some(_) if in_filter => break,
                Some(c) => return Err(self.err(format!("unexpected character '{}'", c as char))),
            }
        }
        Ok(segs)
    }

    fn name_f(&mut self, in_filter: bool) -> String {
        if !in_filter {
            return self.name();
        }
        let start = self.i;
        while let Some(c) = self.peek() {
            if c.is_ascii_alphanumeric() || c == b'_' || c == b'-' || c >= 0x80 {
                self.i += 1;
            } else {
                break;
            }
        }
        self.src.get(start..self.i).unwrap_or("").to_string()
    }

    fn bracket(&mut self) -> Result<Seg, PathSyntaxError> {
        self.i += 1; // '['
        self.ws();
        let seg = match self.peek() {
            Some(b'*') => {
                self.i += 1;
                Seg::Wildcard
            }
            Some(b'\'' | b'"') => {
                let mut names = vec![Seg::Child(self.quoted()?)];
                self.ws();
                while self.eat(b',') {
                    self.ws();
                    names.push(Seg::Child(self.quoted()?));
                    self.ws();
                }
                if names.len() == 1 {
                    names.pop().unwrap_or(Seg::Wildcard)
                } else {
                    Seg::Union(names)
                }
            }
            Some(b'?') => {
                self.i += 1;
                self.ws();
                if !self.eat(b'(') {
                    return Err(self.err("expected '(' after '?'"));
                }
                let f = self.filter_or()?;
                self.ws();
                if !self.eat(b')') {
                    return Err(self.err("expected ')' closing the filter"));
                }
                Seg::Filter(f)
            }
            _ => {
                let a = self.int();
                self.ws();
                if self.eat(b':') {
                    let b = self.int();
                    self.ws();
                    let c = if self.eat(b':') { self.int() } else { None };
                    if c == Some(0) {
                        return Err(self.err("slice step cannot be zero"));
                    }
                    Seg::Slice(a, b, c)
                } else {
                    let a =
                        a.ok_or_else(|| self.err("expected an index, name, '*', slice or filter"))?;
                    let mut idx = vec![Seg::Index(a)];
                    while self.eat(b',') {
                        let n = self.int().ok_or_else(|| self.err("expected an index"))?;
                        idx.push(Seg::Index(n));
                        self.ws();
                    }
                    if idx.len() == 1 {
                        idx.pop().unwrap_or(Seg::Wildcard)
                    } else {
                        Seg::Union(idx)
                    }
                }
            }
        };
        self.ws();
        if !self.eat(b']') {
            return Err(self.err("expected ']'"));
        }
        Ok(seg)
    }

    fn filter_or(&mut self) -> Result<Filter, PathSyntaxError> {
        let mut l = self.filter_and()?;
        loop {
            self.ws();
            if self.src.get(self.i..).is_some_and(|r| r.starts_with("||")) {
                self.i += 2;
                let r = self.filter_and()?;
                l = Filter::Or(Box::new(l), Box::new(r));
            } else {
                return Ok(l);
            }
        }
    }
    fn filter_and(&mut self) -> Result<Filter, PathSyntaxError> {
        let mut l = self.filter_atom()?;
        loop {
            self.ws();
            if self.src.get(self.i..).is_some_and(|r| r.starts_with("&&")) {
                self.i += 2;
                let r = self.filter_atom()?;
                l = Filter::And(Box::new(l), Box::new(r));
            } else {
                return Ok(l);
            }
        }
    }
    fn filter_atom(&mut self) -> Result<Filter, PathSyntaxError> {
        self.terms += 1;
        if self.terms > MAX_FILTER_TERMS {
            return Err(self.err(format!(
                "a path may have at most {MAX_FILTER_TERMS} filter terms"
            )));
        }
        self.ws();
        if self.eat(b'!') {
            return Ok(Filter::Not(Box::new(self.filter_atom()?)));
        }
        if self.eat(b'(') {
            let f = self.filter_or()?;
            self.ws();
            if !self.eat(b')') {
                return Err(self.err("expected ')'"));
            }
            return Ok(f);
        }
        if !self.eat(b'@') {
            return Err(self.err("filter expressions must start with '@'"));
        }
        let segs = self.segs(true)?;
        self.ws();
        let rest = self.src.get(self.i..).unwrap_or("");
        let op = [
            ("==", CmpOp::Eq),
            ("!=", CmpOp::Ne),
            ("<=", CmpOp::Le),
            (">=", CmpOp::Ge),
            ("<", CmpOp::Lt),
            (">", CmpOp::Gt),
        ]
        .into_iter()
        .find(|(t, _)| rest.starts_with(t));
        let Some((tok, op)) = op else {
            return Ok(Filter::Exists(segs));
        };
        self.i += tok.len();
        self.ws();
        let lit = self.literal()?;
        Ok(Filter::Cmp(segs, op, lit))
    }
    fn literal(&mut self) -> Result<Lit, PathSyntaxError> {
        match self.peek() {
            Some(b'\'' | b'"') => Ok(Lit::Value(Value::String(self.quoted()?))),
            _ => {
                let start = self.i;
                while let Some(c) = self.peek() {
                    if c == b')' || c == b' ' || c == b'&' || c == b'|' {
                        break;
                    }
                    self.i += 1;
                }
                let tok = self.src.get(start..self.i).unwrap_or("");
                serde_json::from_str::<Value>(tok)
                    .ok()
                    .filter(|v| !v.is_object() && !v.is_array())
                    .map(Lit::Value)
                    .ok_or_else(|| self.err(format!("invalid literal '{tok}'")))
            }
        }
    }
}

impl JsonPath {
    /// Parses `$...`, `$$...` or `$var...`.
    pub(crate) fn parse(src: &str) -> Result<JsonPath, PathSyntaxError> {
        let mut p = P {
            s: src.as_bytes(),
            src,
            i: 0,
            terms: 0,
        };
        if !p.eat(b'$') {
            return Err(p.err("a path must start with '$'"));
        }
        let root = if p.eat(b'$') {
            Root::Context
        } else if matches!(p.peek(), Some(c) if c.is_ascii_alphabetic() || c == b'_') {
            let start = p.i;
            while matches!(p.peek(), Some(c) if c.is_ascii_alphanumeric() || c == b'_') {
                p.i += 1;
            }
            Root::Variable(src[start..p.i].to_string())
        } else {
            Root::Input
        };
        let segs = p.segs(false)?;
        Ok(JsonPath {
            root,
            segs,
            text: src.to_string(),
        })
    }

    /// Parses a reference path: definite, only names and indexes.
    pub(crate) fn parse_reference(src: &str) -> Result<JsonPath, PathSyntaxError> {
        let p = Self::parse(src)?;
        if !p.is_reference() {
            return Err(PathSyntaxError {
                path: src.to_string(),
                reason: "a reference path may only use '.name', \"['name']\" and '[index]'".into(),
            });
        }
        Ok(p)
    }

    /// The source text.
    pub(crate) fn as_str(&self) -> &str {
        &self.text
    }

    /// The path as Jayway normalizes it in messages: `$['a']['b'][0]` (AWS-recorded:
    /// "No results for path: $['NoSuchInputPath']", LocalStack
    /// scenarios/test_base_scenarios.snapshot.json, test_invalid_jsonpath).
    pub(crate) fn normalized(&self) -> String {
        let mut out = match &self.root {
            Root::Input => "$".to_string(),
            Root::Context => "$$".to_string(),
            Root::Variable(v) => format!("${v}"),
        };
        if !self.is_reference() {
            return self.text.clone();
        }
        for s in &self.segs {
            match s {
                Seg::Child(n) => out.push_str(&format!("['{n}']")),
                Seg::Index(i) => out.push_str(&format!("[{i}]")),
                _ => {}
            }
        }
        out
    }

    /// True when the path has only names and indexes (a reference path).
    pub(crate) fn is_reference(&self) -> bool {
        self.segs
            .iter()
            .all(|s| matches!(s, Seg::Child(_) | Seg::Index(_)))
    }

    /// True for the bare root `$`.
    /// Selects from `doc` (already chosen by the root). `None` = a definite path matched
    /// nothing; indefinite paths always give `Some(array)`.
    pub(crate) fn select(&self, doc: &Value) -> Option<Value> {
        if self.is_reference() {
            let mut cur = doc;
            for s in &self.segs {
                cur = match s {
                    Seg::Child(n) => cur.as_object()?.get(n)?,
                    Seg::Index(i) => {
                        let a = cur.as_array()?;
                        let i = if *i < 0 { a.len() as i64 + *i } else { *i };
                        a.get(usize::try_from(i).ok()?)?
                    }
                    _ => return None,
                };
            }
            return Some(cur.clone());
        }
        let mut cur: Vec<&Value> = vec![doc];
        for s in &self.segs {
            let mut next = Vec::new();
            for v in cur {
                apply(s, v, &mut next);
            }
            cur = next;
        }
        Some(Value::Array(cur.into_iter().cloned().collect()))
    }

    /// Writes `value` at this reference path inside `doc`, creating objects on the way
    /// (ResultPath semantics). Errors name the failing step.
    pub(crate) fn set(&self, doc: &mut Value, value: Value) -> Result<(), String> {
        if self.segs.is_empty() {
            *doc = value;
            return Ok(());
        }
        let mut cur = doc;
        let n = self.segs.len();
        for (k, s) in self.segs.iter().enumerate() {
            let last = k + 1 == n;
            match s {
                Seg::Child(name) => {
                    let obj = cur
                        .as_object_mut()
                        .ok_or_else(|| format!("the path '{}' cannot be applied because a value on the way is not an object", self.text))?;
                    if last {
                        obj.insert(name.clone(), value);
                        return Ok(());
                    }
                    cur = obj
                        .entry(name.clone())
                        .or_insert_with(|| Value::Object(Map::new()));
                }
                Seg::Index(i) => {
                    let arr = cur
                        .as_array_mut()
                        .ok_or_else(|| format!("the path '{}' cannot be applied because a value on the way is not an array", self.text))?;
                    let len = arr.len() as i64;
                    let i = if *i < 0 { len + *i } else { *i };
                    let slot = usize::try_from(i)
                        .ok()
                        .and_then(|i| arr.get_mut(i))
                        .ok_or_else(|| {
                            format!("the index in path '{}' is out of bounds", self.text)
                        })?;
                    if last {
                        *slot = value;
                        return Ok(());
                    }
                    cur = slot;
                }
                _ => return Err(format!("'{}' is not a reference path", self.text)),
            }
        }
        Ok(())
    }
}

fn apply<'v>(s: &Seg, v: &'v Value, out: &mut Vec<&'v Value>) {
    match s {
        Seg::Child(n) => {
            if let Some(x) = v.as_object().and_then(|o| o.get(n)) {
                out.push(x);
            }
        }
        Seg::Index(i) => {
            if let Some(a) = v.as_array() {
                let i = if *i < 0 { a.len() as i64 + *i } else { *i };
                if let Some(x) = usize::try_from(i).ok().and_then(|i| a.get(i)) {
                    out.push(x);
                }
            }
        }
        Seg::Wildcard => match v {
            Value::Array(a) => out.extend(a.iter()),
            Value::Object(o) => out.extend(o.values()),
            _ => {}
        },
        Seg::Union(items) => {
            for it in items {
                apply(it, v, out);
            }
        }
        Seg::Slice(a, b, c) => {
            if let Some(arr) = v.as_array() {
                let len = arr.len() as i64;
                let step = c.unwrap_or(1);
                let norm = |x: i64| if x < 0 { (len + x).max(0) } else { x.min(len) };
                if step > 0 {
                    let mut i = a.map(norm).unwrap_or(0);
                    let end = b.map(norm).unwrap_or(len);
                    while i < end {
                        if let Some(x) = arr.get(i as usize) {
                            out.push(x);
                        }
                        i += step;
                    }
                } else {
                    let mut i = a.map(|x| norm(x).min(len - 1)).unwrap_or(len - 1);
                    let end = b.map(norm).unwrap_or(-1);
                    while i > end && i >= 0 {
                        if let Some(x) = arr.get(i as usize) {
                            out.push(x);
                        }
                        i += step;
                    }
                }
            }
        }
        Seg::Descendant(inner) => {
            descend(inner, v, out);
        }
        Seg::Filter(f) => {
            let items: Vec<&Value> = match v {
                Value::Array(a) => a.iter().collect(),
                Value::Object(o) => o.values().collect(),
                _ => vec![],
            };
            for it in items {
                if eval_filter(f, it) {
                    out.push(it);
                }
            }
        }
    }
}

fn descend<'v>(inner: &Seg, v: &'v Value, out: &mut Vec<&'v Value>) {
    apply(inner, v, out);
    match v {
        Value::Array(a) => a.iter().for_each(|x| descend(inner, x, out)),
        Value::Object(o) => o.values().for_each(|x| descend(inner, x, out)),
        _ => {}
    }
}

fn sub_select<'v>(segs: &[Seg], v: &'v Value) -> Option<&'v Value> {
    let mut cur = v;
    for s in segs {
        let mut out = Vec::new();
        apply(s, cur, &mut out);
        cur = out.into_iter().next()?;
    }
    Some(cur)
}

fn eval_filter(f: &Filter, v: &Value) -> bool {
    match f {
        Filter::Exists(segs) => sub_select(segs, v).is_some(),
        Filter::And(a, b) => eval_filter(a, v) && eval_filter(b, v),
        Filter::Or(a, b) => eval_filter(a, v) || eval_filter(b, v),
        Filter::Not(a) => !eval_filter(a, v),
        Filter::Cmp(segs, op, Lit::Value(lit)) => {
            let Some(x) = sub_select(segs, v) else {
                return false;
            };
            let ord = match (x, lit) {
                (Value::Number(a), Value::Number(b)) => a
                    .as_f64()
                    .zip(b.as_f64())
                    .and_then(|(a, b)| a.partial_cmp(&b)),
                (Value::String(a), Value::String(b)) => Some(a.cmp(b)),
                (a, b) => {
                    return match op {
                        CmpOp::Eq => a == b,
                        CmpOp::Ne => a != b,
                        _ => false,
                    };
                }
            };
            let Some(ord) = ord else { return false };
            use std::cmp::Ordering::*;
            match op {
                CmpOp::Eq => ord == Equal,
                CmpOp::Ne => ord != Equal,
                CmpOp::Lt => ord == Less,
                CmpOp::Le => ord != Greater,
                CmpOp::Gt => ord == Greater,
                CmpOp::Ge => ord != Less,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_multibyte_character_after_a_bracket_is_a_syntax_error_not_a_panic() {
        // Found by the parsers' fuzzer (tests/fuzz.rs): a union's second name that is not
        // quoted, and a non-ASCII character where a quote was expected.
        for p in [
            "$.t(['{}',\u{fffd} $.a)",
            "$['', \u{fffd}$.a",
            "$[\u{fffd}]",
            "$['a',\u{e9}]",
        ] {
            assert!(super::JsonPath::parse(p).is_err(), "{p}");
        }
    }

    use super::*;
    use serde_json::json;

    fn sel(p: &str, v: &Value) -> Option<Value> {
        JsonPath::parse(p).unwrap().select(v)
    }

    #[test]
    fn definite_paths() {
        let v = json!({"a": {"b": [10, 20, {"c": "x"}]}, "sp ace": 1});
        assert_eq!(sel("$", &v), Some(v.clone()));
        assert_eq!(sel("$.a.b[1]", &v), Some(json!(20)));
        assert_eq!(sel("$.a.b[2].c", &v), Some(json!("x")));
        assert_eq!(sel("$['a']['b'][0]", &v), Some(json!(10)));
        assert_eq!(sel("$.a.missing", &v), None);
        assert_eq!(sel("$['sp ace']", &v), Some(json!(1)));
    }

    #[test]
    fn indefinite_paths() {
        let v = json!({"items": [{"n": 1, "ok": true}, {"n": 5}, {"n": 9, "ok": false}]});
        assert_eq!(sel("$.items[*].n", &v), Some(json!([1, 5, 9])));
        assert_eq!(sel("$.items[?(@.n > 2)].n", &v), Some(json!([5, 9])));
        assert_eq!(sel("$.items[?(@.ok)].n", &v), Some(json!([1, 9])));
        assert_eq!(sel("$.items[?(@.ok == true)].n", &v), Some(json!([1])));
        assert_eq!(sel("$..n", &v), Some(json!([1, 5, 9])));
        assert_eq!(sel("$.items[0:2].n", &v), Some(json!([1, 5])));
        assert_eq!(sel("$.items[-1:].n", &v), Some(json!([9])));
        assert_eq!(sel("$.items[0,2].n", &v), Some(json!([1, 9])));
        assert_eq!(sel("$.nothing[*]", &v), Some(json!([])));
    }

    #[test]
    fn roots() {
        assert_eq!(
            JsonPath::parse("$$.Execution.Id").unwrap().root,
            Root::Context
        );
        assert_eq!(
            JsonPath::parse("$myVar.x").unwrap().root,
            Root::Variable("myVar".into())
        );
        assert!(JsonPath::parse("foo").is_err());
        assert!(JsonPath::parse("$.a[").is_err());
        assert!(JsonPath::parse_reference("$.a[*]").is_err());
    }

    #[test]
    fn set_creates_objects() {
        let mut v = json!({"a": 1});
        JsonPath::parse_reference("$.b.c")
            .unwrap()
            .set(&mut v, json!(2))
            .unwrap();
        assert_eq!(v, json!({"a": 1, "b": {"c": 2}}));
        let mut v = json!({"a": 1});
        assert!(
            JsonPath::parse_reference("$.a.c")
                .unwrap()
                .set(&mut v, json!(2))
                .is_err()
        );
    }
}

#[cfg(test)]
mod props {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn key() -> impl Strategy<Value = String> {
        "[a-zA-Z_][a-zA-Z0-9_]{0,6}"
    }

    proptest! {
        #[test]
        fn set_then_select_round_trips(keys in proptest::collection::vec(key(), 1..5), v in any::<i64>()) {
            let path = format!("$.{}", keys.join("."));
            let p = JsonPath::parse_reference(&path).unwrap();
            let mut doc = json!({"untouched": true});
            p.set(&mut doc, json!(v)).unwrap();
            prop_assert_eq!(p.select(&doc), Some(json!(v)));
            prop_assert_eq!(doc["untouched"].clone(), json!(true));
            // Bracket notation addresses the same node.
            let bracket = format!("${}", keys.iter().map(|k| format!("['{k}']")).collect::<String>());
            prop_assert_eq!(JsonPath::parse(&bracket).unwrap().select(&doc), Some(json!(v)));
        }

        #[test]
        fn wildcard_collects_every_element(items in proptest::collection::vec(any::<i32>(), 0..10)) {
            let doc = json!({"a": items.iter().map(|i| json!({"v": i})).collect::<Vec<_>>()});
            prop_assert_eq!(JsonPath::parse("$.a[*].v").unwrap().select(&doc), Some(json!(items)));
            let n = items.len() as i64;
            if n > 0 {
                prop_assert_eq!(JsonPath::parse(&format!("$.a[{}].v", n - 1)).unwrap().select(&doc), Some(json!(items[items.len() - 1])));
                prop_assert_eq!(JsonPath::parse("$.a[-1].v").unwrap().select(&doc), Some(json!(items[items.len() - 1])));
            }
            prop_assert_eq!(JsonPath::parse(&format!("$.a[{n}]")).unwrap().select(&doc), None);
        }

        #[test]
        fn parser_never_panics(s in "\\PC{0,40}") {
            let _ = JsonPath::parse(&s);
            let _ = JsonPath::parse(&format!("${s}"));
            let _ = crate::asl::intrinsics::parse(&format!("States.Format({s})"));
        }

        #[test]
        fn definition_parser_never_panics(s in "\\PC{0,200}") {
            let _ = crate::asl::StateMachine::parse(&s);
            let wrapped = format!("{{\"StartAt\":\"A\",\"States\":{{\"A\":{{\"Type\":\"Pass\",\"Parameters\":{{\"x.$\":{}}},\"End\":true}}}}}}", serde_json::Value::String(s.clone()));
            let _ = crate::asl::StateMachine::parse(&wrapped);
        }
    }

    /// Issue 11: a deep filter overflowed the stack at parse time.
    #[test]
    fn deep_filters_are_syntax_errors() {
        let bangs = format!("$[?({}@.a)]", "!".repeat(100_000));
        assert!(
            JsonPath::parse(&bangs)
                .unwrap_err()
                .reason
                .contains("filter terms")
        );
        let ors = format!("$[?({})]", vec!["@.a"; 100_000].join("||"));
        assert!(JsonPath::parse(&ors).is_err());
        let parens = format!("$[?({}@.a{})]", "(".repeat(100_000), ")".repeat(100_000));
        assert!(JsonPath::parse(&parens).is_err());
        assert!(JsonPath::parse("$[?(!(@.a || @.b) && @.c)]").is_ok());
    }
}
