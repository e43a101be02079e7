//! Secrets Manager (`awsJson1_1`, target prefix `secretsmanager`): GetSecretValue,
//! DescribeSecret, PutSecretValue, ListSecrets
//! (<https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_Operations.html>).
//!
//! The secrets vpcgate holds are EventBridge connections' (`events!connection/<name>/<uuid>`).
//! Those are secrets managed by another service
//! (<https://docs.aws.amazon.com/secretsmanager/latest/userguide/service-linked-secrets.html>):
//! DescribeSecret and ListSecrets show `OwningService: events`, and changing one through Secrets
//! Manager is refused with `InvalidRequestException` ("The secret is managed by another service,
//! and you must use that service to update it." — API_PutSecretValue.html, Errors); it changes
//! through UpdateConnection.

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::Call;
use super::wire::JsonError;
use crate::secrets::Secret;

/// The prefix of the secrets EventBridge manages for its connections.
pub const EVENTS_MANAGED_PREFIX: &str = "events!connection/";

/// Dispatches one operation (each answers at once).
pub fn call(c: &Call<'_>, op: &str, input: &Value) -> Result<Value, JsonError> {
    match op {
        "GetSecretValue" => get_secret_value(c, input),
        "DescribeSecret" => describe_secret(c, input),
        "PutSecretValue" => put_secret_value(c, input),
        "ListSecrets" => list_secrets(c),
        other => Err(JsonError::client(
            "UnknownOperationException",
            format!("vpcgate does not emulate Secrets Manager's {other} operation"),
        )),
    }
}

/// `ResourceNotFoundException`, "Secrets Manager can't find the specified secret."
/// (API_GetSecretValue.html, Errors).
fn not_found() -> JsonError {
    JsonError::client(
        "ResourceNotFoundException",
        "Secrets Manager can't find the specified secret.",
    )
}

fn secret_id(input: &Value) -> Result<&str, JsonError> {
    input.get("SecretId").and_then(Value::as_str).ok_or_else(|| {
        JsonError::client(
            "ValidationException",
            "1 validation error detected: Value null at 'secretId' failed to satisfy constraint: Member must not be null",
        )
    })
}

/// Whether a secret's ARN lies in the call's account and Region.
fn in_scope(c: &Call<'_>, arn: &str) -> bool {
    let mut parts = arn.split(':');
    parts.nth(3) == Some(c.scope.region.as_str()) && parts.next() == Some(c.scope.account.as_str())
}

fn lookup(c: &Call<'_>, input: &Value) -> Result<Secret, JsonError> {
    let id = secret_id(input)?;
    let secret = c.world.secrets.get(id).map_err(|_| not_found())?;
    if in_scope(c, &secret.arn) {
        Ok(secret)
    } else {
        Err(not_found())
    }
}

/// The current version's id: a UUID derived from the value, so it changes when the value does.
fn version_id(secret: &Secret) -> String {
    let h = hex::encode(Sha256::digest(format!("{}\n{}", secret.arn, secret.value)));
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

fn owning_service(secret: &Secret) -> Option<&'static str> {
    secret
        .name
        .starts_with(EVENTS_MANAGED_PREFIX)
        .then_some("events")
}

fn secret_string(secret: &Secret) -> String {
    match &secret.value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn get_secret_value(c: &Call<'_>, input: &Value) -> Result<Value, JsonError> {
    let secret = lookup(c, input)?;
    c.authorize("secretsmanager:GetSecretValue", &secret.arn)?;
    Ok(json!({
        "ARN": secret.arn,
        "Name": secret.name,
        "VersionId": version_id(&secret),
        "SecretString": secret_string(&secret),
        "VersionStages": ["AWSCURRENT"],
    }))
}

fn describe(secret: &Secret) -> Value {
    let mut out = json!({
        "ARN": secret.arn,
        "Name": secret.name,
        "VersionIdsToStages": {version_id(secret): ["AWSCURRENT"]},
    });
    if let Some(s) = owning_service(secret) {
        out["OwningService"] = json!(s);
    }
    out
}

fn describe_secret(c: &Call<'_>, input: &Value) -> Result<Value, JsonError> {
    let secret = lookup(c, input)?;
    c.authorize("secretsmanager:DescribeSecret", &secret.arn)?;
    Ok(describe(&secret))
}

fn put_secret_value(c: &Call<'_>, input: &Value) -> Result<Value, JsonError> {
    let secret = lookup(c, input)?;
    c.authorize("secretsmanager:PutSecretValue", &secret.arn)?;
    if owning_service(&secret).is_some() {
        return Err(JsonError::client(
            "InvalidRequestException",
            "The secret is managed by another service, and you must use that service to update it.",
        ));
    }
    let value = match (input.get("SecretString"), input.get("SecretBinary")) {
        (Some(Value::String(s)), None) => {
            serde_json::from_str::<Value>(s).unwrap_or_else(|_| Value::String(s.clone()))
        }
        _ => {
            return Err(JsonError::client(
                "InvalidParameterException",
                "You must provide either SecretString or SecretBinary.",
            ));
        }
    };
    c.world.secrets.put_at(&secret.arn, &secret.name, value);
    let updated = c.world.secrets.get(&secret.arn).map_err(|_| not_found())?;
    Ok(json!({
        "ARN": updated.arn,
        "Name": updated.name,
        "VersionId": version_id(&updated),
        "VersionStages": ["AWSCURRENT"],
    }))
}

fn list_secrets(c: &Call<'_>) -> Result<Value, JsonError> {
    c.authorize("secretsmanager:ListSecrets", "*")?;
    let list: Vec<Value> = c
        .world
        .secrets
        .list()
        .iter()
        .filter(|s| in_scope(c, &s.arn))
        .map(describe)
        .collect();
    Ok(json!({"SecretList": list}))
}
