//! Payload templates: JSONPath `Parameters`/`ResultSelector`/`ItemSelector`/`Assign`
//! (keys ending `.$` are paths, variables or intrinsic calls) and JSONata values
//! (`Arguments`/`Output`/`Assign`, any string that is a whole `{% ... %}`).
//!
//! <https://docs.aws.amazon.com/step-functions/latest/dg/input-output-inputpath-params.html>
//! ("If any field within the payload template, however deeply nested, has a name ending
//! with `.$`, its value is transformed") and
//! <https://docs.aws.amazon.com/step-functions/latest/dg/transforming-data.html>.

use super::error::{StatesError, names};
use super::intrinsics::{self, Call};
use super::jsonata::{self, Expr};
use super::path::{JsonPath, Root};
use rand::rngs::StdRng;
use serde_json::{Map, Value};
use std::sync::Mutex;

/// A compiled template.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Tmpl {
    /// A value copied as is.
    Literal(Value),
    /// An object; each entry is (output key, template, source key for messages).
    Object(Vec<(String, Tmpl, String)>),
    /// An array of templates.
    Array(Vec<Tmpl>),
    /// `"key.$": "$.path"` (or `$$.`, `$var`).
    Path(JsonPath, String),
    /// `"key.$": "States.Fn(...)"`.
    Intrinsic(Call),
    /// `"{% expr %}"`.
    Jsonata(Expr),
}

/// What a template reads at run time.
pub(crate) struct Env<'a> {
    /// `$` in JSONPath fields.
    pub(crate) input: &'a Value,
    /// `$$` in JSONPath fields (written out when read).
    pub(crate) context: &'a super::ContextObject,
    /// Workflow variables visible to the state (state-entry snapshot).
    pub(crate) vars: &'a Map<String, Value>,
    /// `$states` for JSONata.
    pub(crate) states: &'a Value,
    /// Clock reading for `$now()`.
    pub(crate) now_millis: i64,
    /// The execution's RNG (seedable in tests).
    pub(crate) rng: &'a Mutex<StdRng>,
    /// The state name, for AWS-style messages.
    pub(crate) state: &'a str,
}

impl Env<'_> {
    /// The document a path starts from: the input (`$`), the context object (`$$`) or a
    /// variable (`$name`, `None` when unset).
    pub(crate) fn root_doc(&self, p: &JsonPath) -> Option<&Value> {
        match &p.root {
            Root::Input => Some(self.input),
            Root::Context => Some(self.context.value()),
            Root::Variable(v) => self.vars.get(v),
        }
    }

    /// Resolves a path in a `.$` field; a miss is `States.Runtime`, worded as AWS words it
    /// ("The JSONPath '$$.Execution.Input.x' specified for the field 'value.$' could not be
    /// found in the input '…'", whichever the root: AWS-recorded, LocalStack
    /// scenarios/test_base_scenarios.snapshot.json, test_invalid_jsonpath).
    pub(crate) fn resolve(&self, p: &JsonPath, field: &str) -> Result<Value, StatesError> {
        let doc = self.root_doc(p);
        let what = "input";
        let Some(doc) = doc else {
            return Err(StatesError::new(
                names::RUNTIME,
                format!(
                    "An error occurred while executing the state '{}'. The variable '{}' specified for the field '{}' could not be found",
                    self.state,
                    p.as_str(),
                    field
                ),
            ));
        };
        p.select(doc).ok_or_else(|| {
            StatesError::new(
                names::RUNTIME,
                format!(
                    "An error occurred while executing the state '{}'. The JSONPath '{}' specified for the field '{}' could not be found in the {} '{}'",
                    self.state,
                    p.as_str(),
                    field,
                    what,
                    self.input
                ),
            )
        })
    }

    /// Evaluates a JSONata expression; `undefined` is an error naming the field.
    pub(crate) fn jsonata(&self, e: &Expr, field: &str) -> Result<Value, StatesError> {
        self.jsonata_opt(e, field)?.ok_or_else(|| {
            StatesError::new(
                names::QUERY_EVALUATION_ERROR,
                format!(
                    "An error occurred while executing the state '{}'. The JSONata expression '{}' specified for the field '{}' returned nothing (undefined).",
                    self.state,
                    e.source().trim(),
                    field
                ),
            )
        })
    }

    /// Evaluates a JSONata expression, keeping `undefined` as `None`.
    pub(crate) fn jsonata_opt(&self, e: &Expr, field: &str) -> Result<Option<Value>, StatesError> {
        e.eval(self.states, self.vars, self.now_millis)
            .map_err(|mut err| {
                err.cause = Some(format!(
                    "An error occurred while executing the state '{}'. {} (field '{}')",
                    self.state,
                    err.cause.unwrap_or_default(),
                    field
                ));
                err
            })
    }
}

impl Tmpl {
    /// Compiles a JSONPath payload template (object, array or scalar).
    pub(crate) fn jsonpath(v: &Value, at: &str, errs: &mut Vec<(String, String)>) -> Tmpl {
        match v {
            Value::Object(o) => Tmpl::Object(
                o.iter()
                    .map(|(k, v)| {
                        let here = format!("{at}/{}", escape_pointer(k));
                        if let Some(base) = k.strip_suffix(".$") {
                            let t = match v.as_str() {
                                Some(s) => dynamic(s, k, &here, errs),
                                None => {
                                    errs.push((
                                        here,
                                        format!("The value for the field '{k}' must be a STRING that contains a JSONPath, a variable reference or an intrinsic function"),
                                    ));
                                    Tmpl::Literal(Value::Null)
                                }
                            };
                            (base.to_string(), t, k.clone())
                        } else {
                            (k.clone(), Tmpl::jsonpath(v, &here, errs), k.clone())
                        }
                    })
                    .collect(),
            ),
            Value::Array(a) => Tmpl::Array(
                a.iter()
                    .enumerate()
                    .map(|(i, v)| Tmpl::jsonpath(v, &format!("{at}/{i}"), errs))
                    .collect(),
            ),
            other => Tmpl::Literal(other.clone()),
        }
    }

    /// Compiles a JSONata value: strings that are whole `{% %}` become expressions.
    pub(crate) fn jsonata(v: &Value, at: &str, errs: &mut Vec<(String, String)>) -> Tmpl {
        match v {
            Value::String(s) => match jsonata::as_expression(s) {
                Some(src) => match Expr::compile(src) {
                    Ok(e) => Tmpl::Jsonata(e),
                    Err(m) => {
                        errs.push((
                            at.to_string(),
                            format!("The JSONata expression '{}' is invalid: {m}", src.trim()),
                        ));
                        Tmpl::Literal(Value::Null)
                    }
                },
                None => Tmpl::Literal(v.clone()),
            },
            Value::Object(o) => Tmpl::Object(
                o.iter()
                    .map(|(k, v)| {
                        (
                            k.clone(),
                            Tmpl::jsonata(v, &format!("{at}/{}", escape_pointer(k)), errs),
                            k.clone(),
                        )
                    })
                    .collect(),
            ),
            Value::Array(a) => Tmpl::Array(
                a.iter()
                    .enumerate()
                    .map(|(i, v)| Tmpl::jsonata(v, &format!("{at}/{i}"), errs))
                    .collect(),
            ),
            other => Tmpl::Literal(other.clone()),
        }
    }

    /// Evaluates the template.
    pub(crate) fn eval(&self, env: &Env<'_>, field: &str) -> Result<Value, StatesError> {
        match self {
            Tmpl::Literal(v) => Ok(v.clone()),
            Tmpl::Object(entries) => {
                let mut m = Map::with_capacity(entries.len());
                for (k, t, src_key) in entries {
                    let v = match t {
                        Tmpl::Object(_) | Tmpl::Array(_) | Tmpl::Literal(_) => {
                            t.eval(env, field)?
                        }
                        _ => t.eval(env, src_key)?,
                    };
                    m.insert(k.clone(), v);
                }
                Ok(Value::Object(m))
            }
            Tmpl::Array(items) => items
                .iter()
                .map(|t| t.eval(env, field))
                .collect::<Result<Vec<_>, _>>()
                .map(Value::Array),
            Tmpl::Path(p, key) => env.resolve(p, key),
            Tmpl::Intrinsic(call) => {
                let mut rng = env.rng.lock().unwrap_or_else(|e| e.into_inner());
                intrinsics::eval(call, &|p| env.resolve(p, field), &mut *rng)
            }
            Tmpl::Jsonata(e) => env.jsonata(e, field),
        }
    }
}

/// Compiles the value of a `.$` key.
pub(crate) fn dynamic(s: &str, key: &str, at: &str, errs: &mut Vec<(String, String)>) -> Tmpl {
    if intrinsics::looks_like_call(s) {
        match intrinsics::parse(s.trim()) {
            Ok(c) => Tmpl::Intrinsic(c),
            Err(m) => {
                errs.push((at.to_string(), format!("The value for the field '{key}' must be a valid intrinsic function call: {m}")));
                Tmpl::Literal(Value::Null)
            }
        }
    } else {
        match JsonPath::parse(s) {
            Ok(p) => Tmpl::Path(p, key.to_string()),
            Err(e) => {
                errs.push((at.to_string(), format!("The value for the field '{key}' must be a valid JSONPath or a valid intrinsic function call ({})", e.reason)));
                Tmpl::Literal(Value::Null)
            }
        }
    }
}

/// RFC 6901 escaping for pointer segments.
pub(crate) fn escape_pointer(k: &str) -> String {
    k.replace('~', "~0").replace('/', "~1")
}
