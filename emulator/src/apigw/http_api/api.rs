//! HTTP APIs (API Gateway v2) as the model describes them: `AWS::ApiGatewayV2::Api`, `::Route`,
//! `::Integration`, `::Stage`, `::Authorizer` (the VPC link is the REST API's
//! [`crate::apigw::VpcLinkConfig`]: the same `AWS::ApiGatewayV2::VpcLink`).
//!
//! Property names and values follow the CloudFormation template reference
//! (<https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-apigatewayv2-api.html>,
//! `…-apigatewayv2-route.html`, `…-apigatewayv2-integration.html`, `…-apigatewayv2-stage.html`,
//! `…-apigatewayv2-authorizer.html`). [`crate::scenario`] fills these types;
//! [`super::HttpApis`] runs them.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use serde_json::Value;

use super::mapping::ParameterMapping;
use super::route::RouteKey;

/// HTTP APIs' integration timeout: 50 to 30 000 ms, 30 000 by default
/// (<https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-quotas.html>:
/// "Maximum integration timeout 30 seconds"; `TimeoutInMillis` in
/// <https://docs.aws.amazon.com/apigatewayv2/latest/api-reference/apis-apiid-integrations.html>:
/// "between 50 and 30,000 milliseconds … The default timeout is 30 seconds for HTTP APIs").
pub const DEFAULT_TIMEOUT: Duration = Duration::from_millis(30_000);
/// Shortest `TimeoutInMillis`.
pub const MIN_TIMEOUT_MS: u64 = 50;
/// Longest `TimeoutInMillis` of an HTTP API.
pub const MAX_TIMEOUT_MS: u64 = 30_000;

/// An `AWS::ApiGatewayV2::Api` with `ProtocolType: HTTP`.
#[derive(Clone, Debug, PartialEq)]
pub struct HttpApiConfig {
    /// CloudFormation logical id.
    pub logical_id: String,
    /// The 10-character API id (`Ref`).
    pub id: String,
    /// `Name`.
    pub name: String,
    /// `DisableExecuteApiEndpoint`: the default endpoint answers nothing (403 Forbidden).
    pub disable_execute_api_endpoint: bool,
}

/// `AuthorizationType` of a route.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RouteAuth {
    /// `NONE`.
    None,
    /// `AWS_IAM`: SigV4 and the caller's identity policies (HTTP APIs have no resource policy).
    AwsIam,
    /// `JWT`: the authorizer's issuer and audience, and at least one of the route's scopes.
    Jwt {
        /// `AuthorizerId`.
        authorizer_id: String,
        /// `AuthorizationScopes`.
        scopes: Vec<String>,
    },
}

impl RouteAuth {
    /// The API name.
    pub fn as_str(&self) -> &'static str {
        match self {
            RouteAuth::None => "NONE",
            RouteAuth::AwsIam => "AWS_IAM",
            RouteAuth::Jwt { .. } => "JWT",
        }
    }
}

/// An `AWS::ApiGatewayV2::Route`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpRouteConfig {
    /// CloudFormation logical id.
    pub logical_id: String,
    /// The route id (`Ref`).
    pub id: String,
    /// `ApiId`.
    pub api_id: String,
    /// `RouteKey`.
    pub key: RouteKey,
    /// `AuthorizationType` (+ `AuthorizerId`, `AuthorizationScopes`).
    pub auth: RouteAuth,
    /// The integration id of `Target` (`integrations/{id}`).
    pub integration_id: Option<String>,
}

/// Where an `HTTP_PROXY` integration connects.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HttpConnection {
    /// `ConnectionType: INTERNET`: `IntegrationUri` is a URL.
    Internet {
        /// `IntegrationUri`.
        uri: String,
    },
    /// `ConnectionType: VPC_LINK`: `IntegrationUri` is an ALB or NLB listener ARN.
    VpcLink {
        /// `ConnectionId`.
        vpc_link_id: String,
        /// `IntegrationUri`: the listener ARN.
        listener_arn: String,
        /// `TlsConfig.ServerNameToVerify`: HTTPS to the listener, verified for this name.
        server_name_to_verify: Option<String>,
    },
    /// An integration of a kind vpcgate does not run (`AWS_PROXY`: a Lambda function or an AWS
    /// service). It loads, as CloudFormation deploys it; a request that reaches it gets what an
    /// unreachable integration gives, 500 `{"message":"Internal Server Error"}`.
    NotEmulated {
        /// `IntegrationType`.
        integration_type: String,
        /// `IntegrationUri` (a Lambda function ARN …), or empty.
        uri: String,
    },
}

/// An `AWS::ApiGatewayV2::Integration` of type `HTTP_PROXY`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpIntegrationConfig {
    /// CloudFormation logical id.
    pub logical_id: String,
    /// The integration id (`Ref`).
    pub id: String,
    /// `ApiId`.
    pub api_id: String,
    /// `IntegrationMethod`: `ANY` passes the client's method on.
    pub method: Option<http::Method>,
    /// `ConnectionType`, `ConnectionId`, `IntegrationUri`.
    pub connection: HttpConnection,
    /// `TimeoutInMillis`.
    pub timeout: Duration,
    /// `PayloadFormatVersion` (`1.0` for HTTP integrations).
    pub payload_format_version: String,
    /// `RequestParameters`, parsed.
    pub request_parameters: Vec<ParameterMapping>,
}

/// An `AWS::ApiGatewayV2::Stage`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpStageConfig {
    /// CloudFormation logical id.
    pub logical_id: String,
    /// `ApiId`.
    pub api_id: String,
    /// `StageName` (`$default` for the default stage).
    pub name: String,
    /// `AutoDeploy`.
    pub auto_deploy: bool,
    /// `DeploymentId`.
    pub deployment_id: Option<String>,
    /// `StageVariables`.
    pub variables: BTreeMap<String, String>,
}

/// An `AWS::ApiGatewayV2::Authorizer` of type `JWT`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JwtAuthorizerConfig {
    /// CloudFormation logical id.
    pub logical_id: String,
    /// The authorizer id (`Ref`).
    pub id: String,
    /// `ApiId`.
    pub api_id: String,
    /// `Name`.
    pub name: String,
    /// `JwtConfiguration.Issuer`.
    pub issuer: String,
    /// `JwtConfiguration.Audience`.
    pub audience: Vec<String>,
    /// `IdentitySource[0]`: `$request.header.Authorization` by default.
    pub identity_source: String,
}

/// Every HTTP API resource of a scenario, and the JWKS documents it declares
/// (`Vpcgate.Jwks`: issuer -> `{"keys": [...]}`, what `{issuer}/.well-known/openid-configuration`'s
/// `jwks_uri` would serve; the emulated world has no internet to fetch it from).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct HttpApiModel {
    /// APIs.
    pub apis: Vec<HttpApiConfig>,
    /// Routes.
    pub routes: Vec<HttpRouteConfig>,
    /// Integrations.
    pub integrations: Vec<HttpIntegrationConfig>,
    /// Stages.
    pub stages: Vec<HttpStageConfig>,
    /// JWT authorizers.
    pub authorizers: Vec<JwtAuthorizerConfig>,
    /// `Vpcgate.Jwks`.
    pub jwks: BTreeMap<String, Value>,
}

impl HttpApiModel {
    /// The API with this id.
    pub fn api(&self, id: &str) -> Option<&HttpApiConfig> {
        self.apis.iter().find(|a| a.id == id)
    }

    /// The API with this logical id, name or id.
    pub fn find_api(&self, key: &str) -> Option<&HttpApiConfig> {
        self.apis
            .iter()
            .find(|a| a.logical_id == key || a.id == key || a.name == key)
    }
}

impl fmt::Display for HttpConnection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HttpConnection::Internet { uri } => write!(f, "INTERNET {uri}"),
            HttpConnection::VpcLink {
                vpc_link_id,
                listener_arn,
                ..
            } => write!(f, "VPC_LINK {vpc_link_id} -> {listener_arn}"),
            HttpConnection::NotEmulated {
                integration_type,
                uri,
            } => write!(f, "{integration_type} {uri} (not emulated)"),
        }
    }
}
