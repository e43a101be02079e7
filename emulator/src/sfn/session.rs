//! The execution role's session, held by one execution for as long as it runs.
//!
//! Step Functions assumes an execution's role in a session of its own and signs the execution's
//! `IAM_ROLE` calls with that session's temporary credentials (Pattern B). An execution holds
//! its session from its first signed call to its end, renewing it when it nears expiry as an
//! SDK would, and ends it when it finishes: the credentials never leave Step Functions, so
//! nothing can sign with them afterwards, and the credential store keeps only the sessions of
//! running executions instead of turning its memory over with every execution.

use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};

use crate::authz::{Directory, SESSION_REFRESH_MARGIN_SECONDS};
use crate::iam::{CredentialError, Principal, SessionCredentials};

/// One execution's role session ([`ExecutionSession::credentials`]), ended with
/// [`ExecutionSession::end`].
#[derive(Debug)]
pub struct ExecutionSession {
    /// Shared with each set of credentials issued to it.
    principal: Arc<Principal>,
    /// Every set of credentials issued to the execution, newest last (more than one only when
    /// a long execution outlived its first session); all are ended together.
    issued: Mutex<Vec<Arc<SessionCredentials>>>,
}

impl ExecutionSession {
    /// The session of an execution running as `principal` (an assumed-role session); nothing
    /// is issued until the execution first signs.
    pub fn new(principal: Principal) -> Self {
        Self {
            principal: Arc::new(principal),
            issued: Mutex::new(Vec::new()),
        }
    }

    /// The session principal.
    pub fn principal(&self) -> &Principal {
        &self.principal
    }

    /// The execution's temporary credentials at `now`: the ones it holds while they have more
    /// than five minutes left, fresh ones from `iam` otherwise.
    pub fn credentials(
        &self,
        iam: &Directory,
        now: DateTime<Utc>,
    ) -> Result<Arc<SessionCredentials>, CredentialError> {
        let mut issued = self.issued.lock().expect("session lock");
        if let Some(c) = issued.last()
            && c.fresh_at(now, SESSION_REFRESH_MARGIN_SECONDS)
        {
            return Ok(c.clone());
        }
        let fresh = iam.issue_session(&self.principal, now)?;
        issued.push(fresh.clone());
        Ok(fresh)
    }

    /// Ends the session: `iam` forgets every set of credentials issued to it.
    pub fn end(&self, iam: &Directory) {
        let issued = std::mem::take(&mut *self.issued.lock().expect("session lock"));
        for c in &issued {
            iam.end_session(&c.access_key_id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::authz::{IamConfig, Role};

    fn directory() -> Directory {
        let roles = [Role {
            logical_id: "PatternBRole".into(),
            name: "PatternBRole".into(),
            path: "/".into(),
            arn: "arn:aws:iam::123456789012:role/PatternBRole".into(),
            trust_policy: serde_json::json!({"Version": "2012-10-17", "Statement": [{
                "Effect": "Allow",
                "Principal": {"Service": "states.amazonaws.com"},
                "Action": "sts:AssumeRole"
            }]}),
            inline_policies: Vec::new(),
            managed_policy_arns: Vec::new(),
            tags: Vec::new(),
        }];
        Directory::new(IamConfig {
            account: "123456789012",
            roles: &roles,
            users: &[],
            managed_policies: &[],
        })
        .unwrap()
    }

    fn signs(iam: &Directory, c: &SessionCredentials, now: DateTime<Utc>) -> bool {
        iam.authenticate(&c.access_key_id, Some(c.session_token.expose()), now)
            .is_ok()
    }

    /// One session per execution: its signed calls share it, it is renewed five minutes before
    /// its hour is up, and ending the execution ends every set of credentials it was issued.
    #[test]
    fn an_execution_holds_its_session_until_it_ends() {
        let iam = directory();
        let t0 = DateTime::from_timestamp(1_780_000_000, 0).unwrap();
        let session = ExecutionSession::new(Principal::assumed_role(
            "123456789012",
            "PatternBRole",
            "exec-1",
        ));
        let first = session.credentials(&iam, t0).unwrap();
        let again = session
            .credentials(&iam, t0 + chrono::Duration::minutes(54))
            .unwrap();
        assert_eq!(first.access_key_id, again.access_key_id);
        assert_eq!(*first.principal, *session.principal());
        let renewed = session
            .credentials(&iam, t0 + chrono::Duration::minutes(56))
            .unwrap();
        assert_ne!(renewed.access_key_id, first.access_key_id);
        assert_eq!(renewed.issued_at, t0 + chrono::Duration::minutes(56));
        let later = t0 + chrono::Duration::minutes(57);
        assert!(signs(&iam, &first, later) && signs(&iam, &renewed, later));
        assert_eq!(iam.credentials().live_sessions(), 2);

        // Two executions with the same name each hold their own session.
        let twin = ExecutionSession::new(session.principal().clone());
        let twin_creds = twin.credentials(&iam, later).unwrap();
        assert_ne!(twin_creds.access_key_id, renewed.access_key_id);

        session.end(&iam);
        assert!(!signs(&iam, &first, later) && !signs(&iam, &renewed, later));
        assert!(signs(&iam, &twin_creds, later));
        assert_eq!(iam.credentials().live_sessions(), 1);
        twin.end(&iam);
        assert_eq!(iam.credentials().live_sessions(), 0);
    }
}
