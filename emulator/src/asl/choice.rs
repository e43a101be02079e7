//! Choice rule evaluation (JSONPath comparison operators and JSONata `Condition`).
//!
//! Operator semantics from
//! <https://docs.aws.amazon.com/step-functions/latest/dg/state-choice.html>: a comparison
//! whose operand has the wrong type is false (not an error); `StringMatches` supports `*`
//! wildcards, `\*` and `\\` escapes; `Is*` test the type (IsPresent tolerates a missing
//! Variable, every other operator fails with `States.Runtime` on a missing Variable);
//! timestamps are RFC 3339.

use super::definition::{Cond, Op, Operand};
use super::error::{StatesError, names};
use super::intrinsics::json_eq;
use super::path::{JsonPath, Root};
use super::template::Env;
use serde_json::Value;
use std::cmp::Ordering;

/// Evaluates a condition.
pub(crate) fn eval(c: &Cond, env: &Env<'_>) -> Result<bool, StatesError> {
    match c {
        Cond::Const(b) => Ok(*b),
        Cond::And(cs) => {
            for c in cs {
                if !eval(c, env)? {
                    return Ok(false);
                }
            }
            Ok(true)
        }
        Cond::Or(cs) => {
            for c in cs {
                if eval(c, env)? {
                    return Ok(true);
                }
            }
            Ok(false)
        }
        Cond::Not(c) => Ok(!eval(c, env)?),
        Cond::Jsonata(e) => match env.jsonata(e, "Condition")? {
            Value::Bool(b) => Ok(b),
            other => Err(StatesError::new(
                names::QUERY_EVALUATION_ERROR,
                format!(
                    "An error occurred while executing the state '{}'. The Condition '{}' returned {} instead of a boolean",
                    env.state,
                    e.source().trim(),
                    other
                ),
            )),
        },
        Cond::Cmp {
            variable,
            op,
            operand,
        } => {
            let var = lookup(variable, env);
            if *op == Op::IsPresent {
                let want = matches!(operand, Operand::Value(Value::Bool(true)));
                return Ok(var.is_some() == want);
            }
            let Some(var) = var else {
                return Err(StatesError::new(
                    names::RUNTIME,
                    format!(
                        "An error occurred while executing the state '{}'. Invalid path '{}': The choice state's condition path references an invalid value.",
                        env.state,
                        variable.as_str()
                    ),
                ));
            };
            let rhs = match operand {
                Operand::Value(v) => v.clone(),
                Operand::Path(p) => lookup(p, env).ok_or_else(|| {
                    StatesError::new(
                        names::RUNTIME,
                        format!(
                            "An error occurred while executing the state '{}'. Invalid path '{}': The choice state's condition path references an invalid value.",
                            env.state,
                            p.as_str()
                        ),
                    )
                })?,
            };
            Ok(compare(*op, &var, &rhs))
        }
    }
}

fn lookup(p: &JsonPath, env: &Env<'_>) -> Option<Value> {
    let doc = match &p.root {
        Root::Input => env.input,
        Root::Context => env.context.value(),
        Root::Variable(v) => env.vars.get(v)?,
    };
    p.select(doc)
}

/// Applies one operator; `rhs` is the literal or the value the `...Path` operand selected.
pub(crate) fn compare(op: Op, lhs: &Value, rhs: &Value) -> bool {
    let want = rhs.as_bool().unwrap_or(false);
    match op {
        Op::IsNull => lhs.is_null() == want,
        Op::IsPresent => want,
        Op::IsNumeric => lhs.is_number() == want,
        Op::IsString => lhs.is_string() == want,
        Op::IsBoolean => lhs.is_boolean() == want,
        Op::IsTimestamp => lhs.as_str().and_then(parse_ts).is_some() == want,
        Op::StringEquals => matches!((lhs, rhs), (Value::String(a), Value::String(b)) if a == b),
        Op::StringLessThan => str_cmp(lhs, rhs) == Some(Ordering::Less),
        Op::StringGreaterThan => str_cmp(lhs, rhs) == Some(Ordering::Greater),
        Op::StringLessThanEquals => {
            matches!(str_cmp(lhs, rhs), Some(Ordering::Less | Ordering::Equal))
        }
        Op::StringGreaterThanEquals => {
            matches!(str_cmp(lhs, rhs), Some(Ordering::Greater | Ordering::Equal))
        }
        Op::StringMatches => match (lhs, rhs) {
            (Value::String(a), Value::String(p)) => wildcard_match(p, a),
            _ => false,
        },
        Op::NumericEquals => lhs.is_number() && rhs.is_number() && json_eq(lhs, rhs),
        Op::NumericLessThan => num_cmp(lhs, rhs) == Some(Ordering::Less),
        Op::NumericGreaterThan => num_cmp(lhs, rhs) == Some(Ordering::Greater),
        Op::NumericLessThanEquals => {
            matches!(num_cmp(lhs, rhs), Some(Ordering::Less | Ordering::Equal))
        }
        Op::NumericGreaterThanEquals => {
            matches!(num_cmp(lhs, rhs), Some(Ordering::Greater | Ordering::Equal))
        }
        Op::BooleanEquals => matches!((lhs, rhs), (Value::Bool(a), Value::Bool(b)) if a == b),
        Op::TimestampEquals => ts_cmp(lhs, rhs) == Some(Ordering::Equal),
        Op::TimestampLessThan => ts_cmp(lhs, rhs) == Some(Ordering::Less),
        Op::TimestampGreaterThan => ts_cmp(lhs, rhs) == Some(Ordering::Greater),
        Op::TimestampLessThanEquals => {
            matches!(ts_cmp(lhs, rhs), Some(Ordering::Less | Ordering::Equal))
        }
        Op::TimestampGreaterThanEquals => {
            matches!(ts_cmp(lhs, rhs), Some(Ordering::Greater | Ordering::Equal))
        }
    }
}

fn str_cmp(a: &Value, b: &Value) -> Option<Ordering> {
    Some(a.as_str()?.cmp(b.as_str()?))
}

fn num_cmp(a: &Value, b: &Value) -> Option<Ordering> {
    let (Value::Number(x), Value::Number(y)) = (a, b) else {
        return None;
    };
    if let (Some(x), Some(y)) = (x.as_i64(), y.as_i64()) {
        return Some(x.cmp(&y));
    }
    x.as_f64()?.partial_cmp(&y.as_f64()?)
}

/// Parses an RFC 3339 timestamp (Step Functions requires the `T` separator and an offset).
pub(crate) fn parse_ts(s: &str) -> Option<chrono::DateTime<chrono::FixedOffset>> {
    chrono::DateTime::parse_from_rfc3339(s).ok()
}

fn ts_cmp(a: &Value, b: &Value) -> Option<Ordering> {
    Some(parse_ts(a.as_str()?)?.cmp(&parse_ts(b.as_str()?)?))
}

/// `StringMatches`: `*` matches any run of characters; `\*` is a literal star and `\\` a
/// literal backslash.
pub(crate) fn wildcard_match(pattern: &str, s: &str) -> bool {
    #[derive(Clone, Copy, PartialEq)]
    enum T {
        Star,
        C(char),
    }
    let mut toks = Vec::new();
    let mut it = pattern.chars();
    while let Some(c) = it.next() {
        match c {
            '\\' => match it.next() {
                Some(n) => toks.push(T::C(n)),
                None => toks.push(T::C('\\')),
            },
            '*' => toks.push(T::Star),
            c => toks.push(T::C(c)),
        }
    }
    let chars: Vec<char> = s.chars().collect();
    // Iterative glob match with backtracking on the last star.
    let (mut ti, mut si) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while si < chars.len() {
        match toks.get(ti) {
            Some(T::C(c)) if *c == chars[si] => {
                ti += 1;
                si += 1;
            }
            Some(T::Star) => {
                star = Some((ti, si));
                ti += 1;
            }
            _ => match star {
                Some((st, ss)) => {
                    ti = st + 1;
                    si = ss + 1;
                    star = Some((st, ss + 1));
                }
                None => return false,
            },
        }
    }
    toks[ti..].iter().all(|t| *t == T::Star)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn wildcards() {
        assert!(wildcard_match("log-*.txt", "log-2024.txt"));
        assert!(!wildcard_match("log-*.txt", "log-2024.csv"));
        assert!(wildcard_match("*", ""));
        assert!(wildcard_match(r"a\*b", "a*b"));
        assert!(!wildcard_match(r"a\*b", "axb"));
        assert!(wildcard_match("*.*.*", "a.b.c"));
    }

    #[test]
    fn type_mismatch_is_false() {
        assert!(!compare(Op::StringEquals, &json!(1), &json!("1")));
        assert!(!compare(Op::NumericLessThan, &json!("1"), &json!(2)));
        assert!(compare(Op::NumericEquals, &json!(1), &json!(1.0)));
        assert!(compare(
            Op::TimestampLessThan,
            &json!("2001-01-01T12:00:00Z"),
            &json!("2001-01-01T13:00:00+00:00")
        ));
        assert!(compare(
            Op::IsTimestamp,
            &json!("2001-01-01T12:00:00Z"),
            &json!(true)
        ));
        assert!(compare(
            Op::IsTimestamp,
            &json!("2001-01-01"),
            &json!(false)
        ));
    }
}

#[cfg(test)]
mod props {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    proptest! {
        #[test]
        fn numeric_ops_agree_with_integer_order(a in -1_000_000i64..1_000_000, b in -1_000_000i64..1_000_000) {
            let (x, y) = (json!(a), json!(b));
            prop_assert_eq!(compare(Op::NumericEquals, &x, &y), a == b);
            prop_assert_eq!(compare(Op::NumericLessThan, &x, &y), a < b);
            prop_assert_eq!(compare(Op::NumericGreaterThan, &x, &y), a > b);
            prop_assert_eq!(compare(Op::NumericLessThanEquals, &x, &y), a <= b);
            prop_assert_eq!(compare(Op::NumericGreaterThanEquals, &x, &y), a >= b);
            // A string operand never compares numerically.
            prop_assert!(!compare(Op::NumericEquals, &json!(a.to_string()), &y));
        }

        #[test]
        fn float_ops_agree_with_f64(a in -1e6f64..1e6, b in -1e6f64..1e6) {
            let (x, y) = (json!(a), json!(b));
            prop_assert_eq!(compare(Op::NumericLessThan, &x, &y), a < b);
            prop_assert_eq!(compare(Op::NumericGreaterThanEquals, &x, &y), a >= b);
        }

        #[test]
        fn string_ops_agree_with_str_order(a in "[a-zA-Z0-9 ]{0,12}", b in "[a-zA-Z0-9 ]{0,12}") {
            let (x, y) = (json!(a), json!(b));
            prop_assert_eq!(compare(Op::StringEquals, &x, &y), a == b);
            prop_assert_eq!(compare(Op::StringLessThan, &x, &y), a < b);
            prop_assert_eq!(compare(Op::StringGreaterThanEquals, &x, &y), a >= b);
            prop_assert!(!compare(Op::StringEquals, &json!(1), &y));
        }

        #[test]
        fn string_matches_prefix_star_suffix(pre in "[a-z.]{0,5}", mid in "[a-z*]{0,5}", suf in "[a-z.]{0,5}") {
            let s = format!("{pre}{mid}{suf}");
            let pattern = format!("{pre}*{suf}");
            prop_assert!(wildcard_match(&pattern, &s));
            let escaped = s.replace('\\', "\\\\").replace('*', "\\*");
            prop_assert!(wildcard_match(&escaped, &s));
            let longer = format!("{}!", escaped);
            prop_assert!(!wildcard_match(&longer, &s));
        }

        #[test]
        fn timestamp_ops_agree_with_epoch(a in 0i64..4_000_000_000, b in 0i64..4_000_000_000) {
            let f = |t: i64| json!(chrono::DateTime::from_timestamp(t, 0).unwrap().to_rfc3339());
            prop_assert_eq!(compare(Op::TimestampLessThan, &f(a), &f(b)), a < b);
            prop_assert_eq!(compare(Op::TimestampEquals, &f(a), &f(b)), a == b);
            prop_assert!(compare(Op::IsTimestamp, &f(a), &json!(true)));
        }
    }
}
