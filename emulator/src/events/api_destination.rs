//! API destinations: an HTTPS endpoint, a method, a connection and an invocation rate
//! (<https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-api-destinations.html>,
//! <https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_CreateApiDestination.html>).

use serde_json::Value;

use super::error::EventBridgeError;

/// `InvocationRateLimitPerSecond` when none is given ("The default is 300").
pub const DEFAULT_RATE_LIMIT: u32 = 300;

/// The methods CreateApiDestination takes (its recorded enum constraint).
pub const METHODS: &[&str] = &["HEAD", "POST", "PATCH", "DELETE", "PUT", "GET", "OPTIONS"];

/// An API destination.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiDestinationConfig {
    /// `Name`.
    pub name: String,
    /// `arn:aws:events:<region>:<account>:api-destination/<name>/<uuid>`.
    pub arn: String,
    /// `ConnectionArn`.
    pub connection_arn: String,
    /// `InvocationEndpoint`: an HTTPS URL, `*` for path parameters.
    pub endpoint: String,
    /// `HttpMethod`.
    pub method: String,
    /// `InvocationRateLimitPerSecond`.
    pub rate_limit: u32,
    /// `Description`.
    pub description: Option<String>,
}

fn field<'a>(props: &'a Value, key: &str) -> Option<&'a str> {
    props.get(key).and_then(Value::as_str)
}

impl ApiDestinationConfig {
    /// Reads CreateApiDestination's (and `AWS::Events::ApiDestination`'s) properties; the
    /// violations are listed as AWS lists them ("2 validation errors detected: …").
    pub fn from_props(name: &str, arn: &str, props: &Value) -> Result<Self, EventBridgeError> {
        let mut errors = Vec::new();
        let connection_arn = field(props, "ConnectionArn")
            .unwrap_or_default()
            .to_string();
        let conn_ok = connection_arn.starts_with("arn:aws")
            && connection_arn.split(':').nth(2) == Some("events")
            && connection_arn
                .split_once(":connection/")
                .is_some_and(|(_, rest)| rest.split('/').count() == 2);
        if !conn_ok {
            errors.push(format!("Value '{connection_arn}' at 'connectionArn' failed to satisfy constraint: Member must satisfy regular expression pattern: ^arn:aws([a-z]|\\-)*:events:([a-z]|\\d|\\-)*:([0-9]{{12}})?:connection\\/[\\.\\-_A-Za-z0-9]+\\/[\\-A-Za-z0-9]+$"));
        }
        let method = field(props, "HttpMethod").unwrap_or_default().to_string();
        if !METHODS.contains(&method.as_str()) {
            errors.push(format!("Value '{method}' at 'httpMethod' failed to satisfy constraint: Member must satisfy enum value set: [HEAD, POST, PATCH, DELETE, PUT, GET, OPTIONS]"));
        }
        let endpoint = field(props, "InvocationEndpoint")
            .unwrap_or_default()
            .to_string();
        if !endpoint.starts_with("https://") {
            errors.push(format!("Value '{endpoint}' at 'invocationEndpoint' failed to satisfy constraint: Member must satisfy regular expression pattern: ^((%[0-9A-Fa-f]{{2}}|[-()_.!~*';/?:@\\x26=+$,A-Za-z0-9])+)([).!';/?:,])?$"));
        }
        let rate_limit = match props.get("InvocationRateLimitPerSecond") {
            None | Some(Value::Null) => DEFAULT_RATE_LIMIT,
            Some(v) => {
                let n = v
                    .as_u64()
                    .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
                    .unwrap_or(0);
                if n < 1 {
                    errors.push(format!("Value '{n}' at 'invocationRateLimitPerSecond' failed to satisfy constraint: Member must have value greater than or equal to 1"));
                }
                n.min(u64::from(u32::MAX)) as u32
            }
        };
        if !errors.is_empty() {
            let n = errors.len();
            let noun = if n == 1 { "error" } else { "errors" };
            return Err(EventBridgeError::validation(format!(
                "{n} validation {noun} detected: {}",
                errors.join("; ")
            )));
        }
        Ok(Self {
            name: name.to_string(),
            arn: arn.to_string(),
            connection_arn,
            endpoint,
            method,
            rate_limit,
            description: field(props, "Description").map(str::to_string),
        })
    }

    /// The URL for one invocation: each `*` of the endpoint replaced, in order, by the target's
    /// `HttpParameters.PathParameterValues` ("The path parameter values to be used to populate
    /// … ApiDestination path wildcards ("*")", API_HttpParameters.html); a wildcard without a
    /// value stays empty.
    pub fn url(&self, path_values: &[String]) -> String {
        let mut values = path_values.iter();
        let mut out = String::with_capacity(self.endpoint.len());
        for c in self.endpoint.chars() {
            if c == '*' {
                if let Some(v) = values.next() {
                    out.push_str(
                        &percent_encoding::utf8_percent_encode(v, crate::events::invoke::QUERY)
                            .to_string(),
                    );
                }
            } else {
                out.push(c);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn create_refusals_list_every_violation() {
        let e = ApiDestinationConfig::from_props(
            "d",
            "arn",
            &json!({"ConnectionArn": "invalid-connection-arn", "HttpMethod": "INVALID_METHOD", "InvocationEndpoint": "https://example.com/api"}),
        )
        .unwrap_err();
        // test_create_api_destination_invalid_parameters (LocalStack, recorded against AWS).
        assert!(
            e.to_string().starts_with(
                "2 validation errors detected: Value 'invalid-connection-arn' at 'connectionArn'"
            ),
            "{e}"
        );
        assert!(e.to_string().contains("Value 'INVALID_METHOD' at 'httpMethod' failed to satisfy constraint: Member must satisfy enum value set: [HEAD, POST, PATCH, DELETE, PUT, GET, OPTIONS]"));
    }

    #[test]
    fn path_wildcards_take_the_targets_values_in_order() {
        let d = ApiDestinationConfig::from_props(
            "d",
            "arn",
            &json!({"ConnectionArn": "arn:aws:events:us-east-1:123456789012:connection/c/0b8c", "HttpMethod": "POST", "InvocationEndpoint": "https://api.example.com/orders/*/items/*"}),
        )
        .unwrap();
        assert_eq!(d.rate_limit, DEFAULT_RATE_LIMIT);
        assert_eq!(
            d.url(&["o 1".into(), "i2".into()]),
            "https://api.example.com/orders/o%201/items/i2"
        );
    }
}
