//! The `Condition` element: operators, set qualifiers, and their evaluation.
//!
//! Sources (IAM user guide):
//! - operators: <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html>
//! - several keys and values: <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_multi-value-conditions.html>
//! - set operators: <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-single-vs-multi-valued-context-keys.html>
//!
//! Rules implemented:
//! - all operators in a block, and all keys under one operator, must hold (AND); the values
//!   listed for one key are alternatives (OR) — except for negated operators, where "the
//!   string cannot match any of the … values listed" (so, AND of the negations);
//! - a key missing from the request makes a condition false, but true for a negated operator
//!   ("If the policy condition requires that the key is not matched, such as StringNotLike
//!   … and the right key is not present, the condition is true"), true for `…IfExists`, and
//!   is what `Null` tests;
//! - `ForAllValues:` is true when every request value matches (and when the key is missing or
//!   has no values); `ForAnyValue:` is true when at least one does (false when missing or
//!   empty). With a negated operator the negation applies to each request value: the
//!   documented `ForAllValues:StringNotLike {"aws:TagKeys": "key1*"}` matches `[key2:audit]`
//!   and a missing key but not `[key1:legal]`
//!   (reference_policies_condition_examples-multi-valued-context-keys.html);
//! - condition key names are case-insensitive, operator names are not.

use std::net::IpAddr;

use base64::Engine as _;
use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeZone, Utc};
use ipnet::IpNet;
use serde_json::Value;

use super::context::Keys;
use super::policy::{JsonPath, PolicyError, as_object, check_vendor, child_index, child_key};
use super::wildcard::{Template, Tok, glob_match};

/// `expected` text of [`PolicyError::InvalidConditionValue`] for dates (IAM reports those as
/// "The policy failed legacy parsing").
pub(super) const DATE_EXPECTED: &str = "iso 8601 date or epoch time";

/// The comparison at the heart of an operator, without negation, qualifier or `IfExists`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Comparison {
    StringEquals,
    StringEqualsIgnoreCase,
    StringLike,
    NumericEquals,
    NumericLessThan,
    NumericLessThanEquals,
    NumericGreaterThan,
    NumericGreaterThanEquals,
    DateEquals,
    DateLessThan,
    DateLessThanEquals,
    DateGreaterThan,
    DateGreaterThanEquals,
    Bool,
    BinaryEquals,
    IpAddress,
    /// `ArnEquals` and `ArnLike` "behave identically".
    ArnLike,
    Null,
}

/// Set qualifier.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum SetQualifier {
    ForAnyValue,
    ForAllValues,
}

/// A parsed operator such as `ForAllValues:StringNotLikeIfExists`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Operator {
    pub(super) set: Option<SetQualifier>,
    pub(super) comparison: Comparison,
    /// `StringNotEquals`, `NotIpAddress`, `ArnNotLike`, …
    pub(super) negated: bool,
    pub(super) if_exists: bool,
}

/// Every operator name on the condition-operators page, with its comparison and negation.
const OPERATORS: &[(&str, Comparison, bool)] = &[
    ("StringEquals", Comparison::StringEquals, false),
    ("StringNotEquals", Comparison::StringEquals, true),
    (
        "StringEqualsIgnoreCase",
        Comparison::StringEqualsIgnoreCase,
        false,
    ),
    (
        "StringNotEqualsIgnoreCase",
        Comparison::StringEqualsIgnoreCase,
        true,
    ),
    ("StringLike", Comparison::StringLike, false),
    ("StringNotLike", Comparison::StringLike, true),
    ("NumericEquals", Comparison::NumericEquals, false),
    ("NumericNotEquals", Comparison::NumericEquals, true),
    ("NumericLessThan", Comparison::NumericLessThan, false),
    (
        "NumericLessThanEquals",
        Comparison::NumericLessThanEquals,
        false,
    ),
    ("NumericGreaterThan", Comparison::NumericGreaterThan, false),
    (
        "NumericGreaterThanEquals",
        Comparison::NumericGreaterThanEquals,
        false,
    ),
    ("DateEquals", Comparison::DateEquals, false),
    ("DateNotEquals", Comparison::DateEquals, true),
    ("DateLessThan", Comparison::DateLessThan, false),
    ("DateLessThanEquals", Comparison::DateLessThanEquals, false),
    ("DateGreaterThan", Comparison::DateGreaterThan, false),
    (
        "DateGreaterThanEquals",
        Comparison::DateGreaterThanEquals,
        false,
    ),
    ("Bool", Comparison::Bool, false),
    ("BinaryEquals", Comparison::BinaryEquals, false),
    ("IpAddress", Comparison::IpAddress, false),
    ("NotIpAddress", Comparison::IpAddress, true),
    ("ArnEquals", Comparison::ArnLike, false),
    ("ArnLike", Comparison::ArnLike, false),
    ("ArnNotEquals", Comparison::ArnLike, true),
    ("ArnNotLike", Comparison::ArnLike, true),
    ("Null", Comparison::Null, false),
];

impl Operator {
    fn parse(name: &str, path: &JsonPath) -> Result<Self, PolicyError> {
        let unknown = || PolicyError::UnknownConditionOperator {
            path: path.clone(),
            operator: name.to_owned(),
        };
        let (set, rest) = if let Some(r) = name.strip_prefix("ForAnyValue:") {
            (Some(SetQualifier::ForAnyValue), r)
        } else if let Some(r) = name.strip_prefix("ForAllValues:") {
            (Some(SetQualifier::ForAllValues), r)
        } else {
            (None, name)
        };
        let (base, if_exists) = match rest.strip_suffix("IfExists") {
            Some(base) => (base, true),
            None => (rest, false),
        };
        let &(_, comparison, negated) = OPERATORS
            .iter()
            .find(|(n, _, _)| *n == base)
            .ok_or_else(unknown)?;
        if comparison == Comparison::Null && (if_exists || set.is_some()) {
            return Err(PolicyError::NullQualified {
                path: path.clone(),
                operator: name.to_owned(),
            });
        }
        Ok(Self {
            set,
            comparison,
            negated,
            if_exists,
        })
    }

    /// Policy variables work with the string and ARN operators (and `Bool`, per the operators
    /// page); with the others `${…}` is literal.
    fn takes_variables(self) -> bool {
        matches!(
            self.comparison,
            Comparison::StringEquals
                | Comparison::StringEqualsIgnoreCase
                | Comparison::StringLike
                | Comparison::ArnLike
                | Comparison::Bool
        )
    }
}

/// One operator/key pair with its policy values.
#[derive(Clone, Debug)]
pub(super) struct ConditionClause {
    pub(super) operator: Operator,
    pub(super) key: String,
    pub(super) values: Vec<PolicyValue>,
}

/// A condition value as written, pre-parsed for its operator.
#[derive(Clone, Debug)]
pub(super) enum PolicyValue {
    Text(Template),
    Number(f64),
    Date(DateTime<Utc>),
    Bool(Template),
    Binary(Vec<u8>),
    Ip(IpNet),
    /// `Null`'s `true` (key must be absent) or `false` (key must be present).
    Null(bool),
}

/// Parses a `Condition` block.
pub(super) fn parse_block(
    value: &Value,
    path: &JsonPath,
    variables: bool,
) -> Result<Vec<ConditionClause>, PolicyError> {
    let block = as_object(value, path, "an object of condition operators")?;
    let mut clauses = Vec::new();
    for (op_name, keys) in block {
        let op_path = child_key(path, op_name);
        let operator = Operator::parse(op_name, &op_path)?;
        let keys = as_object(keys, &op_path, "an object of condition keys")?;
        for (key, raw) in keys {
            let key_path = child_key(&op_path, key);
            // "Actions/Conditions must be prefaced by a vendor": a key is `vendor:name`.
            match key.split_once(':') {
                Some((vendor, name)) if !name.is_empty() => check_vendor(vendor, &key_path)?,
                _ => {
                    return Err(PolicyError::MissingVendor {
                        path: key_path,
                        value: key.clone(),
                    });
                }
            }
            let scalars: Vec<(JsonPath, &Value)> = match raw {
                Value::Array(items) => items
                    .iter()
                    .enumerate()
                    .map(|(i, v)| (child_index(&key_path, i), v))
                    .collect(),
                other => vec![(key_path.clone(), other)],
            };
            let values = scalars
                .into_iter()
                .map(|(p, v)| parse_value(operator, v, &p, variables))
                .collect::<Result<Vec<_>, _>>()?;
            clauses.push(ConditionClause {
                operator,
                key: key.clone(),
                values,
            });
        }
    }
    Ok(clauses)
}

fn parse_value(
    op: Operator,
    value: &Value,
    path: &JsonPath,
    variables: bool,
) -> Result<PolicyValue, PolicyError> {
    // Condition values are strings, numbers or booleans (reference_policies_grammar.html,
    // "condition_value"); IAM compares their text.
    let text = match value {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        _ => {
            return Err(PolicyError::WrongType {
                path: path.clone(),
                expected: "a string, number or boolean (or a list of them)",
            });
        }
    };
    let invalid = |expected| PolicyError::InvalidConditionValue {
        path: path.clone(),
        value: text.clone(),
        expected,
    };
    let variables = variables && op.takes_variables();
    Ok(match op.comparison {
        Comparison::StringEquals
        | Comparison::StringEqualsIgnoreCase
        | Comparison::StringLike
        | Comparison::ArnLike => PolicyValue::Text(Template::parse(&text, variables)),
        Comparison::NumericEquals
        | Comparison::NumericLessThan
        | Comparison::NumericLessThanEquals
        | Comparison::NumericGreaterThan
        | Comparison::NumericGreaterThanEquals => {
            PolicyValue::Number(parse_number(&text).ok_or_else(|| invalid("number"))?)
        }
        Comparison::DateEquals
        | Comparison::DateLessThan
        | Comparison::DateLessThanEquals
        | Comparison::DateGreaterThan
        | Comparison::DateGreaterThanEquals => {
            PolicyValue::Date(parse_date(&text).ok_or_else(|| invalid(DATE_EXPECTED))?)
        }
        Comparison::Bool => {
            let t = Template::parse(&text, variables);
            let is_literal_bool =
                text.eq_ignore_ascii_case("true") || text.eq_ignore_ascii_case("false");
            if !(is_literal_bool || (variables && text.contains("${"))) {
                return Err(invalid("boolean (\"true\" or \"false\")"));
            }
            PolicyValue::Bool(t)
        }
        Comparison::BinaryEquals => PolicyValue::Binary(
            base64::engine::general_purpose::STANDARD
                .decode(text.as_bytes())
                .map_err(|_| invalid("base64 string"))?,
        ),
        Comparison::IpAddress => {
            PolicyValue::Ip(parse_ip(&text).ok_or_else(|| invalid("ip address or cidr"))?)
        }
        Comparison::Null => PolicyValue::Null(if text.eq_ignore_ascii_case("true") {
            true
        } else if text.eq_ignore_ascii_case("false") {
            false
        } else {
            return Err(invalid("boolean (\"true\" or \"false\")"));
        }),
    })
}

fn parse_number(s: &str) -> Option<f64> {
    let s = s.trim();
    // Only plain decimal numbers: Rust would also accept "inf" and "NaN".
    let ok = !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'-' | b'+' | b'.' | b'e' | b'E'));
    if ok { s.parse().ok() } else { None }
}

/// A CIDR block, or a bare address taken as /32 (IPv4) or /128 (IPv6): "If you specify an IP
/// address without the associated routing prefix, IAM uses the default prefix value of /32".
fn parse_ip(s: &str) -> Option<IpNet> {
    let s = s.trim();
    if s.contains('/') {
        s.parse::<IpNet>().ok().map(|n| n.trunc())
    } else {
        s.parse::<IpAddr>().ok().map(IpNet::from)
    }
}

/// Parses a date as the Date operators accept it: one of the W3C profiles of ISO 8601
/// (`YYYY`, `YYYY-MM`, `YYYY-MM-DD`, `YYYY-MM-DDThh:mmTZD`, `YYYY-MM-DDThh:mm:ssTZD`,
/// `YYYY-MM-DDThh:mm:ss.sTZD`, <http://www.w3.org/TR/NOTE-datetime>) or epoch seconds.
/// A date-time without a zone designator is read as UTC; a bare four-digit number is a year,
/// any other run of digits is epoch seconds.
pub(super) fn parse_date(s: &str) -> Option<DateTime<Utc>> {
    let s = s.trim();
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) && s.len() != 4 {
        return Utc.timestamp_opt(s.parse().ok()?, 0).single();
    }
    let upper = s.to_ascii_uppercase();
    match upper.len() {
        4 => return date_only(&format!("{upper}-01-01")),
        7 => return date_only(&format!("{upper}-01")),
        10 => return date_only(&upper),
        _ => {}
    }
    let zoned = match upper.strip_suffix('Z') {
        Some(rest) => format!("{rest}+00:00"),
        None => upper.clone(),
    };
    for fmt in ["%Y-%m-%dT%H:%M:%S%.f%:z", "%Y-%m-%dT%H:%M%:z"] {
        if let Ok(dt) = DateTime::parse_from_str(&zoned, fmt) {
            return Some(dt.with_timezone(&Utc));
        }
    }
    for fmt in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M"] {
        if let Ok(dt) = NaiveDateTime::parse_from_str(&upper, fmt) {
            return Some(dt.and_utc());
        }
    }
    None
}

fn date_only(s: &str) -> Option<DateTime<Utc>> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .ok()?
        .and_hms_opt(0, 0, 0)
        .map(|d| d.and_utc())
}

impl ConditionClause {
    /// Whether this clause holds for the request.
    pub(super) fn holds(&self, ctx: &impl Keys) -> bool {
        let present = ctx.values(&self.key).filter(|v| !v.is_empty());
        let op = self.operator;
        if op.comparison == Comparison::Null {
            let absent = present.is_none();
            return self
                .values
                .iter()
                .any(|v| matches!(v, PolicyValue::Null(want_absent) if *want_absent == absent));
        }
        // Each request value on its own: does it satisfy the operator (negation included)?
        let per_value = |v: &String| self.matches_any(v, ctx) != op.negated;
        match (op.set, present) {
            (None, None) => op.if_exists || op.negated,
            // Several values without a qualifier: a positive operator holds when any value
            // matches, a negated one when none does.
            (None, Some(vals)) => vals.iter().any(|v| self.matches_any(v, ctx)) != op.negated,
            (Some(SetQualifier::ForAnyValue), None) => op.if_exists,
            (Some(SetQualifier::ForAnyValue), Some(vals)) => vals.iter().any(per_value),
            (Some(SetQualifier::ForAllValues), None) => true,
            (Some(SetQualifier::ForAllValues), Some(vals)) => vals.iter().all(per_value),
        }
    }

    /// Whether the request value `v` satisfies the (positive) comparison with at least one
    /// policy value.
    fn matches_any(&self, v: &str, ctx: &impl Keys) -> bool {
        self.values
            .iter()
            .any(|p| compare(self.operator.comparison, v, p, ctx))
    }
}

fn compare(cmp: Comparison, actual: &str, policy: &PolicyValue, ctx: &impl Keys) -> bool {
    match (cmp, policy) {
        (Comparison::StringEquals, PolicyValue::Text(t)) => {
            t.resolve_literal(ctx).is_some_and(|p| p == actual)
        }
        (Comparison::StringEqualsIgnoreCase, PolicyValue::Text(t)) => t
            .resolve_literal(ctx)
            .is_some_and(|p| p.to_lowercase() == actual.to_lowercase()),
        (Comparison::StringLike, PolicyValue::Text(t)) if t.literal().is_some() => {
            t.literal() == Some(actual)
        }
        (Comparison::StringLike, PolicyValue::Text(t)) => t
            .resolve_glob(ctx)
            .is_some_and(|g| glob_match(&g, actual, false)),
        (Comparison::ArnLike, PolicyValue::Text(t)) => arn_like(t, actual, ctx),
        (_, PolicyValue::Number(p)) => parse_number(actual).is_some_and(|a| match cmp {
            Comparison::NumericEquals => a == *p,
            Comparison::NumericLessThan => a < *p,
            Comparison::NumericLessThanEquals => a <= *p,
            Comparison::NumericGreaterThan => a > *p,
            Comparison::NumericGreaterThanEquals => a >= *p,
            _ => false,
        }),
        (_, PolicyValue::Date(p)) => parse_date(actual).is_some_and(|a| match cmp {
            Comparison::DateEquals => a == *p,
            Comparison::DateLessThan => a < *p,
            Comparison::DateLessThanEquals => a <= *p,
            Comparison::DateGreaterThan => a > *p,
            Comparison::DateGreaterThanEquals => a >= *p,
            _ => false,
        }),
        (Comparison::Bool, PolicyValue::Bool(t)) => t.resolve_literal(ctx).is_some_and(|p| {
            let p = p.to_ascii_lowercase();
            (p == "true" || p == "false") && actual.eq_ignore_ascii_case(&p)
        }),
        (Comparison::BinaryEquals, PolicyValue::Binary(p)) => {
            // Request-context values are text; a binary key is carried base64-encoded (as
            // it is written in the policy) and compared byte for byte after decoding.
            let decoded = base64::engine::general_purpose::STANDARD.decode(actual.as_bytes());
            match decoded {
                Ok(a) => a == *p,
                Err(_) => actual.as_bytes() == p.as_slice(),
            }
        }
        (Comparison::IpAddress, PolicyValue::Ip(net)) => {
            parse_ip(actual).is_some_and(|a| net.contains(&a.addr()))
        }
        _ => false,
    }
}

/// `ArnLike`: "Each of the six colon-delimited components of the ARN is checked separately and
/// each can include multi-character match wildcards (*) or single-character match wildcards
/// (?)" — so `*` never crosses a `:` between components (the last component, the resource,
/// may itself contain colons). A pattern that is not a six-part ARN is matched as a plain glob.
fn arn_like(pattern: &Template, actual: &str, ctx: &impl Keys) -> bool {
    // Without wildcards the segment-wise match is string equality.
    if let Some(literal) = pattern.literal() {
        return literal == actual;
    }
    let Some(tokens) = pattern.resolve_glob(ctx) else {
        return false;
    };
    arn_glob(&tokens, actual)
}

/// Segment-wise ARN matching shared by `ArnLike` and the `Resource` element.
pub(super) fn arn_glob(tokens: &[Tok], actual: &str) -> bool {
    // Six segments each, as slices of the pattern and of the text (no copies: this runs for
    // every `Resource` and `ArnLike` on every request).
    let mut pattern_segments: [&[Tok]; 6] = [&[]; 6];
    let mut n = 0;
    let mut from = 0;
    for (i, t) in tokens.iter().enumerate() {
        if *t == Tok::Lit(':') && n < 5 {
            pattern_segments[n] = &tokens[from..i];
            n += 1;
            from = i + 1;
        }
    }
    pattern_segments[n] = &tokens[from..];
    let mut actual_segments: [&str; 6] = [""; 6];
    let mut m = 0;
    for (i, part) in actual.splitn(6, ':').enumerate() {
        actual_segments[i] = part;
        m = i;
    }
    if n != 5 || m != 5 {
        return glob_match(tokens, actual, false);
    }
    pattern_segments
        .iter()
        .zip(&actual_segments)
        .all(|(p, a)| glob_match(p, a, false))
}
