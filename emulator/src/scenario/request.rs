//! The one `Request` dialect of `check` cases: an HTTP request, who signs it and where it comes
//! from (issue 12 merged API Gateway's `Sign` and the VPC Lattice client's `SignAs`).
//!
//! ```json
//! {"Name": "wrong-secret",
//!  "Request": {"Api": "RestApi", "Stage": "prod", "Method": "GET", "Path": "/",
//!              "Sign": {"As": "OtherUser", "SecretAccessKey": "not-the-secret"}},
//!  "Expect": {"OutputIncludes": {"StatusCode": 403,
//!             "Headers": {"x-amzn-ErrorType": ["InvalidSignatureException"]}}}}
//! {"Name": "service-a-calls-service-b",
//!  "Request": {"From": "ServiceAInstance", "Sign": {"As": "ServiceAInvokeRole"},
//!              "Url": "https://${ServiceBLatticeService.DnsEntry.DomainName}/orders"},
//!  "Expect": {"StatusCode": 200}}
//! ```
//!
//! - **Where it comes from**: `From` names an `AWS::EC2::Instance` or an `AWS::EC2::Subnet`
//!   (logical id or id); absent, the request goes straight to API Gateway.
//! - **Where it goes**: `Url` (any host; `${LogicalId}` is its `Ref`, `${LogicalId.Attribute}`
//!   its `Fn::GetAtt`), or `Api` + `Stage` + `Path` (+ `Address`, `Query`) for an API Gateway API.
//! - **Who signs**: `Sign` (`As` a role or a user, and the knobs of a broken signature); absent,
//!   the request is unsigned (anonymous).
//!
//! `vpcgate check` runs it in `crate::check::request`.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;

/// One HTTP request a case sends (`Cases[].Request`).
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct Request {
    /// Where the request comes from: the logical id (or id) of an `AWS::EC2::Instance` (its ENI)
    /// or of an `AWS::EC2::Subnet` (a new ENI whose group allows all outbound traffic). Absent:
    /// straight to API Gateway.
    #[serde(default)]
    pub from: Option<String>,
    /// The API Gateway API: logical id, name or id (not needed with `Url`).
    #[serde(default)]
    pub api: String,
    /// The stage (default: none, i.e. `/`).
    #[serde(default)]
    pub stage: Option<String>,
    /// The verb (default GET).
    #[serde(default)]
    pub method: Option<String>,
    /// The path below the stage (default `/`).
    #[serde(default)]
    pub path: Option<String>,
    /// Query parameters (name -> values).
    #[serde(default)]
    pub query: BTreeMap<String, Vec<String>>,
    /// Headers (name -> a value or a list of values).
    #[serde(default)]
    pub headers: BTreeMap<String, OneOrMany>,
    /// The body: a string as is, any other JSON serialised.
    #[serde(default)]
    pub body: Option<Value>,
    /// `HOST` (default: `{id}.execute-api.{region}.amazonaws.com/{stage}/{path}`) or `PATH`
    /// (`/restapis/{id}/{stage}/_user_request_/{path}`).
    #[serde(default)]
    pub address: Option<String>,
    /// The whole URL, instead of `Api`, `Stage`, `Path` and `Address`: `${LogicalId}` and
    /// `${LogicalId.Attribute}` name resources.
    #[serde(default)]
    pub url: Option<String>,
    /// Who signs; absent: unsigned.
    #[serde(default)]
    pub sign: Option<Signing>,
    /// Virtual seconds to wait before sending (health checks keep running meanwhile).
    #[serde(default)]
    pub wait_seconds: Option<f64>,
    /// The client's time-out for a request `From` an instance or subnet, in seconds (default 60,
    /// botocore's connect time-out).
    #[serde(default)]
    pub timeout_seconds: Option<f64>,
}

/// A header's value: one or several.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(untagged)]
pub enum OneOrMany {
    /// One value.
    One(String),
    /// Several values, in order.
    Many(Vec<String>),
}

impl OneOrMany {
    /// The values, in order.
    pub fn values(&self) -> &[String] {
        match self {
            OneOrMany::One(v) => std::slice::from_ref(v),
            OneOrMany::Many(vs) => vs,
        }
    }
}

/// Who signs a `Request`, and how.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct Signing {
    /// Logical id, name or ARN of an `AWS::IAM::User` — signs with its first access key — or of
    /// an `AWS::IAM::Role` — signs with a fresh session of it.
    #[serde(rename = "As")]
    pub signer: String,
    /// Sign with this secret instead of the real one (a signature mismatch).
    #[serde(default)]
    pub secret_access_key: Option<String>,
    /// Sign with this access key id instead of the real one (an unknown key).
    #[serde(default)]
    pub access_key_id: Option<String>,
    /// Sign at the world's time plus this many seconds (negative: in the past).
    #[serde(default)]
    pub skew_seconds: Option<i64>,
    /// `HEADERS` (default) or `QUERY` (presigned).
    #[serde(default)]
    pub location: Option<String>,
    /// Credential-scope region (default: the scenario's).
    #[serde(default)]
    pub region: Option<String>,
    /// Credential-scope service (default: the one the URL's host names, `execute-api` for an
    /// `Api`, `vpc-lattice-svcs` for any other host).
    #[serde(default)]
    pub service: Option<String>,
    /// Leave the session token of role credentials out.
    #[serde(default)]
    pub omit_session_token: bool,
}

/// Keys of the old VPC Lattice client dialect and how the one dialect spells them.
const OLD_DIALECT: &[(&str, &str)] = &[("SignAs", "\"Sign\": {\"As\": …}")];

/// Why a `Request` object is not in the dialect: `(the key, why)`.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("{reason}")]
pub struct RequestShapeError {
    /// The key at fault, if one is.
    pub key: Option<String>,
    /// Why.
    pub reason: String,
}

impl Request {
    /// Reads a case's `Request` object; an old-dialect key is named with its new spelling
    /// (`scripts/migrate_cases.py` rewrites old scenarios).
    pub fn from_value(v: &Value) -> Result<Self, RequestShapeError> {
        for (old, new) in OLD_DIALECT {
            if v.get(*old).is_some() {
                return Err(RequestShapeError {
                    key: Some((*old).to_string()),
                    reason: format!(
                        "{old} is the old client dialect: write {new} (scripts/migrate_cases.py rewrites it)"
                    ),
                });
            }
        }
        serde_json::from_value(v.clone()).map_err(|e| RequestShapeError {
            key: None,
            reason: e.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn sign_as_is_refused_with_the_new_spelling() {
        let e = Request::from_value(&json!({"From": "I", "Url": "http://x/", "SignAs": "R"}))
            .unwrap_err();
        assert_eq!(e.key.as_deref(), Some("SignAs"));
        assert!(e.reason.contains(r#""Sign": {"As": …}"#), "{e}");
    }

    #[test]
    fn one_dialect_reads_both_former_shapes() {
        let r = Request::from_value(&json!({
            "From": "I", "Url": "https://${S.DnsEntry.DomainName}/", "Sign": {"As": "R"},
            "Headers": {"a": "1", "b": ["2", "3"]}, "Body": "x", "WaitSeconds": 30
        }))
        .unwrap();
        assert_eq!(r.headers["a"].values(), ["1"]);
        assert_eq!(r.headers["b"].values(), ["2", "3"]);
        assert_eq!(r.sign.unwrap().signer, "R");
        assert_eq!(r.wait_seconds, Some(30.0));
    }
}
