//! Secrets Manager, as far as EventBridge connections use it.
//!
//! Creating a connection makes a secret named `events!connection/<name>/<uuid>` that holds the
//! connection's credentials; whoever invokes through the connection needs
//! `secretsmanager:GetSecretValue` and `secretsmanager:DescribeSecret` on it
//! (<https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-target-connection.html>).
//! Secret ARNs end in a dash and six random characters
//! (<https://docs.aws.amazon.com/secretsmanager/latest/userguide/reference_iam-permissions.html#iam-resources>).

use std::collections::BTreeMap;
use std::sync::RwLock;

use serde_json::Value;

/// One secret.
#[derive(Clone, Debug, PartialEq)]
pub struct Secret {
    /// The name.
    pub name: String,
    /// `arn:aws:secretsmanager:<region>:<account>:secret:<name>-<6 chars>`.
    pub arn: String,
    /// The `SecretString` (JSON for connection secrets).
    pub value: Value,
}

/// Errors of the emulated Secrets Manager.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum SecretsError {
    /// `ResourceNotFoundException`.
    #[error("Secrets Manager can't find the specified secret.")]
    NotFound {
        /// The id asked for.
        id: String,
    },
}

/// The secrets of one account and region.
#[derive(Debug)]
pub struct SecretsManager {
    region: String,
    account: String,
    secrets: RwLock<BTreeMap<String, Secret>>,
}

impl SecretsManager {
    /// An empty store.
    pub fn new(region: &str, account: &str) -> Self {
        Self {
            region: region.to_string(),
            account: account.to_string(),
            secrets: RwLock::new(BTreeMap::new()),
        }
    }

    /// The ARN a secret of this name gets; `suffix` is its six random characters.
    pub fn arn_for(&self, name: &str, suffix: &str) -> String {
        format!(
            "arn:aws:secretsmanager:{}:{}:secret:{name}-{suffix}",
            self.region, self.account
        )
    }

    /// Stores (or replaces) a secret and returns its ARN.
    pub fn put(&self, name: &str, suffix: &str, value: Value) -> String {
        let arn = self.arn_for(name, suffix);
        self.secrets.write().expect("lock").insert(
            arn.clone(),
            Secret {
                name: name.to_string(),
                arn: arn.clone(),
                value,
            },
        );
        arn
    }

    /// Stores (or replaces) a secret under an ARN of another Region or account (the secret of a
    /// connection `serve` made there).
    pub fn put_at(&self, arn: &str, name: &str, value: Value) {
        self.secrets.write().expect("lock").insert(
            arn.to_string(),
            Secret {
                name: name.to_string(),
                arn: arn.to_string(),
                value,
            },
        );
    }

    /// A secret by ARN or name.
    pub fn get(&self, id: &str) -> Result<Secret, SecretsError> {
        let secrets = self.secrets.read().expect("lock");
        secrets
            .get(id)
            .or_else(|| secrets.values().find(|s| s.name == id))
            .cloned()
            .ok_or_else(|| SecretsError::NotFound { id: id.to_string() })
    }

    /// Every secret, by ARN.
    pub fn list(&self) -> Vec<Secret> {
        self.secrets
            .read()
            .expect("lock")
            .values()
            .cloned()
            .collect()
    }

    /// Deletes a secret.
    pub fn delete(&self, arn: &str) {
        self.secrets.write().expect("lock").remove(arn);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_found_by_arn_or_name() {
        let sm = SecretsManager::new("ap-northeast-1", "123456789012");
        let arn = sm.put(
            "events!connection/demo/0b8c",
            "AbCdEf",
            serde_json::json!({"api_key_name": "x"}),
        );
        assert_eq!(
            arn,
            "arn:aws:secretsmanager:ap-northeast-1:123456789012:secret:events!connection/demo/0b8c-AbCdEf"
        );
        assert_eq!(sm.get(&arn).unwrap().name, "events!connection/demo/0b8c");
        assert_eq!(sm.get("events!connection/demo/0b8c").unwrap().arn, arn);
        assert!(sm.get("nope").is_err());
    }
}
