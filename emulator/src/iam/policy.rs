//! Policy documents: parsing and validation.
//!
//! Grammar: <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_grammar.html>.
//! Error texts: IAM answers a malformed document with `MalformedPolicyDocument` and one of a
//! fixed set of messages ("Syntax errors in policy.", "Policy statement must contain
//! actions.", …). IAM's own pages do not list them; the texts here are the ones real IAM
//! returns as reproduced by moto's validator (github.com/getmoto/moto,
//! `moto/iam/policy_validation.py`), which was written against recorded AWS responses, plus
//! "Policy document should not specify a principal." and
//! `Invalid principal in policy: "AWS":"<arn>"` as quoted from IAM in public issue reports
//! (hashicorp/terraform-provider-aws#10419, aws-samples/aws-iam-access-key-auto-rotation#26).
//! Each error also names the JSON path of the offending element, which AWS does not.

use std::cell::RefCell;
use std::collections::HashSet;
use std::fmt;

use serde_json::{Map, Value};

use super::condition::{self, ConditionClause};
use super::principal::is_account_id;
use super::wildcard::{Template, Tok, compile_glob};

/// What a policy is attached to; decides which elements it must or must not have and how a
/// denial is described.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PolicyKind {
    /// Attached to a user or role (inline or managed). No `Principal`; `Version` 2012-10-17.
    IdentityBased,
    /// Attached to a resource (API Gateway resource policy, S3 bucket policy, …). Needs
    /// `Principal` or `NotPrincipal`.
    ResourceBased,
    /// A VPC endpoint policy: "It must contain a Principal element"; it never grants on its
    /// own, it only filters.
    /// <https://docs.aws.amazon.com/vpc/latest/privatelink/vpc-endpoints-access.html>
    VpcEndpoint,
    /// A VPC Lattice auth policy on a service network.
    /// <https://docs.aws.amazon.com/vpc-lattice/latest/ug/auth-policies.html>
    LatticeServiceNetwork,
    /// A VPC Lattice auth policy on a service.
    LatticeService,
    /// A role's trust policy (`AssumeRolePolicyDocument`): names principals, has no `Resource`
    /// (the resource is the role itself).
    /// <https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_terms-and-concepts.html>
    Trust,
}

impl PolicyKind {
    /// Whether statements of this kind name principals.
    pub fn has_principals(self) -> bool {
        !matches!(self, Self::IdentityBased)
    }

    /// The policy type as AWS words it in access-denied messages ("with an explicit deny in
    /// a resource-based policy", "because no VPC endpoint policy allows …").
    /// <https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_access-denied.html>.
    /// The Lattice wording ("network-based", "service-based") is from the project's
    /// FIDELITY.md recordings; no AWS page states it.
    pub fn message_name(self) -> &'static str {
        match self {
            Self::IdentityBased => "identity-based policy",
            Self::ResourceBased => "resource-based policy",
            Self::VpcEndpoint => "VPC endpoint policy",
            Self::LatticeServiceNetwork => "network-based policy",
            Self::LatticeService => "service-based policy",
            Self::Trust => "role trust policy",
        }
    }
}

impl fmt::Display for PolicyKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message_name())
    }
}

/// The policy language version.
///
/// <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_version.html>:
/// variables exist only in `2012-10-17`; a policy without `Version` is read as `2008-10-17`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PolicyVersion {
    /// `2008-10-17`, or no `Version` element: `${…}` is literal text.
    V2008_10_17,
    /// `2012-10-17`: policy variables are substituted.
    V2012_10_17,
}

/// `Allow` or `Deny`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Effect {
    /// Grants, unless something denies.
    Allow,
    /// Denies, whatever grants.
    Deny,
}

/// A dotted JSON path such as `Statement[1].Condition.StringNotEquals`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct JsonPath(String);

impl JsonPath {
    fn key(&self, key: &str) -> Self {
        if self.0.is_empty() {
            Self(key.to_owned())
        } else {
            Self(format!("{}.{key}", self.0))
        }
    }

    fn index(&self, i: usize) -> Self {
        Self(format!("{}[{i}]", self.0))
    }

    /// The path as text (empty for the document itself).
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for JsonPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            f.write_str("policy document")
        } else {
            f.write_str(&self.0)
        }
    }
}

/// Why a policy document was rejected. Every variant names the JSON path of the element at
/// fault; [`PolicyError::aws_message`] gives the text AWS would return.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    /// The text is not JSON at all (only from [`Policy::parse_str`]).
    #[error("{path}: not valid json: {detail}")]
    InvalidJson {
        /// Always the document.
        path: JsonPath,
        /// serde_json's description.
        detail: String,
    },
    /// The same key twice in one object ("Individual elements must not contain multiple
    /// instances of the same key", reference_policies_grammar.html); only detectable by
    /// [`Policy::parse_str`], since a `serde_json::Value` keeps one of them.
    #[error("{path}: duplicate key {key:?}")]
    DuplicateKey {
        /// Object holding the duplicate.
        path: JsonPath,
        /// The repeated key.
        key: String,
    },
    /// An element has the wrong JSON type.
    #[error("{path}: expected {expected}")]
    WrongType {
        /// Offending element.
        path: JsonPath,
        /// What the grammar allows there.
        expected: &'static str,
    },
    /// An element the grammar does not have.
    #[error("{path}: unknown element {element:?}")]
    UnknownElement {
        /// Object holding it.
        path: JsonPath,
        /// Its name.
        element: String,
    },
    /// A required element is missing (`Statement`, `Effect`).
    #[error("{path}: missing required element {element}")]
    MissingElement {
        /// Object missing it.
        path: JsonPath,
        /// Its name.
        element: &'static str,
    },
    /// `Statement` is an empty list.
    #[error("{path}: statement list is empty")]
    EmptyStatementList {
        /// The `Statement` element.
        path: JsonPath,
    },
    /// `Version` is neither `2008-10-17` nor `2012-10-17`.
    #[error("{path}: unsupported policy language version {version:?}")]
    UnsupportedVersion {
        /// The `Version` element.
        path: JsonPath,
        /// The value found.
        version: String,
    },
    /// An identity-based policy without `"Version": "2012-10-17"`.
    #[error("{path}: identity-based policies must be version 2012-10-17")]
    VersionTooOld {
        /// The `Version` element (or the document when it is missing).
        path: JsonPath,
    },
    /// Two mutually exclusive elements in one statement (`Action` and `NotAction`, …).
    #[error("{path}: {first} and {second} cannot appear in the same statement")]
    ConflictingElements {
        /// The statement.
        path: JsonPath,
        /// One element.
        first: &'static str,
        /// The other.
        second: &'static str,
    },
    /// `Effect` is not exactly `Allow` or `Deny` (AWS matches case-sensitively).
    #[error("{path}: effect {effect:?} is not \"Allow\" or \"Deny\"")]
    InvalidEffect {
        /// The `Effect` element.
        path: JsonPath,
        /// The value found.
        effect: String,
    },
    /// Neither `Action` nor `NotAction`, or an empty list.
    #[error("{path}: statement must contain actions")]
    MissingActions {
        /// The statement.
        path: JsonPath,
    },
    /// Neither `Resource` nor `NotResource`, or an empty list.
    #[error("{path}: statement must contain resources")]
    MissingResources {
        /// The statement.
        path: JsonPath,
    },
    /// `Principal`/`NotPrincipal` in an identity-based policy.
    #[error("{path}: identity-based policies must not specify a principal")]
    PrincipalNotAllowed {
        /// The element.
        path: JsonPath,
    },
    /// A resource-based policy statement without `Principal`/`NotPrincipal`.
    #[error("{path}: statement must specify a principal")]
    MissingPrincipal {
        /// The statement.
        path: JsonPath,
    },
    /// A principal that is not `*`, an account ID, or the ARN of a root user, user, role,
    /// role session or federated user (wildcards inside a principal are not allowed).
    #[error("{path}: invalid principal {principal_type}:{value:?}")]
    InvalidPrincipal {
        /// The element.
        path: JsonPath,
        /// `AWS`, `Service`, `Federated`, `CanonicalUser`, or the unknown key.
        principal_type: String,
        /// The rejected value.
        value: String,
    },
    /// Two statements share a `Sid`.
    #[error("{path}: sid {sid:?} is not unique in the policy")]
    DuplicateSid {
        /// The second statement's `Sid`.
        path: JsonPath,
        /// The repeated Sid.
        sid: String,
    },
    /// An identity-based policy `Sid` with characters other than `[0-9A-Za-z]`
    /// (reference_policies_grammar.html, "sid_string").
    #[error("{path}: sid {sid:?} is not alphanumeric")]
    InvalidSid {
        /// The `Sid` element.
        path: JsonPath,
        /// The rejected Sid.
        sid: String,
    },
    /// An action or condition key without `vendor:`.
    #[error("{path}: {value:?} is not prefixed by a service namespace")]
    MissingVendor {
        /// The element.
        path: JsonPath,
        /// The action or condition key.
        value: String,
    },
    /// An action with more than one colon.
    #[error("{path}: action {action:?} has more than one colon")]
    TooManyColons {
        /// The element.
        path: JsonPath,
        /// The action.
        action: String,
    },
    /// A service namespace with characters other than letters, digits, `-` and `.`.
    #[error("{path}: service namespace {vendor:?} is not valid")]
    InvalidVendor {
        /// The element.
        path: JsonPath,
        /// The namespace.
        vendor: String,
    },
    /// An identity-based policy resource that is neither `*` nor an ARN.
    #[error("{path}: resource {resource:?} is not an arn or \"*\"")]
    ResourceNotArn {
        /// The element.
        path: JsonPath,
        /// The resource.
        resource: String,
    },
    /// An ARN with an unknown partition.
    #[error("{path}: partition {partition:?} of resource {resource:?} is not valid")]
    InvalidPartition {
        /// The element.
        path: JsonPath,
        /// The partition found.
        partition: String,
        /// The resource.
        resource: String,
    },
    /// An ARN whose service segment is empty or has a wildcard.
    #[error("{path}: resource {resource:?} must name its service without wildcards")]
    ResourceVendorNotQualified {
        /// The element.
        path: JsonPath,
        /// The resource.
        resource: String,
    },
    /// An ARN with fewer than six colon-separated segments.
    #[error("{path}: resource {resource:?} has fewer than six arn segments")]
    TruncatedArn {
        /// The element.
        path: JsonPath,
        /// The resource.
        resource: String,
    },
    /// A condition operator that does not exist.
    #[error("{path}: unknown condition operator {operator:?}")]
    UnknownConditionOperator {
        /// The operator's element.
        path: JsonPath,
        /// Its name.
        operator: String,
    },
    /// `Null` with `IfExists` ("You can add IfExists to the end of any condition operator
    /// name except the Null condition") or with a set qualifier.
    #[error("{path}: {operator:?} is not allowed: Null takes neither IfExists nor a set qualifier")]
    NullQualified {
        /// The operator's element.
        path: JsonPath,
        /// Its name.
        operator: String,
    },
    /// A condition value the operator cannot read (a bad date, CIDR, number, boolean or
    /// base64 string).
    #[error("{path}: {value:?} is not a valid {expected}")]
    InvalidConditionValue {
        /// The key's element.
        path: JsonPath,
        /// The rejected value.
        value: String,
        /// What the operator needs.
        expected: &'static str,
    },
}

impl PolicyError {
    /// The error code IAM returns for any of these (`MalformedPolicyDocument`; S3 says
    /// `MalformedPolicy`, API Gateway answers `BadRequestException`).
    pub const AWS_ERROR_CODE: &'static str = "MalformedPolicyDocument";

    /// The JSON path of the element at fault.
    pub fn path(&self) -> &JsonPath {
        match self {
            Self::InvalidJson { path, .. }
            | Self::DuplicateKey { path, .. }
            | Self::WrongType { path, .. }
            | Self::UnknownElement { path, .. }
            | Self::MissingElement { path, .. }
            | Self::EmptyStatementList { path }
            | Self::UnsupportedVersion { path, .. }
            | Self::VersionTooOld { path }
            | Self::ConflictingElements { path, .. }
            | Self::InvalidEffect { path, .. }
            | Self::MissingActions { path }
            | Self::MissingResources { path }
            | Self::PrincipalNotAllowed { path }
            | Self::MissingPrincipal { path }
            | Self::InvalidPrincipal { path, .. }
            | Self::DuplicateSid { path, .. }
            | Self::InvalidSid { path, .. }
            | Self::MissingVendor { path, .. }
            | Self::TooManyColons { path, .. }
            | Self::InvalidVendor { path, .. }
            | Self::ResourceNotArn { path, .. }
            | Self::InvalidPartition { path, .. }
            | Self::ResourceVendorNotQualified { path, .. }
            | Self::TruncatedArn { path, .. }
            | Self::UnknownConditionOperator { path, .. }
            | Self::NullQualified { path, .. }
            | Self::InvalidConditionValue { path, .. } => path,
        }
    }

    /// The message IAM puts in its `MalformedPolicyDocument` error for this problem.
    ///
    /// Messages for unknown condition operators and unreadable non-date condition values are
    /// unconfirmed (moto folds them into "Syntax errors in policy."); "Missing required field
    /// Principal" is what S3's PutBucketPolicy returns.
    pub fn aws_message(&self) -> String {
        const SYNTAX: &str = "Syntax errors in policy.";
        const LEGACY: &str = "The policy failed legacy parsing";
        match self {
            Self::InvalidJson { .. }
            | Self::DuplicateKey { .. }
            | Self::WrongType { .. }
            | Self::UnknownElement { .. }
            | Self::MissingElement { .. }
            | Self::EmptyStatementList { .. }
            | Self::UnsupportedVersion { .. }
            | Self::ConflictingElements { .. }
            | Self::UnknownConditionOperator { .. }
            | Self::NullQualified { .. } => SYNTAX.to_owned(),
            Self::InvalidEffect { effect, .. } => {
                // IAM checks the effect case-insensitively at the syntax stage and exactly in
                // its "legacy parsing" stage, so `allow` fails later and differently.
                if effect.eq_ignore_ascii_case("allow") || effect.eq_ignore_ascii_case("deny") {
                    LEGACY.to_owned()
                } else {
                    SYNTAX.to_owned()
                }
            }
            Self::VersionTooOld { .. } => {
                "Policy document must be version 2012-10-17 or greater.".to_owned()
            }
            Self::MissingActions { .. } => "Policy statement must contain actions.".to_owned(),
            Self::MissingResources { .. } => "Policy statement must contain resources.".to_owned(),
            Self::PrincipalNotAllowed { .. } => {
                "Policy document should not specify a principal.".to_owned()
            }
            Self::MissingPrincipal { .. } => "Missing required field Principal".to_owned(),
            Self::InvalidPrincipal {
                principal_type,
                value,
                ..
            } => format!("Invalid principal in policy: \"{principal_type}\":\"{value}\""),
            Self::DuplicateSid { .. } => {
                "Statement IDs (SID) in a single policy must be unique.".to_owned()
            }
            Self::InvalidSid { .. } => "Statement IDs (SID) must be alpha-numeric. Check that \
                 your input satisfies the regular expression [0-9A-Za-z]*"
                .to_owned(),
            Self::MissingVendor { .. } => {
                "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc."
                    .to_owned()
            }
            Self::TooManyColons { .. } => {
                "Actions/Condition can contain only one colon.".to_owned()
            }
            Self::InvalidVendor { vendor, .. } => format!("Vendor {vendor} is not valid"),
            Self::ResourceNotArn { resource, .. } => {
                format!("Resource {resource} must be in ARN format or \"*\".")
            }
            Self::InvalidPartition {
                partition,
                resource,
                ..
            } => format!("Partition \"{partition}\" is not valid for resource \"{resource}\"."),
            Self::ResourceVendorNotQualified { .. } => {
                "Resource vendor must be fully qualified and cannot contain regexes.".to_owned()
            }
            Self::TruncatedArn { .. } => LEGACY.to_owned(),
            Self::InvalidConditionValue { expected, .. } => {
                if *expected == condition::DATE_EXPECTED {
                    LEGACY.to_owned()
                } else {
                    SYNTAX.to_owned()
                }
            }
        }
    }
}

/// A parsed, validated policy document.
#[derive(Clone, Debug)]
pub struct Policy {
    kind: PolicyKind,
    version: PolicyVersion,
    id: Option<String>,
    statements: Vec<Statement>,
}

/// One statement of a policy.
#[derive(Clone, Debug)]
pub struct Statement {
    pub(super) index: usize,
    pub(super) sid: Option<String>,
    pub(super) effect: Effect,
    pub(super) principal: Option<PrincipalBlock>,
    pub(super) action: ActionBlock,
    pub(super) resource: ResourceBlock,
    pub(super) conditions: Vec<ConditionClause>,
}

impl Statement {
    /// Position in the policy's statement list, from 0.
    pub fn index(&self) -> usize {
        self.index
    }

    /// The `Sid`, if any.
    pub fn sid(&self) -> Option<&str> {
        self.sid.as_deref()
    }

    /// `Allow` or `Deny`.
    pub fn effect(&self) -> Effect {
        self.effect
    }
}

/// `Principal` or `NotPrincipal`.
#[derive(Clone, Debug)]
pub(super) enum PrincipalBlock {
    Principal(Vec<PolicyPrincipal>),
    NotPrincipal(Vec<PolicyPrincipal>),
}

/// One principal named in a policy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum PolicyPrincipal {
    /// `"*"`: everyone, anonymous and service principals included.
    Everyone,
    /// `{"AWS": "*"}`: every AWS principal, anonymous included.
    AnyAws,
    /// `{"AWS": "123456789012"}` or `arn:aws:iam::123456789012:root`: delegates to the account.
    Account(String),
    /// An IAM user ARN.
    User(String),
    /// An IAM role ARN: matches the role's sessions.
    Role(String),
    /// `arn:aws:sts::<acct>:assumed-role/<role>/<session>`: that session only.
    Session(String),
    /// `arn:aws:sts::<acct>:federated-user/<name>` (never matched: not modelled).
    FederatedUser(String),
    /// A user or role unique ID (`AIDA…`, `AROA…`).
    UniqueId(String),
    /// `{"Service": "states.amazonaws.com"}`.
    Service(String),
    /// `{"Federated": …}` (never matched: web identity and SAML are not modelled).
    Federated(String),
    /// `{"CanonicalUser": …}` (S3 only; never matched).
    CanonicalUser(String),
}

/// `Action` or `NotAction`.
#[derive(Clone, Debug)]
pub(super) enum ActionBlock {
    Action(Vec<ActionPattern>),
    NotAction(Vec<ActionPattern>),
}

/// One action pattern: the service namespace and the action name, both matched
/// case-insensitively ("The prefix and the action name are case insensitive",
/// reference_policies_elements_action.html); `*` and `?` allowed in the name.
#[derive(Clone, Debug)]
pub(super) struct ActionPattern {
    /// `None` for the bare `"*"`.
    pub(super) vendor: Option<String>,
    pub(super) name: Vec<Tok>,
    /// The name itself when it is ASCII without `*` or `?` (`GetSecretValue`): matched by a
    /// case-insensitive comparison.
    pub(super) literal: Option<String>,
}

/// `Resource` or `NotResource`.
#[derive(Clone, Debug)]
pub(super) enum ResourceBlock {
    Resource(Vec<Template>),
    NotResource(Vec<Template>),
}

const TOP_LEVEL: &[&str] = &["Version", "Id", "Statement"];
const STATEMENT_ELEMENTS: &[&str] = &[
    "Sid",
    "Effect",
    "Principal",
    "NotPrincipal",
    "Action",
    "NotAction",
    "Resource",
    "NotResource",
    "Condition",
];
/// Partitions IAM accepts in resource ARNs.
const PARTITIONS: &[&str] = &[
    "aws",
    "aws-cn",
    "aws-us-gov",
    "aws-iso",
    "aws-iso-b",
    "aws-iso-e",
    "aws-iso-f",
    "aws-eusc",
];

impl Policy {
    /// Parses and validates a policy document of the given kind.
    pub fn parse(document: &Value, kind: PolicyKind) -> Result<Self, PolicyError> {
        Self::parse_checked(document, kind, true)
    }

    /// An inline policy of a role, user or group (PutRolePolicy, `AWS::IAM::Role` `Policies`,
    /// `AWS::IAM::Policy`): without `Version` it is read as `2008-10-17` (policy variables are
    /// literal text) rather than refused — IAM requires `2012-10-17` of managed policies
    /// (CreatePolicy) only. The SAM translator's policy templates write inline policies without
    /// `Version`, and CloudFormation deploys them.
    pub fn parse_inline(document: &Value) -> Result<Self, PolicyError> {
        Self::parse_checked(document, PolicyKind::IdentityBased, false)
    }

    fn parse_checked(
        document: &Value,
        kind: PolicyKind,
        require_version: bool,
    ) -> Result<Self, PolicyError> {
        let root = JsonPath::default();
        let obj = as_object(document, &root, "a json object")?;
        for key in obj.keys() {
            if !TOP_LEVEL.contains(&key.as_str()) {
                return Err(PolicyError::UnknownElement {
                    path: root,
                    element: key.clone(),
                });
            }
        }
        let version = match obj.get("Version") {
            None => None,
            Some(v) => {
                let path = root.key("Version");
                let s = as_str(v, &path)?;
                Some(match s {
                    "2012-10-17" => PolicyVersion::V2012_10_17,
                    "2008-10-17" => PolicyVersion::V2008_10_17,
                    other => {
                        return Err(PolicyError::UnsupportedVersion {
                            path,
                            version: other.to_owned(),
                        });
                    }
                })
            }
        };
        let id = match obj.get("Id") {
            None => None,
            Some(v) => Some(as_str(v, &root.key("Id"))?.to_owned()),
        };
        let statement_path = root.key("Statement");
        let raw_statements: Vec<(JsonPath, &Value)> = match obj.get("Statement") {
            None => {
                return Err(PolicyError::MissingElement {
                    path: root,
                    element: "Statement",
                });
            }
            Some(Value::Object(_)) => vec![(statement_path.clone(), &obj["Statement"])],
            Some(Value::Array(items)) => {
                if items.is_empty() {
                    return Err(PolicyError::EmptyStatementList {
                        path: statement_path,
                    });
                }
                items
                    .iter()
                    .enumerate()
                    .map(|(i, v)| (statement_path.index(i), v))
                    .collect()
            }
            Some(_) => {
                return Err(PolicyError::WrongType {
                    path: statement_path,
                    expected: "an object or a list of objects",
                });
            }
        };
        if kind == PolicyKind::IdentityBased
            && version != Some(PolicyVersion::V2012_10_17)
            && (require_version || version.is_some())
        {
            let path = if version.is_some() {
                root.key("Version")
            } else {
                root
            };
            return Err(PolicyError::VersionTooOld { path });
        }
        let version = version.unwrap_or(PolicyVersion::V2008_10_17);
        let variables = version == PolicyVersion::V2012_10_17;
        let mut statements = Vec::with_capacity(raw_statements.len());
        let mut sids = HashSet::new();
        for (index, (path, value)) in raw_statements.into_iter().enumerate() {
            let st = parse_statement(value, &path, index, kind, variables)?;
            let repeated = st
                .sid
                .as_ref()
                .filter(|sid| !sid.is_empty() && !sids.insert((*sid).clone()));
            if let Some(sid) = repeated {
                return Err(PolicyError::DuplicateSid {
                    path: path.key("Sid"),
                    sid: sid.clone(),
                });
            }
            statements.push(st);
        }
        Ok(Self {
            kind,
            version,
            id,
            statements,
        })
    }

    /// Parses JSON text, additionally rejecting duplicate keys, which a `serde_json::Value`
    /// cannot represent.
    pub fn parse_str(text: &str, kind: PolicyKind) -> Result<Self, PolicyError> {
        let value: Value = serde_json::from_str(text).map_err(|e| PolicyError::InvalidJson {
            path: JsonPath::default(),
            detail: e.to_string(),
        })?;
        let found = RefCell::new(None);
        let mut de = serde_json::Deserializer::from_str(text);
        // The walk's own error only says "stop"; the duplicate itself is in `found`.
        let _ = serde::de::DeserializeSeed::deserialize(
            DuplicateCheck {
                path: JsonPath::default(),
                found: &found,
            },
            &mut de,
        );
        if let Some(err) = found.into_inner() {
            return Err(err);
        }
        Self::parse(&value, kind)
    }

    /// What the policy is attached to.
    pub fn kind(&self) -> PolicyKind {
        self.kind
    }

    /// The language version (`2008-10-17` when the document had none).
    pub fn version(&self) -> PolicyVersion {
        self.version
    }

    /// The `Id` element.
    pub fn id(&self) -> Option<&str> {
        self.id.as_deref()
    }

    /// The statements in document order.
    pub fn statements(&self) -> &[Statement] {
        &self.statements
    }
}

fn parse_statement(
    value: &Value,
    path: &JsonPath,
    index: usize,
    kind: PolicyKind,
    variables: bool,
) -> Result<Statement, PolicyError> {
    let obj = as_object(value, path, "a statement object")?;
    for key in obj.keys() {
        if !STATEMENT_ELEMENTS.contains(&key.as_str()) {
            return Err(PolicyError::UnknownElement {
                path: path.clone(),
                element: key.clone(),
            });
        }
    }
    for (a, b) in [
        ("Action", "NotAction"),
        ("Resource", "NotResource"),
        ("Principal", "NotPrincipal"),
    ] {
        if obj.contains_key(a) && obj.contains_key(b) {
            return Err(PolicyError::ConflictingElements {
                path: path.clone(),
                first: a,
                second: b,
            });
        }
    }
    let sid = match obj.get("Sid") {
        None => None,
        Some(v) => {
            let sid_path = path.key("Sid");
            let sid = as_str(v, &sid_path)?;
            if kind == PolicyKind::IdentityBased && !sid.bytes().all(|b| b.is_ascii_alphanumeric())
            {
                return Err(PolicyError::InvalidSid {
                    path: sid_path,
                    sid: sid.to_owned(),
                });
            }
            Some(sid.to_owned())
        }
    };
    let effect = match obj.get("Effect") {
        None => {
            return Err(PolicyError::MissingElement {
                path: path.clone(),
                element: "Effect",
            });
        }
        Some(v) => {
            let effect_path = path.key("Effect");
            match as_str(v, &effect_path)? {
                "Allow" => Effect::Allow,
                "Deny" => Effect::Deny,
                other => {
                    return Err(PolicyError::InvalidEffect {
                        path: effect_path,
                        effect: other.to_owned(),
                    });
                }
            }
        }
    };
    let principal = match (obj.get("Principal"), obj.get("NotPrincipal")) {
        (None, None) => None,
        (Some(v), _) => Some(PrincipalBlock::Principal(parse_principals(
            v,
            &path.key("Principal"),
        )?)),
        (None, Some(v)) => Some(PrincipalBlock::NotPrincipal(parse_principals(
            v,
            &path.key("NotPrincipal"),
        )?)),
    };
    match (&principal, kind.has_principals()) {
        (Some(_), false) => {
            let name = if obj.contains_key("Principal") {
                "Principal"
            } else {
                "NotPrincipal"
            };
            return Err(PolicyError::PrincipalNotAllowed {
                path: path.key(name),
            });
        }
        (None, true) => {
            return Err(PolicyError::MissingPrincipal { path: path.clone() });
        }
        _ => {}
    }
    let action = match (obj.get("Action"), obj.get("NotAction")) {
        (Some(v), _) => ActionBlock::Action(parse_actions(v, &path.key("Action"), path)?),
        (None, Some(v)) => ActionBlock::NotAction(parse_actions(v, &path.key("NotAction"), path)?),
        (None, None) => return Err(PolicyError::MissingActions { path: path.clone() }),
    };
    let resource = match (obj.get("Resource"), obj.get("NotResource")) {
        (Some(v), _) => ResourceBlock::Resource(parse_resources(
            v,
            &path.key("Resource"),
            path,
            kind,
            variables,
        )?),
        (None, Some(v)) => ResourceBlock::NotResource(parse_resources(
            v,
            &path.key("NotResource"),
            path,
            kind,
            variables,
        )?),
        // A trust policy's resource is its role: no Resource element, every request matches.
        (None, None) if kind == PolicyKind::Trust => ResourceBlock::Resource(parse_resources(
            &Value::String("*".into()),
            &path.key("Resource"),
            path,
            kind,
            variables,
        )?),
        (None, None) => return Err(PolicyError::MissingResources { path: path.clone() }),
    };
    let conditions = match obj.get("Condition") {
        None => Vec::new(),
        Some(v) => condition::parse_block(v, &path.key("Condition"), variables)?,
    };
    Ok(Statement {
        index,
        sid,
        effect,
        principal,
        action,
        resource,
        conditions,
    })
}

fn parse_principals(value: &Value, path: &JsonPath) -> Result<Vec<PolicyPrincipal>, PolicyError> {
    match value {
        Value::String(s) if s == "*" => Ok(vec![PolicyPrincipal::Everyone]),
        Value::String(s) => Err(PolicyError::InvalidPrincipal {
            path: path.clone(),
            principal_type: "Principal".to_owned(),
            value: s.clone(),
        }),
        Value::Object(map) => {
            if map.is_empty() {
                return Err(PolicyError::WrongType {
                    path: path.clone(),
                    expected: "\"*\" or a non-empty principal map",
                });
            }
            let mut out = Vec::new();
            for (ptype, ids) in map {
                let ids_path = path.key(ptype);
                for (id_path, id) in string_list(ids, &ids_path)? {
                    out.push(parse_principal(ptype, id, &id_path)?);
                }
            }
            Ok(out)
        }
        _ => Err(PolicyError::WrongType {
            path: path.clone(),
            expected: "\"*\" or a principal map",
        }),
    }
}

fn parse_principal(ptype: &str, id: &str, path: &JsonPath) -> Result<PolicyPrincipal, PolicyError> {
    let invalid = || PolicyError::InvalidPrincipal {
        path: path.clone(),
        principal_type: ptype.to_owned(),
        value: id.to_owned(),
    };
    // "You cannot use a wildcard to match part of a principal name or ARN."
    // (reference_policies_elements_principal.html)
    let has_wildcard = id.contains(['*', '?']);
    match ptype {
        "AWS" => {
            if id == "*" {
                return Ok(PolicyPrincipal::AnyAws);
            }
            if has_wildcard {
                return Err(invalid());
            }
            if is_account_id(id) {
                return Ok(PolicyPrincipal::Account(id.to_owned()));
            }
            if is_unique_id(id) {
                return Ok(PolicyPrincipal::UniqueId(id.to_owned()));
            }
            let parts: Vec<&str> = id.splitn(6, ':').collect();
            let [arn, partition, service, region, account, resource] = parts[..] else {
                return Err(invalid());
            };
            if arn != "arn" || !PARTITIONS.contains(&partition) || !region.is_empty() {
                return Err(invalid());
            }
            if !is_account_id(account) {
                return Err(invalid());
            }
            let named = |prefix: &str| {
                resource
                    .strip_prefix(prefix)
                    .is_some_and(|rest| !rest.is_empty() && !rest.ends_with('/'))
            };
            match service {
                "iam" if resource == "root" => Ok(PolicyPrincipal::Account(account.to_owned())),
                "iam" if named("user/") => Ok(PolicyPrincipal::User(id.to_owned())),
                "iam" if named("role/") => Ok(PolicyPrincipal::Role(id.to_owned())),
                "sts" if named("assumed-role/") => {
                    let rest = &resource["assumed-role/".len()..];
                    match rest.split_once('/') {
                        Some((role, session))
                            if !role.is_empty()
                                && !session.is_empty()
                                && !session.contains('/') =>
                        {
                            Ok(PolicyPrincipal::Session(id.to_owned()))
                        }
                        _ => Err(invalid()),
                    }
                }
                "sts" if named("federated-user/") => {
                    Ok(PolicyPrincipal::FederatedUser(id.to_owned()))
                }
                _ => Err(invalid()),
            }
        }
        "Service" if !id.is_empty() && !has_wildcard => Ok(PolicyPrincipal::Service(id.to_owned())),
        "Federated" if !id.is_empty() && !has_wildcard => {
            Ok(PolicyPrincipal::Federated(id.to_owned()))
        }
        "CanonicalUser" if !id.is_empty() && !has_wildcard => {
            Ok(PolicyPrincipal::CanonicalUser(id.to_owned()))
        }
        _ => Err(invalid()),
    }
}

/// `AIDA…`/`AROA…` unique IDs: a four-letter prefix and 17 upper-case letters or digits.
fn is_unique_id(id: &str) -> bool {
    id.len() == 21
        && (id.starts_with("AIDA") || id.starts_with("AROA"))
        && id
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
}

fn parse_actions(
    value: &Value,
    path: &JsonPath,
    statement: &JsonPath,
) -> Result<Vec<ActionPattern>, PolicyError> {
    let items = string_list(value, path)?;
    if items.is_empty() {
        return Err(PolicyError::MissingActions {
            path: statement.clone(),
        });
    }
    items
        .into_iter()
        .map(|(p, action)| parse_action(action, &p))
        .collect()
}

fn parse_action(action: &str, path: &JsonPath) -> Result<ActionPattern, PolicyError> {
    if action == "*" {
        return Ok(ActionPattern {
            vendor: None,
            name: vec![Tok::Star],
            literal: None,
        });
    }
    let mut parts = action.split(':');
    let (Some(vendor), Some(name)) = (parts.next(), parts.next()) else {
        return Err(PolicyError::MissingVendor {
            path: path.clone(),
            value: action.to_owned(),
        });
    };
    if parts.next().is_some() {
        return Err(PolicyError::TooManyColons {
            path: path.clone(),
            action: action.to_owned(),
        });
    }
    check_vendor(vendor, path)?;
    Ok(ActionPattern {
        vendor: (vendor != "*").then(|| vendor.to_ascii_lowercase()),
        name: compile_glob(name),
        literal: (name.is_ascii() && !name.contains(['*', '?'])).then(|| name.to_owned()),
    })
}

/// A service namespace is letters, digits, `-` and `.` (or `*` alone).
pub(super) fn check_vendor(vendor: &str, path: &JsonPath) -> Result<(), PolicyError> {
    let valid = vendor == "*"
        || (!vendor.is_empty()
            && vendor
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.'));
    if valid {
        Ok(())
    } else {
        Err(PolicyError::InvalidVendor {
            path: path.clone(),
            vendor: vendor.to_owned(),
        })
    }
}

fn parse_resources(
    value: &Value,
    path: &JsonPath,
    statement: &JsonPath,
    kind: PolicyKind,
    variables: bool,
) -> Result<Vec<Template>, PolicyError> {
    let items = string_list(value, path)?;
    if items.is_empty() {
        return Err(PolicyError::MissingResources {
            path: statement.clone(),
        });
    }
    items
        .into_iter()
        .map(|(p, resource)| {
            // IAM validates identity-policy resources strictly. Other services accept their own
            // forms (API Gateway expands `execute-api:/stage/GET/` itself), so those are taken
            // as written and matched as globs.
            if kind == PolicyKind::IdentityBased {
                check_arn(resource, &p)?;
            }
            Ok(Template::parse(resource, variables))
        })
        .collect()
}

fn check_arn(resource: &str, path: &JsonPath) -> Result<(), PolicyError> {
    if resource == "*" {
        return Ok(());
    }
    let Some(rest) = resource.strip_prefix("arn:") else {
        return Err(PolicyError::ResourceNotArn {
            path: path.clone(),
            resource: resource.to_owned(),
        });
    };
    let parts: Vec<&str> = rest.splitn(5, ':').collect();
    let partition = parts[0];
    if !PARTITIONS.contains(&partition) {
        return Err(PolicyError::InvalidPartition {
            path: path.clone(),
            partition: partition.to_owned(),
            resource: resource.to_owned(),
        });
    }
    match parts.get(1) {
        Some(service) if !service.is_empty() && !service.contains(['*', '?']) => {}
        _ => {
            return Err(PolicyError::ResourceVendorNotQualified {
                path: path.clone(),
                resource: resource.to_owned(),
            });
        }
    }
    if parts.len() < 5 {
        return Err(PolicyError::TruncatedArn {
            path: path.clone(),
            resource: resource.to_owned(),
        });
    }
    Ok(())
}

pub(super) fn as_object<'a>(
    value: &'a Value,
    path: &JsonPath,
    expected: &'static str,
) -> Result<&'a Map<String, Value>, PolicyError> {
    value.as_object().ok_or_else(|| PolicyError::WrongType {
        path: path.clone(),
        expected,
    })
}

fn as_str<'a>(value: &'a Value, path: &JsonPath) -> Result<&'a str, PolicyError> {
    value.as_str().ok_or_else(|| PolicyError::WrongType {
        path: path.clone(),
        expected: "a string",
    })
}

/// A string or a list of strings, each with its own path.
fn string_list<'a>(
    value: &'a Value,
    path: &JsonPath,
) -> Result<Vec<(JsonPath, &'a str)>, PolicyError> {
    match value {
        Value::String(s) => Ok(vec![(path.clone(), s)]),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .map(|(i, v)| {
                let p = path.index(i);
                let s = as_str(v, &p)?;
                Ok((p, s))
            })
            .collect(),
        _ => Err(PolicyError::WrongType {
            path: path.clone(),
            expected: "a string or a list of strings",
        }),
    }
}

/// Child path helpers for sibling modules.
pub(super) fn child_key(path: &JsonPath, key: &str) -> JsonPath {
    path.key(key)
}

/// Child path helpers for sibling modules.
pub(super) fn child_index(path: &JsonPath, i: usize) -> JsonPath {
    path.index(i)
}

/// A serde visitor that walks a JSON document and records the first duplicate object key in
/// `found`, aborting the walk when it finds one.
struct DuplicateCheck<'a> {
    path: JsonPath,
    found: &'a RefCell<Option<PolicyError>>,
}

impl<'de> serde::de::DeserializeSeed<'de> for DuplicateCheck<'_> {
    type Value = ();

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> serde::de::Visitor<'de> for DuplicateCheck<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any json value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }

    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }

    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }

    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }

    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }

    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let mut i = 0;
        while seq
            .next_element_seed(DuplicateCheck {
                path: self.path.index(i),
                found: self.found,
            })?
            .is_some()
        {
            i += 1;
        }
        Ok(())
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut seen = HashSet::new();
        while let Some(key) = map.next_key::<String>()? {
            if !seen.insert(key.clone()) {
                *self.found.borrow_mut() = Some(PolicyError::DuplicateKey {
                    path: self.path.clone(),
                    key,
                });
                return Err(serde::de::Error::custom("duplicate key"));
            }
            map.next_value_seed(DuplicateCheck {
                path: self.path.key(&key),
                found: self.found,
            })?;
        }
        Ok(())
    }
}
