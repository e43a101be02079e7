//! CloudFormation templates as users write them: the seed's YAML stacks loaded in order with an
//! environment file, seed 004's Lattice template, and malformed templates with CloudFormation's
//! messages and their line and column.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};
use vpcgate::check::{run_file, table};
use vpcgate::scenario::stacks::{
    Environment, Loaded, ParameterOverride, StackArgs, StackSpec, load,
};

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/templates")
}

fn seed_000_stacks() -> StackArgs {
    let dir = fixtures().join("seed-000");
    StackArgs {
        stacks: vec![
            StackSpec {
                name: "eb-connection-infra".into(),
                template: dir.join("01-infra.yaml"),
                parameters: Default::default(),
                body: None,
            },
            StackSpec {
                name: "eb-connection-sfn".into(),
                template: dir.join("02-stepfunctions.yaml"),
                parameters: Default::default(),
                body: None,
            },
        ],
        parameters: Vec::new(),
        environment: Some(dir.join("environment.json")),
        binds: Vec::new(),
    }
}

#[test]
fn seed_templates_are_the_seeds_appendix_byte_for_byte() {
    // The seeds folder sits beside the repository on the project's machines and in CI; a
    // missing fixture is a failure, never a silent pass.
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let seed = manifest
        .ancestors()
        .map(|d| d.join("shared/seeds/000_35f895b399e00775.txt"))
        .find_map(|p| std::fs::read_to_string(p).ok())
        .expect(
            "shared/seeds/000_35f895b399e00775.txt beside the repository (the seed's appendix)",
        );
    for name in ["01-infra.yaml", "02-stepfunctions.yaml"] {
        let fixture = std::fs::read_to_string(fixtures().join("seed-000").join(name)).unwrap();
        assert!(
            seed.contains(&fixture),
            "{name} differs from the seed's appendix"
        );
    }
}

/// The seed's Pattern A, from its own two YAML templates: `vpcgate check` on the scenario that
/// names them gives the seed's verified output.
#[test]
fn pattern_a_runs_from_the_seed_templates() {
    let outcomes = run_file(&fixtures().join("seed-000-pattern-a.json"));
    assert_eq!(outcomes.len(), 1);
    assert!(outcomes[0].passed, "\n{}", table(&outcomes));
    assert_eq!(outcomes[0].result["StatusCode"], 200);
    assert_eq!(
        outcomes[0].result["ResponseBody"],
        json!({"status": "ok", "source": "internal-alb"})
    );
}

#[test]
fn seed_stacks_load_in_order_with_the_environment() {
    let loaded = seed_000_stacks().load().unwrap_or_else(|e| panic!("{e}"));
    let [infra, sfn] = &loaded.stacks[..] else {
        panic!("two stacks")
    };
    // The environment's VPC, subnets and zone are in the one model, with the CNAME to the ALB
    // that stack 1 created.
    let m = &loaded.model;
    assert_eq!(m.region, "ap-northeast-1");
    assert_eq!(m.vpcs[0].id, "vpc-0example1234567890");
    assert_eq!(m.vpcs[0].subnets.len(), 3);
    let alb_dns = infra.outputs["AlbDnsName"].as_str().unwrap();
    assert!(alb_dns.starts_with("internal-eb-conne-ALB-"), "{alb_dns}");
    let cname = &m.hosted_zones[0].records[0];
    assert_eq!(
        (cname.name.as_str(), cname.values[0].as_str()),
        ("eb-demo.example.com", alb_dns)
    );
    // Stack 2 read stack 1's outputs with Fn::GetStackOutput.
    let connection = infra.outputs["PrivateConnectionArn"].as_str().unwrap();
    let a = m.state_machine("eb-demo-pattern-a-private").unwrap();
    assert!(a.definition.contains(connection), "{}", a.definition);
    let role = m.role(&a.role_arn).unwrap();
    assert!(
        role.name.starts_with("eb-connection-sfn-PatternARole-"),
        "{}",
        role.name
    );
    assert_eq!(
        m.outputs["eb-connection-sfn.StateMachineArnPatternA"],
        json!(a.arn)
    );
    assert_eq!(sfn.resources.len(), 4);
}

/// Pattern B's stack loads with API Gateway emulated: the RestApi, its method (HTTP_PROXY over the
/// VPC link to the HTTP listener), deployment, stage and VPC link become the model, and
/// StateMachineB's definition holds the RestApi's id.
#[test]
fn pattern_b_stack_loads_with_api_gateway() {
    let loaded = seed_000_stacks().load().unwrap_or_else(|e| panic!("{e}"));
    let infra = &loaded.stacks[0];
    assert!(
        !infra
            .not_emulated
            .iter()
            .any(|n| n.resource_type.contains("ApiGateway")),
        "{:?}",
        infra.not_emulated
    );
    let gw = &loaded.model.apigw;
    assert_eq!(gw.rest_apis.len(), 1);
    assert_eq!(gw.methods.len(), 1);
    assert_eq!(gw.vpc_links.len(), 1);
    assert_eq!(gw.stages[0].name, "prod");
    let rest_api = infra.outputs["RestApiId"].as_str().unwrap();
    assert_eq!(rest_api.len(), 10);
    let b = loaded
        .model
        .state_machine("eb-demo-pattern-b-apigw")
        .unwrap();
    let definition: Value = serde_json::from_str(&b.definition).unwrap();
    assert_eq!(
        definition["States"]["CallRestApi"]["Parameters"]["ApiEndpoint"],
        json!(format!(
            "{rest_api}.execute-api.ap-northeast-1.amazonaws.com"
        ))
    );
    assert_eq!(
        infra.outputs["RestApiEndpoint"],
        json!(format!(
            "https://{rest_api}.execute-api.ap-northeast-1.amazonaws.com/prod"
        ))
    );
    // PatternBRole may invoke exactly that API.
    let role = loaded.model.role(&b.role_arn).unwrap();
    let doc = role.inline_policies[0].1.to_string();
    assert!(
        doc.contains(&format!(
            "arn:aws:execute-api:ap-northeast-1:123456789012:{rest_api}/prod/GET/"
        )),
        "{doc}"
    );
}

/// Flip on after the API Gateway (Pattern B) branch is merged.
#[test]
fn pattern_b_runs_from_the_seed_templates() {
    let outcomes = run_file(&fixtures().join("seed-000-pattern-b.json"));
    assert!(outcomes.iter().all(|o| o.passed), "\n{}", table(&outcomes));
}

#[test]
fn seed_004_lattice_template_loads_with_placeholders() {
    let env = Environment::parse(
        "Region: ap-northeast-1\nAccountId: '123456789012'\n",
        "env.yaml",
    )
    .unwrap();
    let loaded = load(
        &[StackSpec {
            name: "lattice".into(),
            template: fixtures().join("seed-004/vpc-lattice-service-communication.yaml"),
            parameters: Default::default(),
            body: None,
        }],
        &env,
        &[ParameterOverride {
            stack: "lattice".into(),
            key: "Environment".into(),
            value: "staging".into(),
        }],
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let s = &loaded.stacks[0];
    let not_emulated: Vec<&str> = s
        .not_emulated
        .iter()
        .map(|n| n.resource_type.as_str())
        .collect();
    // The Lattice service-network types are emulated (seed 004); KMS and Logs are not.
    for ty in ["AWS::KMS::Key", "AWS::KMS::Alias", "AWS::Logs::LogGroup"] {
        assert!(not_emulated.contains(&ty), "{ty} in {not_emulated:?}");
    }
    for ty in [
        "AWS::VpcLattice::ServiceNetwork",
        "AWS::VpcLattice::Service",
        "AWS::VpcLattice::TargetGroup",
        "AWS::VpcLattice::Listener",
        "AWS::VpcLattice::ServiceNetworkServiceAssociation",
        "AWS::VpcLattice::ServiceNetworkVpcAssociation",
        "AWS::VpcLattice::AccessLogSubscription",
    ] {
        assert!(
            !not_emulated.contains(&ty),
            "{ty} is emulated: {not_emulated:?}"
        );
    }
    // `!Select [0, !GetAZs '']` is the Region's first zone.
    let m = &loaded.model;
    assert_eq!(m.vpcs.len(), 2);
    assert_eq!(m.vpcs[0].subnets[0].availability_zone, "ap-northeast-1a");
    // `!Sub ${Environment}-…` with the parameter override; exports registered.
    let network = s.outputs["ServiceNetworkArn"].as_str().unwrap();
    assert!(
        network.starts_with("arn:aws:vpc-lattice:ap-northeast-1:123456789012:servicenetwork/sn-"),
        "{network}"
    );
    assert_eq!(s.exports["staging-ServiceNetworkArn"], json!(network));
    assert_eq!(s.exports.len(), 8);
    assert_eq!(
        loaded.links.exports["staging-ServiceAVPCId"],
        json!(m.vpcs[0].id)
    );
    // The role's policy names the Lattice service's ARN (a placeholder that resolves).
    let role = m
        .roles
        .iter()
        .find(|r| r.logical_id == "ServiceAInvokeRole")
        .unwrap();
    let doc = role.inline_policies[0].1.to_string();
    assert!(
        doc.contains(s.outputs["ServiceBLatticeServiceArn"].as_str().unwrap()),
        "{doc}"
    );
}

/// Writes templates into a fresh folder and loads them as stacks in that order.
fn load_texts(
    name: &str,
    templates: &[(&str, &str)],
    env: Option<&str>,
    overrides: &[(&str, &str, &str)],
) -> Result<Loaded, String> {
    let dir = std::env::temp_dir().join(format!("vpcgate-templates-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let specs: Vec<StackSpec> = templates
        .iter()
        .map(|(stack, text)| {
            let path = dir.join(format!("{stack}.yaml"));
            std::fs::write(&path, text).unwrap();
            StackSpec {
                name: stack.to_string(),
                template: path,
                parameters: Default::default(),
                body: None,
            }
        })
        .collect();
    let env = match env {
        Some(text) => Environment::parse(text, "env.yaml").map_err(|e| e.to_string())?,
        None => Environment::default(),
    };
    let overrides: Vec<ParameterOverride> = overrides
        .iter()
        .map(|(s, k, v)| ParameterOverride {
            stack: s.to_string(),
            key: k.to_string(),
            value: v.to_string(),
        })
        .collect();
    let result = load(&specs, &env, &overrides).map_err(|e| e.to_string());
    let _ = std::fs::remove_dir_all(&dir);
    result
}

/// A fresh folder of files, for tests whose environment file names other files (`S3Objects`,
/// `ServerlessApplications`): removed when dropped.
struct Folder(PathBuf);

impl Folder {
    fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("vpcgate-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }

    /// Writes `text` to `name` (a path relative to the folder, its folders made).
    fn write(&self, name: &str, text: &str) {
        let path = self.0.join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    /// The environment file `name` of the folder.
    fn env(&self, name: &str) -> Result<Environment, String> {
        Environment::load(&self.0.join(name)).map_err(|e| e.to_string())
    }

    /// Loads the template `file` of the folder as the stack `stack`.
    fn load(&self, stack: &str, file: &str, env: &Environment) -> Result<Loaded, String> {
        let spec = StackSpec {
            name: stack.into(),
            template: self.0.join(file),
            parameters: Default::default(),
            body: None,
        };
        load(&[spec], env, &[]).map_err(|e| e.to_string())
    }
}

impl Drop for Folder {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

const SG: &str = "Resources:\n  Sg:\n    Type: AWS::EC2::SecurityGroup\n    Properties:\n      GroupDescription: x\n";

/// (case name, stacks (name, template), environment, `--parameter`s, texts the errors contain).
type Malformed<'a> = (
    &'a str,
    Vec<(&'a str, String)>,
    Option<&'a str>,
    Vec<(&'a str, &'a str, &'a str)>,
    Vec<&'a str>,
);

/// Each malformed template gives CloudFormation's message, at its line and column.
#[test]
fn malformed_templates_report_cloudformation_errors_with_positions() {
    let vpc = "Resources:\n  Vpc:\n    Type: AWS::EC2::VPC\n    Properties:\n      CidrBlock: 10.0.0.0/16\n";
    let cases: Vec<Malformed> = vec![
        (
            "unknown-tag",
            vec![("s", format!("{SG}      VpcId: !Reff Vpc\n"))],
            None,
            vec![],
            vec!["s.yaml:6:14", "unknown tag !Reff"],
        ),
        (
            "bad-getatt",
            vec![("s", format!("{vpc}  Sg:\n    Type: AWS::EC2::SecurityGroup\n    Properties:\n      GroupDescription: x\n      VpcId: !GetAtt Vpc\n"))],
            None,
            vec![],
            vec!["s.yaml:10:14", "Resources.Sg.Properties.VpcId.Fn::GetAtt", "Template error: every Fn::GetAtt object requires two non-empty parameters"],
        ),
        (
            "getatt-undefined",
            vec![("s", format!("{SG}      VpcId: !GetAtt Nope.VpcId\n"))],
            None,
            vec![],
            vec!["s.yaml:6:14", "Template error: instance of Fn::GetAtt references undefined resource Nope"],
        ),
        (
            "unresolved-ref",
            vec![("s", format!("{SG}      VpcId: !Ref Nope\n"))],
            None,
            vec![],
            vec!["s.yaml:6:14: Resources.Sg.Properties.VpcId.Ref", "Template format error: Unresolved resource dependencies [Nope] in the Resources block of the template"],
        ),
        (
            "unresolved-depends-on",
            vec![("s", format!("{SG}    DependsOn: Nope\n"))],
            None,
            vec![],
            vec!["s.yaml:6:16", "Unresolved resource dependencies [Nope] in the Resources block"],
        ),
        (
            "cycle",
            vec![("s", "Resources:\n  A:\n    Type: AWS::EC2::SecurityGroup\n    Properties:\n      GroupDescription: !Ref B\n  B:\n    Type: AWS::EC2::SecurityGroup\n    Properties:\n      GroupDescription: !Ref A\n".into())],
            None,
            vec![],
            vec!["Circular dependency between resources: [A, B]"],
        ),
        (
            "missing-parameter-value",
            vec![("s", format!("Parameters:\n  Env:\n    Type: String\n  Other:\n    Type: String\n{SG}"))],
            None,
            vec![],
            vec!["s.yaml:1:1: Parameters:", "Parameters: [Env, Other] must have values"],
        ),
        (
            "allowed-values",
            vec![("s", format!("Parameters:\n  Env:\n    Type: String\n    Default: dev\n    AllowedValues: [dev, prod]\n{SG}"))],
            None,
            vec![("s", "Env", "qa")],
            vec!["s.yaml:2:3: Parameters.Env", "Parameter 'Env' must be one of AllowedValues"],
        ),
        (
            "undeclared-parameter",
            vec![("s", format!("Parameters:\n  Env:\n    Type: String\n    Default: dev\n{SG}"))],
            None,
            vec![("s", "Nope", "1")],
            vec!["Parameters: [Nope] do not exist in the template"],
        ),
        (
            "bad-indentation",
            vec![("s", "Resources:\n  Sg:\n    Type: AWS::EC2::SecurityGroup\n   Properties:\n      GroupDescription: x\n".into())],
            None,
            vec![],
            vec!["s.yaml:4:", "Template format error: YAML not well-formed. (line 4, column"],
        ),
        (
            "unknown-export",
            vec![("s", format!("{SG}      VpcId: !ImportValue shared-vpc\n"))],
            None,
            vec![],
            vec!["s.yaml:6:14", "No export named shared-vpc found"],
        ),
        (
            "get-stack-output-of-a-later-stack",
            vec![
                ("first", format!("{SG}      VpcId:\n        Fn::GetStackOutput:\n          StackName: second\n          OutputName: VpcId\n")),
                ("second", format!("{vpc}Outputs:\n  VpcId:\n    Value: !Ref Vpc\n")),
            ],
            None,
            vec![],
            vec!["first.yaml:7:9", "stack second is deployed after this one"],
        ),
        (
            "get-stack-output-of-an-unknown-stack",
            vec![("s", format!("{SG}      VpcId: !GetStackOutput {{StackName: nope, OutputName: VpcId}}\n"))],
            None,
            vec![],
            vec!["Stack with id nope does not exist"],
        ),
        (
            "vpc-id-not-in-the-environment",
            vec![("s", format!("Parameters:\n  VpcId:\n    Type: AWS::EC2::VPC::Id\n    Default: vpc-0missing\n{SG}      VpcId: !Ref VpcId\n"))],
            Some("Vpcs:\n  - VpcId: vpc-0present\n    CidrBlock: 10.0.0.0/16\n"),
            vec![],
            vec!["s.yaml:2:3", "Parameter validation failed: parameter value vpc-0missing for parameter name VpcId does not exist"],
        ),
        (
            "misspelt-resource-key",
            vec![("s", "Resources:\n  Sg:\n    Type: AWS::EC2::SecurityGroup\n    Propertes:\n      GroupDescription: x\n".into())],
            None,
            vec![],
            vec!["s.yaml:4:5", "Template format error: Invalid template resource property 'Propertes'"],
        ),
        (
            "record-of-an-unknown-output",
            vec![("s", SG.to_string())],
            Some("Vpcs:\n  - VpcId: vpc-1\n    CidrBlock: 10.0.0.0/16\nHostedZones:\n  - Name: example.com\n    VpcIds: [vpc-1]\n    Records:\n      - Name: a.example.com\n        Type: CNAME\n        Value: {Stack: s, Output: Nope}\n"),
            vec![],
            vec!["env.yaml:8:9: HostedZones[0].Records[0]", "stack s has no output named Nope"],
        ),
    ];
    let mut failures = Vec::new();
    for (name, templates, env, overrides, wants) in &cases {
        let templates: Vec<(&str, &str)> =
            templates.iter().map(|(s, t)| (*s, t.as_str())).collect();
        match load_texts(name, &templates, *env, overrides) {
            Ok(_) => failures.push(format!("{name}: loaded")),
            Err(text) => {
                for want in wants {
                    if !text.contains(want) {
                        failures.push(format!("{name}: no {want:?} in\n{text}"));
                    }
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn all_errors_of_a_stack_are_reported_at_once() {
    let text = format!(
        "Parameters:\n  Env:\n    Type: String\n{SG}      VpcId: !Ref Nope\n  Other:\n    Type: AWS::EC2::SecurityGroup\n    Properties:\n      GroupDescription: !GetAtt Gone.Name\n"
    );
    let err = load_texts("at-once", &[("s", &text)], None, &[]).unwrap_err();
    for want in [
        "Parameters: [Env] must have values",
        "Unresolved resource dependencies [Nope]",
        "references undefined resource Gone",
    ] {
        assert!(err.contains(want), "no {want:?} in\n{err}");
    }
}

/// Every resource converter reads properties with one reader (scenario::props), so the rules
/// hold whichever family a resource belongs to: a scalar reads as a string in a list as alone,
/// a wrong-typed list item is named with its index, and a whole-object error stands at the
/// object's path with no trailing dot.
#[test]
fn one_property_reader_holds_for_every_resource_family() {
    let text = "Resources:
  Sg:
    Type: AWS::EC2::SecurityGroup
    Properties:
      GroupDescription: x
      SecurityGroupIngress:
        - {IpProtocol: tcp, FromPort: 80, ToPort: 80}
  Rc:
    Type: AWS::VpcLattice::ResourceConfiguration
    Properties:
      ResourceGatewayId: rgw-0123456789abcdef0
      PortRanges: [443]
      ResourceConfigurationDefinition: {}
  Link:
    Type: AWS::ApiGatewayV2::VpcLink
    Properties:
      Name: link
      SubnetIds: [123]
  Assoc:
    Type: AWS::VpcLattice::ServiceNetworkVpcAssociation
    Properties:
      ServiceNetworkIdentifier: sn-0123456789abcdef0
      VpcIdentifier: vpc-0123456789abcdef0
      SecurityGroupIds: [{Ref: Sg}, {Nested: 1}]
  Rule:
    Type: AWS::Events::Rule
    Properties:
      EventBusName: {Nested: 1}
      ScheduleExpression: rate(5 minutes)
";
    let err = load_texts("one-reader", &[("s", text)], None, &[]).unwrap_err();
    for want in [
        // Whole-object errors: at the object's own path.
        "Resources.Sg.Properties.SecurityGroupIngress[0]: a rule needs exactly one of CidrIp",
        "Resources.Rc.Properties.ResourceConfigurationDefinition: exactly one of DnsResource, IpResource, ArnResource is required",
        // A number in a string list is its text (API Gateway's check, not a type error).
        "Resources.Link.Properties.SubnetIds[0]: The subnet ID '123' does not exist",
        // Lattice names a wrong-typed item as every converter does.
        "Resources.Assoc.Properties.SecurityGroupIds[1]: expected a string, found an object",
        // EventBridge too (it used to read the default bus silently).
        "Resources.Rule.Properties.EventBusName: expected a string, found an object",
    ] {
        assert!(err.contains(want), "no {want:?} in\n{err}");
    }
    for unwanted in [".: ", "PortRanges", "found number 123"] {
        assert!(!err.contains(unwanted), "{unwanted:?} in\n{err}");
    }
}

#[test]
fn syntax_errors_of_every_template_are_reported_before_anything_loads() {
    let err = load_texts(
        "syntax",
        &[("a", "Resources: [\n"), ("b", "Resources:\n  X: !Nope 1\n")],
        None,
        &[],
    )
    .unwrap_err();
    assert!(err.contains("a.yaml:2:"), "{err}");
    assert!(
        err.contains("b.yaml:2:6") && err.contains("unknown tag !Nope"),
        "{err}"
    );
}

#[test]
fn exports_and_imports_cross_stacks_and_duplicates_are_refused() {
    let vpc = "Resources:\n  Vpc:\n    Type: AWS::EC2::VPC\n    Properties:\n      CidrBlock: 10.0.0.0/16\nOutputs:\n  VpcId:\n    Value: !Ref Vpc\n    Export:\n      Name: !Sub '${AWS::StackName}-VpcId'\n";
    let user = format!("{SG}      VpcId: !ImportValue net-VpcId\n");
    let loaded = load_texts("exports", &[("net", vpc), ("app", &user)], None, &[]).unwrap();
    let vpc_id = &loaded.model.vpcs[0].id;
    assert_eq!(loaded.model.security_groups[0].vpc_id, *vpc_id);
    assert_eq!(loaded.links.exports["net-VpcId"], json!(vpc_id));

    let twice = "Resources:\n  Vpc:\n    Type: AWS::EC2::VPC\n    Properties:\n      CidrBlock: 10.1.0.0/16\nOutputs:\n  VpcId:\n    Value: !Ref Vpc\n    Export:\n      Name: net-VpcId\n";
    let err = load_texts(
        "exports-twice",
        &[("net", vpc), ("other", twice)],
        None,
        &[],
    )
    .unwrap_err();
    assert!(
        err.contains("Export with name net-VpcId is already exported by stack net"),
        "{err}"
    );
}

#[test]
fn ssm_parameter_types_read_the_environment() {
    let text = "Parameters:\n  Cidr:\n    Type: AWS::SSM::Parameter::Value<String>\n    Default: /net/cidr\nResources:\n  Vpc:\n    Type: AWS::EC2::VPC\n    Properties:\n      CidrBlock: !Ref Cidr\n".to_string();
    let loaded = load_texts(
        "ssm",
        &[("s", &text)],
        Some("SsmParameters:\n  /net/cidr: 10.9.0.0/16\n"),
        &[],
    )
    .unwrap();
    assert_eq!(loaded.model.vpcs[0].cidr.to_string(), "10.9.0.0/16");
    let err = load_texts("ssm-missing", &[("s", &text)], None, &[]).unwrap_err();
    assert!(
        err.contains("Unable to fetch parameters [/net/cidr] from parameter store"),
        "{err}"
    );
}

#[test]
fn the_cli_flags_parse_into_stack_args() {
    use vpcgate::scenario::stacks::StackArgs;
    #[derive(Debug, clap::Parser)]
    struct Cli {
        #[command(flatten)]
        stacks: StackArgs,
    }
    let cli = <Cli as clap::Parser>::try_parse_from([
        "x",
        "--stack",
        "a=one.yaml",
        "--stack",
        "b=two.yaml",
        "--parameter",
        "a.Env=prod",
        "--environment",
        "env.json",
    ])
    .unwrap();
    assert_eq!(cli.stacks.stacks[1].name, "b");
    assert_eq!(cli.stacks.stacks[1].template, Path::new("two.yaml"));
    assert_eq!(cli.stacks.parameters[0].value, "prod");
    assert_eq!(
        cli.stacks.environment.as_deref(),
        Some(Path::new("env.json"))
    );
    assert!(<Cli as clap::Parser>::try_parse_from(["x", "--stack", "nofile"]).is_err());
}

/// A scenario with an inline environment, the seed's first stack, and resources of its own that
/// read that stack's outputs.
#[test]
fn scenarios_combine_stacks_an_inline_environment_and_their_own_resources() {
    use vpcgate::scenario::{Scenario, StackLinks};
    let env = std::fs::read_to_string(fixtures().join("seed-000/environment.json")).unwrap();
    let text = format!(
        r#"{{
  "Vpcgate": {{
    "Environment": {env},
    "Stacks": [{{"Name": "eb-connection-infra", "Template": "seed-000/01-infra.yaml"}}]
  }},
  "Resources": {{
    "Extra": {{"Type": "AWS::EC2::SecurityGroup", "Properties": {{
      "VpcId": "vpc-0example1234567890",
      "GroupDescription": {{"Fn::GetStackOutput": {{"StackName": "eb-connection-infra", "OutputName": "AlbDnsName"}}}}}}}}
  }},
  "Outputs": {{"ExtraId": {{"Value": {{"Ref": "Extra"}}}}}}
}}"#
    );
    let file = fixtures().join("inline.json").display().to_string();
    let s = Scenario::parse(&text, &file).unwrap();
    let (model, _) = s
        .build(&StackLinks::default())
        .unwrap_or_else(|e| panic!("{e}"));
    let extra = model
        .security_groups
        .iter()
        .find(|g| g.logical_id == "Extra")
        .unwrap();
    assert_eq!(
        json!(model.outputs["ExtraId"]),
        json!(extra.id),
        "{:?}",
        model.outputs
    );
    assert!(model.outputs.contains_key("eb-connection-infra.AlbDnsName"));

    let bad = text.replace("192.168.0.0/18", "192.168.0.0/33");
    let err = Scenario::parse(&bad, &file)
        .unwrap()
        .build(&StackLinks::default())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("inline.json:10:") && err.contains("Vpcgate.Environment.Vpcs[0].CidrBlock"),
        "{err}"
    );
}

mod never_panics {
    use proptest::prelude::*;
    use serde_json::{Map, Value, json};
    use vpcgate::scenario::{Scenario, StackLinks};

    const TYPES: &[&str] = &[
        "AWS::EC2::VPC",
        "AWS::EC2::Subnet",
        "AWS::EC2::SecurityGroup",
        "AWS::ElasticLoadBalancingV2::LoadBalancer",
        "AWS::ElasticLoadBalancingV2::Listener",
        "AWS::VpcLattice::ResourceGateway",
        "AWS::VpcLattice::ResourceConfiguration",
        "AWS::Events::Connection",
        "AWS::IAM::Role",
        "AWS::StepFunctions::StateMachine",
        "AWS::Route53::RecordSet",
        "AWS::Logs::LogGroup",
        "AWS::KMS::Key",
    ];
    const NAMES: &[&str] = &["A", "B", "C", "P", "AWS::Region", "AWS::NoValue", "Cond"];
    const KEYS: &[&str] = &[
        "CidrBlock",
        "VpcId",
        "Subnets",
        "Port",
        "Protocol",
        "Name",
        "GroupDescription",
        "DefinitionString",
        "RoleArn",
        "SecurityGroupIngress",
        "PortRanges",
    ];
    const FUNCTIONS: &[&str] = &[
        "Ref",
        "Fn::GetAtt",
        "Fn::Sub",
        "Fn::Join",
        "Fn::Select",
        "Fn::Split",
        "Fn::If",
        "Fn::Equals",
        "Fn::Not",
        "Fn::FindInMap",
        "Fn::GetAZs",
        "Fn::Base64",
        "Fn::Cidr",
        "Fn::ImportValue",
        "Fn::GetStackOutput",
        "Condition",
    ];

    fn leaf() -> impl Strategy<Value = Value> {
        prop_oneof![
            proptest::sample::select(NAMES).prop_map(|s| json!(s)),
            "[a-z0-9./${}:-]{0,12}".prop_map(|s| json!(s)),
            any::<i64>().prop_map(|n| json!(n)),
            Just(json!("10.0.0.0/16")),
            Just(json!(true)),
            Just(Value::Null),
        ]
    }

    fn value() -> impl Strategy<Value = Value> {
        leaf().prop_recursive(4, 24, 4, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                (proptest::sample::select(FUNCTIONS), inner.clone())
                    .prop_map(|(f, v)| json!({ f: v })),
                proptest::collection::vec((proptest::sample::select(KEYS), inner), 0..4).prop_map(
                    |kv| Value::Object(kv.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
                ),
            ]
        })
    }

    fn template() -> impl Strategy<Value = Value> {
        (
            proptest::collection::vec(
                (
                    proptest::sample::select(&["A", "B", "C"][..]),
                    proptest::sample::select(TYPES),
                    value(),
                    proptest::option::of(value()),
                ),
                1..4,
            ),
            proptest::option::of(value()),
            proptest::option::of(value()),
        )
            .prop_map(|(resources, condition, output)| {
                let mut res = Map::new();
                for (id, ty, props, depends) in resources {
                    let mut r = json!({"Type": ty, "Properties": props});
                    if let Some(d) = depends {
                        r["DependsOn"] = d;
                    }
                    res.insert(id.to_string(), r);
                }
                let mut t = json!({
                    "Parameters": {"P": {"Type": "String", "Default": "x"}},
                    "Mappings": {"M": {"a": {"b": "c"}}},
                    "Resources": res,
                });
                if let Some(c) = condition {
                    t["Conditions"] = json!({"Cond": c});
                }
                if let Some(o) = output {
                    t["Outputs"] = json!({"O": {"Value": o, "Export": {"Name": o}}});
                }
                t
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 1500, ..ProptestConfig::default() })]

        /// Whatever the template, loading reports errors and never panics.
        #[test]
        fn random_templates_load_or_fail_cleanly(t in template()) {
            let text = t.to_string();
            if let Ok(s) = Scenario::parse(&text, "fuzz.json") {
                let _ = s.build(&StackLinks::default());
            }
        }
    }
}

/// Documents PyYAML reads (and with it cfn-lint and the AWS CLI) that vpcgate refuses on
/// purpose, because CloudFormation refuses them too: its template format page lists aliases and
/// hash merges among the YAML features it does not support
/// (<https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/template-formats.html>).
const REFUSED_LIKE_CLOUDFORMATION: &[&str] = &["anchors-on-scalars.yaml", "merge-keys.yaml"];

/// A differential test of scenario/yaml.rs against PyYAML, the reader of cfn-lint and the AWS
/// CLI (`tests/fixtures/yaml-pyyaml/pyyaml_read.py`): every tricky document of that folder that
/// PyYAML reads, vpcgate reads to the same JSON (short forms as functions; timestamps stay
/// strings), and what PyYAML refuses, vpcgate refuses too. The flow mapping whose closing `}`
/// sits left of its key is the step-functions-workflows-collection `call-microservice-apigw`
/// template's KMS key policy.
#[test]
fn yaml_reads_as_pyyaml_reads_it() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/yaml-pyyaml");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    assert!(files.len() >= 20, "{} documents", files.len());
    let python = std::env::var("VPCGATE_PYTHON").unwrap_or_else(|_| "python3".into());
    let out = std::process::Command::new(&python)
        .arg(dir.join("pyyaml_read.py"))
        .args(&files)
        .output()
        .expect("python3 with PyYAML (scripts/test.sh installs it)");
    assert!(
        out.status.success(),
        "pyyaml_read.py failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let pyyaml: Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut differences = Vec::new();
    for f in &files {
        let name = f.file_name().unwrap().to_str().unwrap();
        let text = std::fs::read_to_string(f).unwrap();
        let ours = vpcgate::scenario::yaml::parse_yaml(&text, name);
        let theirs = &pyyaml[name];
        match (ours, theirs.get("value")) {
            (Ok(doc), Some(v)) => {
                if &doc.value != v {
                    differences.push(format!(
                        "{name}: vpcgate reads {}\n  PyYAML reads {v}",
                        doc.value
                    ));
                }
            }
            (Err(e), Some(_)) if !REFUSED_LIKE_CLOUDFORMATION.contains(&name) => {
                differences.push(format!("{name}: PyYAML reads it, vpcgate refuses: {e}"));
            }
            (Err(e), Some(_)) => assert!(e.to_string().contains("alias"), "{name}: {e}"),
            (Ok(doc), None) => differences.push(format!(
                "{name}: PyYAML refuses it ({}), vpcgate reads {}",
                theirs["error"], doc.value
            )),
            (Err(_), None) => {}
        }
    }
    assert!(differences.is_empty(), "{}", differences.join("\n"));
}

/// A real local HTTP server on 127.0.0.1:0 (the user's own process a binding names), on a thread
/// of its own; it answers every request with its name, the path and the client address it saw.
fn local_process(name: &'static str) -> std::net::SocketAddr {
    use http_body_util::Full;
    use hyper::service::service_fn;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                tokio::spawn(async move {
                    let service = service_fn(
                        move |req: hyper::Request<hyper::body::Incoming>| async move {
                            let xff = req
                                .headers()
                                .get("x-forwarded-for")
                                .and_then(|v| v.to_str().ok())
                                .unwrap_or("")
                                .to_string();
                            let body =
                                json!({"process": name, "path": req.uri().path(), "xff": xff});
                            Ok::<_, std::convert::Infallible>(hyper::Response::new(Full::new(
                                bytes::Bytes::from(body.to_string()),
                            )))
                        },
                    );
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                        .await;
                });
            }
        });
    });
    addr
}

fn bindings_loaded(binds: &[String]) -> Loaded {
    bindings_loaded_with(binds, &[])
}

fn bindings_loaded_with(binds: &[String], parameters: &[(&str, &str)]) -> Loaded {
    let template = fixtures().join("bindings/app.yaml");
    let args = StackArgs {
        stacks: vec![StackSpec {
            name: "app".into(),
            template,
            parameters: Default::default(),
            body: None,
        }],
        parameters: parameters
            .iter()
            .map(|(k, v)| ParameterOverride {
                stack: "app".into(),
                key: k.to_string(),
                value: v.to_string(),
            })
            .collect(),
        environment: None,
        binds: binds
            .iter()
            .map(|b| vpcgate::scenario::bindings::parse_bind_arg(b).unwrap())
            .collect(),
    };
    args.load().unwrap_or_else(|e| panic!("{e}"))
}

async fn get_from_client(
    world: &vpcgate::world::World,
    dns: &str,
    port: u16,
    path: &str,
) -> (u16, String, String) {
    let client = world.ec2.instance("Client").unwrap();
    let trace = vpcgate::trace::Trace::new();
    let req = http::Request::get(format!("http://{dns}:{port}{path}"))
        .body(bytes::Bytes::new())
        .unwrap();
    let resp = vpcgate::ec2::request(world, &client, req, &trace)
        .await
        .unwrap_or_else(|e| panic!("{e}\n{}", trace.render()));
    (
        resp.status().as_u16(),
        String::from_utf8_lossy(resp.body()).to_string(),
        trace.render(),
    )
}

/// `--bind` an ECS service (awsvpc, `ip` target group), an EC2 instance (`instance` target group)
/// and a Lambda function (`lambda` target group) to real local processes: a request from an
/// instance in the VPC reaches each through the internal ALB — the task's and the instance's
/// ENIs in their subnets, the security groups checked on the way — and the process answers,
/// with the client's address in X-Forwarded-For as ALB sets it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bound_compute_answers_through_the_alb() {
    let task = local_process("task");
    let web = local_process("web");
    let function = local_process("function");
    let loaded = bindings_loaded(&[
        format!("Service=http://{task}"),
        format!("app.Web=http://{web}/ignored-path"),
        format!("Function=http://{function}"),
    ]);
    let outputs = loaded.stacks[0].outputs.clone();
    let dns = outputs["AlbDns"].as_str().unwrap().to_string();
    let world =
        vpcgate::world::World::build(loaded.model, vpcgate::clock::Clock::at_unix(1_780_000_000))
            .unwrap();
    let client_ip = world.ec2.instance("Client").unwrap().eni.ip.to_string();
    // Fn::GetAtt PrivateIp of an instance whose template pins no address is where its ENI is.
    let web = world.ec2.instance("Web").unwrap();
    assert_eq!(outputs["WebIp"], web.eni.ip.to_string().as_str());
    assert_eq!(
        outputs["WebDns"],
        format!(
            "ip-{}.ec2.internal",
            web.eni.ip.to_string().replace('.', "-")
        )
        .as_str()
    );
    assert_eq!(outputs["WebVpc"], web.config.vpc_id.as_str());
    assert_eq!(outputs["WebState"], "running");
    for (port, process) in [(80, "task"), (81, "web"), (82, "function")] {
        let (status, body, trace) = get_from_client(&world, &dns, port, "/orders/1").await;
        assert_eq!(status, 200, "{port}: {body}\n{trace}");
        let body: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(body["process"], process, "{trace}");
        assert_eq!(body["path"], "/orders/1");
        assert_eq!(body["xff"], client_ip.as_str());
        if process != "function" {
            // The ENI path: the relay on the task's or instance's ENI carried it.
            assert!(trace.contains("relayed to the bound process"), "{trace}");
        }
    }
    // The task's ENI sits in its subnet, with its security groups.
    let task_eni = world
        .net
        .enis()
        .into_iter()
        .find(|e| e.description.starts_with("ECS task of Service"))
        .expect("the task's ENI");
    assert!(
        task_eni.ip.to_string().starts_with("10.0.1."),
        "{}",
        task_eni.ip
    );
}

/// Unbound, the ECS service, the instance and the function register no target: ALB answers as
/// for a target group without registered targets, 503 with its own error page
/// (<https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-troubleshooting.html>).
/// Bound, the security groups still decide: with the task's group not letting the load
/// balancer in on the container port, the ALB's connection to the task is dropped and it
/// answers 504 after its 10-second connect time-out (virtual time; no real socket opens).
#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn unbound_compute_is_no_target_and_bound_compute_is_behind_its_security_groups() {
    let loaded = bindings_loaded(&[]);
    let dns = loaded.stacks[0].outputs["AlbDns"]
        .as_str()
        .unwrap()
        .to_string();
    let world =
        vpcgate::world::World::build(loaded.model, vpcgate::clock::Clock::at_unix(1_780_000_000))
            .unwrap();
    for port in [80, 81, 82] {
        let (status, body, trace) = get_from_client(&world, &dns, port, "/").await;
        assert_eq!(status, 503, "{port}: {body}\n{trace}");
        assert!(body.contains("<title>503 "), "{body}");
        assert!(trace.contains("has no registered targets"), "{trace}");
    }
    // 127.0.0.1:9 (discard): never reached, the security group drops the connection first.
    let loaded = bindings_loaded_with(
        &["Service=http://127.0.0.1:9".into()],
        &[("OpenPort", "9090")],
    );
    let dns = loaded.stacks[0].outputs["AlbDns"]
        .as_str()
        .unwrap()
        .to_string();
    let world =
        vpcgate::world::World::build(loaded.model, vpcgate::clock::Clock::at_unix(1_780_000_000))
            .unwrap();
    let started = tokio::time::Instant::now();
    let (status, body, trace) = get_from_client(&world, &dns, 80, "/").await;
    assert_eq!(status, 504, "{body}\n{trace}");
    assert_eq!(
        started.elapsed(),
        std::time::Duration::from_secs(10),
        "{trace}"
    );
    assert!(!trace.contains("relayed to the bound process"), "{trace}");
}

/// Bindings come from `--bind` and from the environment file's `Bindings`; mistakes are named
/// with where they were given.
#[test]
fn bindings_are_checked_with_their_origin() {
    let e =
        vpcgate::scenario::bindings::parse_bind_arg("Service=https://127.0.0.1:8443").unwrap_err();
    assert!(e.contains("not an http:// URL"), "{e}");
    let load_err = |binds: &[&str]| {
        let binds: Vec<String> = binds.iter().map(|b| b.to_string()).collect();
        let template = fixtures().join("bindings/app.yaml");
        StackArgs {
            stacks: vec![StackSpec {
                name: "app".into(),
                template,
                parameters: Default::default(),
                body: None,
            }],
            parameters: Vec::new(),
            environment: None,
            binds: binds
                .iter()
                .map(|b| vpcgate::scenario::bindings::parse_bind_arg(b).unwrap())
                .collect(),
        }
        .load()
        .unwrap_err()
        .to_string()
    };
    let e = load_err(&["Nope=http://127.0.0.1:1"]);
    assert!(
        e.contains("--bind") && e.contains("no resource Nope in the stacks (app)"),
        "{e}"
    );
    let e = load_err(&["AlbSg=http://127.0.0.1:1"]);
    assert!(
        e.contains("AlbSg is an AWS::EC2::SecurityGroup: only an AWS::ECS::Service"),
        "{e}"
    );
    let e = load_err(&["other.Service=http://127.0.0.1:1"]);
    assert!(e.contains("no resource Service in the stacks"), "{e}");
    // The environment file's Bindings.
    let env = Environment::parse(
        "Bindings:\n  Service: http://127.0.0.1:8080\n  Web: http://10.0.0.9:80\n",
        "env.yaml",
    )
    .unwrap_err()
    .to_string();
    assert!(
        env.contains("env.yaml:3:8: Bindings.Web") && env.contains("not a loopback address"),
        "{env}"
    );
    let env =
        Environment::parse("Bindings:\n  Service: http://127.0.0.1:8080\n", "env.yaml").unwrap();
    assert_eq!(env.bindings.len(), 1);
    assert_eq!(env.bindings[0].local, "127.0.0.1:8080".parse().unwrap());
    let loaded = load(
        &[StackSpec {
            name: "app".into(),
            template: fixtures().join("bindings/app.yaml"),
            parameters: Default::default(),
            body: None,
        }],
        &env,
        &[],
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let b = &loaded.model.ec2.bindings[0];
    assert_eq!(
        (b.logical_id.as_str(), b.ports.as_slice()),
        ("Service", &[8080][..])
    );
}

/// Values of the AWS-specific parameter types must name something the account has
/// (<https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/cloudformation-supplied-parameter-types.html>):
/// CloudFormation's "Parameter validation failed: parameter value X for parameter name Y does
/// not exist" (the text of the stack events AWS writes). The environment declares key pairs,
/// AMIs, instances, volumes and security groups (by id and by GroupName).
#[test]
fn aws_specific_parameter_values_must_exist_in_the_account() {
    let env = "Region: us-east-1\nVpcs:\n  - VpcId: vpc-0a1\n    CidrBlock: 10.0.0.0/16\nSecurityGroups:\n  - GroupId: sg-0a1\n    VpcId: vpc-0a1\n    GroupName: web\nKeyPairs: [ops]\nImages: [ami-0a1]\nInstances: [i-0a1]\nVolumes: [vol-0a1]\n";
    let template = |ty: &str| {
        let value = if ty.starts_with("List<") {
            "!Join [',', !Ref P]"
        } else {
            "!Ref P"
        };
        format!(
            "Parameters:\n  P:\n    Type: {ty}\n{SG}      Tags:\n        - Key: p\n          Value: {value}\n"
        )
    };
    let cases = [
        ("AWS::EC2::KeyPair::KeyName", "ops", "nope"),
        ("AWS::EC2::Image::Id", "ami-0a1", "ami-0b2"),
        ("AWS::EC2::Instance::Id", "i-0a1", "i-0b2"),
        ("AWS::EC2::Volume::Id", "vol-0a1", "vol-0b2"),
        ("AWS::EC2::SecurityGroup::GroupName", "web", "db"),
        ("AWS::EC2::SecurityGroup::Id", "sg-0a1", "sg-0b2"),
        ("AWS::EC2::VPC::Id", "vpc-0a1", "vpc-0b2"),
        ("List<AWS::EC2::KeyPair::KeyName>", "ops", "ops,nope"),
        ("List<AWS::EC2::Image::Id>", "ami-0a1", "ami-0a1,ami-0b2"),
    ];
    for (ty, good, bad) in cases {
        let t = template(ty);
        load_texts("aws-types-ok", &[("s", &t)], Some(env), &[("s", "P", good)])
            .unwrap_or_else(|e| panic!("{ty} = {good}: {e}"));
        let e =
            load_texts("aws-types-bad", &[("s", &t)], Some(env), &[("s", "P", bad)]).unwrap_err();
        let missing = bad.rsplit(',').next().unwrap();
        assert!(
            e.contains(&format!(
                "Parameter validation failed: parameter value {missing} for parameter name P does not exist"
            )),
            "{ty} = {bad}: {e}"
        );
    }
    // An empty value is not looked up (CloudFormation's optional-parameter idiom).
    load_texts(
        "aws-types-empty",
        &[("s", &template("AWS::EC2::KeyPair::KeyName"))],
        Some(env),
        &[("s", "P", "")],
    )
    .unwrap();
    let e = Environment::parse("Images: [img-1]\nInstances: [7]\n", "env.yaml").unwrap_err();
    let e = e.to_string();
    assert!(
        e.contains("Images[0]: \"img-1\" is not an AMI id (ami-…)"),
        "{e}"
    );
    assert!(e.contains("Instances[0]"), "{e}");
}

/// The constraints' texts, as CloudFormation words them (parameters page,
/// <https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/parameters-section-structure.html>;
/// "Parameter 'XYZ' must contain at least N characters", cloudformation-coverage-roadmap issue
/// 930; "must match pattern", aws-quickstart/quickstart-pivotal-cloudfoundry issue 9), and
/// ConstraintDescription replacing them.
#[test]
fn parameter_constraints_fail_with_cloudformation_texts() {
    let cases = [
        (
            "Type: String\n    MinLength: 3",
            "ab",
            "Parameter 'P' must contain at least 3 characters",
        ),
        (
            "Type: String\n    MaxLength: 3",
            "abcd",
            "Parameter 'P' must contain at most 3 characters",
        ),
        (
            "Type: Number\n    MinValue: 2",
            "1",
            "Parameter 'P' must be a number not less than 2",
        ),
        (
            "Type: Number\n    MaxValue: 2",
            "3",
            "Parameter 'P' must be a number not greater than 2",
        ),
        ("Type: Number", "x", "Parameter 'P' must be a number"),
        (
            "Type: List<Number>",
            "1,x",
            "Parameter 'P' must be a number",
        ),
        (
            "Type: String\n    AllowedPattern: '[a-z]+'",
            "A1",
            "Parameter 'P' must match pattern [a-z]+",
        ),
        (
            "Type: CommaDelimitedList\n    AllowedValues: [a, b]",
            "a,c",
            "Parameter 'P' must be one of AllowedValues",
        ),
        (
            "Type: String\n    AllowedPattern: '[a-z]+'\n    ConstraintDescription: lower-case letters",
            "A1",
            "Parameter P failed to satisfy constraint: lower-case letters",
        ),
    ];
    for (decl, value, want) in cases {
        let t = format!("Parameters:\n  P:\n    {decl}\n{SG}");
        let e = load_texts("constraints", &[("s", &t)], None, &[("s", "P", value)]).unwrap_err();
        assert!(e.contains(want), "{decl} = {value}: want {want:?} in {e}");
    }
    // A pattern must match the whole value (Java's String.matches).
    let t = format!("Parameters:\n  P:\n    Type: String\n    AllowedPattern: '^\\/'\n{SG}");
    load_texts("anchored-ok", &[("s", &t)], None, &[("s", "P", "/")]).unwrap();
    load_texts("anchored-bad", &[("s", &t)], None, &[("s", "P", "/vpn")]).unwrap_err();
    // Java's look-ahead (Quick Start password rules) is valid for CloudFormation; vpcgate cannot
    // evaluate it and does not check the value (README, vpcgate's choice), rather than refuse.
    let t = format!(
        "Parameters:\n  P:\n    Type: String\n    AllowedPattern: '(?=.*\\d)(?=.*[A-Z]).*'\n    MinLength: 8\n{SG}"
    );
    load_texts("lookahead", &[("s", &t)], None, &[("s", "P", "Passw0rdX")]).unwrap();
    let e = load_texts("lookahead-short", &[("s", &t)], None, &[("s", "P", "P0")]).unwrap_err();
    assert!(e.contains("must contain at least 8 characters"), "{e}");
}

/// `${ Name }` in Fn::Sub: CloudFormation ignores the spaces around a name (cfn-lint issue 236,
/// "always works in CloudFormation"); `${! Literal}` stays a literal.
#[test]
fn sub_ignores_spaces_around_names() {
    let t = "Parameters:\n  Env:\n    Type: String\n    Default: dev\nResources:\n  Sg:\n    Type: AWS::EC2::SecurityGroup\n    Properties:\n      GroupDescription: !Sub '${ AWS::Region }-${Env }-${ Sg2.GroupId}-${!Keep}'\n  Sg2:\n    Type: AWS::EC2::SecurityGroup\n    Properties:\n      GroupDescription: y\nOutputs:\n  D:\n    Value: !Sub '${ AWS::Region }-${Env }-${!Keep}'\n";
    let l = load_texts("sub-spaces", &[("s", t)], None, &[]).unwrap();
    assert_eq!(l.stacks[0].outputs["D"], "us-east-1-dev-${Keep}");
}

/// The Rules section checks the parameters before anything is made: a false `Assert` refuses
/// the stack with its `AssertDescription`; a false `RuleCondition` skips the rule; rule
/// functions that read the account are not evaluated (skipped with a warning)
/// (<https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/rules-section-structure.html>;
/// cfn-lint issue 979's template; the CDK's CheckBootstrapVersion rule).
#[test]
fn rules_assertions_check_parameters() {
    let t = format!(
        "Parameters:\n  Users:\n    Type: CommaDelimitedList\n    Default: ''\n  Env:\n    Type: String\n    Default: dev\n  Size:\n    Type: String\n    Default: small\n  BootstrapVersion:\n    Type: String\n    Default: '21'\nRules:\n  AtLeastOneUser:\n    Assertions:\n      - Assert: !Not [!Contains [!Ref Users, '']]\n        AssertDescription: Must specify at least one user\n  ProdIsLarge:\n    RuleCondition: !Equals [!Ref Env, prod]\n    Assertions:\n      - Assert: !EachMemberIn [[!Ref Size], [large, xlarge]]\n        AssertDescription: prod needs a large size\n  CheckBootstrapVersion:\n    Assertions:\n      - Assert:\n          Fn::Not:\n            - Fn::Contains: [['1', '2', '3', '4', '5'], !Ref BootstrapVersion]\n        AssertDescription: CDK bootstrap stack version 6 required.\n  SubnetsInVpc:\n    Assertions:\n      - Assert:\n          Fn::EachMemberIn:\n            - Fn::ValueOfAll: [AWS::EC2::Subnet::Id, VpcId]\n            - Fn::RefAll: AWS::EC2::VPC::Id\n        AssertDescription: not evaluated offline\n{SG}"
    );
    let e = load_texts("rules-empty", &[("s", &t)], None, &[]).unwrap_err();
    assert!(
        e.contains("Rules.AtLeastOneUser.Assertions[0]: Must specify at least one user"),
        "{e}"
    );
    assert!(!e.contains("prod needs"), "{e}");
    load_texts("rules-ok", &[("s", &t)], None, &[("s", "Users", "ana,bo")]).unwrap();
    let e = load_texts(
        "rules-prod",
        &[("s", &t)],
        None,
        &[("s", "Users", "ana"), ("s", "Env", "prod")],
    )
    .unwrap_err();
    assert!(e.contains("prod needs a large size"), "{e}");
    let e = load_texts(
        "rules-cdk",
        &[("s", &t)],
        None,
        &[("s", "Users", "ana"), ("s", "BootstrapVersion", "5")],
    )
    .unwrap_err();
    assert!(e.contains("CDK bootstrap stack version 6 required."), "{e}");
}

/// `Ref AWS::NoValue` as an operand of `Fn::Equals` (cfn-lint's good/functions/
/// relationship_conditions.yaml): CloudFormation documents AWS::NoValue only as a removed
/// property value (pseudo-parameter-reference.html#cfn-pseudo-param-novalue) and cfn-lint
/// treats it as an unknown operand; vpcgate's choice (README fidelity notes): no value equals
/// only another no value, never a string, not even the empty one.
#[test]
fn no_value_in_equals_equals_only_no_value() {
    let t = format!(
        "Conditions:\n  VsRegion: !Equals [!Ref 'AWS::NoValue', us-east-1]\n  VsEmpty: !Equals ['', !Ref 'AWS::NoValue']\n  VsItself: !Equals [!Ref 'AWS::NoValue', !Ref 'AWS::NoValue']\n{SG}Outputs:\n  R:\n    Value: !If [VsRegion, t, f]\n  E:\n    Value: !If [VsEmpty, t, f]\n  I:\n    Value: !If [VsItself, t, f]\n"
    );
    let l = load_texts("novalue-equals", &[("s", &t)], None, &[]).unwrap();
    let o = &l.stacks[0].outputs;
    assert_eq!(
        (&o["R"], &o["E"], &o["I"]),
        (&json!("f"), &json!("f"), &json!("t"))
    );
}

/// Security-group rules by `SourceSecurityGroupName` (and standalone ingress rules by
/// `GroupName`), EC2's `[Default VPC]` reference by name
/// (aws-properties-ec2-security-group-ingress.html): resolved against the template's own
/// groups (`GroupName`) and the environment's, in any order; a group owned by another account
/// (`SourceSecurityGroupOwnerId`, a classic ELB's `amazon-elb-sg`) stays that account's group;
/// an unknown name is EC2's InvalidGroup.NotFound.
#[test]
fn security_group_rules_name_their_source_group_by_name() {
    use vpcgate::vpc::sg::Peer;
    let env = "AccountId: '111122223333'\nVpcs:\n  - VpcId: vpc-0a1\n    CidrBlock: 10.0.0.0/16\nSecurityGroups:\n  - GroupId: sg-0e1\n    VpcId: vpc-0a1\n    GroupName: ops\n  - GroupId: sg-0e2\n    VpcId: vpc-0a1\n    GroupName: bastion\n    SecurityGroupIngress:\n      - {IpProtocol: tcp, FromPort: 22, ToPort: 22, SourceSecurityGroupName: ops}\n";
    let t = "Resources:\n  App:\n    Type: AWS::EC2::SecurityGroup\n    Properties:\n      GroupDescription: app\n      SecurityGroupIngress:\n        - {IpProtocol: tcp, FromPort: 80, ToPort: 80, SourceSecurityGroupName: web}\n        - {IpProtocol: tcp, FromPort: 22, ToPort: 22, SourceSecurityGroupName: ops}\n        - {IpProtocol: tcp, FromPort: 81, ToPort: 81, SourceSecurityGroupName: amazon-elb-sg, SourceSecurityGroupOwnerId: amazon-elb}\n  Web:\n    Type: AWS::EC2::SecurityGroup\n    Properties:\n      GroupName: web\n      GroupDescription: web\n  WebFromApp:\n    Type: AWS::EC2::SecurityGroupIngress\n    Properties:\n      GroupName: web\n      IpProtocol: tcp\n      FromPort: 443\n      ToPort: 443\n      SourceSecurityGroupName: !Ref App\n";
    let l = load_texts("sg-names", &[("s", t)], Some(env), &[]).unwrap();
    let group = |logical: &str| {
        l.model
            .security_groups
            .iter()
            .find(|g| g.logical_id == logical)
            .unwrap_or_else(|| panic!("{logical}"))
            .clone()
    };
    let (app, web) = (group("App"), group("Web"));
    let peers: Vec<&Peer> = app.ingress.iter().map(|r| &r.peer).collect();
    assert_eq!(
        peers,
        [
            &Peer::Group(web.id.clone()),
            &Peer::Group("sg-0e1".into()),
            &Peer::Group("amazon-elb/amazon-elb-sg".into())
        ]
    );
    assert_eq!(web.ingress.len(), 1);
    assert_eq!(web.ingress[0].peer, Peer::Group(app.id.clone()));
    assert_eq!(web.ingress[0].from_port, 443);
    // The environment's own rules resolve against its groups.
    assert_eq!(
        group("sg-0e2").ingress[0].peer,
        Peer::Group("sg-0e1".into())
    );
    // An unknown name fails the rule's resource, with EC2's message.
    let bad = t.replace(
        "SourceSecurityGroupName: ops}",
        "SourceSecurityGroupName: nope}",
    );
    let e = load_texts("sg-names-bad", &[("s", &bad)], Some(env), &[]).unwrap_err();
    assert!(
        e.contains("App") && e.contains("The security group 'nope' does not exist in default VPC"),
        "{e}"
    );
    // A standalone rule's unknown source fails that rule's resource, not its group.
    let bad = t.replace(
        "SourceSecurityGroupName: !Ref App",
        "SourceSecurityGroupName: gone",
    );
    let e = load_texts("sg-names-standalone", &[("s", &bad)], Some(env), &[]).unwrap_err();
    assert!(
        e.contains("WebFromApp.Properties.SourceSecurityGroupName: The security group 'gone' does not exist in default VPC"),
        "{e}"
    );
    let e = Environment::parse(
        &env.replace(
            "SourceSecurityGroupName: ops",
            "SourceSecurityGroupName: nope",
        ),
        "env.yaml",
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("The security group 'nope' does not exist"),
        "{e}"
    );
}

/// Route tables and internet gateways the account already has, declared in the environment
/// file (`RouteTables`, `InternetGateways`), as existing VPCs and subnets are: a template
/// associates its subnets with them by id (cfn-lint's good/properties_rt_association.yaml takes
/// route table ids as String parameters) and adds routes to them; the world routes by them.
/// EC2's checks apply (CreateRoute, AssociateRouteTable: unknown ids, different networks, a
/// subnet explicitly associated twice).
#[test]
fn environment_route_tables_take_template_associations_and_routes() {
    use vpcgate::ec2::route::{Outcome, decide};
    let env = "Vpcs:\n  - VpcId: vpc-0a1\n    CidrBlock: 10.0.0.0/16\n    Subnets:\n      - {SubnetId: subnet-0a1, CidrBlock: 10.0.0.0/24, AvailabilityZone: us-east-1a}\n      - {SubnetId: subnet-0a2, CidrBlock: 10.0.1.0/24, AvailabilityZone: us-east-1a}\n      - {SubnetId: subnet-0a3, CidrBlock: 10.0.2.0/24, AvailabilityZone: us-east-1a}\nInternetGateways:\n  - {InternetGatewayId: igw-0a1, VpcId: vpc-0a1}\nRouteTables:\n  - RouteTableId: rtb-0a1\n    VpcId: vpc-0a1\n    Routes:\n      - {DestinationCidrBlock: 0.0.0.0/0, GatewayId: igw-0a1}\n    Associations: [subnet-0a1]\n  - RouteTableId: rtb-0a2\n    VpcId: vpc-0a1\n";
    let t = "Parameters:\n  Public:\n    Type: String\n    Default: rtb-0a1\n  Private:\n    Type: String\n    Default: rtb-0a2\nResources:\n  Assoc:\n    Type: AWS::EC2::SubnetRouteTableAssociation\n    Properties:\n      RouteTableId: !Ref Public\n      SubnetId: subnet-0a2\n  PrivateAssoc:\n    Type: AWS::EC2::SubnetRouteTableAssociation\n    Properties:\n      RouteTableId: !Ref Private\n      SubnetId: subnet-0a3\n  Peering:\n    Type: AWS::EC2::Route\n    Properties:\n      RouteTableId: !Ref Private\n      DestinationCidrBlock: 172.16.0.0/12\n      VpcPeeringConnectionId: pcx-0a1\n";
    let l = load_texts("env-rtb", &[("s", t)], Some(env), &[]).unwrap();
    let ec2 = &l.model.ec2;
    let cidr = Some("10.0.0.0/16".parse().unwrap());
    let public = Some("203.0.113.9".parse().unwrap());
    let out = |subnet: &str, dst: &str| {
        decide(ec2, cidr, "vpc-0a1", subnet, dst.parse().unwrap(), public)
    };
    // The environment's own association and the template's both route by rtb-0a1's default route.
    for subnet in ["subnet-0a1", "subnet-0a2"] {
        let d = out(subnet, "198.51.100.1");
        assert_eq!(d.table.as_deref(), Some("rtb-0a1"));
        assert!(
            matches!(d.outcome, Outcome::Internet { ref path, .. } if path == "igw-0a1"),
            "{d}"
        );
    }
    // The private table has the template's route and no way out.
    let d = out("subnet-0a3", "172.16.0.1");
    assert_eq!(
        (d.table.as_deref(), d.matched),
        (Some("rtb-0a2"), Some("172.16.0.0/12".parse().unwrap()))
    );
    assert!(matches!(
        out("subnet-0a3", "198.51.100.1").outcome,
        Outcome::Dropped { .. }
    ));
    // EC2's refusals: an unknown table, a subnet the environment already associates.
    let bad = t
        .replace("Default: rtb-0a2", "Default: rtb-0ff")
        .replace("SubnetId: subnet-0a2", "SubnetId: subnet-0a1");
    let e = load_texts("env-rtb-bad", &[("s", &bad)], Some(env), &[]).unwrap_err();
    assert!(
        e.contains("The routeTable ID 'rtb-0ff' does not exist"),
        "{e}"
    );
    assert!(e.contains("conflicts with an existing association"), "{e}");
    // The environment is checked as EC2 checks the calls that would have made it.
    let e = Environment::parse(
        &env.replace("GatewayId: igw-0a1}", "GatewayId: igw-0b2}")
            .replace(
                "Associations: [subnet-0a1]",
                "Associations: [subnet-0a1, subnet-0zz]",
            ),
        "env.yaml",
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("igw-0b2 is not one of the environment's InternetGateways attached to vpc-0a1"),
        "{e}"
    );
    assert!(
        e.contains("RouteTables[0].Associations[1]: The subnet ID 'subnet-0zz' does not exist"),
        "{e}"
    );
}

/// The network of an instance's interfaces as EC2 makes it
/// (aws-resource-ec2-networkinterface.html, aws-properties-ec2-instance-networkinterface.html):
/// an existing `AWS::EC2::NetworkInterface` attached at `DeviceIndex` 0 gives the instance its
/// subnet, address and groups (the Quick Starts' NAT and bastion instances); an Elastic IP
/// associated with that interface is the instance's public address; `Fn::GetAtt` of the
/// interface gives its real addresses; interfaces at `DeviceIndex` 1 and up — new ones in their
/// subnet, or existing ones — are real ENIs of the world in the instance's Availability Zone.
#[tokio::test(flavor = "current_thread")]
async fn instances_attach_network_interfaces_at_every_device_index() {
    let t = "Resources:\n  Vpc:\n    Type: AWS::EC2::VPC\n    Properties:\n      CidrBlock: 10.0.0.0/16\n  A:\n    Type: AWS::EC2::Subnet\n    Properties: {VpcId: !Ref Vpc, CidrBlock: 10.0.0.0/24, AvailabilityZone: us-east-1a}\n  B:\n    Type: AWS::EC2::Subnet\n    Properties: {VpcId: !Ref Vpc, CidrBlock: 10.0.1.0/24, AvailabilityZone: us-east-1a}\n  C:\n    Type: AWS::EC2::Subnet\n    Properties: {VpcId: !Ref Vpc, CidrBlock: 10.0.2.0/24, AvailabilityZone: us-east-1b}\n  Sg:\n    Type: AWS::EC2::SecurityGroup\n    Properties: {GroupDescription: x, VpcId: !Ref Vpc}\n  Eni:\n    Type: AWS::EC2::NetworkInterface\n    Properties:\n      SubnetId: !Ref A\n      GroupSet: [!Ref Sg]\n      SourceDestCheck: false\n      PrivateIpAddresses:\n        - {PrivateIpAddress: 10.0.0.10, Primary: true}\n        - {PrivateIpAddress: 10.0.0.11, Primary: false}\n  Spare:\n    Type: AWS::EC2::NetworkInterface\n    Properties: {SubnetId: !Ref B}\n  Host:\n    Type: AWS::EC2::Instance\n    Properties:\n      ImageId: ami-1\n      SourceDestCheck: false\n      NetworkInterfaces:\n        - {NetworkInterfaceId: !Ref Eni, DeviceIndex: '0'}\n        - {DeviceIndex: '1', SubnetId: !Ref B, GroupSet: [!Ref Sg], PrivateIpAddress: 10.0.1.20}\n        - {DeviceIndex: '2', NetworkInterfaceId: !Ref Spare}\n  Eip:\n    Type: AWS::EC2::EIP\n    Properties: {Domain: vpc}\n  Assoc:\n    Type: AWS::EC2::EIPAssociation\n    Properties:\n      AllocationId: !GetAtt Eip.AllocationId\n      NetworkInterfaceId: !Ref Eni\nOutputs:\n  Primary: {Value: !GetAtt Eni.PrimaryPrivateIpAddress}\n  Secondary: {Value: !Select [0, !GetAtt Eni.SecondaryPrivateIpAddresses]}\n  Id: {Value: !GetAtt Eni.Id}\n  Ref: {Value: !Ref Eni}\n  HostIp: {Value: !GetAtt Host.PrivateIp}\n  SpareIp: {Value: !GetAtt Spare.PrimaryPrivateIpAddress}\n  PublicIp: {Value: !Ref Eip}\n";
    let l = load_texts("enis", &[("s", t)], None, &[]).unwrap_or_else(|e| panic!("{e}"));
    let o = l.stacks[0].outputs.clone();
    assert_eq!(
        (&o["Primary"], &o["Secondary"], &o["HostIp"]),
        (
            &json!("10.0.0.10"),
            &json!("10.0.0.11"),
            &json!("10.0.0.10")
        )
    );
    assert_eq!(o["Id"], o["Ref"]);
    let host = l.model.ec2.instances[0].clone();
    assert_eq!(
        host.primary_interface.as_ref(),
        o["Ref"].as_str().map(String::from).as_ref()
    );
    assert!(!host.source_dest_check);
    // The template's own group (the VPC's default group is there too).
    let sg = l
        .model
        .security_groups
        .iter()
        .find(|g| g.logical_id == "Sg")
        .map(|g| g.id.clone())
        .unwrap();
    assert_eq!(host.security_groups, vec![sg.clone()]);
    let world =
        vpcgate::world::World::build(l.model, vpcgate::clock::Clock::at_unix(1_780_000_000))
            .unwrap();
    let host = world.ec2.instance("Host").unwrap();
    assert_eq!(host.eni.ip.to_string(), "10.0.0.10");
    assert_eq!(host.eni.groups, vec![sg.clone()]);
    assert_eq!(
        host.public_ip.map(|ip| ip.to_string()).as_deref(),
        o["PublicIp"].as_str()
    );
    let [second, third] = &host.secondary_enis[..] else {
        panic!("two secondary interfaces: {:?}", host.secondary_enis)
    };
    assert_eq!(
        (second.ip.to_string().as_str(), &second.groups),
        ("10.0.1.20", &vec![sg])
    );
    // The spare interface is where its GetAtt said it is.
    assert_eq!(Some(third.ip.to_string().as_str()), o["SpareIp"].as_str());
    assert_eq!(second.subnet_id, third.subnet_id);
    // EC2's refusals: another zone, an interface that does not exist, an address outside its
    // subnet.
    for (from, to, want) in [
        (
            "SubnetId: !Ref B, GroupSet",
            "SubnetId: !Ref C, GroupSet",
            "You may not attach a network interface to an instance if they are not in the same availability zone",
        ),
        (
            "NetworkInterfaceId: !Ref Spare",
            "NetworkInterfaceId: eni-0123456789abcdef0",
            "The networkInterface ID 'eni-0123456789abcdef0' does not exist",
        ),
        (
            "PrivateIpAddress: 10.0.1.20",
            "PrivateIpAddress: 10.0.9.20",
            "Address 10.0.9.20 does not fall within the subnet's address range",
        ),
        (
            "{PrivateIpAddress: 10.0.0.11, Primary: false}",
            "{PrivateIpAddress: 10.0.0.255, Primary: false}",
            "Address 10.0.0.255 is in subnet's reserved address range",
        ),
    ] {
        let e = load_texts("enis-bad", &[("s", &t.replace(from, to))], None, &[]).unwrap_err();
        assert!(e.contains(want), "{to}: {e}");
    }
}

/// An instance without a subnet launches into the default VPC (a placeholder: vpcgate does not
/// model it), whose range is 172.31.0.0/16 (default-vpc-components.html): an address outside it,
/// on the instance or one of its interfaces, is EC2's refusal (cfn-lint's good/generic.yaml).
#[test]
fn default_vpc_instances_ask_for_default_vpc_addresses() {
    let t = "Resources:\n  Host:\n    Type: AWS::EC2::Instance\n    Properties:\n      ImageId: ami-1\n      NetworkInterfaces:\n        - DeviceIndex: '1'\n          PrivateIpAddresses:\n            - {PrivateIpAddress: 172.31.4.9, Primary: true}\n";
    let l = load_texts("default-vpc", &[("s", t)], None, &[]).unwrap();
    assert!(l.model.ec2.instances.is_empty());
    let e = load_texts(
        "default-vpc-bad",
        &[("s", &t.replace("172.31.4.9", "1.1.1.1"))],
        None,
        &[],
    )
    .unwrap_err();
    assert!(
        e.contains("Address 1.1.1.1 does not fall within the subnet's address range (the default VPC's 172.31.0.0/16)"),
        "{e}"
    );
}

/// S3 is online: the environment file's `S3Objects` maps S3 locations (`s3://bucket/key`, or
/// any S3 URL style) to local files, relative to the environment file, read wherever a
/// template reads S3 — `BodyS3Location` of a REST or HTTP API (imported as its Body),
/// `Fn::Transform AWS::Include` with an S3 `Location` (written with `Fn::Sub` of a parameter,
/// as cfn-lint's corpus does). An unmapped location is an error naming the environment key.
#[test]
fn environment_s3_objects_stand_in_for_s3_locations() {
    let dir = Folder::new("s3objects");
    let write = |name: &str, text: &str| dir.write(name, text);
    write(
        "objects/api.yaml",
        "openapi: 3.0.1\ninfo: {title: api, version: '1'}\npaths:\n  /ping:\n    get:\n      x-amazon-apigateway-integration:\n        type: mock\n        requestTemplates: {application/json: '{\"statusCode\": 200}'}\n        responses: {default: {statusCode: '200'}}\n",
    );
    write("objects/tags.yaml", "- {Key: team, Value: net}\n");
    write(
        "env.yaml",
        "S3Objects:\n  s3://defs/api.yaml: objects/api.yaml\n  https://includes.s3.us-east-1.amazonaws.com/v1/tags.yaml: objects/tags.yaml\n",
    );
    let t = "Parameters:\n  Base:\n    Type: String\n    Default: https://includes.s3.amazonaws.com\nResources:\n  Api:\n    Type: AWS::ApiGateway::RestApi\n    Properties:\n      BodyS3Location: {Bucket: defs, Key: api.yaml}\n  Sg:\n    Type: AWS::EC2::SecurityGroup\n    Properties:\n      GroupDescription: x\n      Tags:\n        Fn::Transform:\n          Name: AWS::Include\n          Parameters:\n            Location: !Sub '${Base}/v1/tags.yaml'\n";
    write("t.yaml", t);
    let env = dir.env("env.yaml").unwrap_or_else(|e| panic!("{e}"));
    let l = dir
        .load("s", "t.yaml", &env)
        .unwrap_or_else(|e| panic!("{e}"));
    let props = |id: &str| {
        l.resolved
            .iter()
            .find(|r| r.logical_id == id)
            .unwrap()
            .properties
            .clone()
    };
    let api = props("Api");
    assert!(!api.contains_key("BodyS3Location"));
    assert!(api["Body"]["paths"]["/ping"]["get"].is_object(), "{api:?}");
    assert_eq!(
        props("Sg")["Tags"],
        json!([{"Key": "team", "Value": "net"}])
    );
    // Unmapped: the error names the environment key.
    write("u.yaml", &t.replace("Key: api.yaml", "Key: other.yaml"));
    let e = dir.load("s", "u.yaml", &env).unwrap_err();
    assert!(e.contains("BodyS3Location s3://defs/other.yaml cannot be read offline: map it to a local file in the environment file's S3Objects"), "{e}");
    write("v.yaml", &t.replace("/v1/tags.yaml", "/v2/tags.yaml"));
    let e = dir.load("s", "v.yaml", &env).unwrap_err();
    assert!(
        e.contains(
            "map s3://includes/v2/tags.yaml to a local file in the environment file's S3Objects"
        ),
        "{e}"
    );
    // The environment's own mistakes: not an S3 location, no such file.
    write(
        "bad.yaml",
        "S3Objects:\n  ftp://x/y: objects/api.yaml\n  s3://defs/gone.yaml: objects/gone.yaml\n",
    );
    let e = dir.env("bad.yaml").unwrap_err();
    assert!(e.contains("\"ftp://x/y\" is not an S3 location"), "{e}");
    assert!(e.contains("gone.yaml is not a file"), "{e}");
}

/// `AWS::Serverless::Application` from the Serverless Application Repository: the SAM
/// translator's ServerlessAppPlugin is given an offline repository client (its own hook: a
/// plugin passed to the Translator replaces the default one), which answers
/// CreateCloudFormationTemplate with an ACTIVE template in SAR's change-set bucket; the
/// application becomes the `AWS::CloudFormation::Stack` CloudFormation creates, a placeholder
/// whose `Outputs.X` are placeholders. An ApplicationId that is not an application ARN of the
/// Region is the repository's NotFoundException, reported as the translator reports it.
#[test]
fn serverless_applications_become_placeholder_nested_stacks_offline() {
    let t = "Transform: AWS::Serverless-2016-10-31\nResources:\n  App:\n    Type: AWS::Serverless::Application\n    Properties:\n      Location:\n        ApplicationId: arn:aws:serverlessrepo:us-east-1:077246666028:applications/hello-world\n        SemanticVersion: 1.0.4\n      Parameters:\n        IdentityNameParameter: corpus\nOutputs:\n  Greeting:\n    Value: !GetAtt App.Outputs.Greeting\n";
    let l = load_texts("sar", &[("s", t)], None, &[]).unwrap_or_else(|e| panic!("{e}"));
    let app = l.resolved.iter().find(|r| r.logical_id == "App").unwrap();
    assert_eq!(app.ty, "AWS::CloudFormation::Stack");
    let url = app.properties["TemplateURL"].as_str().unwrap();
    assert!(
        url == "https://awsserverlessrepo-changesets-offline.s3.amazonaws.com/077246666028/hello-world/template.yaml",
        "{url}"
    );
    assert_eq!(
        app.properties["Parameters"],
        json!({"IdentityNameParameter": "corpus"})
    );
    assert!(
        l.stacks[0].outputs["Greeting"]
            .as_str()
            .is_some_and(|g| g.ends_with("Outputs.Greeting")),
        "{:?}",
        l.stacks[0].outputs
    );
    for (id, want) in [
        (
            "arn:aws:serverlessrepo:us-west-2:077246666028:applications/hello-world",
            "Cannot find application arn:aws:serverlessrepo:us-west-2:077246666028:applications/hello-world in us-east-1",
        ),
        (
            "hello-world",
            "Resource with id [App] is invalid. Cannot find application hello-world: not an application ARN",
        ),
    ] {
        let bad = t.replace(
            "arn:aws:serverlessrepo:us-east-1:077246666028:applications/hello-world",
            id,
        );
        let e = load_texts("sar-bad", &[("s", &bad)], None, &[]).unwrap_err();
        assert!(e.contains(want), "{id}: {e}");
    }
}

/// A network interface in a subnet of the environment is still one ENI: EC2 picks its address
/// in that subnet (the environment gives the range), `Fn::GetAtt PrimaryPrivateIpAddress` gives
/// it, and the instance attached to it stands on it with that address.
#[tokio::test(flavor = "current_thread")]
async fn an_instance_on_an_environment_subnet_interface_is_that_interface() {
    let env = "Vpcs:\n  - VpcId: vpc-0a1\n    CidrBlock: 10.0.0.0/16\n    Subnets:\n      - {SubnetId: subnet-0a1, CidrBlock: 10.0.0.0/24, AvailabilityZone: us-east-1a}\n";
    let t = "Resources:\n  Eni:\n    Type: AWS::EC2::NetworkInterface\n    Properties: {SubnetId: subnet-0a1, Description: bastion interface}\n  Host:\n    Type: AWS::EC2::Instance\n    Properties:\n      ImageId: ami-1\n      NetworkInterfaces: [{NetworkInterfaceId: !Ref Eni, DeviceIndex: 0}]\nOutputs:\n  Eni: {Value: !GetAtt Eni.PrimaryPrivateIpAddress}\n  Host: {Value: !GetAtt Host.PrivateIp}\n  Vpc: {Value: !GetAtt Eni.VpcId}\n";
    let l = load_texts("env-eni", &[("s", t)], Some(env), &[]).unwrap();
    let o = l.stacks[0].outputs.clone();
    let eni_ip = o["Eni"].as_str().unwrap().to_string();
    assert!(eni_ip.starts_with("10.0.0."), "{o:?}");
    assert_eq!(o["Host"], o["Eni"]);
    assert_eq!(o["Vpc"], json!("vpc-0a1"));
    let world =
        vpcgate::world::World::build(l.model, vpcgate::clock::Clock::at_unix(1_780_000_000))
            .unwrap();
    let host = world.ec2.instance("Host").unwrap();
    assert_eq!(host.eni.description, "bastion interface");
    assert_eq!(host.eni.ip.to_string(), eni_ip);
    assert_eq!(
        world
            .net
            .enis()
            .iter()
            .filter(|e| e.subnet_id == "subnet-0a1")
            .count(),
        1
    );
}

/// A nested stack (`AWS::CloudFormation::Stack`) whose `TemplateURL` the environment's
/// `S3Objects` maps is created as CloudFormation creates it: its template with the resource's
/// `Parameters`, its resources in the world, `Fn::GetAtt Stack.Outputs.X` its outputs. An
/// unmapped one stays a placeholder.
#[test]
fn nested_stacks_from_s3_objects_are_loaded() {
    let dir = Folder::new("nested");
    let write = |name: &str, text: &str| dir.write(name, text);
    write(
        "network.yaml",
        "Parameters:\n  Cidr:\n    Type: String\nResources:\n  Vpc:\n    Type: AWS::EC2::VPC\n    Properties: {CidrBlock: !Ref Cidr}\n  Subnet:\n    Type: AWS::EC2::Subnet\n    Properties: {VpcId: !Ref Vpc, CidrBlock: !Select [0, !Cidr [!Ref Cidr, 4, 8]], AvailabilityZone: us-east-1a}\nOutputs:\n  SubnetId: {Value: !Ref Subnet}\n  VpcId: {Value: !Ref Vpc}\n",
    );
    write(
        "env.yaml",
        "S3Objects:\n  https://templates.s3.amazonaws.com/network.yaml: network.yaml\n",
    );
    write(
        "t.yaml",
        "Resources:\n  Network:\n    Type: AWS::CloudFormation::Stack\n    Properties:\n      TemplateURL: https://templates.s3.amazonaws.com/network.yaml\n      Parameters: {Cidr: 10.9.0.0/16}\n  Other:\n    Type: AWS::CloudFormation::Stack\n    Properties:\n      TemplateURL: https://templates.s3.amazonaws.com/unmapped.yaml\n  Host:\n    Type: AWS::EC2::Instance\n    Properties:\n      ImageId: ami-1\n      SubnetId: !GetAtt Network.Outputs.SubnetId\nOutputs:\n  Vpc: {Value: !GetAtt Network.Outputs.VpcId}\n  Elsewhere: {Value: !GetAtt Other.Outputs.Thing}\n",
    );
    let env = dir.env("env.yaml").unwrap();
    let l = dir
        .load("app", "t.yaml", &env)
        .unwrap_or_else(|e| panic!("{e}"));
    let vpc = l
        .model
        .vpcs
        .iter()
        .find(|v| v.logical_id == "Network/Vpc")
        .expect("the nested stack's VPC");
    assert_eq!(vpc.cidr.to_string(), "10.9.0.0/16");
    assert_eq!(l.stacks[0].outputs["Vpc"], vpc.id.as_str());
    assert_eq!(l.model.ec2.instances[0].vpc_id, vpc.id);
    assert_eq!(vpc.subnets[0].cidr.to_string(), "10.9.0.0/24");
    assert!(
        l.stacks[0].outputs["Elsewhere"]
            .as_str()
            .is_some_and(|v| v.ends_with("Outputs.Thing")),
        "{:?}",
        l.stacks[0].outputs
    );
}

/// A nested stack's `Outputs` exports are exports of the account, as any stack's
/// (<https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/using-cfn-stack-exports.html>):
/// a later stack imports them with `Fn::ImportValue`, and a name its parent (or another nested
/// stack) exports too is refused as a second export of one name.
#[test]
fn nested_stacks_exports_are_imported_by_later_stacks() {
    let dir = Folder::new("nested-exports");
    let write = |name: &str, text: &str| dir.write(name, text);
    write(
        "network.yaml",
        "Resources:\n  Vpc:\n    Type: AWS::EC2::VPC\n    Properties: {CidrBlock: 10.8.0.0/16}\nOutputs:\n  VpcId:\n    Value: !Ref Vpc\n    Export: {Name: shared-vpc}\n",
    );
    write(
        "env.yaml",
        "S3Objects:\n  https://templates.s3.amazonaws.com/network.yaml: network.yaml\n",
    );
    write(
        "parent.yaml",
        "Resources:\n  Network:\n    Type: AWS::CloudFormation::Stack\n    Properties:\n      TemplateURL: https://templates.s3.amazonaws.com/network.yaml\n",
    );
    write(
        "consumer.yaml",
        "Resources:\n  Sg:\n    Type: AWS::EC2::SecurityGroup\n    Properties:\n      GroupDescription: app\n      VpcId: !ImportValue shared-vpc\nOutputs:\n  Vpc: {Value: !ImportValue shared-vpc}\n",
    );
    let env = dir.env("env.yaml").unwrap();
    let spec = |name: &str, file: &str| StackSpec {
        name: name.into(),
        template: dir.0.join(file),
        parameters: Default::default(),
        body: None,
    };
    let l = load(
        &[spec("network", "parent.yaml"), spec("app", "consumer.yaml")],
        &env,
        &[],
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let vpc = l
        .model
        .vpcs
        .iter()
        .find(|v| v.logical_id == "Network/Vpc")
        .expect("the nested stack's VPC");
    assert_eq!(l.stacks[0].exports["shared-vpc"], vpc.id.as_str());
    assert_eq!(l.stacks[1].outputs["Vpc"], vpc.id.as_str());
    assert!(l.stacks[1].imports.contains("shared-vpc"));

    write(
        "twice.yaml",
        "Resources:\n  Network:\n    Type: AWS::CloudFormation::Stack\n    Properties:\n      TemplateURL: https://templates.s3.amazonaws.com/network.yaml\n  Sg:\n    Type: AWS::EC2::SecurityGroup\n    Properties: {GroupDescription: x}\nOutputs:\n  Group:\n    Value: !Ref Sg\n    Export: {Name: shared-vpc}\n",
    );
    let e = dir.load("twice", "twice.yaml", &env).unwrap_err();
    assert!(
        e.contains("Export with name shared-vpc is already exported by stack twice"),
        "{e}"
    );
}

/// The environment's `ServerlessApplications` maps an application of the repository to a local
/// template: the nested stack the application becomes is loaded from it (its resources in the
/// world, `Outputs.X` its outputs).
#[test]
fn serverless_applications_mapped_by_the_environment_load_their_template() {
    let dir = Folder::new("sar");
    let write = |name: &str, text: &str| dir.write(name, text);
    write(
        "hello.yaml",
        "Parameters:\n  Who:\n    Type: String\nResources:\n  Sg:\n    Type: AWS::EC2::SecurityGroup\n    Properties: {GroupDescription: !Sub 'hello ${Who}'}\nOutputs:\n  GroupId: {Value: !GetAtt Sg.GroupId}\n",
    );
    write(
        "env.yaml",
        "ServerlessApplications:\n  arn:aws:serverlessrepo:us-east-1:077246666028:applications/hello-world: hello.yaml\n",
    );
    write(
        "t.yaml",
        "Transform: AWS::Serverless-2016-10-31\nResources:\n  App:\n    Type: AWS::Serverless::Application\n    Properties:\n      Location:\n        ApplicationId: arn:aws:serverlessrepo:us-east-1:077246666028:applications/hello-world\n        SemanticVersion: 1.0.4\n      Parameters: {Who: corpus}\nOutputs:\n  Group:\n    Value: !GetAtt App.Outputs.GroupId\n",
    );
    let env = dir.env("env.yaml").unwrap_or_else(|e| panic!("{e}"));
    let l = dir
        .load("app", "t.yaml", &env)
        .unwrap_or_else(|e| panic!("{e}"));
    let sg = l
        .model
        .security_groups
        .iter()
        .find(|g| g.logical_id == "App/Sg")
        .expect("the application's group");
    assert_eq!(l.stacks[0].outputs["Group"], sg.id.as_str());
    let e = Environment::parse(
        "ServerlessApplications:\n  hello-world: hello.yaml\n",
        &dir.0.join("bad.yaml").display().to_string(),
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("\"hello-world\" is not an application ARN"),
        "{e}"
    );
}

/// `SecondaryPrivateIpAddressCount` (aws-resource-ec2-networkinterface.html): EC2 gives the
/// interface that many more addresses of its subnet, which `Fn::GetAtt
/// …SecondaryPrivateIpAddresses` lists, and an `AWS::EC2::EIPAssociation` may name one of them
/// (aws-cloudformation-templates' SingleENIwithMultipleEIPs selects index 0 and 1).
#[test]
fn an_interfaces_secondary_address_count_gives_that_many_addresses() {
    let t = "Resources:\n  Vpc:\n    Type: AWS::EC2::VPC\n    Properties: {CidrBlock: 10.0.0.0/16}\n  A:\n    Type: AWS::EC2::Subnet\n    Properties: {VpcId: !Ref Vpc, CidrBlock: 10.0.0.0/24}\n  Eni:\n    Type: AWS::EC2::NetworkInterface\n    Properties: {SubnetId: !Ref A, SecondaryPrivateIpAddressCount: 2}\nOutputs:\n  Primary: {Value: !GetAtt Eni.PrimaryPrivateIpAddress}\n  First: {Value: !Select [0, !GetAtt Eni.SecondaryPrivateIpAddresses]}\n  All: {Value: !Join [',', !GetAtt Eni.SecondaryPrivateIpAddresses]}\n";
    let l = load_texts("secondary-count", &[("s", t)], None, &[]).unwrap_or_else(|e| panic!("{e}"));
    let o = &l.stacks[0].outputs;
    let all: Vec<&str> = o["All"].as_str().unwrap().split(',').collect();
    assert_eq!(all.len(), 2, "{o:?}");
    assert_eq!(o["First"].as_str(), Some(all[0]));
    let mut every = all.clone();
    every.push(o["Primary"].as_str().unwrap());
    for ip in &every {
        let ip: std::net::Ipv4Addr = ip.parse().unwrap();
        assert_eq!(ip.octets()[..3], [10, 0, 0], "{ip} is in the subnet");
    }
    every.sort();
    every.dedup();
    assert_eq!(every.len(), 3, "distinct addresses: {o:?}");
}
