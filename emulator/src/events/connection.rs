//! EventBridge connections: credentials for HTTP Tasks and API destinations.
//!
//! A connection holds an authorization (API key, basic, or OAuth client credentials) and optional
//! invocation HTTP parameters; creating one stores the credentials in a Secrets Manager secret
//! named `events!connection/<name>/<uuid>` (<https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-target-connection.html>).
//! A *private* connection names a VPC Lattice resource configuration in
//! `InvocationConnectivityParameters.ResourceParameters.ResourceConfigurationArn`; requests through
//! it travel Lattice -> resource gateway -> the VPC
//! (<https://docs.aws.amazon.com/eventbridge/latest/userguide/connection-private.html>).
//!
//! This module holds the connections and turns a connection plus its secret into what goes on the
//! wire (headers, query parameters, body fields); it opens no socket itself: the HTTP Task
//! ([`crate::sfn::http`]) fetches OAuth tokens and sends requests along the connection's path.

use std::collections::BTreeMap;
use std::sync::{Mutex, RwLock};
use std::time::Duration;

use serde_json::{Map, Value, json};

/// How the connection authorizes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Authorization {
    /// `API_KEY`: a header named `name` with `value`.
    ApiKey {
        /// `ApiKeyName`.
        name: String,
        /// `ApiKeyValue`.
        value: String,
    },
    /// `BASIC`: `Authorization: Basic base64(username:password)`.
    Basic {
        /// `Username`.
        username: String,
        /// `Password`.
        password: String,
    },
    /// `OAUTH_CLIENT_CREDENTIALS`: a token from the authorization endpoint, sent as a bearer token.
    OAuthClientCredentials {
        /// `AuthorizationEndpoint` (HTTPS URL).
        authorization_endpoint: String,
        /// `HttpMethod` for the token request (GET, POST, PUT).
        http_method: String,
        /// `ClientParameters.ClientID`.
        client_id: String,
        /// `ClientParameters.ClientSecret`.
        client_secret: String,
        /// `OAuthHttpParameters` sent with the token request.
        oauth_parameters: HttpParameters,
    },
}

impl Authorization {
    /// The `AuthorizationType` name.
    pub fn kind(&self) -> &'static str {
        match self {
            Authorization::ApiKey { .. } => "API_KEY",
            Authorization::Basic { .. } => "BASIC",
            Authorization::OAuthClientCredentials { .. } => "OAUTH_CLIENT_CREDENTIALS",
        }
    }
}

/// One key/value parameter of a connection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Parameter {
    /// The key.
    pub key: String,
    /// The value.
    pub value: String,
    /// `IsValueSecret`: kept in the secret and redacted from traces and TestState output.
    pub is_value_secret: bool,
}

/// `InvocationHttpParameters` (or `OAuthHttpParameters`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HttpParameters {
    /// `HeaderParameters`.
    pub headers: Vec<Parameter>,
    /// `QueryStringParameters`.
    pub query: Vec<Parameter>,
    /// `BodyParameters`.
    pub body: Vec<Parameter>,
}

/// A connection as the model describes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConnectionConfig {
    /// CloudFormation logical id.
    pub logical_id: String,
    /// `Name`.
    pub name: String,
    /// `arn:aws:events:<region>:<account>:connection/<name>/<uuid>`.
    pub arn: String,
    /// The ARN of the secret holding the credentials.
    pub secret_arn: String,
    /// The secret's name, `events!connection/<name>/<uuid>`.
    pub secret_name: String,
    /// The authorization.
    pub authorization: Authorization,
    /// `AuthParameters.InvocationHttpParameters`.
    pub invocation_parameters: HttpParameters,
    /// `InvocationConnectivityParameters.ResourceParameters.ResourceConfigurationArn`.
    pub resource_configuration_arn: Option<String>,
    /// `Description`.
    pub description: Option<String>,
}

impl ConnectionConfig {
    /// The uuid part of the ARN.
    pub fn uuid(&self) -> &str {
        self.arn.rsplit('/').next().unwrap_or_default()
    }

    /// The connection with the credentials its secret holds now: what an invocation sends.
    /// EventBridge keeps a connection's credentials in the secret and reads them from there
    /// (eb-target-connection.html: "EventBridge stores the authorization parameters in a secret";
    /// invokers need secretsmanager:GetSecretValue on it), so a secret changed since the
    /// connection was made applies. Fields missing from the secret keep the record's values.
    pub fn with_secret(&self, secret: &Value) -> Self {
        let field = |k: &str, old: &String| {
            secret
                .get(k)
                .and_then(Value::as_str)
                .map(str::to_string)
                .unwrap_or_else(|| old.clone())
        };
        let mut out = self.clone();
        match &mut out.authorization {
            Authorization::ApiKey { name, value } => {
                *name = field("api_key_name", name);
                *value = field("api_key_value", value);
            }
            Authorization::Basic { username, password } => {
                *username = field("username", username);
                *password = field("password", password);
            }
            Authorization::OAuthClientCredentials {
                client_id,
                client_secret,
                ..
            } => {
                *client_id = field("client_id", client_id);
                *client_secret = field("client_secret", client_secret);
            }
        }
        out
    }

    /// The JSON the connection's secret holds.
    ///
    /// fidelity: the field names follow what EventBridge stores for each authorization type as far
    /// as public recordings show; users never read this secret directly (README, fidelity notes).
    pub fn secret_value(&self) -> Value {
        let mut secret = Map::new();
        match &self.authorization {
            Authorization::ApiKey { name, value } => {
                secret.insert("api_key_name".into(), json!(name));
                secret.insert("api_key_value".into(), json!(value));
            }
            Authorization::Basic { username, password } => {
                secret.insert("username".into(), json!(username));
                secret.insert("password".into(), json!(password));
            }
            Authorization::OAuthClientCredentials {
                authorization_endpoint,
                http_method,
                client_id,
                client_secret,
                ..
            } => {
                secret.insert(
                    "authorization_endpoint".into(),
                    json!(authorization_endpoint),
                );
                secret.insert("http_method".into(), json!(http_method));
                secret.insert("client_id".into(), json!(client_id));
                secret.insert("client_secret".into(), json!(client_secret));
            }
        }
        let params = |ps: &[Parameter]| -> Value {
            Value::Array(
                ps.iter()
                    .map(|p| json!({"key": p.key, "value": p.value, "is_value_secret": p.is_value_secret}))
                    .collect(),
            )
        };
        let inv = &self.invocation_parameters;
        secret.insert(
            "invocation_http_parameters".into(),
            json!({"header_parameters": params(&inv.headers), "query_string_parameters": params(&inv.query), "body_parameters": params(&inv.body)}),
        );
        Value::Object(secret)
    }
}

/// An OAuth token and when it stops being used.
#[derive(Clone, Debug)]
struct CachedToken {
    token: String,
    expires: tokio::time::Instant,
}

/// Default lifetime of a token whose response has no `expires_in`.
const DEFAULT_TOKEN_LIFETIME: Duration = Duration::from_secs(3600);

/// Errors of the connection registry.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum EventsError {
    /// `ResourceNotFoundException`.
    #[error("Failed to describe the connection(s). Connection '{name}' does not exist.")]
    NotFound {
        /// The connection name.
        name: String,
    },
    /// The ARN is not a connection ARN.
    #[error("{arn} is not a valid connection ARN")]
    InvalidArn {
        /// What was given.
        arn: String,
    },
}

/// The connections `serve` and the world know, in every account and Region: each is keyed by
/// the (Region, account) of its ARN and its name, so two accounts may use the same name.
#[derive(Debug, Default)]
pub struct Connections {
    by_name: RwLock<BTreeMap<(String, String, String), ConnectionConfig>>,
    /// The same connections by ARN, shared: what a task or target reaches on every invocation
    /// (no key built and no copy of the record per call).
    by_arn: RwLock<std::collections::HashMap<String, std::sync::Arc<ConnectionConfig>>>,
    tokens: Mutex<BTreeMap<String, CachedToken>>,
    /// Connections EventBridge de-authorized (by ARN), until updated.
    deauthorized: Mutex<std::collections::BTreeSet<String>>,
}

/// The (Region, account) of a connection ARN (`arn:aws:events:<region>:<account>:connection/…`).
fn arn_scope(arn: &str) -> (String, String) {
    let mut parts = arn.split(':');
    let region = parts.nth(3).unwrap_or_default().to_string();
    let account = parts.next().unwrap_or_default().to_string();
    (region, account)
}

impl Connections {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds or replaces a connection (in the Region and account of its ARN).
    pub fn put(&self, config: ConnectionConfig) {
        self.tokens.lock().expect("lock").remove(&config.arn);
        // Creating or updating a connection authorizes it again (eb-target-connection-edit).
        self.deauthorized.lock().expect("lock").remove(&config.arn);
        let (region, account) = arn_scope(&config.arn);
        let mut by_name = self.by_name.write().expect("lock");
        let mut by_arn = self.by_arn.write().expect("lock");
        // The ARN names the Region, account and name, so only the record this one replaces
        // can hold an ARN to forget (a re-created connection's old uuid).
        let arn = config.arn.clone();
        by_arn.insert(arn.clone(), std::sync::Arc::new(config.clone()));
        if let Some(old) = by_name.insert((region, account, config.name.clone()), config)
            && old.arn != arn
        {
            by_arn.remove(&old.arn);
        }
    }

    /// Removes a connection of a Region and account.
    pub fn remove_in(&self, region: &str, account: &str, name: &str) -> Option<ConnectionConfig> {
        let mut by_name = self.by_name.write().expect("lock");
        let removed = by_name.remove(&(region.to_string(), account.to_string(), name.to_string()));
        if let Some(old) = &removed {
            self.by_arn.write().expect("lock").remove(&old.arn);
        }
        removed
    }

    /// All connections, by Region, account and name.
    pub fn list(&self) -> Vec<ConnectionConfig> {
        self.by_name
            .read()
            .expect("lock")
            .values()
            .cloned()
            .collect()
    }

    /// The connections of one Region and account, by name.
    pub fn list_in(&self, region: &str, account: &str) -> Vec<ConnectionConfig> {
        self.by_name
            .read()
            .expect("lock")
            .iter()
            .filter(|((r, a, _), _)| r == region && a == account)
            .map(|(_, c)| c.clone())
            .collect()
    }

    /// A connection by name, in any Region and account (the first in order).
    pub fn by_name(&self, name: &str) -> Result<ConnectionConfig, EventsError> {
        self.by_name
            .read()
            .expect("lock")
            .iter()
            .find(|((_, _, n), _)| n == name)
            .map(|(_, c)| c.clone())
            .ok_or_else(|| EventsError::NotFound {
                name: name.to_string(),
            })
    }

    /// A connection by name in one Region and account.
    pub fn by_name_in(
        &self,
        region: &str,
        account: &str,
        name: &str,
    ) -> Result<ConnectionConfig, EventsError> {
        self.by_name
            .read()
            .expect("lock")
            .get(&(region.to_string(), account.to_string(), name.to_string()))
            .cloned()
            .ok_or_else(|| EventsError::NotFound {
                name: name.to_string(),
            })
    }

    /// A connection by ARN (`arn:aws:events:…:connection/<name>/<uuid>`): the Region, account,
    /// name and uuid must all match, as a deleted and re-created connection gets a new uuid.
    /// The ARN names all four, so the record whose ARN is exactly `arn` is the one.
    pub fn by_arn(&self, arn: &str) -> Result<std::sync::Arc<ConnectionConfig>, EventsError> {
        let rest = arn
            .split_once(":connection/")
            .map(|(_, rest)| rest)
            .ok_or_else(|| EventsError::InvalidArn {
                arn: arn.to_string(),
            })?;
        if let Some(conn) = self.by_arn.read().expect("lock").get(arn) {
            return Ok(conn.clone());
        }
        Err(EventsError::NotFound {
            name: rest.split('/').next().unwrap_or_default().to_string(),
        })
    }

    /// A cached OAuth token for the connection, if it is still fresh.
    pub fn cached_token(&self, arn: &str) -> Option<String> {
        let tokens = self.tokens.lock().expect("lock");
        tokens
            .get(arn)
            .filter(|t| t.expires > tokio::time::Instant::now())
            .map(|t| t.token.clone())
    }

    /// Caches a token for `expires_in` (or an hour when the endpoint did not say).
    pub fn cache_token(&self, arn: &str, token: String, expires_in: Option<Duration>) {
        let expires = tokio::time::Instant::now() + expires_in.unwrap_or(DEFAULT_TOKEN_LIFETIME);
        self.tokens
            .lock()
            .expect("lock")
            .insert(arn.to_string(), CachedToken { token, expires });
    }

    /// De-authorizes a connection, as EventBridge does when it cannot refresh an OAuth token or
    /// a Basic/API key request gets 401 or 407 (eb-target-connection-deauthorize.html); it stays
    /// `DEAUTHORIZED` until it is updated.
    pub fn deauthorize(&self, arn: &str) {
        self.tokens.lock().expect("lock").remove(arn);
        self.deauthorized
            .lock()
            .expect("lock")
            .insert(arn.to_string());
    }

    /// Whether EventBridge de-authorized the connection.
    pub fn is_deauthorized(&self, arn: &str) -> bool {
        self.deauthorized.lock().expect("lock").contains(arn)
    }

    /// Forgets a cached token (after the endpoint rejected it).
    pub fn forget_token(&self, arn: &str) {
        self.tokens.lock().expect("lock").remove(arn);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conn() -> ConnectionConfig {
        ConnectionConfig {
            logical_id: "PrivateConnection".into(),
            name: "eb-demo-private-connection".into(),
            arn: "arn:aws:events:ap-northeast-1:123456789012:connection/eb-demo-private-connection/0b8c7a43-44d1-4b2a-9a5c-6f1e2d3c4b5a".into(),
            secret_arn: "arn:aws:secretsmanager:ap-northeast-1:123456789012:secret:events!connection/eb-demo-private-connection/0b8c7a43-44d1-4b2a-9a5c-6f1e2d3c4b5a-AbCdEf".into(),
            secret_name: "events!connection/eb-demo-private-connection/0b8c7a43-44d1-4b2a-9a5c-6f1e2d3c4b5a".into(),
            authorization: Authorization::ApiKey { name: "x-dummy-key".into(), value: "dummy".into() },
            invocation_parameters: HttpParameters::default(),
            resource_configuration_arn: None,
            description: None,
        }
    }

    #[test]
    fn lookup_by_arn_checks_the_uuid() {
        let reg = Connections::new();
        reg.put(conn());
        assert!(reg.by_arn(&conn().arn).is_ok());
        let stale = conn().arn.replace("0b8c7a43", "ffffffff");
        assert_eq!(
            reg.by_arn(&stale),
            Err(EventsError::NotFound {
                name: "eb-demo-private-connection".into()
            })
        );
        assert!(matches!(
            reg.by_arn("arn:aws:events:x:y:rule/z"),
            Err(EventsError::InvalidArn { .. })
        ));
    }

    /// A connection deleted and created again under its name gets a new uuid: its old ARN no
    /// longer resolves, the new one does, and a deleted one resolves by neither. Lookups share
    /// the record rather than copy it.
    #[test]
    fn lookup_by_arn_follows_re_creation_and_deletion() {
        let reg = Connections::new();
        let old = conn();
        reg.put(old.clone());
        let first = reg.by_arn(&old.arn).unwrap();
        assert!(std::sync::Arc::ptr_eq(
            &first,
            &reg.by_arn(&old.arn).unwrap()
        ));
        let mut again = conn();
        again.arn = old.arn.replace("0b8c7a43", "1c9d8b54");
        reg.put(again.clone());
        assert!(matches!(
            reg.by_arn(&old.arn),
            Err(EventsError::NotFound { .. })
        ));
        assert_eq!(*reg.by_arn(&again.arn).unwrap(), again);
        let (region, account) = arn_scope(&again.arn);
        assert!(reg.remove_in(&region, &account, &again.name).is_some());
        assert!(matches!(
            reg.by_arn(&again.arn),
            Err(EventsError::NotFound { .. })
        ));
    }

    #[tokio::test(start_paused = true)]
    async fn tokens_expire_on_the_virtual_clock() {
        let reg = Connections::new();
        reg.cache_token("arn", "t1".into(), Some(Duration::from_secs(60)));
        assert_eq!(reg.cached_token("arn").as_deref(), Some("t1"));
        tokio::time::sleep(Duration::from_secs(61)).await;
        assert_eq!(reg.cached_token("arn"), None);
    }
}
