//! Intrinsic functions (`States.Format(...)` and friends) for JSONPath states.
//!
//! Syntax, argument rules and escapes follow
//! <https://docs.aws.amazon.com/step-functions/latest/dg/intrinsic-functions.html>:
//! string literals are single-quoted; inside them `\'`, `\{`, `\}` and `\\` escape the
//! reserved characters, and any other backslash is an error; at most 10 nested calls.

use super::error::{StatesError, names};
use super::path::JsonPath;
use base64::Engine as _;
use rand::{RngCore, SeedableRng};
use serde_json::{Map, Value};

/// The deepest nesting AWS accepts ("You can nest up to 10 intrinsic functions").
const MAX_NESTING: usize = 10;
/// Input size limit of Base64Encode/Base64Decode/Hash ("up to 10,000 characters").
const MAX_STRING_ARG: usize = 10_000;
/// States.ArrayRange may produce at most 1,000 elements.
const MAX_RANGE: usize = 1000;

/// One argument of an intrinsic call.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Arg {
    Literal(Value),
    Path(JsonPath),
    Call(Call),
}

/// A parsed intrinsic call.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Call {
    pub(crate) name: String,
    pub(crate) args: Vec<Arg>,
}

/// (name, min args, max args)
const FUNCTIONS: &[(&str, usize, usize)] = &[
    ("States.Format", 1, usize::MAX),
    ("States.StringToJson", 1, 1),
    ("States.JsonToString", 1, 1),
    ("States.Array", 0, usize::MAX),
    ("States.ArrayPartition", 2, 2),
    ("States.ArrayContains", 2, 2),
    ("States.ArrayRange", 3, 3),
    ("States.ArrayGetItem", 2, 2),
    ("States.ArrayLength", 1, 1),
    ("States.ArrayUnique", 1, 1),
    ("States.Base64Encode", 1, 1),
    ("States.Base64Decode", 1, 1),
    ("States.Hash", 2, 2),
    ("States.JsonMerge", 3, 3),
    ("States.MathRandom", 2, 3),
    ("States.MathAdd", 2, 2),
    ("States.StringSplit", 2, 2),
    ("States.UUID", 0, 0),
];

/// True when a `.$` value looks like an intrinsic call rather than a path.
pub(crate) fn looks_like_call(s: &str) -> bool {
    s.trim_start().starts_with("States.")
}

struct Parser<'a> {
    src: &'a str,
    i: usize,
}

impl Parser<'_> {
    fn err(&self, m: impl Into<String>) -> String {
        format!("{} (at character {} of '{}')", m.into(), self.i, self.src)
    }
    fn ws(&mut self) {
        while self.src[self.i..].starts_with([' ', '\t', '\n', '\r']) {
            self.i += 1;
        }
    }
    fn call(&mut self, depth: usize) -> Result<Call, String> {
        if depth > MAX_NESTING {
            return Err(format!(
                "intrinsic functions can be nested at most {MAX_NESTING} deep"
            ));
        }
        self.ws();
        let start = self.i;
        while let Some(c) = self.src[self.i..].chars().next() {
            if c.is_ascii_alphanumeric() || c == '.' {
                self.i += 1;
            } else {
                break;
            }
        }
        let name = self.src[start..self.i].to_string();
        let Some(&(_, min, max)) = FUNCTIONS.iter().find(|(n, _, _)| *n == name) else {
            return Err(format!("unknown intrinsic function '{name}'"));
        };
        self.ws();
        if !self.src[self.i..].starts_with('(') {
            return Err(self.err("expected '('"));
        }
        self.i += 1;
        let mut args = Vec::new();
        self.ws();
        if self.src[self.i..].starts_with(')') {
            self.i += 1;
        } else {
            loop {
                args.push(self.arg(depth)?);
                self.ws();
                if self.src[self.i..].starts_with(',') {
                    self.i += 1;
                } else if self.src[self.i..].starts_with(')') {
                    self.i += 1;
                    break;
                } else {
                    return Err(self.err("expected ',' or ')'"));
                }
            }
        }
        if args.len() < min || args.len() > max {
            return Err(if min == max {
                format!("{name} takes {min} argument(s), got {}", args.len())
            } else {
                format!(
                    "{name} takes at least {min} argument(s), got {}",
                    args.len()
                )
            });
        }
        Ok(Call { name, args })
    }
    fn arg(&mut self, depth: usize) -> Result<Arg, String> {
        self.ws();
        let rest = self.src.get(self.i..).unwrap_or("");
        if rest.starts_with('\'') {
            self.i += 1;
            let mut out = String::new();
            loop {
                let c = self.src[self.i..]
                    .chars()
                    .next()
                    .ok_or_else(|| self.err("unterminated string literal"))?;
                self.i += c.len_utf8();
                match c {
                    '\'' => break,
                    '\\' => {
                        let n = self.src[self.i..]
                            .chars()
                            .next()
                            .ok_or_else(|| self.err("open escape at end of string"))?;
                        if !matches!(n, '\'' | '{' | '}' | '\\') {
                            return Err(self.err(format!("invalid escape '\\{n}'")));
                        }
                        self.i += n.len_utf8();
                        // Keep `\{`/`\}` marked so States.Format does not take them as `{}`.
                        if n == '{' || n == '}' {
                            out.push('\u{0}');
                        }
                        out.push(n);
                    }
                    c => out.push(c),
                }
            }
            return Ok(Arg::Literal(Value::String(out)));
        }
        if rest.starts_with("States.") {
            return Ok(Arg::Call(self.call(depth + 1)?));
        }
        if rest.starts_with('$') {
            // A path runs to the next top-level ',' or ')' (brackets may hold commas).
            let mut depth_b = 0i32;
            let mut quote: Option<char> = None;
            let start = self.i;
            for (k, c) in rest.char_indices() {
                if let Some(q) = quote {
                    if c == q {
                        quote = None;
                    }
                    continue;
                }
                match c {
                    '\'' | '"' if depth_b > 0 => quote = Some(c),
                    '[' | '(' => depth_b += 1,
                    ']' => depth_b -= 1,
                    ')' if depth_b > 0 => depth_b -= 1,
                    ',' | ')' if depth_b == 0 => {
                        self.i = start + k;
                        break;
                    }
                    _ => {}
                }
                self.i = start + k + c.len_utf8();
            }
            let text = self.src[start..self.i].trim();
            return JsonPath::parse(text)
                .map(Arg::Path)
                .map_err(|e| e.to_string());
        }
        // number, true, false, null
        let start = self.i;
        while let Some(c) = self.src[self.i..].chars().next() {
            if c == ',' || c == ')' || c.is_whitespace() {
                break;
            }
            self.i += c.len_utf8();
        }
        let tok = self.src.get(start..self.i).unwrap_or("");
        match serde_json::from_str::<Value>(tok) {
            Ok(v @ (Value::Number(_) | Value::Bool(_) | Value::Null)) => Ok(Arg::Literal(v)),
            _ => Err(self.err(format!("invalid argument '{tok}'"))),
        }
    }
}

/// Parses a whole `.$` value that is an intrinsic call.
pub(crate) fn parse(src: &str) -> Result<Call, String> {
    let mut p = Parser { src, i: 0 };
    let c = p.call(1)?;
    p.ws();
    if p.i != src.len() {
        return Err(p.err("unexpected text after the call"));
    }
    Ok(c)
}

fn fail(msg: impl Into<String>) -> StatesError {
    StatesError::new(names::INTRINSIC_FAILURE, msg)
}

fn unmark(s: &str) -> String {
    s.replace('\u{0}', "")
}

/// Strips the escape markers from a literal string (for values outside States.Format).
fn clean(v: Value) -> Value {
    match v {
        Value::String(s) if s.contains('\u{0}') => Value::String(unmark(&s)),
        other => other,
    }
}

/// `-0` parsed as the integer 0, as AWS's JSON reader does (`States.StringToJson("-0")` is
/// `0`: LocalStack intrinsic_functions/test_json_manipulation.snapshot.json).
fn integral_zero(v: Value) -> Value {
    match v {
        Value::Number(n) if n.as_f64() == Some(0.0) && !n.is_i64() && !n.is_u64() => {
            if n.to_string() == "-0.0" {
                Value::from(0)
            } else {
                Value::Number(n)
            }
        }
        Value::Array(a) => Value::Array(a.into_iter().map(integral_zero).collect()),
        Value::Object(m) => {
            Value::Object(m.into_iter().map(|(k, v)| (k, integral_zero(v))).collect())
        }
        other => other,
    }
}

/// A number rounded half up (`floor(x + 0.5)`, Java's `Math.round`); `None` past `i64`.
fn round_half_up(n: &serde_json::Number) -> Option<i64> {
    if let Some(i) = n.as_i64() {
        return Some(i);
    }
    let r = (n.as_f64()? + 0.5).floor();
    (r.is_finite() && r >= i64::MIN as f64 && r < i64::MAX as f64).then_some(r as i64)
}

/// How `States.Format` writes one value: strings raw, other scalars as JSON, objects and arrays
/// the way Java prints maps and lists (`{Arg1=1, Arg2=[]}`, `[1, a]`), strings inside them raw
/// (AWS-recorded: LocalStack intrinsic_functions/test_generic.snapshot.json, test_format_2).
fn format_value(v: &Value, out: &mut String) {
    match v {
        Value::String(s) => out.push_str(&unmark(s)),
        Value::Array(a) => {
            out.push('[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                format_value(x, out);
            }
            out.push(']');
        }
        Value::Object(m) => {
            out.push('{');
            for (i, (k, x)) in m.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                out.push_str(k);
                out.push('=');
                format_value(x, out);
            }
            out.push('}');
        }
        other => out.push_str(&other.to_string()),
    }
}

/// Evaluates a call. `resolve` looks up paths (raising `States.Runtime` when absent).
pub(crate) fn eval(
    call: &Call,
    resolve: &dyn Fn(&JsonPath) -> Result<Value, StatesError>,
    rng: &mut dyn RngCore,
) -> Result<Value, StatesError> {
    let mut args = Vec::with_capacity(call.args.len());
    for a in &call.args {
        args.push(match a {
            Arg::Literal(v) => v.clone(),
            Arg::Path(p) => resolve(p)?,
            Arg::Call(c) => eval(c, resolve, rng)?,
        });
    }
    let name = call.name.as_str();
    let want_str = |v: &Value, what: &str| -> Result<String, StatesError> {
        v.as_str()
            .map(unmark)
            .ok_or_else(|| fail(format!("{name}: the {what} argument must be a string")))
    };
    let want_arr = |v: &Value, what: &str| -> Result<Vec<Value>, StatesError> {
        v.as_array()
            .cloned()
            .ok_or_else(|| fail(format!("{name}: the {what} argument must be an array")))
    };
    let want_int = |v: &Value, what: &str| -> Result<i64, StatesError> {
        match v {
            Value::Number(n) => n
                .as_i64()
                .or_else(|| n.as_f64().filter(|f| f.fract() == 0.0).map(|f| f as i64))
                .ok_or_else(|| fail(format!("{name}: the {what} argument must be an integer"))),
            _ => Err(fail(format!(
                "{name}: the {what} argument must be an integer"
            ))),
        }
    };
    match name {
        "States.Format" => {
            let template = args[0]
                .as_str()
                .ok_or_else(|| fail("States.Format: the first argument must be a string"))?
                .to_string();
            let values = &args[1..];
            let placeholders = count_placeholders(&template);
            if placeholders != values.len() {
                return Err(fail(format!(
                    "States.Format: the template has {placeholders} placeholder(s) but {} value(s) were given",
                    values.len()
                )));
            }
            let mut out = String::new();
            let mut it = values.iter();
            let mut chars = template.chars().peekable();
            while let Some(c) = chars.next() {
                match c {
                    '\u{0}' => {
                        if let Some(n) = chars.next() {
                            out.push(n);
                        }
                    }
                    '{' if chars.peek() == Some(&'}') => {
                        chars.next();
                        if let Some(v) = it.next() {
                            format_value(v, &mut out);
                        }
                    }
                    c => out.push(c),
                }
            }
            Ok(Value::String(out))
        }
        "States.StringToJson" => {
            let s = want_str(&args[0], "first")?;
            // A blank string gives null (intrinsic_functions/test_json_manipulation.snapshot.json
            // in LocalStack's AWS-recorded suite, test_string_to_json: "" and " " -> null).
            if s.trim().is_empty() {
                return Ok(Value::Null);
            }
            serde_json::from_str(&s).map(integral_zero).map_err(|e| {
                fail(format!(
                    "States.StringToJson: the argument is not JSON: {e}"
                ))
            })
        }
        "States.JsonToString" => Ok(Value::String(clean(args[0].clone()).to_string())),
        "States.Array" => Ok(Value::Array(args.into_iter().map(clean).collect())),
        "States.ArrayPartition" => {
            let arr = want_arr(&args[0], "first")?;
            let size = want_int(&args[1], "second")?;
            if size <= 0 {
                return Err(fail(
                    "States.ArrayPartition: the chunk size must be a positive integer",
                ));
            }
            Ok(Value::Array(
                arr.chunks(size as usize)
                    .map(|c| Value::Array(c.to_vec()))
                    .collect(),
            ))
        }
        "States.ArrayContains" => {
            let arr = want_arr(&args[0], "first")?;
            let needle = clean(args[1].clone());
            Ok(Value::Bool(arr.iter().any(|v| json_eq(v, &needle))))
        }
        "States.ArrayRange" => {
            let (a, b, step) = (
                want_int(&args[0], "first")?,
                want_int(&args[1], "second")?,
                want_int(&args[2], "third")?,
            );
            if step == 0 {
                return Err(fail("States.ArrayRange: the step must not be zero"));
            }
            let mut out = Vec::new();
            let mut i = a;
            while (step > 0 && i <= b) || (step < 0 && i >= b) {
                out.push(Value::from(i));
                if out.len() > MAX_RANGE {
                    return Err(fail(format!(
                        "States.ArrayRange: the result may have at most {MAX_RANGE} elements"
                    )));
                }
                // The next value past i64's range ends the range (issue 11: it overflowed).
                let Some(next) = i.checked_add(step) else {
                    break;
                };
                i = next;
            }
            Ok(Value::Array(out))
        }
        "States.ArrayGetItem" => {
            let arr = want_arr(&args[0], "first")?;
            let i = want_int(&args[1], "second")?;
            usize::try_from(i)
                .ok()
                .and_then(|i| arr.get(i).cloned())
                .ok_or_else(|| fail(format!("States.ArrayGetItem: index {i} is out of bounds")))
        }
        "States.ArrayLength" => Ok(Value::from(want_arr(&args[0], "first")?.len())),
        "States.ArrayUnique" => {
            let arr = want_arr(&args[0], "first")?;
            let mut out: Vec<Value> = Vec::new();
            for v in arr {
                if !out.iter().any(|o| json_eq(o, &v)) {
                    out.push(v);
                }
            }
            Ok(Value::Array(out))
        }
        "States.Base64Encode" => {
            let s = want_str(&args[0], "first")?;
            if s.chars().count() > MAX_STRING_ARG {
                return Err(fail(
                    "States.Base64Encode: the input exceeds 10,000 characters",
                ));
            }
            Ok(Value::String(
                base64::engine::general_purpose::STANDARD.encode(s.as_bytes()),
            ))
        }
        "States.Base64Decode" => {
            let s = want_str(&args[0], "first")?;
            if s.chars().count() > MAX_STRING_ARG {
                return Err(fail(
                    "States.Base64Decode: the input exceeds 10,000 characters",
                ));
            }
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(s.as_bytes())
                .map_err(|e| fail(format!("States.Base64Decode: invalid base64: {e}")))?;
            String::from_utf8(bytes)
                .map(Value::String)
                .map_err(|_| fail("States.Base64Decode: the decoded data is not UTF-8"))
        }
        "States.Hash" => {
            let data = want_str(&args[0], "first")?;
            if data.chars().count() > MAX_STRING_ARG {
                return Err(fail("States.Hash: the input exceeds 10,000 characters"));
            }
            let algo = want_str(&args[1], "second")?;
            hash(&data, &algo).map(Value::String).ok_or_else(|| {
                fail(format!(
                    "States.Hash: unsupported algorithm '{algo}' (use MD5, SHA-1, SHA-256, SHA-384 or SHA-512)"
                ))
            })
        }
        "States.JsonMerge" => {
            let a = args[0]
                .as_object()
                .ok_or_else(|| fail("States.JsonMerge: the first argument must be an object"))?;
            let b = args[1]
                .as_object()
                .ok_or_else(|| fail("States.JsonMerge: the second argument must be an object"))?;
            // AWS: "deep merging mode isn't supported"; the flag must be false.
            if args[2] != Value::Bool(false) {
                return Err(fail(
                    "States.JsonMerge: the third argument must be false (deep merge is not supported)",
                ));
            }
            let mut out: Map<String, Value> = a.clone();
            for (k, v) in b {
                out.insert(k.clone(), v.clone());
            }
            Ok(Value::Object(out))
        }
        "States.MathRandom" => {
            let start = want_int(&args[0], "first")?;
            let end = want_int(&args[1], "second")?;
            if end <= start {
                return Err(fail(
                    "States.MathRandom: the end must be greater than the start",
                ));
            }
            // In i128: `end - start` overflows i64 for arguments read from the input (issue 11).
            let span = (i128::from(end) - i128::from(start)) as u128;
            let r = if let Some(seed) = args.get(2) {
                let seed = want_int(seed, "third")?;
                rand::rngs::StdRng::seed_from_u64(seed as u64).next_u64()
            } else {
                rng.next_u64()
            };
            let v = i128::from(start) + (u128::from(r) % span) as i128;
            Ok(Value::from(v as i64))
        }
        // Each argument is rounded half up to an integer before adding (AWS-recorded:
        // LocalStack intrinsic_functions/test_math_operations.snapshot.json, test_math_add:
        // MathAdd(1.49, 1.5) = 3, MathAdd(-1.5, 0) = -1, MathAdd(-3.5, 0) = -3).
        "States.MathAdd" => match (&args[0], &args[1]) {
            (Value::Number(a), Value::Number(b)) => {
                let a = round_half_up(a).ok_or_else(|| fail("States.MathAdd: integer overflow"))?;
                let b = round_half_up(b).ok_or_else(|| fail("States.MathAdd: integer overflow"))?;
                a.checked_add(b)
                    .map(Value::from)
                    .ok_or_else(|| fail("States.MathAdd: integer overflow"))
            }
            _ => Err(fail("States.MathAdd: both arguments must be numbers")),
        },
        "States.StringSplit" => {
            let s = want_str(&args[0], "first")?;
            let delims = want_str(&args[1], "second")?;
            // Every character of the delimiter string separates (AWS's example splits
            // "This.is+a,test=string" on ".+,="); empty pieces are dropped.
            let parts = s
                .split(|c: char| delims.contains(c))
                .filter(|p| !p.is_empty())
                .map(|p| Value::String(p.to_string()))
                .collect();
            Ok(Value::Array(parts))
        }
        "States.UUID" => {
            let mut bytes = [0u8; 16];
            rng.fill_bytes(&mut bytes);
            Ok(Value::String(
                uuid::Builder::from_random_bytes(bytes)
                    .into_uuid()
                    .to_string(),
            ))
        }
        other => Err(fail(format!("unknown intrinsic function '{other}'"))),
    }
}

fn count_placeholders(t: &str) -> usize {
    let mut n = 0;
    let mut chars = t.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\u{0}' => {
                chars.next();
            }
            '{' if chars.peek() == Some(&'}') => {
                chars.next();
                n += 1;
            }
            _ => {}
        }
    }
    n
}

/// JSON equality treating 1 and 1.0 alike.
pub(crate) fn json_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => match (x.as_i64(), y.as_i64()) {
            (Some(x), Some(y)) => x == y,
            _ => x.as_f64() == y.as_f64(),
        },
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| json_eq(a, b))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| json_eq(v, w)))
        }
        _ => a == b,
    }
}

/// Hex digest for the algorithms States.Hash and `$hash` accept.
pub(crate) fn hash(data: &str, algo: &str) -> Option<String> {
    use sha2::Digest;
    fn hex(b: &[u8]) -> String {
        b.iter().map(|x| format!("{x:02x}")).collect()
    }
    Some(match algo {
        "MD5" => hex(&md5::Md5::digest(data.as_bytes())),
        "SHA-1" => hex(&sha1::Sha1::digest(data.as_bytes())),
        "SHA-256" => hex(&sha2::Sha256::digest(data.as_bytes())),
        "SHA-384" => hex(&sha2::Sha384::digest(data.as_bytes())),
        "SHA-512" => hex(&sha2::Sha512::digest(data.as_bytes())),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn run(src: &str, input: Value) -> Result<Value, StatesError> {
        let call = parse(src).map_err(|e| StatesError::new("parse", e))?;
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        eval(
            &call,
            &|p: &JsonPath| {
                p.select(&input)
                    .ok_or_else(|| StatesError::new(names::RUNTIME, "missing"))
            },
            &mut rng,
        )
    }

    #[test]
    fn aws_examples() {
        // Examples from https://docs.aws.amazon.com/step-functions/latest/dg/intrinsic-functions.html
        assert_eq!(
            run(
                "States.Format('Hello, my name is {}.', $.name)",
                json!({"name": "Arnav"})
            )
            .unwrap(),
            json!("Hello, my name is Arnav.")
        );
        assert_eq!(
            run(
                "States.StringToJson($.escapedJsonString)",
                json!({"escapedJsonString": "{\"foo\": \"bar\"}"})
            )
            .unwrap(),
            json!({"foo": "bar"})
        );
        assert_eq!(
            run(
                "States.JsonToString($.unescapedJson)",
                json!({"unescapedJson": {"foo": "bar"}})
            )
            .unwrap(),
            json!("{\"foo\":\"bar\"}")
        );
        assert_eq!(
            run("States.Array($.Id)", json!({"Id": 123456})).unwrap(),
            json!([123456])
        );
        assert_eq!(
            run(
                "States.ArrayPartition($.inputArray,4)",
                json!({"inputArray": [1,2,3,4,5,6,7,8,9]})
            )
            .unwrap(),
            json!([[1, 2, 3, 4], [5, 6, 7, 8], [9]])
        );
        assert_eq!(
            run(
                "States.ArrayContains($.inputArray, $.lookingFor)",
                json!({"inputArray": [1,2,3,4,5,6,7,8,9], "lookingFor": 5})
            )
            .unwrap(),
            json!(true)
        );
        assert_eq!(
            run("States.ArrayRange(1, 9, 2)", json!({})).unwrap(),
            json!([1, 3, 5, 7, 9])
        );
        assert_eq!(
            run(
                "States.ArrayGetItem($.inputArray, $.index)",
                json!({"inputArray": [1,2,3,4,5,6,7,8,9], "index": 5})
            )
            .unwrap(),
            json!(6)
        );
        assert_eq!(
            run(
                "States.ArrayLength($.inputArray)",
                json!({"inputArray": [1,2,3,4,5,6,7,8,9]})
            )
            .unwrap(),
            json!(9)
        );
        assert_eq!(
            run(
                "States.ArrayUnique($.inputArray)",
                json!({"inputArray": [1,2,3,3,3,3,3,3,4]})
            )
            .unwrap(),
            json!([1, 2, 3, 4])
        );
        assert_eq!(
            run(
                "States.Base64Encode($.input)",
                json!({"input": "Data to encode"})
            )
            .unwrap(),
            json!("RGF0YSB0byBlbmNvZGU=")
        );
        assert_eq!(
            run(
                "States.Base64Decode($.base64)",
                json!({"base64": "RGF0YSB0byBlbmNvZGU="})
            )
            .unwrap(),
            json!("Data to encode")
        );
        assert_eq!(
            run(
                "States.Hash($.Data, $.Algorithm)",
                json!({"Data": "input data", "Algorithm": "SHA-1"})
            )
            .unwrap(),
            json!("aaff4a450a104cd177d28d18d74485e8cae074b7")
        );
        assert_eq!(
            run("States.JsonMerge($.json1, $.json2, false)", json!({"json1": {"a": {"a1": 1, "a2": 2}, "b": 2}, "json2": {"a": {"a3": 1, "a4": 2}, "c": 3}})).unwrap(),
            json!({"a": {"a3": 1, "a4": 2}, "b": 2, "c": 3})
        );
        assert_eq!(
            run(
                "States.MathAdd($.value1, $.step)",
                json!({"value1": 111, "step": -1})
            )
            .unwrap(),
            json!(110)
        );
        assert_eq!(
            run(
                "States.StringSplit($.inputString, $.splitter)",
                json!({"inputString": "1,2,3,4,5", "splitter": ","})
            )
            .unwrap(),
            json!(["1", "2", "3", "4", "5"])
        );
        assert_eq!(
            run(
                "States.StringSplit($.inputString, $.splitter)",
                json!({"inputString": "This.is+a,test=string", "splitter": ".+,="})
            )
            .unwrap(),
            json!(["This", "is", "a", "test", "string"])
        );
    }

    #[test]
    fn escapes_and_errors() {
        assert_eq!(
            run(
                r"States.Format('{} \{literal\} it\'s \\ ok', 'x')",
                json!({})
            )
            .unwrap(),
            json!(r"x {literal} it's \ ok")
        );
        assert!(parse(r"States.Format('bad \q')").is_err());
        assert!(parse("States.Nope(1)").is_err());
        assert!(parse("States.UUID(1)").is_err());
        let e = run("States.Format('{} {}', 'a')", json!({})).unwrap_err();
        assert_eq!(e.error, names::INTRINSIC_FAILURE);
        let e = run("States.JsonMerge($.a, $.a, true)", json!({"a": {}})).unwrap_err();
        assert_eq!(e.error, names::INTRINSIC_FAILURE);
        let r = run("States.MathRandom(1, 999)", json!({}))
            .unwrap()
            .as_i64()
            .unwrap();
        assert!((1..999).contains(&r));
        let a = run("States.MathRandom(1, 999, 42)", json!({})).unwrap();
        assert_eq!(a, run("States.MathRandom(1, 999, 42)", json!({})).unwrap());
        let nested = "States.Array(States.Array(States.Array(States.Array(States.Array(States.Array(States.Array(States.Array(States.Array(States.Array(States.Array(1)))))))))))";
        assert!(parse(nested).is_err());
        assert_eq!(
            run("States.UUID()", json!({}))
                .unwrap()
                .as_str()
                .unwrap()
                .len(),
            36
        );
    }

    /// Issue 11: arguments near i64's bounds overflowed (a panic in debug builds).
    #[test]
    fn extreme_integers_do_not_overflow() {
        let input = json!({"min": i64::MIN, "max": i64::MAX});
        let r = run("States.MathRandom($.min, $.max)", input.clone()).unwrap();
        assert!(r.is_i64());
        let r = run("States.ArrayRange($.max, $.max, 1)", input.clone()).unwrap();
        assert_eq!(r, json!([i64::MAX]));
        let r = run("States.ArrayRange($.min, $.min, -5)", input).unwrap();
        assert_eq!(r, json!([i64::MIN]));
    }
}
