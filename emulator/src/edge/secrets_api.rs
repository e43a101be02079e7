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

use super::wire::JsonError;
use super::{AccessDenied, Call};
use crate::secrets::Secret;

/// A refused Secrets Manager request.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SecretsManagerError {
    /// An operation vpcgate does not emulate.
    #[error("vpcgate does not emulate Secrets Manager's {op} operation")]
    UnknownOperation {
        /// The operation.
        op: String,
    },
    /// No secret by that name or ARN in the call's account and Region.
    #[error("Secrets Manager can't find the specified secret.")]
    NotFound,
    /// `SecretId` is missing.
    #[error(
        "1 validation error detected: Value null at 'secretId' failed to satisfy constraint: Member must not be null"
    )]
    NoSecretId,
    /// PutSecretValue on a secret another service manages.
    #[error(
        "The secret is managed by another service, and you must use that service to update it."
    )]
    ManagedByAnotherService,
    /// PutSecretValue with neither `SecretString` nor `SecretBinary` (vpcgate stores strings).
    #[error("You must provide either SecretString or SecretBinary.")]
    NoSecretValue,
    /// IAM refused the caller.
    #[error(transparent)]
    AccessDenied(#[from] AccessDenied),
}

/// The one mapping from [`SecretsManagerError`] to Secrets Manager's JSON 1.1 wire error (every
/// row a 400; the page is the API reference page whose "Errors" section lists the code).
pub fn wire(error: &SecretsManagerError) -> JsonError {
    use SecretsManagerError as E;
    let code = match error {
        // The JSON protocols' answer to an operation the service does not have.
        E::UnknownOperation { .. } => "UnknownOperationException",
        // API_GetSecretValue.html, API_DescribeSecret.html, API_PutSecretValue.html.
        E::NotFound => "ResourceNotFoundException",
        // CommonErrors.html: ValidationException (the model's "Member must not be null").
        E::NoSecretId => "ValidationException",
        // API_PutSecretValue.html: InvalidRequestException ("The secret is managed by another
        // service, and you must use that service to update it.").
        E::ManagedByAnotherService => "InvalidRequestException",
        // API_PutSecretValue.html: InvalidParameterException.
        E::NoSecretValue => "InvalidParameterException",
        // CommonErrors.html: AccessDeniedException.
        E::AccessDenied(_) => "AccessDeniedException",
    };
    JsonError::client(code, error.to_string())
}

/// The prefix of the secrets EventBridge manages for its connections.
pub const EVENTS_MANAGED_PREFIX: &str = "events!connection/";

/// Dispatches one operation (each answers at once).
pub fn call(c: &Call<'_>, op: &str, input: &Value) -> Result<Value, JsonError> {
    match op {
        "GetSecretValue" => get_secret_value(c, input),
        "DescribeSecret" => describe_secret(c, input),
        "PutSecretValue" => put_secret_value(c, input),
        "ListSecrets" => list_secrets(c),
        other => Err(SecretsManagerError::UnknownOperation {
            op: other.to_string(),
        }),
    }
    .map_err(|e| wire(&e))
}

fn secret_id(input: &Value) -> Result<&str, SecretsManagerError> {
    input
        .get("SecretId")
        .and_then(Value::as_str)
        .ok_or(SecretsManagerError::NoSecretId)
}

/// Whether a secret's ARN lies in the call's account and Region.
fn in_scope(c: &Call<'_>, arn: &str) -> bool {
    let mut parts = arn.split(':');
    parts.nth(3) == Some(c.scope.region.as_str()) && parts.next() == Some(c.scope.account.as_str())
}

fn lookup(c: &Call<'_>, input: &Value) -> Result<Secret, SecretsManagerError> {
    let id = secret_id(input)?;
    let secret = c
        .world
        .secrets
        .get(id)
        .map_err(|_| SecretsManagerError::NotFound)?;
    if in_scope(c, &secret.arn) {
        Ok(secret)
    } else {
        Err(SecretsManagerError::NotFound)
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

fn get_secret_value(c: &Call<'_>, input: &Value) -> Result<Value, SecretsManagerError> {
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

fn describe_secret(c: &Call<'_>, input: &Value) -> Result<Value, SecretsManagerError> {
    let secret = lookup(c, input)?;
    c.authorize("secretsmanager:DescribeSecret", &secret.arn)?;
    Ok(describe(&secret))
}

fn put_secret_value(c: &Call<'_>, input: &Value) -> Result<Value, SecretsManagerError> {
    let secret = lookup(c, input)?;
    c.authorize("secretsmanager:PutSecretValue", &secret.arn)?;
    if owning_service(&secret).is_some() {
        return Err(SecretsManagerError::ManagedByAnotherService);
    }
    let value = match (input.get("SecretString"), input.get("SecretBinary")) {
        (Some(Value::String(s)), None) => {
            serde_json::from_str::<Value>(s).unwrap_or_else(|_| Value::String(s.clone()))
        }
        _ => {
            return Err(SecretsManagerError::NoSecretValue);
        }
    };
    c.world.secrets.put_at(&secret.arn, &secret.name, value);
    let updated = c
        .world
        .secrets
        .get(&secret.arn)
        .map_err(|_| SecretsManagerError::NotFound)?;
    Ok(json!({
        "ARN": updated.arn,
        "Name": updated.name,
        "VersionId": version_id(&updated),
        "VersionStages": ["AWSCURRENT"],
    }))
}

fn list_secrets(c: &Call<'_>) -> Result<Value, SecretsManagerError> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_refusal_has_its_code_and_text() {
        for (e, code, message) in [
            (
                SecretsManagerError::NotFound,
                "ResourceNotFoundException",
                "Secrets Manager can't find the specified secret.",
            ),
            (
                SecretsManagerError::ManagedByAnotherService,
                "InvalidRequestException",
                "The secret is managed by another service, and you must use that service to update it.",
            ),
            (
                SecretsManagerError::NoSecretValue,
                "InvalidParameterException",
                "You must provide either SecretString or SecretBinary.",
            ),
            (
                SecretsManagerError::NoSecretId,
                "ValidationException",
                "1 validation error detected: Value null at 'secretId' failed to satisfy constraint: Member must not be null",
            ),
        ] {
            let w = wire(&e);
            assert_eq!(
                (w.status, w.code.as_str(), w.message.as_str()),
                (400, code, message)
            );
        }
    }
}
