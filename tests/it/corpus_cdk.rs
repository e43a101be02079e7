//! The CDK corpus: CloudFormation templates synthesized by the AWS CDK from apps of our own
//! (tests/fixtures/cdk/<app>/app.py, L2 constructs as CDK users write them), each loaded as
//! `vpcgate check --stack` loads it into the account of tests/fixtures/cdk/environment.json (a
//! bootstrapped account: the SSM parameter /cdk-bootstrap/hnb659fds/version), its world started,
//! and the cases of the app's cases.json run on it end to end.
//!
//! The templates are not in this repository: they are synthesized, not written. scripts/test.sh
//! installs the CDK's Python distribution (`aws-cdk-lib`, `constructs`, pinned by version and
//! sha256 in tests/fixtures/cdk/requirements.txt) into a virtual environment in a cache outside
//! the tree, runs each `app.py <outdir>` (`cdk synth` without the CLI), and exports
//! `VPCGATE_CDK_TEMPLATES` (`<app>/<Stack>.template.json` under it). The tests that need them are
//! ignored, saying so, when it is not set. What runs without them: the manifest checks, and the
//! loader's answers to what CDK writes, on small templates of our own.

use std::path::{Path, PathBuf};

use serde_json::Value;
use vpcgate::scenario::stacks::{Environment, StackSpec, load};
use vpcgate::scenario::{Scenario, StackLinks};
use vpcgate::vpc::sg::{IpProtocol, Peer, Rule};

fn manifest() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/cdk")
}

/// The apps: every folder of tests/fixtures/cdk with an app.py.
fn apps() -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(manifest())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("app.py").is_file())
        .collect();
    dirs.sort();
    dirs
}

fn name_of(dir: &Path) -> String {
    dir.file_name().unwrap().to_string_lossy().into_owned()
}

/// The app's cases; their stack templates are named relative to the app's synthesized folder.
fn cases_of(dir: &Path) -> Scenario {
    Scenario::load(&dir.join("cases.json")).unwrap_or_else(|e| panic!("{e}"))
}

/// Where scripts/test.sh synthesized the apps.
fn synthesized() -> PathBuf {
    PathBuf::from(std::env::var_os("VPCGATE_CDK_TEMPLATES").expect(
        "VPCGATE_CDK_TEMPLATES names the folder of the synthesized CDK apps (scripts/test.sh sets it)",
    ))
}

#[test]
fn cdk_manifest_pins_the_cdk_and_each_app_has_cases_on_its_stack() {
    let env = Environment::load(&manifest().join("environment.json"))
        .unwrap_or_else(|e| panic!("the environment does not load:\n{e}"));
    assert_eq!(env.region.as_deref(), Some("us-east-1"));
    let env_text = std::fs::read_to_string(manifest().join("environment.json")).unwrap();
    assert!(env_text.contains("/cdk-bootstrap/hnb659fds/version"));
    let requirements = std::fs::read_to_string(manifest().join("requirements.txt")).unwrap();
    let pins: Vec<&str> = requirements
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .collect();
    assert!(pins.iter().any(|l| l.starts_with("aws-cdk-lib==")));
    assert!(pins.iter().any(|l| l.starts_with("constructs==")));
    for pin in &pins {
        assert!(
            pin.contains("==") && pin.contains(" --hash=sha256:"),
            "not pinned by version and hash: {pin}"
        );
    }
    let apps = apps();
    assert!(apps.len() >= 2, "{} CDK apps", apps.len());
    for dir in &apps {
        let s = cases_of(dir);
        assert_eq!(s.settings.stacks.len(), 1, "{}", dir.display());
        assert!(
            s.settings.stacks[0].template.ends_with(".template.json"),
            "{}",
            dir.display()
        );
        assert!(!s.settings.cases.is_empty(), "{}", dir.display());
        let app = std::fs::read_to_string(dir.join("app.py")).unwrap();
        assert!(app.contains(&format!("\"{}\"", s.settings.stacks[0].name)));
    }
}

/// Every synthesized template loads as written, with what CDK adds to each: the
/// `BootstrapVersion` parameter read from SSM, the `CheckBootstrapVersion` rule
/// (`Fn::Contains`), `AWS::CDK::Metadata` under its region condition, the asset-backed custom
/// resource of `autoDeleteObjects`, and `Fn::GetAZs` for the VPC's subnets.
#[test]
#[ignore = "needs the CDK apps synthesized into VPCGATE_CDK_TEMPLATES (scripts/test.sh installs the CDK from PyPI and synthesizes them; the templates are not committed)"]
fn every_cdk_template_loads_as_written_and_its_world_starts() {
    let root = synthesized();
    let env = Environment::load(&manifest().join("environment.json")).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut loaded = 0;
    let (mut state_machines, mut resources) = (0, 0);
    let mut placeholders = std::collections::BTreeSet::new();
    for dir in apps() {
        let s = cases_of(&dir);
        let stack = &s.settings.stacks[0];
        let template = root.join(name_of(&dir)).join(&stack.template);
        let text = std::fs::read_to_string(&template)
            .unwrap_or_else(|e| panic!("{}: {e}", template.display()));
        let doc: Value = serde_json::from_str(&text).unwrap();
        for (what, present) in [
            (
                "the BootstrapVersion parameter",
                doc["Parameters"]["BootstrapVersion"].is_object(),
            ),
            (
                "the CheckBootstrapVersion rule",
                doc["Rules"]["CheckBootstrapVersion"].is_object(),
            ),
            (
                "AWS::CDK::Metadata",
                text.contains("\"AWS::CDK::Metadata\""),
            ),
            (
                "the CDKMetadataAvailable condition",
                doc["Conditions"]["CDKMetadataAvailable"].is_object(),
            ),
            ("Fn::GetAZs", text.contains("\"Fn::GetAZs\"")),
            // `cdk init`'s flags (tests/fixtures/cdk/cdk_init.py): restrictDefaultSecurityGroup.
            (
                "Custom::VpcRestrictDefaultSG",
                text.contains("\"Custom::VpcRestrictDefaultSG\""),
            ),
        ] {
            assert!(present, "{}: CDK wrote no {what}", template.display());
        }
        let spec = StackSpec {
            name: stack.name.clone(),
            template: template.clone(),
            parameters: Default::default(),
            body: None,
        };
        let l = load(&[spec], &env, &[])
            .unwrap_or_else(|e| panic!("{} does not load:\n{e}", template.display()));
        assert_eq!(l.stacks[0].parameters["BootstrapVersion"], "28");
        state_machines += l.model.state_machines.len();
        resources += l.resolved.len();
        for n in &l.model.not_emulated {
            placeholders.insert(n.resource_type.clone());
        }
        rt.block_on(async {
            vpcgate::world::World::build(l.model, vpcgate::clock::Clock::at_unix(1_780_000_000))
                .unwrap_or_else(|e| panic!("{}: the world does not start: {e}", template.display()))
        });
        loaded += 1;
    }
    assert!(loaded >= 2);
    assert!(state_machines >= 4, "{state_machines} state machines");
    // What real CDK output carries besides the data path, accepted as placeholders.
    for ty in [
        "Custom::S3AutoDeleteObjects",
        "Custom::VpcRestrictDefaultSG",
        "AWS::CDK::Metadata",
        "AWS::Lambda::Function",
        "AWS::ECS::Service",
    ] {
        assert!(placeholders.contains(ty), "no {ty} in {placeholders:?}");
    }
    eprintln!(
        "CDK corpus: {loaded} synthesized templates ({resources} resources) load and their worlds start"
    );
}

/// The app's cases.json on the world built from its synthesized template.
fn run_cases(app: &str) -> Vec<vpcgate::check::CaseOutcome> {
    let dir = manifest().join(app);
    let mut s = cases_of(&dir);
    let synthesized = synthesized().join(app);
    for stack in &mut s.settings.stacks {
        stack.template = synthesized.join(&stack.template).display().to_string();
    }
    vpcgate_tests::all_cases_pass(&s)
}

/// tests/fixtures/cdk/pattern_b: CallApiGatewayRestApiEndpoint (IAM_ROLE) → RestApi (AWS_IAM,
/// resource policy) → apigateway.VpcLink → NetworkLoadBalancer → AlbListenerTarget → the ALB's
/// fixed response; CallApiGatewayHttpApiEndpoint → HttpApi (HttpIamAuthorizer) →
/// HttpAlbIntegration; and CDK's own grant without a stage name, denied.
#[test]
#[ignore = "needs the CDK apps synthesized into VPCGATE_CDK_TEMPLATES (scripts/test.sh installs the CDK from PyPI and synthesizes them; the templates are not committed)"]
fn cdk_pattern_b_state_machines_reach_the_alb_through_rest_and_http_apis() {
    let outcomes = run_cases("pattern_b");
    let rest = outcomes
        .iter()
        .find(|o| o.case == "rest-api-vpc-link-v1-nlb-alb")
        .unwrap();
    assert_eq!(rest.result["StatusCode"], 200);
    assert_eq!(rest.result["ResponseBody"]["source"], "internal-alb");
    let trace = rest.trace.render();
    for hop in ["VPC link", "fixed-response 200"] {
        assert!(trace.contains(hop), "no {hop:?} in\n{trace}");
    }
}

/// tests/fixtures/cdk/pattern_a: sfn_tasks.HttpInvoke with an events.Connection whose
/// InvocationConnectivityParameters (an escape hatch) name a Lattice resource configuration;
/// an events.Rule with targets.ApiDestination; a Lambda target without a role.
#[test]
#[ignore = "needs the CDK apps synthesized into VPCGATE_CDK_TEMPLATES (scripts/test.sh installs the CDK from PyPI and synthesizes them; the templates are not committed)"]
fn cdk_pattern_a_http_task_and_api_destination_reach_the_alb_through_the_resource_gateway() {
    let outcomes = run_cases("pattern_a");
    let task = outcomes
        .iter()
        .find(|o| o.case == "http-task-through-the-resource-gateway")
        .unwrap();
    assert_eq!(task.result["StatusCode"], 200);
    assert_eq!(task.result["ResponseBody"]["status"], "ok");
}

/// tests/fixtures/cdk/service_network: ecs_patterns.ApplicationLoadBalancedFargateService behind
/// a Lattice service network (L1) with auth policies on the network and the service; the client
/// is an ec2.Instance on the AMI CDK reads from SSM. The request names the service by
/// `${OrdersService.DnsEntry.DomainName}` of the stack.
#[test]
#[ignore = "needs the CDK apps synthesized into VPCGATE_CDK_TEMPLATES (scripts/test.sh installs the CDK from PyPI and synthesizes them; the templates are not committed)"]
fn cdk_service_network_reaches_the_fargate_services_alb_which_has_no_task() {
    let outcomes = run_cases("service_network");
    assert_eq!(outcomes[0].result["StatusCode"], 503);
}

fn build(text: &str) -> Result<vpcgate::model::Model, String> {
    Scenario::parse(text, "<inline>")
        .map_err(|e| e.to_string())?
        .build(&StackLinks::default())
        .map(|(m, _)| m)
        .map_err(|e| e.to_string())
}

fn vpc_with(extra: &str) -> String {
    format!(
        r#"{{"Vpcgate": {{"Region": "us-east-1", "AccountId": "123456789012"}},
          "Resources": {{
            "Vpc": {{"Type": "AWS::EC2::VPC", "Properties": {{"CidrBlock": "10.0.0.0/16"}}}},
            "SubnetA": {{"Type": "AWS::EC2::Subnet", "Properties": {{"VpcId": {{"Ref": "Vpc"}}, "CidrBlock": "10.0.0.0/24", "AvailabilityZone": "us-east-1a"}}}},
            {extra}
          }}}}"#
    )
}

/// CDK's `allowAllOutbound: false` writes an egress rule that matches nothing: ICMP type 252,
/// code 86, to 255.255.255.255/32. For ICMP, FromPort and ToPort are the type and the code
/// (-1: all), not a port range (AWS::EC2::SecurityGroupEgress).
#[test]
fn an_icmp_rule_reads_type_and_code_as_cdks_disallow_all_egress_writes_them() {
    let model = build(&vpc_with(
        r#""Sg": {"Type": "AWS::EC2::SecurityGroup", "Properties": {
              "GroupDescription": "Automatically created Security Group for ELB", "VpcId": {"Ref": "Vpc"},
              "SecurityGroupEgress": [{"CidrIp": "255.255.255.255/32", "Description": "Disallow all traffic", "FromPort": 252, "IpProtocol": "icmp", "ToPort": 86}],
              "SecurityGroupIngress": [{"IpProtocol": "icmp", "FromPort": -1, "ToPort": -1, "CidrIp": "10.0.0.0/16"}]}}"#,
    ))
    .unwrap_or_else(|e| panic!("{e}"));
    let sg = model
        .security_groups
        .iter()
        .find(|g| g.logical_id == "Sg")
        .unwrap();
    assert_eq!(sg.egress.len(), 1, "the explicit rule replaces the default");
    assert_eq!(sg.egress[0].protocol, IpProtocol::Icmp);
    assert_eq!((sg.egress[0].from_port, sg.egress[0].to_port), (252, 86));
    let err = build(&vpc_with(
        r#""Sg": {"Type": "AWS::EC2::SecurityGroup", "Properties": {
              "GroupDescription": "g", "VpcId": {"Ref": "Vpc"},
              "SecurityGroupIngress": [{"IpProtocol": "icmp", "FromPort": 300, "ToPort": 0, "CidrIp": "10.0.0.0/16"}]}}"#,
    ))
    .expect_err("an ICMP type above 255");
    assert!(err.contains("ICMP type (-1 to 255)"), "{err}");
}

fn default_group_of(model: &vpcgate::model::Model) -> String {
    let v = &model.outputs["DefaultGroup"];
    v.get("Value")
        .unwrap_or(v)
        .as_str()
        .expect("the output's value")
        .to_string()
}

/// CDK's `VpcLink` (and HttpAlbIntegration's) writes `SecurityGroupIds: []`: the link's ENIs get
/// the VPC's default security group — the one `Fn::GetAtt VPC.DefaultSecurityGroup` names — as
/// EC2 gives an interface created without groups: all traffic out, all traffic in from the
/// group's own members.
#[test]
fn a_vpc_link_v2_without_security_groups_gets_the_vpcs_default_group() {
    let model = build(&vpc_with(
        r#""Link": {"Type": "AWS::ApiGatewayV2::VpcLink", "Properties": {
              "Name": "link", "SecurityGroupIds": [], "SubnetIds": [{"Ref": "SubnetA"}]}},
           "Link2": {"Type": "AWS::ApiGatewayV2::VpcLink", "Properties": {
              "Name": "link2", "SubnetIds": [{"Ref": "SubnetA"}]}}
         }, "Outputs": {"DefaultGroup": {"Value": {"Fn::GetAtt": ["Vpc", "DefaultSecurityGroup"]}}"#,
    ))
    .unwrap_or_else(|e| panic!("{e}"));
    let links = &model.apigw.vpc_links;
    assert_eq!(links.len(), 2);
    let id = default_group_of(&model);
    assert_eq!(links[0].security_groups, vec![id.clone()]);
    assert_eq!(links[1].security_groups, vec![id.clone()]);
    let groups: Vec<_> = model
        .security_groups
        .iter()
        .filter(|g| g.id == id)
        .collect();
    assert_eq!(groups.len(), 1);
    let g = groups[0];
    assert!(id.starts_with("sg-") && id.len() == 20, "{id}");
    assert_eq!(g.vpc_id, model.vpcs[0].id);
    assert_eq!(g.egress, vec![Rule::allow_all_ipv4()]);
    assert_eq!(g.ingress.len(), 1);
    assert_eq!(g.ingress[0].protocol, IpProtocol::All);
    assert_eq!(g.ingress[0].peer, Peer::Group(id.clone()));
}

/// What `cdk init`'s restrictDefaultSecurityGroup adds to every `ec2.Vpc`: a
/// `Custom::VpcRestrictDefaultSG` whose handler revokes the default group's rules, so a VPC
/// link v2 left on it reaches nothing; rules a template adds to the group afterwards count.
#[test]
fn cdks_restrict_default_sg_custom_resource_empties_the_default_group() {
    let model = build(&vpc_with(
        r#""Restrict": {"Type": "Custom::VpcRestrictDefaultSG", "Properties": {
              "ServiceToken": "arn:aws:lambda:us-east-1:123456789012:function:provider",
              "DefaultSecurityGroupId": {"Fn::GetAtt": ["Vpc", "DefaultSecurityGroup"]},
              "Account": "123456789012"}},
           "Link": {"Type": "AWS::ApiGatewayV2::VpcLink", "Properties": {
              "Name": "link", "SecurityGroupIds": [], "SubnetIds": [{"Ref": "SubnetA"}]}},
           "Https": {"Type": "AWS::EC2::SecurityGroupIngress", "Properties": {
              "GroupId": {"Fn::GetAtt": ["Vpc", "DefaultSecurityGroup"]},
              "IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "CidrIp": "10.0.0.0/16"}}
         }, "Outputs": {"DefaultGroup": {"Value": {"Fn::GetAtt": ["Vpc", "DefaultSecurityGroup"]}}"#,
    ))
    .unwrap_or_else(|e| panic!("{e}"));
    let id = default_group_of(&model);
    assert_eq!(model.apigw.vpc_links[0].security_groups, vec![id.clone()]);
    let g = model.security_groups.iter().find(|g| g.id == id).unwrap();
    assert!(g.egress.is_empty(), "{:?}", g.egress);
    assert!(
        model
            .not_emulated
            .iter()
            .any(|n| n.resource_type == "Custom::VpcRestrictDefaultSG"),
        "the custom resource itself stays a placeholder"
    );
    assert_eq!(g.ingress.len(), 1, "{:?}", g.ingress);
    assert_eq!(g.ingress[0].from_port, 443);
}

/// CDK's targets.LambdaFunction writes a target without RoleArn (and an AWS::Lambda::Permission):
/// EventBridge does not refuse it for lacking a role.
#[test]
fn a_lambda_target_without_a_role_is_not_refused_for_lacking_one() {
    let s = Scenario::load(&manifest().join("lambda-target-without-role.json"))
        .unwrap_or_else(|e| panic!("{e}"));
    let outcomes = vpcgate_tests::all_cases_pass(&s);
    assert!(!outcomes[0].trace.render().contains("NO_PERMISSIONS"));
}
