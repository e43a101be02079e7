//! The request context: condition keys and their values.
//!
//! AWS gathers "a request context" (actions, resource, principal, environment data, resource
//! data) and matches every policy against it.
//! <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html#policy-eval-reqcontext>
//! Key names are case-insensitive ("`aws:CurrentTime` is equivalent to `AWS:currenttime`",
//! <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html>), so
//! keys are stored folded to lower case; a key may carry several values (a multivalued key such
//! as `aws:TagKeys`).

use chrono::{DateTime, SecondsFormat, Utc};

/// Names of the global condition keys the emulator uses.
///
/// <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html>
pub mod keys {
    /// ARN of the principal; for a role session, the role's ARN. Filled in by the evaluator.
    pub const PRINCIPAL_ARN: &str = "aws:PrincipalArn";
    /// Account of the principal (`anonymous` for anonymous requests). Filled in by the evaluator.
    pub const PRINCIPAL_ACCOUNT: &str = "aws:PrincipalAccount";
    /// `Account`, `User`, `AssumedRole`, `FederatedUser` or `Anonymous`. Filled in by the evaluator.
    pub const PRINCIPAL_TYPE: &str = "aws:PrincipalType";
    /// Principal identifier (`AIDA…`, `AROA…:session`, the account ID). Filled in by the evaluator.
    pub const USER_ID: &str = "aws:userid";
    /// IAM user name; present only for IAM users. Filled in by the evaluator.
    pub const USERNAME: &str = "aws:username";
    /// Whether a service principal made the call. Filled in by the evaluator for signed requests.
    pub const PRINCIPAL_IS_AWS_SERVICE: &str = "aws:PrincipalIsAWSService";
    /// Name of the calling service principal. Filled in by the evaluator.
    pub const PRINCIPAL_SERVICE_NAME: &str = "aws:PrincipalServiceName";
    /// VPC endpoint the request came through (present only then).
    pub const SOURCE_VPCE: &str = "aws:SourceVpce";
    /// VPC the request came from through an endpoint (present only then).
    pub const SOURCE_VPC: &str = "aws:SourceVpc";
    /// Requester's IP address (absent when the request comes through a VPC endpoint).
    pub const SOURCE_IP: &str = "aws:SourceIp";
    /// Private IP of the requester through a VPC endpoint.
    pub const VPC_SOURCE_IP: &str = "aws:VpcSourceIp";
    /// Current time, ISO 8601; set it with [`super::RequestContext::with_current_time`].
    pub const CURRENT_TIME: &str = "aws:CurrentTime";
    /// Current time in seconds since the epoch; set with the current time.
    pub const EPOCH_TIME: &str = "aws:EpochTime";
    /// `true` when the request came over TLS.
    pub const SECURE_TRANSPORT: &str = "aws:SecureTransport";
    /// When the temporary credentials were issued (present only for temporary credentials).
    pub const TOKEN_ISSUE_TIME: &str = "aws:TokenIssueTime";
    /// Region the request was sent to.
    pub const REQUESTED_REGION: &str = "aws:RequestedRegion";
    /// ARN of the resource on whose behalf a service calls another service.
    pub const SOURCE_ARN: &str = "aws:SourceArn";
    /// Account of the resource on whose behalf a service calls another service.
    pub const SOURCE_ACCOUNT: &str = "aws:SourceAccount";
    /// Whether an AWS service made the request on the principal's behalf with a forward access
    /// session ("always included in the request context"; vpcgate's services never use forward
    /// access sessions, so it is `false`).
    pub const VIA_AWS_SERVICE: &str = "aws:ViaAWSService";
    /// Services that made the request through forward access sessions (absent: none do here).
    pub const CALLED_VIA: &str = "aws:CalledVia";
    /// Organization of the principal's account (absent: the emulated accounts belong to none).
    pub const PRINCIPAL_ORG_ID: &str = "aws:PrincipalOrgID";
    /// `iam:PassRole`'s key: the service the role is passed to.
    pub const IAM_PASSED_TO_SERVICE: &str = "iam:PassedToService";
    /// Step Functions HTTP Task method (`states:InvokeHTTPEndpoint` condition key).
    pub const STATES_HTTP_METHOD: &str = "states:HTTPMethod";
    /// Step Functions HTTP Task endpoint URL (`states:InvokeHTTPEndpoint` condition key).
    pub const STATES_HTTP_ENDPOINT: &str = "states:HTTPEndpoint";
}

/// Condition keys and their values for one request.
///
/// The caller fills in the network and service keys (`aws:SourceVpce`, `aws:SourceIp`,
/// `aws:SecureTransport`, `states:HTTPMethod`, …) and the current time; the evaluator adds the
/// keys it derives from the principal (see [`super::evaluate`]).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RequestContext {
    /// The keys, sorted by folded name (one entry per folded name). A request has a dozen or
    /// so: a sorted list with the names of [`keys`] borrowed costs a few allocations where a
    /// map of owned names cost four per key, on every request and every evaluation's copy.
    entries: Vec<Entry>,
}

/// A key name: one of [`keys`] (borrowed), or any other (owned).
type Name = std::borrow::Cow<'static, str>;

#[derive(Clone, Debug, PartialEq, Eq)]
struct Entry {
    /// The name folded to lower case (what lookups compare).
    folded: Name,
    /// The name as first written.
    key: Name,
    values: Values,
}

/// A key's values: most keys have one.
#[derive(Clone, Debug)]
enum Values {
    One([String; 1]),
    Many(Vec<String>),
}

impl Values {
    fn as_slice(&self) -> &[String] {
        match self {
            Values::One(one) => one,
            Values::Many(many) => many,
        }
    }
}

impl PartialEq for Values {
    fn eq(&self, other: &Self) -> bool {
        self.as_slice() == other.as_slice()
    }
}

impl Eq for Values {}

/// The names of [`keys`] with their folded forms, so that setting one allocates no name.
const KNOWN: &[(&str, &str)] = &[
    (keys::PRINCIPAL_ARN, "aws:principalarn"),
    (keys::PRINCIPAL_ACCOUNT, "aws:principalaccount"),
    (keys::PRINCIPAL_TYPE, "aws:principaltype"),
    (keys::USER_ID, "aws:userid"),
    (keys::USERNAME, "aws:username"),
    (keys::PRINCIPAL_IS_AWS_SERVICE, "aws:principalisawsservice"),
    (keys::PRINCIPAL_SERVICE_NAME, "aws:principalservicename"),
    (keys::SOURCE_VPCE, "aws:sourcevpce"),
    (keys::SOURCE_VPC, "aws:sourcevpc"),
    (keys::SOURCE_IP, "aws:sourceip"),
    (keys::VPC_SOURCE_IP, "aws:vpcsourceip"),
    (keys::CURRENT_TIME, "aws:currenttime"),
    (keys::EPOCH_TIME, "aws:epochtime"),
    (keys::SECURE_TRANSPORT, "aws:securetransport"),
    (keys::TOKEN_ISSUE_TIME, "aws:tokenissuetime"),
    (keys::REQUESTED_REGION, "aws:requestedregion"),
    (keys::SOURCE_ARN, "aws:sourcearn"),
    (keys::SOURCE_ACCOUNT, "aws:sourceaccount"),
    (keys::VIA_AWS_SERVICE, "aws:viaawsservice"),
    (keys::CALLED_VIA, "aws:calledvia"),
    (keys::PRINCIPAL_ORG_ID, "aws:principalorgid"),
    (keys::IAM_PASSED_TO_SERVICE, "iam:passedtoservice"),
    (keys::STATES_HTTP_METHOD, "states:httpmethod"),
    (keys::STATES_HTTP_ENDPOINT, "states:httpendpoint"),
];

/// `aws:CurrentTime` (ISO 8601, UTC, whole seconds) and `aws:EpochTime` of `now`. Both texts
/// change once a second: each thread keeps the last pair it wrote (chrono's RFC 3339 writer was
/// about 1 % of an API Gateway request on the world thread).
fn current_time_texts(now: DateTime<Utc>) -> (String, String) {
    use std::cell::RefCell;
    thread_local! {
        static LAST: RefCell<Option<(i64, String, String)>> = const { RefCell::new(None) };
    }
    let secs = now.timestamp();
    LAST.with_borrow_mut(|last| match last {
        Some((at, iso, epoch)) if *at == secs => (iso.clone(), epoch.clone()),
        _ => {
            let iso = now.to_rfc3339_opts(SecondsFormat::Secs, true);
            let epoch = secs.to_string();
            *last = Some((secs, iso.clone(), epoch.clone()));
            (iso, epoch)
        }
    })
}

/// `key` as stored: as first written, and folded.
fn names(key: &str) -> (Name, Name) {
    match KNOWN.iter().find(|(k, _)| *k == key) {
        Some((k, folded)) => (Name::Borrowed(k), Name::Borrowed(folded)),
        None => (Name::Owned(key.to_owned()), Name::Owned(fold(key))),
    }
}

impl RequestContext {
    /// An empty context.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a single-valued key (builder form of [`Self::insert`]).
    pub fn with(mut self, key: &str, value: impl Into<String>) -> Self {
        self.insert(key, value);
        self
    }

    /// Adds a multivalued key (builder form of [`Self::insert_values`]).
    pub fn with_values<I, S>(mut self, key: &str, values: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.insert_values(key, values);
        self
    }

    /// The context every request to an AWS service starts with, as the global condition keys
    /// page gives their availability
    /// (<https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html>):
    /// `aws:CurrentTime` and `aws:EpochTime` ("always included"), `aws:RequestedRegion` (the
    /// Region the request is sent to, "always included"), and `aws:SecureTransport` (`true`:
    /// AWS's endpoints for these services answer HTTPS only, and vpcgate stands in for them even
    /// where a local client speaks plain HTTP to `serve` — README, fidelity notes). Network keys
    /// (`aws:SourceIp`, `aws:SourceVpce`, …) are added by whoever knows how the request arrived.
    pub fn for_request(now: DateTime<Utc>, region: &str) -> Self {
        let (iso, epoch) = current_time_texts(now);
        let entry = |key: &'static str, folded: &'static str, value: String| Entry {
            folded: Name::Borrowed(folded),
            key: Name::Borrowed(key),
            values: Values::One([value]),
        };
        // Room for these four and the usual later ones (network keys, token issue time). The
        // four written in their folded order directly (every API Gateway and Lattice request
        // builds one: a name lookup and an ordered insertion each cost more than the rest).
        let mut entries = Vec::with_capacity(8);
        entries.extend([
            entry(keys::CURRENT_TIME, "aws:currenttime", iso),
            entry(keys::EPOCH_TIME, "aws:epochtime", epoch),
            entry(
                keys::REQUESTED_REGION,
                "aws:requestedregion",
                region.to_owned(),
            ),
            entry(
                keys::SECURE_TRANSPORT,
                "aws:securetransport",
                "true".to_owned(),
            ),
        ]);
        debug_assert!(entries.is_sorted_by(|a, b| a.folded < b.folded));
        Self { entries }
    }

    /// Sets `aws:CurrentTime` (ISO 8601, UTC, whole seconds) and `aws:EpochTime` to `now`.
    ///
    /// The emulator never reads the host clock: whoever builds the request passes its clock's
    /// reading here.
    pub fn with_current_time(mut self, now: DateTime<Utc>) -> Self {
        self.set_current_time(now);
        self
    }

    /// In-place form of [`Self::with_current_time`].
    pub fn set_current_time(&mut self, now: DateTime<Utc>) {
        let (iso, epoch) = current_time_texts(now);
        self.insert(keys::CURRENT_TIME, iso);
        self.insert(keys::EPOCH_TIME, epoch);
    }

    /// Sets `key` to the single value `value`, replacing what was there.
    pub fn insert(&mut self, key: &str, value: impl Into<String>) {
        self.insert_values(key, [value.into()]);
    }

    /// Sets `key` to `values`, replacing what was there. An empty list is kept as a key that is
    /// present with an empty set of values, which `ForAllValues` treats as true and
    /// `ForAnyValue` as false.
    pub fn insert_values<I, S>(&mut self, key: &str, values: I)
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let mut values = values.into_iter().map(Into::into);
        let values = match (values.next(), values.next()) {
            (None, _) => Values::Many(Vec::new()),
            (Some(one), None) => Values::One([one]),
            (Some(a), Some(b)) => {
                let mut many = vec![a, b];
                many.extend(values);
                Values::Many(many)
            }
        };
        let (key, folded) = names(key);
        match self.position(&folded) {
            Ok(i) => {
                self.entries[i] = Entry {
                    folded,
                    key,
                    values,
                }
            }
            Err(i) => self.entries.insert(
                i,
                Entry {
                    folded,
                    key,
                    values,
                },
            ),
        }
    }

    /// Where the folded name `folded` is (`Ok`), or would go (`Err`).
    fn position(&self, folded: &str) -> Result<usize, usize> {
        self.entries
            .binary_search_by(|e| e.folded.as_ref().cmp(folded))
    }

    /// Removes `key`; returns whether it was present.
    pub fn remove(&mut self, key: &str) -> bool {
        let mut buf = [0u8; 64];
        match self.position(folded(key, &mut buf).as_ref()) {
            Ok(i) => {
                self.entries.remove(i);
                true
            }
            Err(_) => false,
        }
    }

    /// The values of `key` (case-insensitive), if the key is present.
    pub fn get(&self, key: &str) -> Option<&[String]> {
        let mut buf = [0u8; 64];
        self.get_folded(folded(key, &mut buf).as_ref())
    }

    /// [`Self::get`] of a key already folded to lower case.
    fn get_folded(&self, folded: &str) -> Option<&[String]> {
        let i = self.position(folded).ok()?;
        Some(self.entries[i].values.as_slice())
    }

    /// The value of a single-valued key: `None` when absent or when it has several values.
    pub fn get_single(&self, key: &str) -> Option<&str> {
        match self.get(key)? {
            [one] => Some(one),
            _ => None,
        }
    }

    /// A copy without the keys whose folded names are `folded` (the evaluator's derived keys,
    /// which it sets afresh: copying their values only to drop them was most of its copy), with
    /// `extra` added: each a key of [`keys`] (as written and folded, among `folded`) and its
    /// single value. One copy and one sort rather than an ordered insertion per key.
    pub(super) fn without_folded_plus(
        &self,
        folded: &[&str],
        extra: impl IntoIterator<Item = (&'static str, &'static str, String)>,
    ) -> Self {
        let mut entries = Vec::with_capacity(self.entries.len() + folded.len());
        let mut kept = self
            .entries
            .iter()
            .filter(|e| !folded.contains(&e.folded.as_ref()))
            .peekable();
        let mut sorted = true;
        for (key, folded_key, value) in extra {
            debug_assert_eq!(fold(key), folded_key);
            // Merged in order: the kept entries are sorted, and so are the extras as the
            // evaluator gives them (sorted afterwards otherwise).
            while let Some(e) = kept.next_if(|e| e.folded.as_ref() < folded_key) {
                entries.push(e.clone());
            }
            sorted &= entries
                .last()
                .is_none_or(|last: &Entry| last.folded.as_ref() < folded_key);
            entries.push(Entry {
                folded: Name::Borrowed(folded_key),
                key: Name::Borrowed(key),
                values: Values::One([value]),
            });
        }
        entries.extend(kept.cloned());
        if !sorted {
            entries.sort_by(|a, b| a.folded.cmp(&b.folded));
        }
        Self { entries }
    }

    /// The `aws:CurrentTime` value parsed as a date, if present and valid.
    pub fn current_time(&self) -> Option<DateTime<Utc>> {
        super::condition::parse_date(self.get_single(keys::CURRENT_TIME)?)
    }

    /// Every key (as first written) with its values, in folded-key order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &[String])> {
        self.entries
            .iter()
            .map(|e| (e.key.as_ref(), e.values.as_slice()))
    }
}

/// Where a policy reads condition keys from: a request's context, or one with other values laid
/// over some of its keys ([`Overlay`]).
pub(crate) trait Keys {
    /// The values of `key` (case-insensitive), if the key is present.
    fn values(&self, key: &str) -> Option<&[String]>;
}

impl Keys for RequestContext {
    fn values(&self, key: &str) -> Option<&[String]> {
        self.get(key)
    }
}

/// `under` with the keys whose folded names are in `shadowed` taken from `over` instead
/// (present there or absent): what [`RequestContext::without_folded_plus`] of `under` with
/// `over`'s entries reads as, without copying `under` (the evaluator's derived keys over a
/// request's context, built for every request whose policies have a condition).
#[derive(Debug)]
pub(crate) struct Overlay<'a> {
    pub(crate) under: &'a RequestContext,
    pub(crate) over: RequestContext,
    pub(crate) shadowed: &'a [&'a str],
}

impl Keys for Overlay<'_> {
    fn values(&self, key: &str) -> Option<&[String]> {
        let mut buf = [0u8; 64];
        let folded = folded(key, &mut buf);
        if self.shadowed.contains(&folded.as_ref()) {
            self.over.get_folded(&folded)
        } else {
            self.under.get_folded(&folded)
        }
    }
}

fn fold(key: &str) -> String {
    key.to_ascii_lowercase()
}

/// `key` folded, on the stack in `buf` when it fits (every global and service key does): a
/// policy's conditions look keys up on every evaluation.
fn folded<'b>(key: &str, buf: &'b mut [u8; 64]) -> std::borrow::Cow<'b, str> {
    if let Some(dst) = buf.get_mut(..key.len()) {
        dst.copy_from_slice(key.as_bytes());
        dst.make_ascii_lowercase();
        // ASCII lower-casing keeps UTF-8 valid, so this always succeeds.
        if let Ok(text) = std::str::from_utf8(dst) {
            return std::borrow::Cow::Borrowed(text);
        }
    }
    std::borrow::Cow::Owned(fold(key))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn keys_are_case_insensitive() {
        let ctx = RequestContext::new().with("aws:SourceVpce", "vpce-1");
        assert_eq!(ctx.get("AWS:sourcevpce"), Some(&["vpce-1".to_owned()][..]));
        assert_eq!(ctx.get_single("aws:SOURCEVPCE"), Some("vpce-1"));
        assert_eq!(ctx.iter().next().unwrap().0, "aws:SourceVpce");
    }

    #[test]
    fn current_time_sets_both_keys() {
        let now = Utc.with_ymd_and_hms(2025, 1, 2, 3, 4, 5).unwrap();
        let ctx = RequestContext::new().with_current_time(now);
        assert_eq!(
            ctx.get_single(keys::CURRENT_TIME),
            Some("2025-01-02T03:04:05Z")
        );
        assert_eq!(ctx.get_single(keys::EPOCH_TIME), Some("1735787045"));
        assert_eq!(ctx.current_time(), Some(now));
    }

    #[test]
    fn every_request_carries_time_region_and_transport() {
        // reference_policies_condition-keys.html: aws:CurrentTime, aws:EpochTime and
        // aws:RequestedRegion are "always included in the request context".
        let now = Utc.with_ymd_and_hms(2025, 1, 2, 3, 4, 5).unwrap();
        let ctx = RequestContext::for_request(now, "ap-northeast-1");
        assert_eq!(
            ctx.get_single(keys::REQUESTED_REGION),
            Some("ap-northeast-1")
        );
        assert_eq!(ctx.get_single(keys::SECURE_TRANSPORT), Some("true"));
        assert_eq!(ctx.current_time(), Some(now));
        assert_eq!(ctx.get(keys::SOURCE_IP), None);
        // Written directly, it is the context the same keys inserted one by one make.
        let inserted = RequestContext::new()
            .with(keys::SECURE_TRANSPORT, "true")
            .with(keys::REQUESTED_REGION, "ap-northeast-1")
            .with_current_time(now);
        assert_eq!(ctx, inserted);
        assert_eq!(
            ctx.iter().map(|(k, _)| k).collect::<Vec<_>>(),
            inserted.iter().map(|(k, _)| k).collect::<Vec<_>>()
        );
    }

    #[test]
    fn a_copy_leaves_out_folded_names() {
        let ctx = RequestContext::new()
            .with(keys::PRINCIPAL_ARN, "arn:aws:iam::1:root")
            .with("Aws:SourceIp", "10.0.0.1")
            .with("x:Other", "1");
        let copy = ctx.without_folded_plus(&["aws:principalarn", "aws:sourceip"], []);
        assert_eq!(copy, RequestContext::new().with("x:Other", "1"));
        let plus = ctx.without_folded_plus(
            &["aws:principalarn", "aws:sourceip", "aws:principaltype"],
            [
                (keys::PRINCIPAL_TYPE, "aws:principaltype", "User".to_owned()),
                (keys::PRINCIPAL_ARN, "aws:principalarn", "arn:x".to_owned()),
            ],
        );
        let inserted = RequestContext::new()
            .with("x:Other", "1")
            .with(keys::PRINCIPAL_TYPE, "User")
            .with(keys::PRINCIPAL_ARN, "arn:x");
        assert_eq!(plus, inserted);
    }

    #[test]
    fn known_names_are_folded_once() {
        for (key, folded) in KNOWN {
            assert_eq!(*folded, key.to_ascii_lowercase());
        }
    }

    #[test]
    fn keys_keep_folded_order_and_replace_by_folded_name() {
        let ctx = RequestContext::new()
            .with("b:Key", "1")
            .with(keys::SOURCE_IP, "10.0.0.1")
            .with("A:key", "2")
            .with("B:KEY", "3");
        let listed: Vec<(&str, &[String])> = ctx.iter().collect();
        assert_eq!(
            listed,
            [
                ("A:key", &["2".to_owned()][..]),
                (keys::SOURCE_IP, &["10.0.0.1".to_owned()][..]),
                ("B:KEY", &["3".to_owned()][..]),
            ]
        );
        assert_eq!(ctx.get("AWS:SOURCEIP"), Some(&["10.0.0.1".to_owned()][..]));
        // One value or a list of one are the same context.
        assert_eq!(
            RequestContext::new().with("k", "v"),
            RequestContext::new().with_values("k", ["v"])
        );
    }

    #[test]
    fn multivalued_keys() {
        let mut ctx = RequestContext::new().with_values("aws:TagKeys", ["a", "b"]);
        assert_eq!(ctx.get("aws:tagkeys").map(<[String]>::len), Some(2));
        assert_eq!(ctx.get_single("aws:TagKeys"), None);
        ctx.insert_values("aws:TagKeys", Vec::<String>::new());
        assert_eq!(ctx.get("aws:TagKeys").map(<[String]>::len), Some(0));
        assert!(ctx.remove("AWS:TAGKEYS"));
        assert_eq!(ctx.get("aws:TagKeys"), None);
    }
}
