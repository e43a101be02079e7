//! JSONata glue over the `jsonata-rs` crate.
//!
//! Step Functions evaluates `{% ... %}` strings with JSONata 2.0.6, binds `$states`
//! (`input`, `result`, `errorOutput`, `context`) and the workflow variables, and adds
//! `$partition`, `$range`, `$hash`, `$random(seed)`, `$uuid` and `$parse`
//! (<https://docs.aws.amazon.com/step-functions/latest/dg/transforming-data.html>).
//!
//! What this glue does on top of `jsonata-rs` 0.3:
//! * `$now()` / `$millis()` read the host clock inside the crate; the expression text is
//!   rewritten (outside string literals) so they read the execution's [`Clock`] instead,
//!   which also gives JSONata's rule that every `$now()` in one evaluation is the same.
//! * `$random` is rewritten to a version that accepts AWS's optional seed.
//! * `$partition`, `$range`, `$hash` and `$parse` are registered as native functions.
//! * Evaluation runs under `catch_unwind`, so a panic inside the crate becomes
//!   `States.QueryEvaluationError` instead of taking the execution down.
//!
//! [`Clock`]: crate::clock::Clock

use super::error::{StatesError, names};
use bumpalo::Bump;
use jsonata_rs::{ArrayFlags, FunctionContext, JsonAta, Value as JValue};
use serde_json::{Map, Value};
use std::collections::HashMap;

const NOW_VAR: &str = "vpcgateNowMillis";

/// A checked JSONata expression (the text between `{%` and `%}`).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Expr {
    original: String,
    rewritten: String,
}

/// If `s` is a whole `{% ... %}` expression, returns the inner text.
///
/// AWS: the string must start with `{%` and end with `%}` with no surrounding spaces.
pub(crate) fn as_expression(s: &str) -> Option<&str> {
    s.strip_prefix("{%")?.strip_suffix("%}")
}

impl Expr {
    /// Parses the expression once (definition-time syntax check).
    pub(crate) fn compile(src: &str) -> Result<Expr, String> {
        let rewritten = rewrite(src);
        let arena = Bump::new();
        let res = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            JsonAta::new(&rewritten, &arena).map(|_| ())
        }));
        match res {
            Ok(Ok(())) => Ok(Expr {
                original: src.to_string(),
                rewritten,
            }),
            Ok(Err(e)) => Err(format!("{e}")),
            Err(_) => Err("the expression could not be parsed".into()),
        }
    }

    /// The expression as written.
    pub(crate) fn source(&self) -> &str {
        &self.original
    }

    /// Evaluates with `$states` and the variables bound. `Ok(None)` is JSONata `undefined`.
    pub(crate) fn eval(
        &self,
        states: &Value,
        vars: &Map<String, Value>,
        now_millis: i64,
    ) -> Result<Option<Value>, StatesError> {
        let now = Value::from(now_millis);
        let res = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let arena = Bump::new();
            let j = JsonAta::new(&self.rewritten, &arena).map_err(|e| e.to_string())?;
            j.register_function("partition", 2, fn_partition);
            j.register_function("range", 3, fn_range);
            j.register_function("hash", 2, fn_hash);
            j.register_function("parse", 1, fn_parse);
            j.register_function("vpcgateRandom", 1, fn_random);
            let mut bindings: HashMap<&str, &Value> = HashMap::new();
            for (k, v) in vars {
                bindings.insert(k.as_str(), v);
            }
            bindings.insert("states", states);
            bindings.insert(NOW_VAR, &now);
            let out = j
                .evaluate(None, Some(&bindings))
                .map_err(|e| e.to_string())?;
            Ok::<_, String>(to_json(out))
        }));
        match res {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(msg)) => Err(StatesError::new(
                names::QUERY_EVALUATION_ERROR,
                format!(
                    "An error occurred while evaluating the JSONata expression '{}': {msg}",
                    self.original.trim()
                ),
            )),
            Err(_) => Err(StatesError::new(
                names::QUERY_EVALUATION_ERROR,
                format!(
                    "The JSONata expression '{}' could not be evaluated",
                    self.original.trim()
                ),
            )),
        }
    }
}

/// Converts a JSONata value into JSON; `None` for `undefined` (functions become `None` too).
fn to_json<'a>(v: &'a JValue<'a>) -> Option<Value> {
    if v.is_undefined() || v.is_function() {
        return None;
    }
    if v.is_null() {
        return Some(Value::Null);
    }
    if v.is_bool() {
        return Some(Value::Bool(v.as_bool()));
    }
    if v.is_number() {
        let f = v.as_f64();
        if f.fract() == 0.0 && f.abs() < 9.007_199_254_740_992e15 {
            return Some(Value::from(f as i64));
        }
        return serde_json::Number::from_f64(f).map(Value::Number);
    }
    if v.is_string() {
        return Some(Value::String(v.as_str().into_owned()));
    }
    if v.is_array() {
        return Some(Value::Array(v.members().filter_map(to_json).collect()));
    }
    if v.is_object() {
        // jsonata-rs keeps objects in a hash map; its serializer gives key order, so
        // round-trip through it to keep the order the expression produced.
        let text = v.serialize(false);
        return serde_json::from_str(&text).ok();
    }
    None
}

/// Rewrites `$now(`, `$millis(` and `$random(` outside string literals and comments.
fn rewrite(src: &str) -> String {
    let mut out = String::with_capacity(src.len() + 16);
    let b = src.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c == b'"' || c == b'\'' || c == b'`' {
            let start = i;
            i += 1;
            while i < b.len() && b[i] != c {
                if b[i] == b'\\' {
                    i += 1;
                }
                i += 1;
            }
            i = (i + 1).min(b.len());
            out.push_str(&src[start..i]);
            continue;
        }
        if src[i..].starts_with("/*") {
            let end = src[i + 2..]
                .find("*/")
                .map(|e| i + 2 + e + 2)
                .unwrap_or(b.len());
            out.push_str(&src[i..end]);
            i = end;
            continue;
        }
        let rest = &src[i..];
        let ident_before = i > 0 && (b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_');
        if !ident_before {
            if let Some(after) = rest.strip_prefix("$now(") {
                if after.trim_start().starts_with(')') {
                    out.push_str(&format!("$fromMillis(${NOW_VAR}"));
                } else {
                    out.push_str(&format!("$fromMillis(${NOW_VAR}, "));
                }
                i += "$now(".len();
                continue;
            }
            if let Some(after) = rest.strip_prefix("$millis(") {
                let close = after.find(')').map(|k| k + 1).unwrap_or(0);
                out.push_str(&format!("(${NOW_VAR})"));
                i += "$millis(".len() + close;
                continue;
            }
            if rest.starts_with("$random(") {
                out.push_str("$vpcgateRandom(");
                i += "$random(".len();
                continue;
            }
        }
        let ch = rest.chars().next().unwrap_or(' ');
        out.push(ch);
        i += ch.len_utf8();
    }
    out
}

type JResult<'a> = jsonata_rs::Result<&'a JValue<'a>>;

fn from_json<'a>(arena: &'a Bump, v: &Value) -> &'a JValue<'a> {
    match v {
        Value::Null => JValue::null(arena),
        Value::Bool(b) => JValue::bool(*b),
        Value::Number(n) => JValue::number(arena, n.as_f64().unwrap_or(0.0)),
        Value::String(s) => JValue::string(arena, s),
        Value::Array(a) => {
            let arr = JValue::array_with_capacity(arena, a.len(), ArrayFlags::empty());
            for x in a {
                arr.push(from_json(arena, x));
            }
            arr
        }
        Value::Object(o) => {
            let obj = JValue::object_with_capacity(arena, o.len());
            for (k, x) in o {
                obj.insert(k, from_json(arena, x));
            }
            obj
        }
    }
}

fn arg_error(name: &str, what: &str) -> jsonata_rs::Error {
    jsonata_rs::Error::D3137Error(format!("${name}: {what}"))
}

/// `$partition(array, size)` — AWS extension.
fn fn_partition<'a>(ctx: FunctionContext<'a, '_>, args: &[&'a JValue<'a>]) -> JResult<'a> {
    let (Some(arr), Some(size)) = (args.first(), args.get(1)) else {
        return Err(arg_error("partition", "expects (array, chunkSize)"));
    };
    let items = to_json(arr).unwrap_or(Value::Null);
    let Value::Array(items) = items else {
        return Err(arg_error(
            "partition",
            "the first argument must be an array",
        ));
    };
    if !size.is_number() || size.as_f64() < 1.0 || size.as_f64().fract() != 0.0 {
        return Err(arg_error(
            "partition",
            "the chunk size must be a positive integer",
        ));
    }
    let out: Vec<Value> = items
        .chunks(size.as_f64() as usize)
        .map(|c| Value::Array(c.to_vec()))
        .collect();
    Ok(from_json(ctx.arena, &Value::Array(out)))
}

/// `$range(start, end, step)` — AWS extension, end inclusive like States.ArrayRange.
fn fn_range<'a>(ctx: FunctionContext<'a, '_>, args: &[&'a JValue<'a>]) -> JResult<'a> {
    let nums: Vec<f64> = args
        .iter()
        .filter(|a| a.is_number())
        .map(|a| a.as_f64())
        .collect();
    if nums.len() != 3 || args.len() != 3 {
        return Err(arg_error(
            "range",
            "expects three numbers (start, end, step)",
        ));
    }
    let (a, b, step) = (nums[0], nums[1], nums[2]);
    if step == 0.0 {
        return Err(arg_error("range", "the step must not be zero"));
    }
    let mut out = Vec::new();
    let mut i = a;
    while (step > 0.0 && i <= b) || (step < 0.0 && i >= b) {
        out.push(
            serde_json::Number::from_f64(i)
                .map(|n| {
                    if i.fract() == 0.0 {
                        Value::from(i as i64)
                    } else {
                        Value::Number(n)
                    }
                })
                .unwrap_or(Value::Null),
        );
        if out.len() > 1000 {
            return Err(arg_error(
                "range",
                "the result may have at most 1000 elements",
            ));
        }
        i += step;
    }
    Ok(from_json(ctx.arena, &Value::Array(out)))
}

/// `$hash(data, algorithm)` — AWS extension.
fn fn_hash<'a>(ctx: FunctionContext<'a, '_>, args: &[&'a JValue<'a>]) -> JResult<'a> {
    let (Some(d), Some(a)) = (args.first(), args.get(1)) else {
        return Err(arg_error("hash", "expects (data, algorithm)"));
    };
    if !d.is_string() || !a.is_string() {
        return Err(arg_error("hash", "both arguments must be strings"));
    }
    let h = super::intrinsics::hash(&d.as_str(), &a.as_str()).ok_or_else(|| {
        arg_error(
            "hash",
            "the algorithm must be MD5, SHA-1, SHA-256, SHA-384 or SHA-512",
        )
    })?;
    Ok(JValue::string(ctx.arena, &h))
}

/// `$parse(jsonString)` — AWS extension replacing `$eval`.
fn fn_parse<'a>(ctx: FunctionContext<'a, '_>, args: &[&'a JValue<'a>]) -> JResult<'a> {
    let Some(s) = args.first().filter(|s| s.is_string()) else {
        return Err(arg_error("parse", "the argument must be a string"));
    };
    let v: Value = serde_json::from_str(&s.as_str())
        .map_err(|e| arg_error("parse", &format!("the argument is not JSON: {e}")))?;
    Ok(from_json(ctx.arena, &v))
}

/// `$random([seed])` — AWS's version takes an optional integer seed.
fn fn_random<'a>(ctx: FunctionContext<'a, '_>, args: &[&'a JValue<'a>]) -> JResult<'a> {
    use rand::{Rng, SeedableRng};
    let v: f64 = match args.first().filter(|a| !a.is_undefined()) {
        Some(seed) if seed.is_number() => {
            rand::rngs::StdRng::seed_from_u64(seed.as_f64() as i64 as u64).random()
        }
        Some(_) => return Err(arg_error("random", "the seed must be a number")),
        None => rand::rng().random(),
    };
    Ok(JValue::number(ctx.arena, v))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ev(src: &str, states: Value) -> Option<Value> {
        Expr::compile(src)
            .unwrap()
            .eval(&states, &Map::new(), 1_440_938_160_000)
            .unwrap()
    }

    #[test]
    fn basics() {
        let s = json!({"input": {"title": "Doctor", "n": [1, 2, 3]}});
        assert_eq!(ev("$states.input.title", s.clone()), Some(json!("Doctor")));
        assert_eq!(ev("$sum($states.input.n)", s.clone()), Some(json!(6)));
        assert_eq!(ev("$states.input.missing", s.clone()), None);
        assert_eq!(
            ev("{'a': 1, 'b': [1.5, true, null]}", s.clone()),
            Some(json!({"a": 1, "b": [1.5, true, null]}))
        );
        assert_eq!(ev("'x' & $string(1)", s.clone()), Some(json!("x1")));
        assert_eq!(ev("$states.input.n[1]", s), Some(json!(2)));
    }

    #[test]
    fn aws_functions() {
        let s = json!({});
        assert_eq!(
            ev("$partition([1,2,3,4,5,6,7,8,9], 3)", s.clone()),
            Some(json!([[1, 2, 3], [4, 5, 6], [7, 8, 9]]))
        );
        assert_eq!(
            ev("$range(0, 10, 2)", s.clone()),
            Some(json!([0, 2, 4, 6, 8, 10]))
        );
        assert_eq!(
            ev("$hash('input data', 'SHA-1')", s.clone()),
            Some(json!("aaff4a450a104cd177d28d18d74485e8cae074b7"))
        );
        assert_eq!(
            ev("$parse('{\"a\": [1]}')", s.clone()),
            Some(json!({"a": [1]}))
        );
        assert_eq!(ev("$random(7) = $random(7)", s.clone()), Some(json!(true)));
        assert_eq!(
            ev("$now()", s.clone()),
            Some(json!("2015-08-30T12:36:00.000Z"))
        );
        assert_eq!(
            ev("$millis()", s.clone()),
            Some(json!(1_440_938_160_000i64))
        );
        assert_eq!(ev("'$now()'", s), Some(json!("$now()")));
    }

    #[test]
    fn errors_are_query_evaluation_errors() {
        assert!(Expr::compile("$states.input.(").is_err());
        let e = Expr::compile("$error('boom')")
            .unwrap()
            .eval(&json!({}), &Map::new(), 0)
            .unwrap_err();
        assert_eq!(e.error, names::QUERY_EVALUATION_ERROR);
    }
}
