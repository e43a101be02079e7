//! Principals: who makes a request, and the identifiers AWS derives from them.

use std::fmt;

/// The partition every emulated ARN uses (the emulator models the commercial partition only).
pub const PARTITION: &str = "aws";

/// `parts` joined into one string of the right size (a principal's ARN is built several times
/// per authorized request: `format!` was a visible part of it).
fn concat(parts: &[&str]) -> String {
    let mut out = String::with_capacity(parts.iter().map(|p| p.len()).sum());
    for p in parts {
        out.push_str(p);
    }
    out
}

/// The identity a request is made as, after authentication.
///
/// ARN formats: <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_identifiers.html#identifiers-arns>
/// and the Principal element reference,
/// <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html>.
/// Paths (`/` by default) must begin and end with `/`; they appear in user and role ARNs but
/// not in assumed-role session ARNs.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Principal {
    /// An unsigned request.
    Anonymous,
    /// The AWS account root user.
    Root {
        /// 12-digit account ID.
        account: String,
    },
    /// An IAM user (long-term access keys).
    User {
        /// 12-digit account ID.
        account: String,
        /// User name.
        name: String,
        /// IAM path, `/` by default.
        path: String,
    },
    /// A role session from `sts:AssumeRole` (temporary credentials).
    AssumedRole {
        /// 12-digit account ID that owns the role.
        account: String,
        /// Role name.
        role_name: String,
        /// The role's IAM path, `/` by default.
        role_path: String,
        /// `RoleSessionName` passed to AssumeRole.
        session_name: String,
    },
    /// An AWS service principal such as `states.amazonaws.com`.
    Service {
        /// Service principal name.
        name: String,
    },
}

impl Principal {
    /// An IAM user at path `/`.
    pub fn user(account: impl Into<String>, name: impl Into<String>) -> Self {
        Self::User {
            account: account.into(),
            name: name.into(),
            path: "/".to_owned(),
        }
    }

    /// A session of the role `role_name` (at path `/`) named `session_name`.
    pub fn assumed_role(
        account: impl Into<String>,
        role_name: impl Into<String>,
        session_name: impl Into<String>,
    ) -> Self {
        Self::AssumedRole {
            account: account.into(),
            role_name: role_name.into(),
            role_path: "/".to_owned(),
            session_name: session_name.into(),
        }
    }

    /// The session `session` of the role `role_arn` (`arn:aws:iam::<account>:role<path><name>`),
    /// keeping the role's path: what a service gets when it assumes a role for its work (a Step
    /// Functions execution, an EventBridge target). An ARN that names no role becomes a role of
    /// that name at `/` in no account.
    pub fn session_of(role_arn: &str, session: &str) -> Self {
        let (account, role_path, role_name) = role_arn
            .split_once(":role")
            .and_then(|(head, rest)| {
                let account = head.rsplit(':').next()?.to_string();
                let split = rest.rfind('/')?;
                Some((
                    account,
                    rest[..=split].to_string(),
                    rest[split + 1..].to_string(),
                ))
            })
            .unwrap_or_else(|| (String::new(), "/".into(), role_arn.to_string()));
        Self::AssumedRole {
            account,
            role_name,
            role_path,
            session_name: session.to_string(),
        }
    }

    /// The account root user.
    pub fn root(account: impl Into<String>) -> Self {
        Self::Root {
            account: account.into(),
        }
    }

    /// A service principal.
    pub fn service(name: impl Into<String>) -> Self {
        Self::Service { name: name.into() }
    }

    /// The identity AWS names in error messages and `GetCallerIdentity`: for a role session
    /// `arn:aws:sts::<acct>:assumed-role/<role>/<session>` (no role path), `anonymous` for an
    /// unsigned request, the service name for a service principal.
    pub fn arn(&self) -> String {
        self.arn_text().to_owned_string()
    }

    /// [`Principal::arn`] as the pieces it is written from, for writing into a message without
    /// a string of its own.
    pub fn arn_text(&self) -> ArnText<'_> {
        match self {
            Self::Anonymous => ArnText::new(&["anonymous"]),
            Self::Root { account } => {
                ArnText::new(&["arn:", PARTITION, ":iam::", account, ":root"])
            }
            Self::User {
                account,
                name,
                path,
            } => ArnText::new(&["arn:", PARTITION, ":iam::", account, ":user", path, name]),
            Self::AssumedRole {
                account,
                role_name,
                session_name,
                ..
            } => ArnText::new(&[
                "arn:",
                PARTITION,
                ":sts::",
                account,
                ":assumed-role/",
                role_name,
                "/",
                session_name,
            ]),
            Self::Service { name } => ArnText::new(&[name]),
        }
    }

    /// The value of `aws:PrincipalArn`: for a role session the ROLE's ARN
    /// (`arn:aws:iam::<acct>:role/<path><role>`), the user's or root's ARN otherwise; absent
    /// for anonymous requests and service principals.
    /// <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html#condition-keys-principalarn>
    pub fn principal_arn(&self) -> Option<String> {
        self.principal_arn_text().map(|t| t.to_owned_string())
    }

    /// [`Principal::principal_arn`] as pieces ([`ArnText`]).
    pub fn principal_arn_text(&self) -> Option<ArnText<'_>> {
        match self {
            Self::Anonymous | Self::Service { .. } => None,
            Self::Root { .. } | Self::User { .. } => Some(self.arn_text()),
            Self::AssumedRole { .. } => self.role_arn_text(),
        }
    }

    /// For a role session, the role's IAM ARN (with its path).
    pub fn role_arn(&self) -> Option<String> {
        self.role_arn_text().map(|t| t.to_owned_string())
    }

    fn role_arn_text(&self) -> Option<ArnText<'_>> {
        match self {
            Self::AssumedRole {
                account,
                role_name,
                role_path,
                ..
            } => Some(ArnText::new(&[
                "arn:", PARTITION, ":iam::", account, ":role", role_path, role_name,
            ])),
            _ => None,
        }
    }

    /// The account the principal belongs to (`None` for anonymous and service principals).
    pub fn account(&self) -> Option<&str> {
        match self {
            Self::Root { account }
            | Self::User { account, .. }
            | Self::AssumedRole { account, .. } => Some(account),
            Self::Anonymous | Self::Service { .. } => None,
        }
    }

    /// The value of `aws:PrincipalAccount`: the account ID, `anonymous` for anonymous
    /// requests ("For anonymous requests, the request context returns `anonymous`",
    /// reference_policies_condition-keys.html#condition-keys-principalaccount); absent for a
    /// service principal.
    pub fn principal_account(&self) -> Option<&str> {
        match self {
            Self::Anonymous => Some("anonymous"),
            _ => self.account(),
        }
    }

    /// The value of `aws:PrincipalType`: `Account`, `User`, `AssumedRole` or `Anonymous`.
    /// Service principals have no documented value; `Service` is this emulator's choice.
    pub fn principal_type(&self) -> &'static str {
        match self {
            Self::Anonymous => "Anonymous",
            Self::Root { .. } => "Account",
            Self::User { .. } => "User",
            Self::AssumedRole { .. } => "AssumedRole",
            Self::Service { .. } => "Service",
        }
    }

    /// The IAM unique ID of the user (`AIDA…`) or of the session's role (`AROA…`).
    ///
    /// Real unique IDs are random and assigned at creation; the emulator derives them from the
    /// account, path and name so that the same configuration always yields the same IDs.
    /// Prefixes: <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_identifiers.html#identifiers-prefixes>.
    pub fn unique_id(&self) -> Option<String> {
        match self {
            Self::User {
                account,
                name,
                path,
            } => Some(derived_id("AIDA", &["user:", account, ":", path, name], 0)),
            Self::AssumedRole {
                account,
                role_name,
                role_path,
                ..
            } => Some(derived_id(
                "AROA",
                &["role:", account, ":", role_path, role_name],
                0,
            )),
            _ => None,
        }
    }

    /// The value of `aws:userid`: the user's unique ID, `role-id:session-name` for a role
    /// session, the account ID for the root user, `anonymous` for anonymous requests.
    /// (reference_policies_variables.html, "Principal key values"; the anonymous value is
    /// unconfirmed.)
    pub fn user_id(&self) -> Option<String> {
        match self {
            Self::Anonymous => Some("anonymous".to_owned()),
            Self::Root { account } => Some(account.clone()),
            Self::User { .. } => self.unique_id(),
            Self::AssumedRole {
                account,
                role_name,
                role_path,
                session_name,
            } => {
                // The role's unique ID and the session name, written into one string.
                let mut id = derived_id(
                    "AROA",
                    &["role:", account, ":", role_path, role_name],
                    1 + session_name.len(),
                );
                id.push(':');
                id.push_str(session_name);
                Some(id)
            }
            Self::Service { .. } => None,
        }
    }

    /// The value of `aws:username`: present only for IAM users.
    pub fn username(&self) -> Option<&str> {
        match self {
            Self::User { name, .. } => Some(name),
            _ => None,
        }
    }

    /// Parses an ARN of a root user, IAM user or assumed-role session back into a principal.
    ///
    /// A session ARN carries no role path, so the role path comes back as `/`.
    pub fn from_arn(arn: &str) -> Result<Self, PrincipalParseError> {
        let bad = || PrincipalParseError::NotAPrincipalArn {
            arn: arn.to_owned(),
        };
        let parts: Vec<&str> = arn.splitn(6, ':').collect();
        let [prefix, partition, service, region, account, resource] = parts[..] else {
            return Err(bad());
        };
        if prefix != "arn"
            || partition != PARTITION
            || !region.is_empty()
            || !is_account_id(account)
        {
            return Err(bad());
        }
        match (service, resource) {
            ("iam", "root") => Ok(Self::root(account)),
            ("iam", r) if r.starts_with("user/") => {
                let full = &r["user".len()..];
                let split = full.rfind('/').ok_or_else(bad)?;
                let (path, name) = (&full[..=split], &full[split + 1..]);
                if name.is_empty() {
                    return Err(bad());
                }
                Ok(Self::User {
                    account: account.to_owned(),
                    name: name.to_owned(),
                    path: path.to_owned(),
                })
            }
            ("sts", r) if r.starts_with("assumed-role/") => {
                let rest = &r["assumed-role/".len()..];
                let (role, session) = rest.split_once('/').ok_or_else(bad)?;
                if role.is_empty() || session.is_empty() || session.contains('/') {
                    return Err(bad());
                }
                Ok(Self::assumed_role(account, role, session))
            }
            _ => Err(bad()),
        }
    }
}

impl fmt::Display for Principal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.arn_text().fmt(f)
    }
}

/// An ARN (or the name standing for one) as the pieces it is made of: written piece by piece
/// into a message ([`fmt::Display`]), or joined into one string of the right size.
#[derive(Clone, Copy, Debug, Default)]
pub struct ArnText<'a> {
    parts: [&'a str; 8],
    len: usize,
}

impl<'a> ArnText<'a> {
    fn new(parts: &[&'a str]) -> Self {
        let mut out = Self::default();
        for (slot, part) in out.parts.iter_mut().zip(parts) {
            *slot = part;
        }
        out.len = parts.len().min(out.parts.len());
        out
    }

    fn pieces(&self) -> &[&'a str] {
        &self.parts[..self.len]
    }

    /// The ARN in one string.
    pub fn to_owned_string(&self) -> String {
        concat(self.pieces())
    }
}

impl fmt::Display for ArnText<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if f.width().is_some() || f.precision().is_some() {
            return f.pad(&self.to_owned_string());
        }
        self.pieces().iter().try_for_each(|p| f.write_str(p))
    }
}

/// Why a string is not a principal ARN.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PrincipalParseError {
    /// Not `arn:aws:iam::<acct>:root`, `…:user/<path><name>` or
    /// `arn:aws:sts::<acct>:assumed-role/<role>/<session>`.
    #[error("{arn:?} is not the arn of a root user, iam user or assumed-role session")]
    NotAPrincipalArn {
        /// The rejected string.
        arn: String,
    },
}

/// Whether `s` is a 12-digit AWS account ID.
pub(super) fn is_account_id(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
}

/// Base32 alphabet used for IAM identifiers (upper-case letters and the digits 2-7).
pub(super) const BASE32: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// A 21-character IAM-style unique ID (`prefix` + 17 characters) derived from `seed_text` with
/// FNV-1a, so it is stable across runs and Rust versions.
/// `prefix` and 17 base-32 characters derived from the text `seed` joins (hashed piece by
/// piece, with no string of its own), with room for `extra` more bytes.
fn derived_id(prefix: &str, seed: &[&str], extra: usize) -> String {
    let mut a: u64 = 0xcbf2_9ce4_8422_2325;
    let mut b: u64 = 0x8422_2325_cbf2_9ce4;
    for byte in seed.iter().flat_map(|piece| piece.bytes()) {
        a = (a ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3);
        b = (b ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3);
    }
    let mut bits = (u128::from(a) << 64) | u128::from(b);
    let mut out = String::with_capacity(prefix.len() + 17 + extra);
    out.push_str(prefix);
    for _ in 0..17 {
        out.push(BASE32[(bits & 31) as usize] as char);
        bits >>= 5;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const ACCT: &str = "123456789012";

    #[test]
    fn assumed_role_arns() {
        let p = Principal::AssumedRole {
            account: ACCT.into(),
            role_name: "R".into(),
            role_path: "/service-role/".into(),
            session_name: "s".into(),
        };
        assert_eq!(p.arn(), "arn:aws:sts::123456789012:assumed-role/R/s");
        assert_eq!(
            p.principal_arn().as_deref(),
            Some("arn:aws:iam::123456789012:role/service-role/R")
        );
        assert_eq!(p.account(), Some(ACCT));
        assert_eq!(p.principal_type(), "AssumedRole");
        assert_eq!(p.username(), None);
        let uid = p.user_id().unwrap();
        assert!(uid.starts_with("AROA") && uid.ends_with(":s"), "{uid}");
        assert_eq!(uid.len(), 21 + 2);
        // Hashed piece by piece, the IDs are the ones the joined text gives (the same IDs as
        // before the pieces).
        let whole = derived_id("AROA", &["role:123456789012:/service-role/R"], 0);
        assert_eq!(p.unique_id().as_deref(), Some(whole.as_str()));
        assert_eq!(uid, format!("{whole}:s"));
    }

    #[test]
    fn user_and_root() {
        let u = Principal::User {
            account: ACCT.into(),
            name: "bob".into(),
            path: "/division/".into(),
        };
        assert_eq!(u.arn(), "arn:aws:iam::123456789012:user/division/bob");
        assert_eq!(u.principal_arn(), Some(u.arn()));
        assert_eq!(u.username(), Some("bob"));
        assert!(u.unique_id().unwrap().starts_with("AIDA"));
        assert_eq!(u.unique_id(), u.clone().unique_id());
        let r = Principal::root(ACCT);
        assert_eq!(r.arn(), "arn:aws:iam::123456789012:root");
        assert_eq!(r.user_id().as_deref(), Some(ACCT));
        assert_eq!(r.principal_type(), "Account");
    }

    #[test]
    fn anonymous_and_service() {
        assert_eq!(Principal::Anonymous.arn(), "anonymous");
        assert_eq!(Principal::Anonymous.principal_arn(), None);
        assert_eq!(Principal::Anonymous.principal_account(), Some("anonymous"));
        let s = Principal::service("states.amazonaws.com");
        assert_eq!(s.arn(), "states.amazonaws.com");
        assert_eq!(s.account(), None);
    }

    #[test]
    fn from_arn_round_trips() {
        for p in [
            Principal::root(ACCT),
            Principal::user(ACCT, "alice"),
            Principal::User {
                account: ACCT.into(),
                name: "bob".into(),
                path: "/a/b/".into(),
            },
            Principal::assumed_role(ACCT, "PatternBRole", "exec-1"),
        ] {
            assert_eq!(Principal::from_arn(&p.arn()), Ok(p.clone()));
        }
        for bad in [
            "arn:aws:iam::123:root",
            "arn:aws:iam::123456789012:role/R",
            "arn:aws:sts::123456789012:assumed-role/R",
            "arn:aws:s3:::bucket",
            "anonymous",
        ] {
            assert!(Principal::from_arn(bad).is_err(), "{bad}");
        }
    }
}
