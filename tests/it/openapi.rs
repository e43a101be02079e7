//! REST APIs defined by an OpenAPI `Body` (issue 15), imported as API Gateway's `PutRestApi`
//! imports them: SAM end to end (a SAM state machine calling a SAM-defined REST API with
//! AWS_IAM), the bundled `rest-api-openapi.json` cases, what the import builds, the RestApi
//! properties that override the body, and the load errors, which name the body's own keys.

use std::path::PathBuf;

use serde_json::json;
use vpcgate::apigw::rest_api::{AuthorizationType, EndpointType, IntegrationKind, MethodKey};
use vpcgate::check::{run_file, table};
use vpcgate::model::Model;
use vpcgate::scenario::stacks::{Environment, Loaded, StackSpec, load};
use vpcgate_tests::scenario;

fn templates() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/templates")
}

/// Loads one template text as a stack (no environment).
fn load_text(name: &str, text: &str) -> Result<Loaded, String> {
    let dir = std::env::temp_dir().join(format!("vpcgate-openapi-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("template.yaml");
    std::fs::write(&path, text).unwrap();
    let spec = StackSpec {
        name: "openapi".into(),
        template: path,
        parameters: Default::default(),
        body: None,
    };
    let result = load(&[spec], &Environment::default(), &[]).map_err(|e| e.to_string());
    let _ = std::fs::remove_dir_all(&dir);
    result
}

/// Full paths of the API's resources, sorted.
fn resource_paths(model: &Model, api: &str) -> Vec<String> {
    let mut paths: Vec<String> = model
        .apigw
        .resources
        .iter()
        .filter(|r| r.rest_api_id == api)
        .map(|r| model.apigw.resource_path(api, &r.id).unwrap())
        .collect();
    paths.sort();
    paths
}

/// Issue 15's "done when": a SAM state machine calls a SAM-defined REST API with AWS_IAM. SAM's
/// translator writes the API as an `AWS::ApiGateway::RestApi` with a `Body` (OpenAPI 3.0,
/// the `AWS_IAM` awsSigv4 scheme on every method), a Deployment (with SAM's `Stage` stage) and
/// the `prod` Stage; the execution returns the ALB's fixed response through the VPC link, and the
/// role SAM generates without execute-api:Invoke on GET gets API Gateway's 403 texts.
#[test]
fn sam_state_machine_calls_a_sam_defined_rest_api_with_aws_iam() {
    let outcomes = run_file(&templates().join("sam-rest-api.json"));
    assert_eq!(outcomes.len(), 2);
    assert!(
        outcomes.iter().all(|o| o.passed),
        "\n{}\n{}",
        table(&outcomes),
        outcomes
            .iter()
            .map(|o| o.trace.render())
            .collect::<Vec<_>>()
            .join("\n")
    );
    let ok = &outcomes[0].result;
    assert_eq!(ok["StatusCode"], 200);
    assert_eq!(
        ok["ResponseBody"],
        json!({"status": "ok", "source": "internal-alb"})
    );
    let cause = outcomes[1].result["cause"].as_str().unwrap();
    // AccessDeniedException's capital-M Message naming the role session SAM's role runs as.
    assert!(
        cause.starts_with("{\"Message\":\"User: arn:aws:sts::123456789012:assumed-role/"),
        "{cause}"
    );
    assert!(
        cause.contains("-SamDeniedStateMachineRole-")
            && cause.ends_with(
                "/prod/GET/ because no identity-based policy allows the execute-api:Invoke action\"}"
            ),
        "{cause}"
    );

    // What the import built from SAM's body.
    let s = vpcgate::scenario::Scenario::load(&templates().join("sam-rest-api.json")).unwrap();
    let (model, _) = s.build(&Default::default()).unwrap();
    let api = model
        .apigw
        .find_rest_api("SamRestApi")
        .expect("the SAM API");
    assert_eq!(api.name, "eb-demo-sam-rest-api");
    assert_eq!(api.endpoint_type, EndpointType::Regional);
    assert_eq!(
        resource_paths(&model, &api.id),
        ["/items", "/items/{proxy+}"]
    );
    let methods: Vec<_> = model
        .apigw
        .methods
        .iter()
        .filter(|m| m.rest_api_id == api.id)
        .collect();
    assert_eq!(methods.len(), 2);
    assert!(
        methods
            .iter()
            .all(|m| m.authorization == AuthorizationType::AwsIam)
    );
    let mut stages: Vec<&str> = model
        .apigw
        .stages
        .iter()
        .filter(|s| s.rest_api_id == api.id)
        .map(|s| s.name.as_str())
        .chain(
            model
                .apigw
                .deployments
                .iter()
                .filter(|d| d.rest_api_id == api.id)
                .filter_map(|d| d.stage_name.as_deref()),
        )
        .collect();
    stages.sort();
    // SAM's Deployment carries StageName "Stage", so AWS creates that stage too.
    assert_eq!(stages, ["Stage", "prod"]);
    assert!(
        !model
            .not_emulated
            .iter()
            .any(|n| n.resource_type.starts_with("AWS::ApiGateway::")),
        "{:?}",
        model.not_emulated
    );
}

/// Every case of the bundled `rest-api-openapi.json` (OpenAPI 2.0 body): the seed's output, the
/// body's resource policy, MOCK, an unreachable aws_proxy integration, a greedy path, unknown
/// paths and verbs.
#[test]
fn rest_api_openapi_scenario_cases() {
    vpcgate_tests::run_all("rest-api-openapi.json");
}

/// The 2.0 body's import: a resource per path part (intermediate ones too), the name from
/// info.title, the basePath ignored (the import's default), security per operation, integrations
/// of each type, and the body's policy with `execute-api:/` expanded.
#[test]
fn body_import_builds_resources_methods_and_the_api() {
    let s = scenario("rest-api-openapi.json");
    let (model, _) = s.build(&Default::default()).unwrap();
    let api = model.apigw.find_rest_api("RestApi").unwrap();
    assert_eq!(api.name, "eb-demo-openapi-rest-api");
    assert_eq!(
        resource_paths(&model, &api.id),
        [
            "/admin",
            "/files",
            "/files/{proxy+}",
            "/health",
            "/health/{id}",
            "/keyed",
            "/orders",
            "/profile"
        ]
    );
    for r in model
        .apigw
        .resources
        .iter()
        .filter(|r| r.rest_api_id == api.id)
    {
        assert!(
            r.id.len() == 6
                && r.id
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit()),
            "{}",
            r.id
        );
    }
    let method = |path: &str, verb: MethodKey| {
        model
            .apigw
            .methods
            .iter()
            .find(|m| {
                m.rest_api_id == api.id
                    && m.http_method == verb
                    && model
                        .apigw
                        .resource_path(&api.id, &m.resource_id)
                        .as_deref()
                        == Some(path)
            })
            .unwrap_or_else(|| panic!("{verb} {path}"))
    };
    let get = |p| method(p, MethodKey::parse("GET").unwrap());
    assert_eq!(get("/").authorization, AuthorizationType::AwsIam);
    assert_eq!(get("/health/{id}").authorization, AuthorizationType::None);
    assert!(matches!(
        get("/").integration.as_ref().unwrap().kind,
        IntegrationKind::HttpProxy { .. }
    ));
    assert!(matches!(
        get("/health/{id}").integration.as_ref().unwrap().kind,
        IntegrationKind::Mock { .. }
    ));
    let post = method("/orders", MethodKey::parse("POST").unwrap());
    assert!(matches!(
        &post.integration.as_ref().unwrap().kind,
        IntegrationKind::NotEmulated { integration_type: "AWS_PROXY", uri } if uri.contains(":function:orders/")
    ));
    assert!(matches!(
        method("/files/{proxy+}", MethodKey::Any)
            .integration
            .as_ref()
            .unwrap()
            .kind,
        IntegrationKind::HttpProxy { .. }
    ));
    // Authorizers and API keys load (their requests: the scenario's cases).
    assert_eq!(get("/admin").authorization, AuthorizationType::Custom);
    let admin = get("/admin");
    let authorizer = model
        .apigw
        .authorizer(&api.id, admin.authorizer_id.as_deref().unwrap())
        .unwrap();
    assert_eq!(authorizer.name, "tokenAuthorizer");
    assert_eq!(
        authorizer.identity_sources,
        ["method.request.header.Authorization"]
    );
    assert_eq!(
        get("/profile").authorization,
        AuthorizationType::CognitoUserPools
    );
    assert!(get("/keyed").api_key_required && !get("/profile").api_key_required);
    let policy = api.policy.as_ref().unwrap().to_string();
    assert!(
        policy.contains(&format!(
            "arn:aws:execute-api:ap-northeast-1:123456789012:{}/prod/GET/",
            api.id
        )),
        "{policy}"
    );
}

const NETWORK: &str = r#"
  Vpc:
    Type: AWS::EC2::VPC
    Properties:
      CidrBlock: 10.0.0.0/16
  Subnet:
    Type: AWS::EC2::Subnet
    Properties:
      VpcId: !Ref Vpc
      CidrBlock: 10.0.0.0/24
      AvailabilityZone: us-east-1a
  Subnet2:
    Type: AWS::EC2::Subnet
    Properties:
      VpcId: !Ref Vpc
      CidrBlock: 10.0.1.0/24
      AvailabilityZone: us-east-1b
  LinkSg:
    Type: AWS::EC2::SecurityGroup
    Properties:
      GroupDescription: link
      VpcId: !Ref Vpc
  Alb:
    Type: AWS::ElasticLoadBalancingV2::LoadBalancer
    Properties:
      Scheme: internal
      Subnets: [!Ref Subnet, !Ref Subnet2]
  Listener:
    Type: AWS::ElasticLoadBalancingV2::Listener
    Properties:
      LoadBalancerArn: !Ref Alb
      Port: 80
      Protocol: HTTP
      DefaultActions:
        - Type: fixed-response
          FixedResponseConfig: {StatusCode: "200"}
  Link:
    Type: AWS::ApiGatewayV2::VpcLink
    Properties:
      Name: link
      SubnetIds: [!Ref Subnet]
      SecurityGroupIds: [!Ref LinkSg]
"#;

/// `Name`, `Policy`, `EndpointConfiguration` and `Parameters` on the resource override the body
/// (aws-resource-apigateway-restapi.html); `basepath: prepend` puts the base path's parts before
/// every path, `split` drops its first part; the body's vpcEndpointIds apply when the property
/// names none; an unquoted `swagger: 2.0` (a YAML number) is read as the version.
#[test]
fn properties_override_the_body_and_basepath_modes() {
    let template = |api_props: &str| {
        format!(
            r#"Resources:{NETWORK}
  Api:
    Type: AWS::ApiGateway::RestApi
    Properties:
{api_props}
      Body:
        swagger: 2.0
        info: {{title: from-the-body}}
        basePath: /stage/v1
        x-amazon-apigateway-endpoint-configuration:
          vpcEndpointIds: [vpce-0123456789abcdef0]
        x-amazon-apigateway-policy:
          Version: "2012-10-17"
          Statement:
            - {{Effect: Deny, Principal: "*", Action: execute-api:Invoke, Resource: "execute-api:/*"}}
        paths:
          /items:
            get:
              x-amazon-apigateway-integration:
                type: mock
                requestTemplates: {{application/json: '{{"statusCode": 200}}'}}
                responses: {{default: {{statusCode: "200"}}}}
"#
        )
    };
    let overridden = template(
        r#"      Name: from-the-property
      Parameters: {basepath: prepend, endpointConfigurationTypes: REGIONAL}
      EndpointConfiguration: {Types: [PRIVATE]}
      Policy:
        Version: "2012-10-17"
        Statement:
          - {Effect: Allow, Principal: "*", Action: execute-api:Invoke, Resource: "execute-api:/*"}"#,
    );
    let l = load_text("override", &overridden).unwrap_or_else(|e| panic!("{e}"));
    let api = l.model.apigw.find_rest_api("Api").unwrap();
    assert_eq!(api.name, "from-the-property");
    assert_eq!(api.endpoint_type, EndpointType::Private);
    assert!(api.policy.as_ref().unwrap().to_string().contains("Allow"));
    assert_eq!(
        resource_paths(&l.model, &api.id),
        ["/stage", "/stage/v1", "/stage/v1/items"]
    );
    assert_eq!(
        l.model.ec2.api_endpoint_associations,
        [(api.id.clone(), "vpce-0123456789abcdef0".to_string())]
    );

    let from_body =
        template("      Parameters: {basepath: split, endpointConfigurationTypes: REGIONAL}");
    let l = load_text("body", &from_body).unwrap_or_else(|e| panic!("{e}"));
    let api = l.model.apigw.find_rest_api("Api").unwrap();
    assert_eq!(api.name, "from-the-body");
    assert_eq!(api.endpoint_type, EndpointType::Regional);
    assert!(api.policy.as_ref().unwrap().to_string().contains("Deny"));
    assert_eq!(resource_paths(&l.model, &api.id), ["/v1", "/v1/items"]);

    let ignored = template("");
    let l = load_text("ignore", &ignored).unwrap_or_else(|e| panic!("{e}"));
    let api = l.model.apigw.find_rest_api("Api").unwrap();
    assert_eq!(api.endpoint_type, EndpointType::Edge);
    assert_eq!(resource_paths(&l.model, &api.id), ["/items"]);
}

/// Load errors of a body name the body's own keys, with API Gateway's texts; BodyS3Location
/// says what to do instead.
#[test]
fn body_errors_name_the_body_keys() {
    let bad = format!(
        r#"Resources:{NETWORK}
  Api:
    Type: AWS::ApiGateway::RestApi
    Properties:
      Body:
        openapi: "3.0.1"
        info: {{title: bad}}
        paths:
          /slow:
            get:
              x-amazon-apigateway-integration:
                type: http_proxy
                httpMethod: GET
                uri: http://backend.internal/
                connectionType: VPC_LINK
                connectionId: nope123
                integrationTarget: !Ref Listener
                timeoutInMillis: 30000
          /a b:
            get:
              x-amazon-apigateway-integration: {{type: mock}}
          /kind:
            get:
              x-amazon-apigateway-integration: {{type: carrier_pigeon}}
  Deployment:
    Type: AWS::ApiGateway::Deployment
    Properties:
      RestApiId: !Ref Api
"#
    );
    let e = load_text("bad", &bad).unwrap_err();
    for text in [
        "Body.paths./slow.get.x-amazon-apigateway-integration.timeoutInMillis",
        "Timeout should be between 50 ms and 29000 ms",
        "Body.paths./slow.get.x-amazon-apigateway-integration.connectionId",
        "Invalid VPC link identifier specified: nope123",
        "Resource's path part only allow a-zA-Z0-9._-",
        "Body.paths./kind.get.x-amazon-apigateway-integration.type",
        "Invalid integration type specified: CARRIER_PIGEON",
        // The deployment names the operation that has no (valid) integration.
        "No integration defined for method (method GET of Api Properties.Body.paths./kind.get)",
    ] {
        assert!(e.contains(text), "{text:?} not in:\n{e}");
    }

    let s3 = "Resources:\n  Api:\n    Type: AWS::ApiGateway::RestApi\n    Properties:\n      BodyS3Location: {Bucket: my-bucket, Key: api/openapi.yaml}\n";
    let e = load_text("s3", s3).unwrap_err();
    assert!(
        e.contains("BodyS3Location s3://my-bucket/api/openapi.yaml cannot be read offline")
            && e.contains("inline as Body"),
        "{e}"
    );
}

/// `AWS::ApiGateway::Authorizer` and methods naming it (`CUSTOM`, `COGNITO_USER_POOLS`) load like
/// the body's authorizers; a method without `AuthorizerId`, or naming none of the API's, is
/// refused as PutMethod refuses it; `ApiKeyRequired` loads.
#[test]
fn template_authorizers_and_api_keys_load() {
    let template = |authorizer_id: &str| {
        format!(
            r#"Resources:
  Api:
    Type: AWS::ApiGateway::RestApi
    Properties: {{Name: api}}
  Pool:
    Type: AWS::ApiGateway::Authorizer
    Properties:
      RestApiId: !Ref Api
      Name: pool
      Type: COGNITO_USER_POOLS
      IdentitySource: method.request.header.Authorization
      ProviderARNs: [arn:aws:cognito-idp:us-east-1:123456789012:userpool/us-east-1_example]
  Get:
    Type: AWS::ApiGateway::Method
    Properties:
      RestApiId: !Ref Api
      ResourceId: !GetAtt Api.RootResourceId
      HttpMethod: GET
      AuthorizationType: COGNITO_USER_POOLS
{authorizer_id}
      ApiKeyRequired: true
      Integration:
        Type: MOCK
        RequestTemplates: {{application/json: '{{"statusCode": 200}}'}}
        IntegrationResponses: [{{StatusCode: "200"}}]
"#
        )
    };
    let l = load_text("cfn-authorizer", &template("      AuthorizerId: !Ref Pool"))
        .unwrap_or_else(|e| panic!("{e}"));
    let m = &l.model.apigw.methods[0];
    assert_eq!(m.authorization, AuthorizationType::CognitoUserPools);
    assert!(m.api_key_required);
    let a = l
        .model
        .apigw
        .authorizer(&m.rest_api_id, m.authorizer_id.as_deref().unwrap())
        .expect("the method's authorizer");
    assert_eq!(a.name, "pool");
    assert_eq!(a.identity_sources, ["method.request.header.Authorization"]);

    let e = load_text("cfn-no-authorizer", &template("")).unwrap_err();
    assert!(
        e.contains("COGNITO_USER_POOLS methods need AuthorizerId"),
        "{e}"
    );
    let e = load_text(
        "cfn-wrong-authorizer",
        &template("      AuthorizerId: abc123"),
    )
    .unwrap_err();
    assert!(e.contains("Invalid authorizer ID specified: abc123"), "{e}");
}
