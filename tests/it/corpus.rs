//! The corpus: real public templates loaded as `vpcgate check --stack` loads them — read,
//! transformed (SAM, AWS::LanguageExtensions), resolved, the model built and the world started —
//! into the account tests/fixtures/corpus/environment.json describes, with the parameter values of
//! the entry's vpcgate.json for parameters that have no default. Every entry must load as written;
//! a few are checked for specific facts of the built model.
//!
//! The templates themselves are not in this repository: they are public code of other projects,
//! which the project's rules keep out of its commits (they are read where the steering repository
//! holds them, `../shared/corpus/<name>/`, or where `VPCGATE_CORPUS` points). What is committed is
//! the manifest: tests/fixtures/corpus/<name>/SOURCE (repository, path, commit, licence, files) and
//! vpcgate.json. The tests that need the templates are ignored, saying so, when they are absent;
//! `VPCGATE_CORPUS=<dir> cargo test -p vpcgate-tests --test it corpus -- --include-ignored` runs
//! them.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;
use vpcgate::scenario::stacks::{Environment, Loaded, StackSpec, load};

/// The committed manifest: one folder per entry (SOURCE, vpcgate.json), and environment.json.
fn corpus() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/corpus")
}

/// Where the templates are: `VPCGATE_CORPUS`, else the steering repository's `shared/corpus`.
fn templates() -> PathBuf {
    match std::env::var_os("VPCGATE_CORPUS") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpus"),
    }
}

/// The template of the entry whose manifest folder is `dir`.
fn template_of(dir: &Path) -> PathBuf {
    let name = dir.file_name().expect("an entry folder");
    let home = templates().join(name);
    ["template.yaml", "template.yml", "template.json"]
        .iter()
        .map(|n| home.join(n))
        .find(|p| p.exists())
        .unwrap_or_else(|| {
            panic!(
                "{} has no template (the corpus templates are read from {}; see SOURCE for where each comes from)",
                dir.display(),
                templates().display()
            )
        })
}

fn entries() -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(corpus())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    dirs
}

fn load_entry(dir: &Path) -> Loaded {
    let env = Environment::load(&corpus().join("environment.json")).unwrap();
    let parameters: BTreeMap<String, String> = std::fs::read_to_string(dir.join("vpcgate.json"))
        .ok()
        .map(|t| {
            let v: Value = serde_json::from_str(&t).unwrap();
            v["Parameters"]
                .as_object()
                .unwrap()
                .iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
                .collect()
        })
        .unwrap_or_default();
    let spec = StackSpec {
        name: "corpus".into(),
        template: template_of(dir),
        parameters,
        body: None,
    };
    match load(&[spec], &env, &[]) {
        Ok(l) => l,
        Err(e) => panic!("{} does not load:\n{e}", dir.display()),
    }
}

fn output(l: &Loaded, name: &str) -> String {
    l.stacks[0].outputs[name].as_str().unwrap().to_string()
}

#[test]
fn corpus_has_at_least_thirty_templates_each_with_its_source() {
    let dirs = entries();
    assert!(dirs.len() >= 30, "{} corpus templates", dirs.len());
    for d in &dirs {
        let source = std::fs::read_to_string(d.join("SOURCE"))
            .unwrap_or_else(|_| panic!("{} has no SOURCE", d.display()));
        for key in [
            "repository: https://github.com/",
            "path: ",
            "commit: ",
            "licence: ",
        ] {
            assert!(source.contains(key), "{}: SOURCE lacks {key}", d.display());
        }
        assert!(
            source.contains("licence: MIT-0") || source.contains("licence: Apache-2.0"),
            "{}: not a permissive licence",
            d.display()
        );
    }
}

#[test]
#[ignore = "needs the public templates in ../shared/corpus or VPCGATE_CORPUS (other projects' code is not committed)"]
fn every_corpus_template_loads_as_written_and_its_world_starts() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut sam = 0;
    let mut failures = Vec::new();
    for d in entries() {
        let loaded = load_entry(&d);
        if std::fs::read_to_string(template_of(&d))
            .unwrap()
            .contains("AWS::Serverless-2016-10-31")
        {
            sam += 1;
        }
        let model = loaded.model;
        rt.block_on(async {
            if let Err(e) =
                vpcgate::world::World::build(model, vpcgate::clock::Clock::at_unix(1_780_000_000))
            {
                failures.push(format!("{}: the world does not start: {e}", d.display()));
            }
        });
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(sam >= 10, "{sam} SAM templates in the corpus");
}

/// serverless-patterns/sfn-apigw: the state machine and the role SAM generates for it are
/// emulated, and so is SAM's implicit REST API (an OpenAPI Body, imported).
#[test]
#[ignore = "needs the public templates in ../shared/corpus or VPCGATE_CORPUS (other projects' code is not committed)"]
fn sam_state_machine_and_its_generated_role_are_emulated() {
    let l = load_entry(&corpus().join("sp-sfn-apigw"));
    let sm = l
        .model
        .state_machines
        .iter()
        .find(|s| s.logical_id == "StateMachinetoAPIGW")
        .expect("the state machine");
    assert!(
        sm.definition.contains("apigateway:invoke"),
        "{}",
        sm.definition
    );
    assert!(sm.role_arn.contains(":role/"), "{}", sm.role_arn);
    let types: Vec<&str> = l.stacks[0]
        .resources
        .iter()
        .map(|(_, t)| t.as_str())
        .collect();
    assert!(types.contains(&"AWS::IAM::Role"), "{types:?}");
    let api = l
        .model
        .apigw
        .find_rest_api("ServerlessRestApi")
        .expect("SAM's implicit API is imported");
    assert!(
        l.model
            .apigw
            .methods
            .iter()
            .any(|m| m.rest_api_id == api.id && m.integration.is_some())
    );
    assert!(
        !l.model
            .not_emulated
            .iter()
            .any(|n| n.logical_id == "ServerlessRestApi")
    );
}

/// serverless-patterns/vpc-lattice-lambda: LAMBDA target groups load; the template's duplicate
/// `Outputs` keys keep the last value, as CloudFormation does.
#[test]
#[ignore = "needs the public templates in ../shared/corpus or VPCGATE_CORPUS (other projects' code is not committed)"]
fn lattice_lambda_target_groups_and_duplicate_keys() {
    let l = load_entry(&corpus().join("sp-vpc-lattice-lambda"));
    let groups = &l.model.lattice.target_groups;
    assert_eq!(groups.len(), 2, "{groups:?}");
    assert!(groups.iter().all(|g| g.targets.is_empty()));
    // The second `VLService` output (DnsEntry.DomainName) wins over the first (Id).
    assert!(
        output(&l, "VLService").ends_with(".vpc-lattice-svcs.us-east-1.on.aws"),
        "{}",
        output(&l, "VLService")
    );
}

/// aws-cloudformation-templates EC2/ec2_with_waitcondition_template: `Fn::GetAtt` of an
/// instance's PublicDnsName gives EC2's public name (compute-1.amazonaws.com in us-east-1).
#[test]
#[ignore = "needs the public templates in ../shared/corpus or VPCGATE_CORPUS (other projects' code is not committed)"]
fn instance_public_dns_name_attribute() {
    let l = load_entry(&corpus().join("cft-EC2-ec2_with_waitcondition_template"));
    let url = output(&l, "WebsiteURL");
    assert!(
        url.starts_with("http://ec2-203-0-113-") && url.contains(".compute-1.amazonaws.com"),
        "{url}"
    );
}

/// step-functions-workflows-collection/call-http-api: the ASL file of `DefinitionUri` is read and
/// inlined by the SAM expansion.
#[test]
#[ignore = "needs the public templates in ../shared/corpus or VPCGATE_CORPUS (other projects' code is not committed)"]
fn sam_definition_uri_is_read_beside_the_template() {
    let l = load_entry(&corpus().join("sf-call-http-api"));
    assert!(!l.model.state_machines.is_empty());
    for sm in &l.model.state_machines {
        assert!(sm.definition.contains("\"StartAt\""), "{}", sm.definition);
    }
}

/// The environment file declares existing security groups (id, VPC, rules in CloudFormation's
/// shape) and managed prefix lists; templates name them by id (an `AWS::EC2::SecurityGroup::Id`
/// parameter, a rule's SourcePrefixListId), and the rules of a prefix list get its CIDRs.
#[test]
fn environment_security_groups_and_prefix_lists() {
    let dir = std::env::temp_dir().join(format!("vpcgate-env-sg-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let env_file = dir.join("env.yaml");
    std::fs::write(
        &env_file,
        r#"
Region: us-east-1
Vpcs:
  - VpcId: vpc-0aaa
    CidrBlock: 10.1.0.0/16
    Subnets:
      - {SubnetId: subnet-0a, CidrBlock: 10.1.0.0/24, AvailabilityZone: us-east-1a}
PrefixLists:
  - PrefixListId: pl-0corp
    PrefixListName: corporate
    Entries: [{Cidr: 192.0.2.0/24}, {Cidr: 198.51.100.0/24}]
SecurityGroups:
  - GroupId: sg-0existing
    VpcId: vpc-0aaa
    SecurityGroupIngress:
      - {IpProtocol: tcp, FromPort: 443, ToPort: 443, SourcePrefixListId: pl-0corp}
"#,
    )
    .unwrap();
    let template = dir.join("t.yaml");
    std::fs::write(
        &template,
        r#"
Parameters:
  Group:
    Type: AWS::EC2::SecurityGroup::Id
Resources:
  Extra:
    Type: AWS::EC2::SecurityGroupIngress
    Properties: {GroupId: !Ref Group, IpProtocol: tcp, FromPort: 80, ToPort: 80, CidrIp: 10.1.0.0/16}
"#,
    )
    .unwrap();
    let env = Environment::load(&env_file).unwrap();
    let spec = StackSpec {
        name: "s".into(),
        template: template.clone(),
        parameters: BTreeMap::from([("Group".into(), "sg-0existing".into())]),
        body: None,
    };
    let l = load(&[spec], &env, &[]).unwrap_or_else(|e| panic!("{e}"));
    let g = l
        .model
        .security_groups
        .iter()
        .find(|g| g.id == "sg-0existing")
        .expect("the existing group");
    assert_eq!(g.vpc_id, "vpc-0aaa");
    assert_eq!(g.ingress.len(), 2, "{:?}", g.ingress);
    match &g.ingress[0].peer {
        vpcgate::vpc::sg::Peer::PrefixList { id, cidrs } => {
            assert_eq!(id, "pl-0corp");
            assert_eq!(cidrs.len(), 2);
        }
        other => panic!("{other:?}"),
    }
    // A group naming a VPC the environment does not have is refused with its path.
    std::fs::write(
        &env_file,
        "SecurityGroups:\n  - {GroupId: sg-1, VpcId: vpc-none, SecurityGroupIngress: [{IpProtocol: tcp, FromPort: 1, ToPort: 2}]}\n",
    )
    .unwrap();
    let e = Environment::load(&env_file).unwrap_err().to_string();
    assert!(
        e.contains("SecurityGroups[0].VpcId") && e.contains("vpc-none"),
        "{e}"
    );
    assert!(
        e.contains("SecurityGroups[0].SecurityGroupIngress[0]"),
        "{e}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// serverless-patterns/apigw-sfn: a SAM HttpApi's id is AWS-shaped (10 lowercase alphanumerics)
/// in its `ApiEndpoint`.
#[test]
#[ignore = "needs the public templates in ../shared/corpus or VPCGATE_CORPUS (other projects' code is not committed)"]
fn http_api_placeholder_ids_are_aws_shaped() {
    let l = load_entry(&corpus().join("sp-apigw-sfn"));
    let url = output(&l, "HelloWorldApi");
    let id = url
        .strip_prefix("https://")
        .and_then(|u| u.strip_suffix(".execute-api.us-east-1.amazonaws.com"))
        .unwrap_or_else(|| panic!("{url}"));
    assert_eq!(id.len(), 10, "{url}");
    assert!(
        id.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()),
        "{url}"
    );
}

/// Pattern A with its state machine written in SAM (tests/fixtures/templates/sam-pattern-a):
/// `Transform: [AWS::LanguageExtensions, AWS::Serverless-2016-10-31]`, the ASL read from a local
/// `DefinitionUri`, `DefinitionSubstitutions` from another stack's output — the execution returns
/// the seed's verified output end to end.
#[test]
fn sam_state_machine_runs_pattern_a_end_to_end() {
    let file =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/templates/sam-pattern-a.json");
    let outcomes = vpcgate::check::run_file(&file);
    assert_eq!(outcomes.len(), 1);
    assert!(outcomes[0].passed, "\n{}", vpcgate::check::table(&outcomes));
    assert_eq!(outcomes[0].result["StatusCode"], 200);
}

/// The synthesized CloudFormation output of CDK apps (templates their authors committed from
/// `cdk.out/`): the bootstrap version parameter (`AWS::SSM::Parameter::Value<String>` read from
/// the environment's SsmParameters), the `CheckBootstrapVersion` rule, `AWS::CDK::Metadata`,
/// asset buckets in `Fn::Sub`, and their state machines emulated.
#[test]
#[ignore = "needs the public templates in ../shared/corpus or VPCGATE_CORPUS (other projects' code is not committed)"]
fn cdk_synthesized_templates_load_with_their_state_machines() {
    let mut cdk = 0;
    for d in entries() {
        let text = std::fs::read_to_string(template_of(&d)).unwrap();
        if !text.contains("\"AWS::CDK::Metadata\"") {
            continue;
        }
        cdk += 1;
        let l = load_entry(&d);
        assert_eq!(
            l.stacks[0].parameters["BootstrapVersion"],
            "21",
            "{}",
            d.display()
        );
        assert!(!l.model.state_machines.is_empty(), "{}", d.display());
    }
    assert!(cdk >= 2, "{cdk} CDK-synthesized templates in the corpus");
}

/// serverless-patterns/alb-lambda-rest-api-sam-py: an ALB target group of type `lambda` loads
/// (no target: Lambda does not run unless a binding names the function).
#[test]
#[ignore = "needs the public templates in ../shared/corpus or VPCGATE_CORPUS (other projects' code is not committed)"]
fn alb_lambda_target_groups_load() {
    let l = load_entry(&corpus().join("sp-alb-lambda-rest-api-sam-py"));
    assert_eq!(l.model.load_balancers.len(), 1);
    assert!(
        l.model
            .not_emulated
            .iter()
            .any(|n| n.resource_type == "AWS::Lambda::Function")
    );
}
