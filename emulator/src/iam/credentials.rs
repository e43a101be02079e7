//! Emulated credentials: access keys for users, temporary session credentials for role
//! sessions, and the lookup that turns a SigV4-verified access key ID into a principal.
//!
//! Formats: long-term access key IDs start with `AKIA`, temporary (STS) ones with `ASIA`
//! ("unique only in combination with the secret access key and the session token"),
//! <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_identifiers.html#identifiers-prefixes>;
//! a key ID is 20 characters and a secret 40 (the documented example pair
//! `AKIAIOSFODNN7EXAMPLE` / `wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY`).

use std::borrow::Borrow;
use std::collections::{HashSet, VecDeque};
use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use base64::Engine as _;
use chrono::{DateTime, Duration, Utc};

use super::context::{RequestContext, keys};
use super::principal::{BASE32, Principal, is_account_id};

/// A secret string whose `Debug` output is redacted, so credentials never reach a trace or log
/// by accident.
///
/// Shared, not copied: a role session's secret and token are held by the store, the session
/// cache and the caller (one session per execution).
#[derive(Clone, PartialEq, Eq)]
pub struct SecretString(std::sync::Arc<str>);

impl SecretString {
    /// Wraps a secret.
    pub fn new(secret: impl Into<String>) -> Self {
        Self(secret.into().into())
    }

    /// The secret itself, for signing or comparing.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretString(<redacted>)")
    }
}

/// A long-term access key of an IAM user or root user.
#[derive(Clone, Debug)]
pub struct AccessKey {
    /// `AKIA` + 16 characters.
    pub access_key_id: String,
    /// 40-character secret access key.
    pub secret_access_key: SecretString,
    /// Whose key it is.
    pub principal: Principal,
}

/// Temporary credentials of a role session, as `sts:AssumeRole` returns them.
#[derive(Clone, Debug)]
pub struct SessionCredentials {
    /// `ASIA` + 16 characters.
    pub access_key_id: String,
    /// 40-character secret access key.
    pub secret_access_key: SecretString,
    /// The session token the caller sends as `X-Amz-Security-Token`.
    pub session_token: SecretString,
    /// When the session was issued (the value of `aws:TokenIssueTime`).
    pub issued_at: DateTime<Utc>,
    /// When the credentials stop working.
    pub expiration: DateTime<Utc>,
    /// The assumed-role session principal (shared with whoever holds the session, such as an
    /// execution, instead of copied for each set of credentials).
    pub principal: Arc<Principal>,
}

impl SessionCredentials {
    /// Whether these credentials still serve at `now`: issued by then, with more than
    /// `margin_seconds` whole seconds of their validity left (SDKs refresh early).
    pub fn fresh_at(&self, now: DateTime<Utc>, margin_seconds: i64) -> bool {
        (self.expiration - now).num_seconds() > margin_seconds && self.issued_at <= now
    }
}

/// What an access key ID resolves to.
#[derive(Clone, Debug)]
pub struct ResolvedCredentials {
    /// The principal the key belongs to.
    pub principal: Principal,
    /// The secret to verify the SigV4 signature with.
    pub secret_access_key: SecretString,
    /// The session token, for temporary credentials.
    pub session_token: Option<SecretString>,
    /// Issue time, for temporary credentials.
    pub issued_at: Option<DateTime<Utc>>,
    /// Expiry, for temporary credentials.
    pub expiration: Option<DateTime<Utc>>,
}

impl ResolvedCredentials {
    /// Adds the keys AWS derives from the credentials rather than from the principal:
    /// `aws:TokenIssueTime`, present only for temporary credentials.
    /// <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html#condition-keys-tokenissuetime>
    pub fn apply_to(&self, ctx: &mut RequestContext) {
        if let Some(issued) = self.issued_at {
            ctx.insert(keys::TOKEN_ISSUE_TIME, rfc3339_seconds(issued));
        }
    }
}

/// Why credentials were not issued or not accepted.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CredentialError {
    /// Long-term keys are for users and the root user; session credentials for role sessions.
    #[error("cannot issue {kind} for principal {principal}")]
    UnsupportedPrincipal {
        /// What was asked for.
        kind: &'static str,
        /// The principal's ARN.
        principal: String,
    },
    /// The account in the principal is not a 12-digit ID.
    #[error("{account:?} is not a 12-digit account id")]
    InvalidAccount {
        /// The rejected account.
        account: String,
    },
    /// `DurationSeconds` outside 900..=43200.
    #[error("session duration of {seconds} s is outside 900..=43200 s")]
    InvalidDuration {
        /// Requested duration.
        seconds: i64,
    },
    /// `RoleSessionName` must be 2-64 characters of `[\w+=,.@-]`.
    #[error("role session name {session_name:?} must be 2-64 characters of [A-Za-z0-9_+=,.@-]")]
    InvalidSessionName {
        /// The rejected name.
        session_name: String,
    },
    /// No such access key ID.
    #[error("unknown access key id {access_key_id}")]
    UnknownAccessKey {
        /// The key ID presented.
        access_key_id: String,
    },
    /// Temporary credentials presented without their session token.
    #[error("access key {access_key_id} is temporary but no session token was presented")]
    MissingSessionToken {
        /// The key ID presented.
        access_key_id: String,
    },
    /// A session token that does not belong to the access key (or a token with a long-term key).
    #[error("the session token presented does not belong to access key {access_key_id}")]
    SessionTokenMismatch {
        /// The key ID presented.
        access_key_id: String,
    },
    /// Temporary credentials past their expiry.
    #[error("the credentials of access key {access_key_id} expired at {expired_at}")]
    Expired {
        /// The key ID presented.
        access_key_id: String,
        /// When they expired.
        expired_at: DateTime<Utc>,
    },
}

impl CredentialError {
    /// The message AWS returns for an authentication failure, per the common errors list
    /// (<https://docs.aws.amazon.com/awsconsolehelpdocs/latest/gsg/common-errors.html>:
    /// ExpiredTokenException "The security token included in the request is expired") and the
    /// message API Gateway and JSON-protocol services give for an unknown key or token
    /// ("The security token included in the request is invalid."). The error code and HTTP
    /// status differ by service (`UnrecognizedClientException`, `InvalidClientTokenId`, …), so
    /// each service maps them itself. `None` for errors raised when issuing credentials.
    pub fn aws_message(&self) -> Option<&'static str> {
        match self {
            Self::UnknownAccessKey { .. }
            | Self::MissingSessionToken { .. }
            | Self::SessionTokenMismatch { .. } => {
                Some("The security token included in the request is invalid.")
            }
            Self::Expired { .. } => Some("The security token included in the request is expired"),
            _ => None,
        }
    }
}

/// One issued key as the store keeps it: shared with whoever looks it up (an `Arc` each, so a
/// lookup copies nothing).
#[derive(Clone, Debug)]
enum Stored {
    LongTerm(Arc<AccessKey>),
    Session(Arc<SessionCredentials>),
}

/// What an access key ID resolves to, as the store holds it: its principal, secret and (for
/// temporary credentials) the session it belongs to. Cheap to clone; [`StoredKey::check`] is
/// [`CredentialStore::authenticate`] on a key already looked up.
#[derive(Clone, Debug)]
pub struct StoredKey(Stored);

impl StoredKey {
    /// The access key ID.
    pub fn access_key_id(&self) -> &str {
        match &self.0 {
            Stored::LongTerm(k) => &k.access_key_id,
            Stored::Session(c) => &c.access_key_id,
        }
    }

    /// The principal the key belongs to.
    pub fn principal(&self) -> &Principal {
        match &self.0 {
            Stored::LongTerm(k) => &k.principal,
            Stored::Session(c) => &c.principal,
        }
    }

    /// The secret access key.
    pub fn secret_access_key(&self) -> &SecretString {
        match &self.0 {
            Stored::LongTerm(k) => &k.secret_access_key,
            Stored::Session(c) => &c.secret_access_key,
        }
    }

    /// The session the key was issued for, for temporary credentials.
    pub fn session(&self) -> Option<&SessionCredentials> {
        match &self.0 {
            Stored::LongTerm(_) => None,
            Stored::Session(c) => Some(c),
        }
    }

    /// Checks a presented session token (if any) at time `now`, the way AWS derives the
    /// principal of a signed request: a temporary key without its own token, a token with a
    /// long-term key, or an expired session is rejected.
    pub fn check(
        &self,
        session_token: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<(), CredentialError> {
        let access_key_id = || self.access_key_id().to_owned();
        let session = self.session();
        match (session, session_token) {
            (None, None) => {}
            (Some(_), None) => {
                return Err(CredentialError::MissingSessionToken {
                    access_key_id: access_key_id(),
                });
            }
            (Some(s), Some(got)) if s.session_token.expose() == got => {}
            _ => {
                return Err(CredentialError::SessionTokenMismatch {
                    access_key_id: access_key_id(),
                });
            }
        }
        if let Some(expired_at) = session.map(|s| s.expiration).filter(|e| now >= *e) {
            return Err(CredentialError::Expired {
                access_key_id: access_key_id(),
                expired_at,
            });
        }
        Ok(())
    }

    /// Adds the keys AWS derives from the credentials rather than from the principal
    /// ([`ResolvedCredentials::apply_to`]).
    pub fn apply_to(&self, ctx: &mut RequestContext) {
        if let Some(s) = self.session() {
            ctx.insert(keys::TOKEN_ISSUE_TIME, rfc3339_seconds(s.issued_at));
        }
    }

    /// The same as a [`ResolvedCredentials`] (copies).
    pub fn resolved(&self) -> ResolvedCredentials {
        let session = self.session();
        ResolvedCredentials {
            principal: self.principal().clone(),
            secret_access_key: self.secret_access_key().clone(),
            session_token: session.map(|s| s.session_token.clone()),
            issued_at: session.map(|s| s.issued_at),
            expiration: session.map(|s| s.expiration),
        }
    }
}

impl crate::sigv4::SigningIdentity for StoredKey {
    fn access_key_id(&self) -> &str {
        StoredKey::access_key_id(self)
    }
    fn secret_access_key(&self) -> &str {
        StoredKey::secret_access_key(self).expose()
    }
    fn session_token(&self) -> Option<&str> {
        self.session().map(|s| s.session_token.expose())
    }
}

impl crate::sigv4::SigningIdentity for SessionCredentials {
    fn access_key_id(&self) -> &str {
        &self.access_key_id
    }
    fn secret_access_key(&self) -> &str {
        self.secret_access_key.expose()
    }
    fn session_token(&self) -> Option<&str> {
        Some(self.session_token.expose())
    }
}

/// `aws:TokenIssueTime`'s text: RFC 3339 in UTC with whole seconds (`2025-06-01T00:00:00Z`).
fn rfc3339_seconds(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// A [`Stored`] in the by-ID set: hashed and compared by its access key ID, so the set is
/// looked up with a `&str` and holds no second copy of the ID.
#[derive(Clone, Debug)]
struct ById(Stored);

impl ById {
    fn id(&self) -> &str {
        match &self.0 {
            Stored::LongTerm(k) => &k.access_key_id,
            Stored::Session(c) => &c.access_key_id,
        }
    }
}

impl Borrow<str> for ById {
    fn borrow(&self) -> &str {
        self.id()
    }
}

impl Hash for ById {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.id().hash(state);
    }
}

impl PartialEq for ById {
    fn eq(&self, other: &Self) -> bool {
        self.id() == other.id()
    }
}

impl Eq for ById {}

/// A session in the by-principal index: hashed and compared by its principal, so the index
/// is looked up with a `&Principal`.
#[derive(Clone, Debug)]
struct BySession(Arc<SessionCredentials>);

impl Borrow<Principal> for BySession {
    fn borrow(&self) -> &Principal {
        &self.0.principal
    }
}

impl Hash for BySession {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.0.principal.hash(state);
    }
}

impl PartialEq for BySession {
    fn eq(&self, other: &Self) -> bool {
        self.0.principal == other.0.principal
    }
}

impl Eq for BySession {}

/// The hasher of the store's sets and the directory's maps: foldhash's fast hash, with a seed of
/// its own per map (keys are access key IDs, principals and ARNs; SipHash cost more than the
/// rest of a lookup).
pub(crate) type KeyHash = foldhash::fast::RandomState;

/// Issues emulated credentials and resolves access key IDs back to principals.
///
/// With [`CredentialStore::with_seed`] every issued value is a pure function of the seed and
/// the order of calls, so tests can pin exact keys. The generator is SplitMix64 rather than
/// `rand`'s `StdRng` because `rand` documents that `StdRng`'s algorithm may change between
/// versions, which would silently change pinned values.
#[derive(Clone, Debug)]
pub struct CredentialStore {
    rng: SplitMix64,
    by_key_id: HashSet<ById, KeyHash>,
    /// Temporary credentials, oldest first (see [`MAX_SESSIONS`]); may still hold sessions
    /// already ended ([`CredentialStore::end_session`]), which are skipped.
    sessions: VecDeque<Arc<SessionCredentials>>,
    /// Temporary credentials held now (`sessions` without the ended ones).
    live_sessions: usize,
    /// The latest session issued for each session principal ([`CredentialStore::session_for`]),
    /// among those still kept.
    by_session: HashSet<BySession, KeyHash>,
}

/// Most temporary credentials kept at once. Every execution assumes its role in a session of its
/// own; past this many, the oldest session's credentials are forgotten one by one (they are
/// refreshed when used again), so the store does not grow with the number of executions.
pub const MAX_SESSIONS: usize = 4_096;

/// AssumeRole's `DurationSeconds` bounds: 900 s up to the role's maximum, itself at most
/// 43200 s (12 h); default 3600 s.
/// <https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRole.html>
pub const MIN_SESSION_SECONDS: i64 = 900;
/// See [`MIN_SESSION_SECONDS`].
pub const MAX_SESSION_SECONDS: i64 = 43_200;
/// See [`MIN_SESSION_SECONDS`].
pub const DEFAULT_SESSION_SECONDS: i64 = 3_600;

impl CredentialStore {
    /// A store whose credentials are reproducible from `seed`.
    pub fn with_seed(seed: u64) -> Self {
        Self {
            rng: SplitMix64(seed),
            by_key_id: HashSet::default(),
            sessions: VecDeque::new(),
            live_sessions: 0,
            by_session: HashSet::default(),
        }
    }

    /// A store seeded from the operating system's entropy (for a running emulator).
    pub fn from_entropy() -> Self {
        Self::with_seed(rand::random())
    }

    /// Creates a long-term access key for an IAM user or the root user.
    pub fn create_access_key(
        &mut self,
        principal: Principal,
    ) -> Result<AccessKey, CredentialError> {
        check_long_term(&principal)?;
        let access_key_id = self.fresh_key_id("AKIA");
        let secret = self.secret();
        Ok(self.store_long_term(access_key_id, secret, principal))
    }

    /// Registers an access key that already exists (declared in a scenario, or the emulator's
    /// documented root key) for an IAM user or the root user.
    pub fn import_access_key(
        &mut self,
        access_key_id: &str,
        secret_access_key: &str,
        principal: Principal,
    ) -> Result<AccessKey, CredentialError> {
        check_long_term(&principal)?;
        Ok(self.store_long_term(
            access_key_id.to_owned(),
            secret_access_key.to_owned(),
            principal,
        ))
    }

    /// Stores a long-term key of `principal` (checked by [`check_long_term`]).
    fn store_long_term(
        &mut self,
        access_key_id: String,
        secret: String,
        principal: Principal,
    ) -> AccessKey {
        let key = Arc::new(AccessKey {
            access_key_id,
            secret_access_key: SecretString::new(secret),
            principal,
        });
        if let Some(ById(Stored::Session(_))) =
            self.by_key_id.replace(ById(Stored::LongTerm(key.clone())))
        {
            self.live_sessions -= 1;
        }
        (*key).clone()
    }

    /// Issues temporary credentials for a role session, as `sts:AssumeRole` would, valid from
    /// `issued_at` for `duration`. Trust-policy evaluation is the caller's business.
    pub fn assume_role(
        &mut self,
        session: Principal,
        issued_at: DateTime<Utc>,
        duration: Duration,
    ) -> Result<SessionCredentials, CredentialError> {
        self.issue_session(session, issued_at, duration)
            .map(|c| (*c).clone())
    }

    /// The credentials of the role session `session` at `now`: the latest issued for it while
    /// more than `margin_seconds` whole seconds of their validity are left (and they were issued
    /// by `now`), else new ones valid for `duration` ([`CredentialStore::assume_role`]), shared
    /// with the store.
    pub fn session_for(
        &mut self,
        session: &Principal,
        now: DateTime<Utc>,
        duration: Duration,
        margin_seconds: i64,
    ) -> Result<Arc<SessionCredentials>, CredentialError> {
        if let Some(BySession(c)) = self.by_session.get(session)
            && c.fresh_at(now, margin_seconds)
        {
            return Ok(c.clone());
        }
        self.issue_session(session.clone(), now, duration)
    }

    /// [`CredentialStore::assume_role`], kept shared (and the principal with it).
    pub fn issue_session(
        &mut self,
        session: impl Into<Arc<Principal>>,
        issued_at: DateTime<Utc>,
        duration: Duration,
    ) -> Result<Arc<SessionCredentials>, CredentialError> {
        let session: Arc<Principal> = session.into();
        let Principal::AssumedRole { session_name, .. } = &*session else {
            return Err(CredentialError::UnsupportedPrincipal {
                kind: "session credentials",
                principal: session.arn(),
            });
        };
        check_account(&session)?;
        let valid_name = (2..=64).contains(&session_name.len())
            && session_name
                .bytes()
                .all(|c| c.is_ascii_alphanumeric() || b"_+=,.@-".contains(&c));
        if !valid_name {
            return Err(CredentialError::InvalidSessionName {
                session_name: session_name.clone(),
            });
        }
        let seconds = duration.num_seconds();
        if !(MIN_SESSION_SECONDS..=MAX_SESSION_SECONDS).contains(&seconds) {
            return Err(CredentialError::InvalidDuration { seconds });
        }
        let access_key_id = self.fresh_key_id("ASIA");
        let secret = self.secret_text();
        let token = self.session_token();
        let issued = Arc::new(SessionCredentials {
            access_key_id,
            secret_access_key: secret,
            session_token: token,
            issued_at,
            expiration: issued_at + duration,
            principal: session,
        });
        self.by_key_id
            .replace(ById(Stored::Session(issued.clone())));
        self.by_session.replace(BySession(issued.clone()));
        self.sessions.push_back(issued.clone());
        self.live_sessions += 1;
        while self.live_sessions > MAX_SESSIONS {
            let Some(oldest) = self.sessions.pop_front() else {
                break;
            };
            // An ended session is skipped: it was counted down when it ended.
            self.forget(&oldest);
        }
        // Ended sessions leave the queue in bulk once they outnumber the live ones, so the
        // queue (and the ended sessions it still holds) stays within twice the live count.
        if self.sessions.len() > 2 * self.live_sessions + 64 {
            let by_key_id = &self.by_key_id;
            self.sessions.retain(|s| is_entry(by_key_id, s));
        }
        Ok(issued)
    }

    /// Drops `session` from the sets where it is still the entry (a revoked ID may have been
    /// issued again since).
    fn forget(&mut self, session: &Arc<SessionCredentials>) {
        if is_entry(&self.by_key_id, session) {
            self.by_key_id.remove(session.access_key_id.as_str());
            self.live_sessions -= 1;
        }
        let same_session = matches!(
            self.by_session.get(&*session.principal),
            Some(BySession(c)) if Arc::ptr_eq(c, session)
        );
        if same_session {
            self.by_session.remove(&*session.principal);
        }
    }

    /// The key `access_key_id` as the store holds it, without any check (for a SigV4 verifier
    /// that needs the secret before it can check anything else; [`StoredKey::check`] then does
    /// what [`CredentialStore::authenticate`] does).
    pub fn get(&self, access_key_id: &str) -> Option<StoredKey> {
        self.by_key_id
            .get(access_key_id)
            .map(|ById(stored)| StoredKey(stored.clone()))
    }

    /// What `access_key_id` resolves to, without any check (for a SigV4 verifier that needs
    /// the secret before it can check anything else).
    pub fn lookup(&self, access_key_id: &str) -> Option<ResolvedCredentials> {
        self.get(access_key_id).map(|k| k.resolved())
    }

    /// Resolves a presented access key ID (and session token, if any) at time `now`, the way
    /// AWS derives the principal of a signed request: an unknown key, a temporary key without
    /// its own token, a token with a long-term key, or an expired session is rejected.
    pub fn authenticate(
        &self,
        access_key_id: &str,
        session_token: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<ResolvedCredentials, CredentialError> {
        let key = self
            .get(access_key_id)
            .ok_or_else(|| CredentialError::UnknownAccessKey {
                access_key_id: access_key_id.to_owned(),
            })?;
        key.check(session_token, now)?;
        Ok(key.resolved())
    }

    /// Forgets the temporary credentials `access_key_id` of a session that ended (the execution
    /// that assumed the role finished): nothing can sign with them any more, and the store
    /// holds only the sessions in use. Long-term keys are left alone. Whether it forgot them.
    pub fn end_session(&mut self, access_key_id: &str) -> bool {
        matches!(
            self.by_key_id.get(access_key_id),
            Some(ById(Stored::Session(_)))
        ) && self.revoke(access_key_id)
    }

    /// How many temporary credentials the store holds.
    pub fn live_sessions(&self) -> usize {
        self.live_sessions
    }

    /// Deletes a key (`iam:DeleteAccessKey`); returns whether it existed.
    pub fn revoke(&mut self, access_key_id: &str) -> bool {
        match self.by_key_id.take(access_key_id) {
            Some(ById(Stored::Session(c))) => {
                self.live_sessions -= 1;
                let same_session = matches!(
                    self.by_session.get(&*c.principal),
                    Some(BySession(s)) if Arc::ptr_eq(s, &c)
                );
                if same_session {
                    self.by_session.remove(&*c.principal);
                }
                true
            }
            Some(ById(Stored::LongTerm(_))) => true,
            None => false,
        }
    }

    fn fresh_key_id(&mut self, prefix: &str) -> String {
        loop {
            let mut id = String::with_capacity(prefix.len() + 16);
            id.push_str(prefix);
            for _ in 0..16 {
                id.push(BASE32[(self.rng.next() % 32) as usize] as char);
            }
            if !self.by_key_id.contains(id.as_str()) {
                return id;
            }
        }
    }

    fn secret(&mut self) -> String {
        self.secret_text().expose().to_owned()
    }

    /// 40 characters of the base64 alphabet, ten from each of four draws (six bits each). The
    /// generator moves on by forty draws, as when each character took one, so the key IDs
    /// issued after it are what they always were (tests pin them).
    fn secret_text(&mut self) -> SecretString {
        const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let mut out = [0u8; 40];
        for chunk in out.chunks_mut(10) {
            let mut bits = self.rng.next();
            for c in chunk {
                *c = ALPHABET[(bits % 64) as usize];
                bits >>= 6;
            }
        }
        self.rng.skip(40 - 4);
        SecretString(Arc::from(std::str::from_utf8(&out).unwrap_or_default()))
    }

    /// Real tokens are opaque base64 blobs of a few hundred characters; only the shape is
    /// emulated: 192 bytes, eight from each draw, in base64. The generator moves on by 192
    /// draws, as when each byte took one (the key IDs after it stay the same).
    fn session_token(&mut self) -> SecretString {
        let mut bytes = [0u8; 192];
        for chunk in bytes.chunks_mut(8) {
            chunk.copy_from_slice(&self.rng.next().to_le_bytes());
        }
        self.rng.skip(192 - 24);
        let mut text = [0u8; 256];
        let written = base64::engine::general_purpose::STANDARD
            .encode_slice(bytes, &mut text)
            .unwrap_or(0);
        SecretString(Arc::from(
            std::str::from_utf8(&text[..written]).unwrap_or_default(),
        ))
    }
}

/// Whether `session` is still the store's entry for its access key ID.
fn is_entry(by_key_id: &HashSet<ById, KeyHash>, session: &Arc<SessionCredentials>) -> bool {
    matches!(
        by_key_id.get(session.access_key_id.as_str()),
        Some(ById(Stored::Session(c))) if Arc::ptr_eq(c, session)
    )
}

/// Long-term access keys belong to IAM users and the root user only.
fn check_long_term(principal: &Principal) -> Result<(), CredentialError> {
    if !matches!(principal, Principal::User { .. } | Principal::Root { .. }) {
        return Err(CredentialError::UnsupportedPrincipal {
            kind: "a long-term access key",
            principal: principal.arn(),
        });
    }
    check_account(principal)
}

fn check_account(principal: &Principal) -> Result<(), CredentialError> {
    match principal.account() {
        Some(a) if is_account_id(a) => Ok(()),
        other => Err(CredentialError::InvalidAccount {
            account: other.unwrap_or_default().to_owned(),
        }),
    }
}

/// SplitMix64 (Steele, Lea, Flood 2014): tiny, fixed forever, good enough for identifiers.
#[derive(Clone, Debug)]
struct SplitMix64(u64);

impl SplitMix64 {
    const GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;

    /// Moves on by `n` draws without making them (the state only adds [`Self::GAMMA`]).
    fn skip(&mut self, n: u64) {
        self.0 = self.0.wrapping_add(Self::GAMMA.wrapping_mul(n));
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(Self::GAMMA);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    const ACCT: &str = "123456789012";

    fn t0() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2025, 6, 1, 0, 0, 0).unwrap()
    }

    #[test]
    fn user_keys_have_aws_shape_and_resolve() {
        let mut store = CredentialStore::with_seed(7);
        let key = store
            .create_access_key(Principal::user(ACCT, "alice"))
            .unwrap();
        assert!(key.access_key_id.starts_with("AKIA"));
        assert_eq!(key.access_key_id.len(), 20);
        assert!(
            key.access_key_id[4..]
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
        );
        assert_eq!(key.secret_access_key.expose().len(), 40);
        let r = store.authenticate(&key.access_key_id, None, t0()).unwrap();
        assert_eq!(r.principal, Principal::user(ACCT, "alice"));
        assert_eq!(r.secret_access_key, key.secret_access_key);
        assert!(!format!("{key:?}").contains(key.secret_access_key.expose()));
    }

    #[test]
    fn seeded_stores_are_reproducible() {
        let issue = |seed| {
            let mut s = CredentialStore::with_seed(seed);
            let k = s.create_access_key(Principal::user(ACCT, "a")).unwrap();
            let c = s
                .assume_role(
                    Principal::assumed_role(ACCT, "R", "s1"),
                    t0(),
                    Duration::hours(1),
                )
                .unwrap();
            (
                k.access_key_id,
                k.secret_access_key.expose().to_owned(),
                c.access_key_id,
                c.session_token.expose().to_owned(),
            )
        };
        assert_eq!(issue(42), issue(42));
        assert_ne!(issue(42), issue(43));
        // Pinned: SplitMix64 never changes, so neither does this value.
        assert_eq!(issue(42).0, "AKIAVDSUSG5EVO76GX4S");
        // The session's key ID comes after a secret's 40 draws: the same as when each secret
        // character took a draw of its own.
        let mut reference = SplitMix64(42);
        for _ in 0..16 + 40 {
            reference.next();
        }
        let expected: String = "ASIA"
            .chars()
            .chain((0..16).map(|_| BASE32[(reference.next() % 32) as usize] as char))
            .collect();
        assert_eq!(issue(42).2, expected);
        let mut skipped = SplitMix64(9);
        skipped.skip(5);
        let mut drawn = SplitMix64(9);
        for _ in 0..5 {
            drawn.next();
        }
        assert_eq!(skipped.next(), drawn.next());
    }

    /// An ended session no longer signs, and only live sessions count toward MAX_SESSIONS: a
    /// session held by a long execution outlives any number of short ones that ended, and the
    /// queue of issued ids stays bounded.
    #[test]
    fn ended_sessions_are_forgotten_and_do_not_evict_live_ones() {
        let mut store = CredentialStore::with_seed(3);
        let issue = |store: &mut CredentialStore, name: &str| {
            store
                .assume_role(
                    Principal::assumed_role(ACCT, "PatternBRole", name),
                    t0(),
                    Duration::seconds(DEFAULT_SESSION_SECONDS),
                )
                .unwrap()
        };
        let long = issue(&mut store, "long-running");
        for i in 0..(MAX_SESSIONS * 3) {
            let short = issue(&mut store, &format!("short-{i}"));
            assert!(store.end_session(&short.access_key_id));
            assert!(matches!(
                store.authenticate(
                    &short.access_key_id,
                    Some(short.session_token.expose()),
                    t0()
                ),
                Err(CredentialError::UnknownAccessKey { .. })
            ));
        }
        assert_eq!(store.live_sessions(), 1);
        assert!(store.sessions.len() <= 2 * store.live_sessions() + 64);
        let still = store
            .authenticate(&long.access_key_id, Some(long.session_token.expose()), t0())
            .unwrap();
        assert_eq!(still.principal.arn(), long.principal.arn());

        // Ending is for sessions only: a long-term key stays, and ending twice is a no-op.
        let user = Principal::User {
            account: ACCT.into(),
            name: "alice".into(),
            path: "/".into(),
        };
        let key = store.create_access_key(user).unwrap();
        assert!(!store.end_session(&key.access_key_id));
        assert!(store.lookup(&key.access_key_id).is_some());
        assert!(store.end_session(&long.access_key_id));
        assert!(!store.end_session(&long.access_key_id));
        assert_eq!(store.live_sessions(), 0);

        // Live sessions past the cap still evict the oldest live one.
        let first = issue(&mut store, "first");
        for i in 0..MAX_SESSIONS {
            issue(&mut store, &format!("live-{i}"));
        }
        assert_eq!(store.live_sessions(), MAX_SESSIONS);
        assert!(store.lookup(&first.access_key_id).is_none());
    }

    #[test]
    fn session_credentials_lifecycle() {
        let mut store = CredentialStore::with_seed(1);
        let session = Principal::assumed_role(ACCT, "PatternARole", "exec");
        let c = store
            .assume_role(
                session.clone(),
                t0(),
                Duration::seconds(DEFAULT_SESSION_SECONDS),
            )
            .unwrap();
        assert!(c.access_key_id.starts_with("ASIA"));
        assert_eq!(c.expiration, t0() + Duration::hours(1));
        let token = c.session_token.expose();
        let ok = store
            .authenticate(&c.access_key_id, Some(token), t0() + Duration::minutes(59))
            .unwrap();
        assert_eq!(ok.principal, session);
        let mut ctx = RequestContext::new();
        ok.apply_to(&mut ctx);
        assert_eq!(
            ctx.get_single(keys::TOKEN_ISSUE_TIME),
            Some("2025-06-01T00:00:00Z")
        );

        let expired = store
            .authenticate(&c.access_key_id, Some(token), t0() + Duration::hours(1))
            .unwrap_err();
        assert!(matches!(expired, CredentialError::Expired { .. }));
        assert_eq!(
            expired.aws_message(),
            Some("The security token included in the request is expired")
        );
        assert!(matches!(
            store.authenticate(&c.access_key_id, None, t0()),
            Err(CredentialError::MissingSessionToken { .. })
        ));
        assert!(matches!(
            store.authenticate(&c.access_key_id, Some("nope"), t0()),
            Err(CredentialError::SessionTokenMismatch { .. })
        ));
        let unknown = store
            .authenticate("AKIAXXXXXXXXXXXXXXXX", None, t0())
            .unwrap_err();
        assert_eq!(
            unknown.aws_message(),
            Some("The security token included in the request is invalid.")
        );
        assert!(store.revoke(&c.access_key_id));
        assert!(store.lookup(&c.access_key_id).is_none());
    }

    #[test]
    fn token_issue_times_are_written_like_chronos_rfc3339() {
        for secs in [0i64, 1_748_736_000, 1_765_000_123, 253_402_300_799] {
            let t = DateTime::from_timestamp(secs, 0).unwrap();
            assert_eq!(
                rfc3339_seconds(t),
                t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            );
        }
    }

    #[test]
    fn sessions_are_reused_until_near_expiry_and_forgotten_oldest_first() {
        let mut store = CredentialStore::with_seed(3);
        let hour = Duration::seconds(DEFAULT_SESSION_SECONDS);
        let margin = 300;
        let session = |n: usize| Principal::assumed_role(ACCT, "R", format!("s{n}"));
        let first = store.session_for(&session(0), t0(), hour, margin).unwrap();
        let again = store
            .session_for(&session(0), t0() + Duration::minutes(50), hour, margin)
            .unwrap();
        assert!(Arc::ptr_eq(&first, &again));
        let renewed = store
            .session_for(&session(0), t0() + Duration::minutes(56), hour, margin)
            .unwrap();
        assert_ne!(renewed.access_key_id, first.access_key_id);
        // Both keys still work until the first is pushed out.
        assert!(store.get(&first.access_key_id).is_some());
        for n in 1..MAX_SESSIONS {
            store.session_for(&session(n), t0(), hour, margin).unwrap();
        }
        assert!(store.get(&first.access_key_id).is_none());
        assert!(store.get(&renewed.access_key_id).is_some());
        store
            .session_for(&session(MAX_SESSIONS), t0(), hour, margin)
            .unwrap();
        assert!(store.get(&renewed.access_key_id).is_none());
        assert_eq!(store.sessions.len(), MAX_SESSIONS);
        assert_eq!(store.by_session.len(), MAX_SESSIONS);
        // A forgotten session is issued afresh.
        let back = store.session_for(&session(0), t0(), hour, margin).unwrap();
        assert_ne!(back.access_key_id, renewed.access_key_id);
        assert!(store.revoke(&back.access_key_id));
        assert!(store.get(&back.access_key_id).is_none());
    }

    #[test]
    fn issuing_rules() {
        let mut store = CredentialStore::with_seed(1);
        assert!(matches!(
            store.create_access_key(Principal::assumed_role(ACCT, "R", "s")),
            Err(CredentialError::UnsupportedPrincipal { .. })
        ));
        assert!(matches!(
            store.assume_role(Principal::user(ACCT, "u"), t0(), Duration::hours(1)),
            Err(CredentialError::UnsupportedPrincipal { .. })
        ));
        assert!(matches!(
            store.assume_role(
                Principal::assumed_role(ACCT, "R", "s1"),
                t0(),
                Duration::seconds(899)
            ),
            Err(CredentialError::InvalidDuration { seconds: 899 })
        ));
        assert!(matches!(
            store.assume_role(
                Principal::assumed_role(ACCT, "R", "x"),
                t0(),
                Duration::hours(1)
            ),
            Err(CredentialError::InvalidSessionName { .. })
        ));
        assert!(matches!(
            store.create_access_key(Principal::user("42", "u")),
            Err(CredentialError::InvalidAccount { .. })
        ));
    }
}
