//! The REST API as the model describes it: `AWS::ApiGateway::RestApi`, `::Resource`, `::Method`
//! (with its `Integration`), `::Deployment`, `::Stage`, and `AWS::ApiGatewayV2::VpcLink`.
//!
//! Property names and allowed values follow the CloudFormation template reference
//! (<https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-apigateway-method.html>,
//! `…-apigateway-method-integration.html`, `…-apigatewayv2-vpclink.html`).
//! [`crate::scenario`] fills these types; [`super::ApiGateway`] runs them.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use serde_json::Value;

/// API Gateway's integration timeout default: 29 seconds
/// (<https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-execution-service-limits-table.html>).
pub const DEFAULT_INTEGRATION_TIMEOUT: Duration = Duration::from_millis(29_000);

/// Shortest `TimeoutInMillis` API Gateway accepts.
pub const MIN_INTEGRATION_TIMEOUT_MS: u64 = 50;

/// The account's "Maximum integration timeout in milliseconds" quota when nobody raised it.
/// Regional and private REST APIs may get more through Service Quotas (2024-06, up to 300 000 ms);
/// `PutIntegration` refuses larger values with "Timeout should be between 50 ms and `<quota>` ms".
pub const DEFAULT_MAX_INTEGRATION_TIMEOUT_MS: u64 = 29_000;

/// `EndpointConfiguration.Types`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EndpointType {
    /// `REGIONAL`.
    Regional,
    /// `EDGE` (the default when `EndpointConfiguration` is omitted).
    Edge,
    /// `PRIVATE`: reachable only through an `execute-api` interface endpoint (not emulated yet).
    Private,
}

impl EndpointType {
    /// The API name.
    pub fn as_str(self) -> &'static str {
        match self {
            EndpointType::Regional => "REGIONAL",
            EndpointType::Edge => "EDGE",
            EndpointType::Private => "PRIVATE",
        }
    }
}

/// `AuthorizationType` of a method.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuthorizationType {
    /// `NONE`: open (a resource policy may still restrict it).
    None,
    /// `AWS_IAM`: SigV4 and `execute-api:Invoke`.
    AwsIam,
    /// `CUSTOM`: a Lambda authorizer (TOKEN or REQUEST), which vpcgate does not run.
    Custom,
    /// `COGNITO_USER_POOLS`: a Cognito user pool authorizer, which vpcgate does not run.
    CognitoUserPools,
}

impl AuthorizationType {
    /// The API name.
    pub fn as_str(self) -> &'static str {
        match self {
            AuthorizationType::None => "NONE",
            AuthorizationType::AwsIam => "AWS_IAM",
            AuthorizationType::Custom => "CUSTOM",
            AuthorizationType::CognitoUserPools => "COGNITO_USER_POOLS",
        }
    }
}

/// A method's `HttpMethod`: one verb or `ANY`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum MethodKey {
    /// `ANY`: every verb the resource has no own method for.
    Any,
    /// One verb (upper case).
    Verb(http::Method),
}

impl MethodKey {
    /// Parses `GET`, `POST`, …, `ANY` (case as AWS requires: upper).
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "ANY" => Some(MethodKey::Any),
            "GET" | "POST" | "PUT" | "DELETE" | "PATCH" | "HEAD" | "OPTIONS" => {
                http::Method::from_bytes(text.as_bytes())
                    .ok()
                    .map(MethodKey::Verb)
            }
            _ => None,
        }
    }
}

impl fmt::Display for MethodKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MethodKey::Any => f.write_str("ANY"),
            MethodKey::Verb(m) => f.write_str(m.as_str()),
        }
    }
}

/// A REST API.
#[derive(Clone, Debug, PartialEq)]
pub struct RestApiConfig {
    /// CloudFormation logical id.
    pub logical_id: String,
    /// The 10-character API id (`Ref`).
    pub id: String,
    /// `Name`.
    pub name: String,
    /// `EndpointConfiguration.Types[0]`.
    pub endpoint_type: EndpointType,
    /// `Policy`, with `execute-api:/…` shorthand resources expanded to full ARNs.
    pub policy: Option<Value>,
    /// `RootResourceId`.
    pub root_resource_id: String,
}

/// An `AWS::ApiGateway::Resource`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResourceConfig {
    /// CloudFormation logical id.
    pub logical_id: String,
    /// The resource id (`Ref`).
    pub id: String,
    /// `RestApiId`.
    pub rest_api_id: String,
    /// `ParentId`.
    pub parent_id: String,
    /// `PathPart`: a literal, `{name}` or `{name+}`.
    pub path_part: String,
}

/// Where an `HTTP_PROXY` integration's connection goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Connection {
    /// `ConnectionType: INTERNET` (the default): the public internet, which the emulated world
    /// does not have.
    Internet,
    /// `ConnectionType: VPC_LINK` with a VPC link V2, or a VPC link v1
    /// (`AWS::ApiGateway::VpcLink`, whose NLB is the target).
    VpcLink {
        /// `ConnectionId`: the VPC link's id.
        vpc_link_id: String,
        /// `IntegrationTarget`: the load balancer's ARN (AWS's documented form) or, as the seed
        /// writes it, one of its listeners' ARN. Empty for a VPC link v1 (its `TargetArns` name
        /// the NLB).
        target_arn: String,
    },
}

/// One `IntegrationResponses` entry (used by `MOCK`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IntegrationResponseConfig {
    /// `StatusCode`: the method response status.
    pub status_code: u16,
    /// `SelectionPattern`: a regular expression over the integration's status code; `None` is the
    /// default response.
    pub selection_pattern: Option<SelectionPattern>,
    /// `ResponseTemplates`: content type -> body (used verbatim; VTL is not evaluated).
    pub response_templates: BTreeMap<String, String>,
    /// `ResponseParameters` whose value is a static string (`'value'`): header name -> value.
    pub response_headers: BTreeMap<String, String>,
}

/// `Integration.Type`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum IntegrationKind {
    /// `HTTP_PROXY`: the request goes to `Uri` as it came, the response comes back as it came.
    HttpProxy {
        /// `IntegrationHttpMethod` (`ANY` passes the client's method on).
        http_method: MethodKey,
        /// `Uri`.
        uri: String,
        /// `ConnectionType` / `ConnectionId` / `IntegrationTarget`.
        connection: Connection,
    },
    /// `AWS`, `AWS_PROXY` (Lambda functions, AWS services) and `HTTP` (non-proxy): loaded as
    /// CloudFormation deploys them; vpcgate runs none of them, so a request gets what API Gateway
    /// answers when it cannot reach the integration.
    NotEmulated {
        /// `Type`.
        integration_type: &'static str,
        /// `Uri`.
        uri: String,
    },
    /// `MOCK`: API Gateway answers by itself.
    Mock {
        /// `RequestTemplates`: content type -> template; `{"statusCode": N}` picks the status.
        request_templates: BTreeMap<String, String>,
        /// `IntegrationResponses`.
        responses: Vec<IntegrationResponseConfig>,
    },
}

impl IntegrationKind {
    /// The API name of the type.
    pub fn type_name(&self) -> &'static str {
        match self {
            IntegrationKind::HttpProxy { .. } => "HTTP_PROXY",
            IntegrationKind::Mock { .. } => "MOCK",
            IntegrationKind::NotEmulated {
                integration_type, ..
            } => integration_type,
        }
    }
}

/// A method's `Integration`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IntegrationConfig {
    /// The type and its settings.
    pub kind: IntegrationKind,
    /// `TimeoutInMillis` (default 29 s).
    pub timeout: Duration,
}

/// An `AWS::ApiGateway::Method`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MethodConfig {
    /// CloudFormation logical id.
    pub logical_id: String,
    /// `RestApiId`.
    pub rest_api_id: String,
    /// `ResourceId`.
    pub resource_id: String,
    /// `HttpMethod`.
    pub http_method: MethodKey,
    /// `AuthorizationType`.
    pub authorization: AuthorizationType,
    /// `Integration` (a method without one cannot be deployed).
    pub integration: Option<IntegrationConfig>,
    /// `AuthorizerId`: the authorizer of a `CUSTOM` or `COGNITO_USER_POOLS` method.
    pub authorizer_id: Option<String>,
    /// `ApiKeyRequired`.
    pub api_key_required: bool,
    /// Where the template declares it.
    pub origin: MethodOrigin,
}

/// Which kind of authorizer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuthorizerKind {
    /// A Lambda authorizer reading one token (`TOKEN`).
    Token,
    /// A Lambda authorizer reading request parameters (`REQUEST`).
    Request,
    /// A Cognito user pool (`COGNITO_USER_POOLS`).
    CognitoUserPools,
}

/// An authorizer (`x-amazon-apigateway-authorizer`): loaded; vpcgate runs no Lambda function and
/// has no user pool, so a request that brings its identity sources gets API Gateway's answer for
/// an authorizer it cannot use (apigw::auth).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuthorizerConfig {
    /// CloudFormation logical id (the API's, for one an OpenAPI body declares).
    pub logical_id: String,
    /// The authorizer id (`Ref`).
    pub id: String,
    /// `RestApiId`.
    pub rest_api_id: String,
    /// `Name` (the security scheme's name in a body).
    pub name: String,
    /// Its type.
    pub kind: AuthorizerKind,
    /// `identitySource`: `method.request.header.X`, `method.request.querystring.X`, … (a request
    /// missing one is refused before the authorizer would run).
    pub identity_sources: Vec<String>,
}

/// Where a method comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MethodOrigin {
    /// An `AWS::ApiGateway::Method` resource.
    Template,
    /// An operation of the REST API's OpenAPI `Body`.
    OpenApi {
        /// Its path in the template (`Properties.Body.paths./items.get`).
        at: String,
    },
}

/// An `AWS::ApiGateway::Deployment`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeploymentConfig {
    /// CloudFormation logical id.
    pub logical_id: String,
    /// The deployment id (`Ref`).
    pub id: String,
    /// `RestApiId`.
    pub rest_api_id: String,
    /// `StageName`: the stage this deployment creates, if any.
    pub stage_name: Option<String>,
}

/// An `AWS::ApiGateway::Stage`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StageConfig {
    /// CloudFormation logical id.
    pub logical_id: String,
    /// `RestApiId`.
    pub rest_api_id: String,
    /// `StageName`.
    pub name: String,
    /// `DeploymentId`.
    pub deployment_id: String,
    /// `TracingEnabled` (X-Ray).
    pub tracing_enabled: bool,
}

/// An `AWS::ApiGatewayV2::VpcLink` (VPC link V2, usable by REST APIs since 2025-11).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VpcLinkConfig {
    /// CloudFormation logical id.
    pub logical_id: String,
    /// The VPC link id (`Ref`).
    pub id: String,
    /// `Name`.
    pub name: String,
    /// The VPC its subnets are in.
    pub vpc_id: String,
    /// `SubnetIds` (one ENI each).
    pub subnet_ids: Vec<String>,
    /// `SecurityGroupIds` (the ENIs' groups; their egress rules apply to integration traffic).
    pub security_groups: Vec<String>,
}

/// An `AWS::ApiGateway::VpcLink` (VPC link v1): API Gateway reaches a Network Load Balancer
/// through AWS PrivateLink (<https://docs.aws.amazon.com/apigateway/latest/developerguide/set-up-private-integration.html>).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VpcLinkV1Config {
    /// CloudFormation logical id.
    pub logical_id: String,
    /// The VPC link id (`Ref`).
    pub id: String,
    /// `Name`.
    pub name: String,
    /// `TargetArns`: one NLB ARN.
    pub target_arns: Vec<String>,
}

/// Every API Gateway resource a scenario declares.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ApiGatewayModel {
    /// REST APIs.
    pub rest_apis: Vec<RestApiConfig>,
    /// Resources (paths).
    pub resources: Vec<ResourceConfig>,
    /// Methods.
    pub methods: Vec<MethodConfig>,
    /// Deployments.
    pub deployments: Vec<DeploymentConfig>,
    /// Stages.
    pub stages: Vec<StageConfig>,
    /// Authorizers (Lambda, Cognito).
    pub authorizers: Vec<AuthorizerConfig>,
    /// VPC links (V2).
    pub vpc_links: Vec<VpcLinkConfig>,
    /// VPC links v1 (REST APIs to an NLB).
    pub vpc_links_v1: Vec<VpcLinkV1Config>,
    /// HTTP APIs (v2): APIs, routes, integrations, stages, authorizers, JWKS.
    pub http: super::http_api::HttpApiModel,
}

impl ApiGatewayModel {
    /// The REST API with this id.
    pub fn rest_api(&self, id: &str) -> Option<&RestApiConfig> {
        self.rest_apis.iter().find(|a| a.id == id)
    }

    /// The authorizer `id` of the REST API `rest_api_id`.
    pub fn authorizer(&self, rest_api_id: &str, id: &str) -> Option<&AuthorizerConfig> {
        self.authorizers
            .iter()
            .find(|a| a.rest_api_id == rest_api_id && a.id == id)
    }

    /// The REST API with this logical id, name or id.
    pub fn find_rest_api(&self, key: &str) -> Option<&RestApiConfig> {
        self.rest_apis
            .iter()
            .find(|a| a.logical_id == key || a.id == key || a.name == key)
    }

    /// The full path of a resource (`/`, `/items`, `/items/{id}`), or `None` if a parent is
    /// missing or the parents loop.
    pub fn resource_path(&self, rest_api_id: &str, resource_id: &str) -> Option<String> {
        let api = self.rest_api(rest_api_id)?;
        let mut parts = Vec::new();
        let mut current = resource_id.to_string();
        for _ in 0..=self.resources.len() {
            if current == api.root_resource_id {
                parts.reverse();
                return Some(format!("/{}", parts.join("/")));
            }
            let r = self
                .resources
                .iter()
                .find(|r| r.id == current && r.rest_api_id == rest_api_id)?;
            parts.push(r.path_part.clone());
            current = r.parent_id.clone();
        }
        None
    }
}

/// The subset of Java regular expressions status-code selection patterns use in practice:
/// literals, `.`, `\d`, character classes `[..]`, alternation `|`, and the `*`, `+`, `?`,
/// `{n}`, `{n,m}` quantifiers. Anything else is refused at load, so nothing is matched by
/// guesswork.
///
/// API Gateway matches a `SelectionPattern` against the whole status code (or error message).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SelectionPattern {
    source: String,
    alternatives: Vec<Vec<(Atom, usize, usize)>>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Atom {
    Char(char),
    Any,
    Digit,
    Class(Vec<(char, char)>),
}

impl SelectionPattern {
    /// Parses a pattern; `None` for syntax outside the subset.
    pub fn parse(pattern: &str) -> Option<Self> {
        let mut alternatives = Vec::new();
        for alt in pattern.split('|') {
            let chars: Vec<char> = alt.chars().collect();
            let mut i = 0;
            let mut seq = Vec::new();
            while i < chars.len() {
                let atom = match chars[i] {
                    '.' => Atom::Any,
                    '\\' => {
                        i += 1;
                        match chars.get(i)? {
                            'd' => Atom::Digit,
                            c if !c.is_ascii_alphanumeric() => Atom::Char(*c),
                            _ => return None,
                        }
                    }
                    '[' => {
                        let mut ranges = Vec::new();
                        i += 1;
                        while *chars.get(i)? != ']' {
                            let a = chars[i];
                            if chars.get(i + 1) == Some(&'-')
                                && chars.get(i + 2).is_some_and(|c| *c != ']')
                            {
                                ranges.push((a, chars[i + 2]));
                                i += 3;
                            } else {
                                ranges.push((a, a));
                                i += 1;
                            }
                        }
                        Atom::Class(ranges)
                    }
                    '(' | ')' | '{' | '}' | '^' | '$' | '*' | '+' | '?' => return None,
                    c => Atom::Char(c),
                };
                i += 1;
                let (min, max) = match chars.get(i) {
                    Some('*') => (0, usize::MAX),
                    Some('+') => (1, usize::MAX),
                    Some('?') => (0, 1),
                    Some('{') => {
                        let close = chars[i..].iter().position(|c| *c == '}')? + i;
                        let inner: String = chars[i + 1..close].iter().collect();
                        i = close;
                        match inner.split_once(',') {
                            None => {
                                let n = inner.parse().ok()?;
                                (n, n)
                            }
                            Some((a, b)) => (a.parse().ok()?, b.parse().ok()?),
                        }
                    }
                    _ => {
                        i -= 1;
                        (1, 1)
                    }
                };
                i += 1;
                if min > max {
                    return None;
                }
                seq.push((atom, min, max));
            }
            alternatives.push(seq);
        }
        Some(Self {
            source: pattern.to_string(),
            alternatives,
        })
    }

    /// The pattern as written.
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// Whether the whole `text` matches.
    pub fn matches(&self, text: &str) -> bool {
        let chars: Vec<char> = text.chars().collect();
        self.alternatives.iter().any(|seq| matches_seq(seq, &chars))
    }
}

fn atom_matches(atom: &Atom, c: char) -> bool {
    match atom {
        Atom::Char(x) => *x == c,
        Atom::Any => true,
        Atom::Digit => c.is_ascii_digit(),
        Atom::Class(ranges) => ranges.iter().any(|(a, b)| *a <= c && c <= *b),
    }
}

fn matches_seq(seq: &[(Atom, usize, usize)], text: &[char]) -> bool {
    let Some(((atom, min, max), rest)) = seq.split_first() else {
        return text.is_empty();
    };
    let mut n = 0;
    loop {
        if n >= *min && matches_seq(rest, &text[n..]) {
            return true;
        }
        if n < *max && n < text.len() && atom_matches(atom, text[n]) {
            n += 1;
        } else {
            return false;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selection_patterns_match_whole_status_codes() {
        let p = SelectionPattern::parse("2\\d{2}").unwrap();
        assert!(p.matches("200") && p.matches("204") && !p.matches("20") && !p.matches("2000"));
        let p = SelectionPattern::parse("4\\d\\d|5.*").unwrap();
        assert!(p.matches("404") && p.matches("500") && p.matches("5"));
        assert!(!p.matches("200") && !p.matches("4040"));
        let p = SelectionPattern::parse("[23]0[0-9]").unwrap();
        assert!(p.matches("204") && p.matches("301") && !p.matches("404"));
        assert!(SelectionPattern::parse("(a)").is_none());
    }
}
