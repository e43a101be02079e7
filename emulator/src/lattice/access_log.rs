//! `AWS::VpcLattice::AccessLogSubscription`: one JSON object per request, in AWS's field format.
//!
//! Fields and their order are those of a recorded `VpcLatticeAccessLogs` entry (aws-samples,
//! "ECS bridge mode Envoy sigv4 sidecar" README, 2024) and the field list of
//! <https://docs.aws.amazon.com/vpc-lattice/latest/ug/monitoring-access-logs.html> ("Access log
//! contents"); a missing value is `-`, numbers are JSON numbers, `startTime` is RFC 3339 in whole
//! seconds. A subscription on a service network logs the requests of clients in its associated
//! VPCs; one on a service logs the requests to it.
//!
//! The destination (a CloudWatch Logs group, S3 bucket or Firehose ARN) is mapped to a local file:
//! `Vpcgate.Lattice.AccessLogFiles` names one per subscription (logical id or destination ARN);
//! otherwise `<temp dir>/vpcgate/access-logs/<als-id>.log`. Entries are also kept in memory.

use std::io::Write;
use std::path::PathBuf;
use std::sync::Mutex;

use serde::Serialize;

/// An access log subscription as the model describes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccessLogSubscriptionConfig {
    /// CloudFormation logical id.
    pub logical_id: String,
    /// `als-…`.
    pub id: String,
    /// Its ARN.
    pub arn: String,
    /// The service network's or service's id (`sn-…` / `svc-…`).
    pub resource_id: String,
    /// `DestinationArn`.
    pub destination_arn: String,
    /// Where vpcgate writes the entries.
    pub file: PathBuf,
}

/// The default file of a subscription.
pub fn default_file(id: &str) -> PathBuf {
    std::env::temp_dir()
        .join("vpcgate")
        .join("access-logs")
        .join(format!("{id}.log"))
}

/// One access log entry (`VpcLatticeAccessLogs`).
#[derive(Clone, Debug, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
#[allow(missing_docs)]
pub struct Entry {
    pub service_network_arn: String,
    pub resolved_user: String,
    pub listener_type: String,
    pub auth_denied_reason: String,
    pub target_group_arn: String,
    pub source_vpc_arn: String,
    pub destination_vpc_id: String,
    pub source_ip_port: String,
    pub listener_id: String,
    pub target_ip_port: String,
    pub failure_reason: String,
    pub service_arn: String,
    pub source_vpc_id: String,
    pub start_time: String,
    pub request_method: String,
    pub request_path: String,
    pub protocol: String,
    pub response_code: u16,
    pub bytes_received: u64,
    pub bytes_sent: u64,
    pub duration: u64,
    pub user_agent: String,
    pub host_header: String,
    pub server_name_indication: String,
    pub request_to_target_duration: serde_json::Value,
    pub response_from_target_duration: serde_json::Value,
    pub ssl_cipher: String,
    pub tls_version: String,
    pub caller_principal: String,
    #[serde(rename = "callerPrincipalOrgID")]
    pub caller_principal_org_id: String,
    #[serde(rename = "callerX509IssuerOU")]
    pub caller_x509_issuer_ou: String,
    #[serde(rename = "callerX509SubjectCN")]
    pub caller_x509_subject_cn: String,
    #[serde(rename = "callerX509SANNameCN")]
    pub caller_x509_san_name_cn: String,
    #[serde(rename = "callerX509SANDNS")]
    pub caller_x509_san_dns: String,
    #[serde(rename = "callerX509SANURI")]
    pub caller_x509_san_uri: String,
}

impl Default for Entry {
    fn default() -> Self {
        let dash = || "-".to_string();
        Self {
            service_network_arn: dash(),
            resolved_user: dash(),
            listener_type: dash(),
            auth_denied_reason: dash(),
            target_group_arn: dash(),
            source_vpc_arn: dash(),
            destination_vpc_id: dash(),
            source_ip_port: dash(),
            listener_id: dash(),
            target_ip_port: dash(),
            failure_reason: dash(),
            service_arn: dash(),
            source_vpc_id: dash(),
            start_time: dash(),
            request_method: dash(),
            request_path: dash(),
            protocol: dash(),
            response_code: 0,
            bytes_received: 0,
            bytes_sent: 0,
            duration: 0,
            user_agent: dash(),
            host_header: dash(),
            server_name_indication: dash(),
            request_to_target_duration: serde_json::Value::String(dash()),
            response_from_target_duration: serde_json::Value::String(dash()),
            ssl_cipher: dash(),
            tls_version: dash(),
            caller_principal: dash(),
            caller_principal_org_id: dash(),
            caller_x509_issuer_ou: dash(),
            caller_x509_subject_cn: dash(),
            caller_x509_san_name_cn: dash(),
            caller_x509_san_dns: dash(),
            caller_x509_san_uri: dash(),
        }
    }
}

/// The running subscriptions: files and the entries written so far.
#[derive(Debug, Default)]
pub struct AccessLogs {
    subscriptions: Vec<AccessLogSubscriptionConfig>,
    written: Mutex<Vec<(String, serde_json::Value)>>,
}

impl AccessLogs {
    /// Subscriptions as the model declares them; their files' folders are created.
    pub fn new(subscriptions: Vec<AccessLogSubscriptionConfig>) -> Self {
        for s in &subscriptions {
            if let Some(dir) = s.file.parent() {
                let _ = std::fs::create_dir_all(dir);
            }
        }
        Self {
            subscriptions,
            written: Mutex::new(Vec::new()),
        }
    }

    /// Writes `entry` to every subscription on `service_network_id` or `service_id`; returns
    /// the subscriptions written to.
    pub fn write(
        &self,
        service_network_id: &str,
        service_id: &str,
        entry: &Entry,
    ) -> Vec<&AccessLogSubscriptionConfig> {
        let value = serde_json::to_value(entry).unwrap_or(serde_json::Value::Null);
        let line = value.to_string();
        let mut written = Vec::new();
        for s in self
            .subscriptions
            .iter()
            .filter(|s| s.resource_id == service_network_id || s.resource_id == service_id)
        {
            written.push(s);
            let ok = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&s.file)
                .and_then(|mut f| writeln!(f, "{line}"));
            if let Err(e) = ok {
                tracing::warn!(file = %s.file.display(), error = %e, "access log not written");
            }
            self.written
                .lock()
                .expect("access log lock")
                .push((s.id.clone(), value.clone()));
        }
        written
    }

    /// Every entry written so far, with the subscription id.
    pub fn entries(&self) -> Vec<(String, serde_json::Value)> {
        self.written.lock().expect("access log lock").clone()
    }

    /// The subscriptions.
    pub fn subscriptions(&self) -> &[AccessLogSubscriptionConfig] {
        &self.subscriptions
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_names_and_order_follow_the_recorded_entry() {
        let v = serde_json::to_value(Entry::default()).unwrap();
        let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(keys[0], "serviceNetworkArn");
        assert_eq!(keys[1], "resolvedUser");
        assert!(keys.contains(&"callerPrincipalOrgID"));
        assert!(keys.contains(&"callerX509SANURI"));
        assert_eq!(keys.last(), Some(&"callerX509SANURI"));
        assert_eq!(keys.len(), 35);
        assert_eq!(v["failureReason"], "-");
    }
}
