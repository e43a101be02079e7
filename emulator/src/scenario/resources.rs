//! Typed conversion of resolved resources into the [`Model`], with validation: the
//! orchestration of the resource families, and the Step Functions family.
//!
//! Each family has one converter (a module with a `convert` that reads one resource's
//! CloudFormation properties, the names of the CloudFormation template reference, and checks
//! what AWS checks when the resource is created; and, where resources of the family name each
//! other or what other families build, a `finish` once the whole stack is converted):
//!
//! | family | types | converter |
//! | --- | --- | --- |
//! | network | VPC, subnets, security groups (and their standalone rules), Route 53, ACM | [`super::network`] |
//! | load balancers | ELBv2 (ALB here, NLB in [`super::nlb`]) | [`super::alb`] |
//! | resource gateways | Lattice resource gateways and configurations | [`super::resource_gateways`] |
//! | VPC Lattice | service networks, services, listeners, rules, target groups | [`super::lattice`] |
//! | EventBridge | connections, buses, rules, API destinations | [`super::events`] |
//! | IAM | roles, users, access keys, policies | [`super::iam`] |
//! | Step Functions | state machines | this module |
//! | API Gateway | REST APIs, VPC links | [`super::apigw`] |
//! | HTTP APIs | API Gateway v2 | [`super::apigwv2`] |
//! | EC2 clients | instances, routes, gateways, endpoints | [`super::ec2`] |
//!
//! [`build_onto`] runs them in two explicit passes: every resource in [`rank`] order (what
//! others point at first), then the families' whole-stack steps in a fixed order. Every error
//! carries the logical id and the property path.

use std::collections::HashMap;

use serde_json::Value;

use super::error::{ErrorKind, type_name};
pub(crate) use super::network::{resolve_group_names, rules_of};
pub(crate) use super::props::PropError;
use super::props::{Props, attr};
use super::template::ResolvedResource;
use crate::model::{Certificate, Model, NotEmulated, StateMachine, StateMachineType};

/// The resource families, each with the types its converter takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Family {
    Network,
    LoadBalancers,
    ResourceGateways,
    Lattice,
    EventBridge,
    Iam,
    StepFunctions,
    RestApis,
    HttpApis,
    Ec2,
}

/// The types of the Step Functions family (this module).
const STEP_FUNCTIONS: &[&str] = &["AWS::StepFunctions::StateMachine"];

/// Every family with its types.
const FAMILIES: &[(Family, &[&str])] = &[
    (Family::Network, super::network::TYPES),
    (Family::LoadBalancers, super::alb::TYPES),
    (Family::ResourceGateways, super::resource_gateways::TYPES),
    (Family::Lattice, super::lattice::TYPES),
    (Family::EventBridge, super::events::TYPES),
    (Family::Iam, super::iam::TYPES),
    (Family::StepFunctions, STEP_FUNCTIONS),
    (Family::RestApis, super::apigw::TYPES),
    (Family::HttpApis, super::apigwv2::TYPES),
    (Family::Ec2, super::ec2::TYPES),
];

/// The family that converts resources of type `ty`, if vpcgate emulates it.
fn family(ty: &str) -> Option<Family> {
    FAMILIES
        .iter()
        .find(|(_, types)| types.contains(&ty))
        .map(|(f, _)| *f)
}

/// Converted and checked, but with no AWS-shaped ids of its own (scenario::ids gives it a
/// placeholder's): `Fn::GetAtt` reads it as a type vpcgate does not emulate.
const PLACEHOLDER_IDS: &[&str] = &["AWS::ApiGateway::Authorizer"];

/// Types vpcgate accepts without emulating them (issue: templates run unmodified).
pub(crate) fn is_placeholder_type(ty: &str) -> bool {
    family(ty).is_none() || PLACEHOLDER_IDS.contains(&ty)
}

/// Every resource of the stack and of the stacks before it by its `Ref` value (and, for the
/// values nothing else has as its `Ref`, its attributes' values): (logical id, type). What a
/// property that names another resource may name.
#[derive(Default)]
pub(super) struct Index {
    /// Ref value of every resource -> (logical id, type).
    pub(super) by_ref: HashMap<String, (String, String)>,
}

impl Index {
    fn of<'r>(resources: impl Iterator<Item = &'r ResolvedResource>) -> Self {
        let mut index = Index::default();
        for r in resources {
            if let Some(s) = r.physical.reference.as_str() {
                index
                    .by_ref
                    .insert(s.to_string(), (r.logical_id.clone(), r.ty.clone()));
            }
            for v in r.physical.attributes.values() {
                if let Some(s) = v.as_str() {
                    index
                        .by_ref
                        .entry(s.to_string())
                        .or_insert((r.logical_id.clone(), r.ty.clone()));
                }
            }
        }
        index
    }
}

/// Builds the model; returns it with the errors of each resource (logical id, path, kind).
pub(crate) fn build(
    resolved: &[ResolvedResource],
    certificates: Vec<Certificate>,
    region: &str,
    account: &str,
) -> (Model, Vec<(String, PropError)>) {
    let model = Model {
        certificates,
        region: region.into(),
        account: account.into(),
        ..Model::default()
    };
    build_onto(model, &[], resolved)
}

/// The order of the per-resource pass: the types others point at first (a subnet names its
/// VPC; an ALB listener rule's and listener's actions copy their target group), every other
/// type after them in the template's order.
fn rank(ty: &str) -> u8 {
    match ty {
        "AWS::EC2::VPC" => 0,
        "AWS::EC2::Subnet" => 1,
        // Instances attach existing network interfaces.
        "AWS::ElasticLoadBalancingV2::TargetGroup" | "AWS::EC2::NetworkInterface" => 2,
        "AWS::ElasticLoadBalancingV2::ListenerRule" => 3,
        _ => 4,
    }
}

/// Adds one stack's resources to a model that already holds what exists before it (the
/// environment's VPCs, subnets, zones and certificates, and the stacks deployed earlier, whose
/// resolved resources are `earlier`: references to them are valid).
pub(crate) fn build_onto(
    mut model: Model,
    earlier: &[ResolvedResource],
    resolved: &[ResolvedResource],
) -> (Model, Vec<(String, PropError)>) {
    let index = Index::of(earlier.iter().chain(resolved));
    let mut errors: Vec<(String, PropError)> = Vec::new();
    let mut network = super::network::Network::default();
    let mut load_balancers = super::alb::LoadBalancers::default();
    let mut iam = super::iam::Iam::default();
    // Pass 1: each resource on its own.
    let mut ordered: Vec<&ResolvedResource> = resolved.iter().collect();
    ordered.sort_by_key(|r| rank(&r.ty));
    for r in ordered {
        let errs = match family(&r.ty) {
            Some(Family::Network) => network.convert(r, &mut model),
            Some(Family::LoadBalancers) => load_balancers.convert(r, &mut model, &index),
            Some(Family::ResourceGateways) => super::resource_gateways::convert(r, &mut model),
            // Converted in pass 2, once VPCs, groups and ALBs are known.
            Some(Family::Lattice) => Vec::new(),
            Some(Family::EventBridge) => super::events::convert(r, &mut model),
            Some(Family::Iam) => iam.convert(r, &mut model),
            Some(Family::StepFunctions) => step_functions(r, &mut model),
            Some(Family::RestApis) => super::apigw::convert(r, &mut model),
            Some(Family::HttpApis) => super::apigwv2::convert(r, &mut model),
            Some(Family::Ec2) => super::ec2::convert(r, &mut model),
            None => {
                model.not_emulated.push(NotEmulated {
                    logical_id: r.logical_id.clone(),
                    resource_type: r.ty.clone(),
                });
                Vec::new()
            }
        };
        errors.extend(errs.into_iter().map(|e| (r.logical_id.clone(), e)));
    }
    // Pass 2: what only the whole stack tells, each step after the ones it reads.
    errors.extend(super::lattice::build(resolved, &mut model));
    errors.extend(network.finish(&mut model, &index));
    super::network::restrict_default_groups(resolved, &mut model);
    load_balancers.finish(&mut model);
    errors.extend(iam.finish(&mut model));
    errors.extend(state_machine_roles(&model));
    errors.extend(super::apigw::finish(&model));
    errors.extend(super::events::finish(&model, resolved));
    errors.extend(super::apigwv2::finish(&model));
    errors.extend(super::ec2::finish(
        &mut model,
        earlier.iter().chain(resolved),
    ));
    super::network::normalize_aliases(&mut model);
    (model, errors)
}

/// `AWS::StepFunctions::StateMachine`.
fn step_functions(r: &ResolvedResource, model: &mut Model) -> Vec<PropError> {
    let mut errors = Vec::new();
    let mut p = Props::of(r, &mut errors);
    state_machine(
        &mut p,
        model,
        &r.logical_id,
        &attr(r, "Arn"),
        &attr(r, "Name"),
    );
    errors
}

/// CloudFormation creates a state machine with CreateStateMachine, which refuses a role Step
/// Functions cannot assume (it does not exist, or its trust policy does not allow
/// `states.amazonaws.com` for this machine): the stack fails with Step Functions' message
/// ([`crate::sfn::role::CANNOT_ASSUME_ROLE`]). Only roles of the stack's account are checked
/// (vpcgate holds no other account's IAM).
fn state_machine_roles(model: &Model) -> Vec<(String, PropError)> {
    use crate::iam::{NamedPolicy, Policy, PolicyKind, ServiceAssumption, service_may_assume};
    let mut out = Vec::new();
    for sm in &model.state_machines {
        if sm.role_arn.split(':').nth(4) != Some(model.account.as_str()) {
            continue;
        }
        let trusted = model
            .roles
            .iter()
            .find(|r| r.arn == sm.role_arn)
            .and_then(|r| Policy::parse(&r.trust_policy, PolicyKind::Trust).ok())
            .is_some_and(|p| {
                let trust = NamedPolicy::new("AssumeRolePolicyDocument", p);
                service_may_assume(
                    &trust,
                    &sm.role_arn,
                    &ServiceAssumption {
                        service: crate::sfn::role::STATES_PRINCIPAL,
                        source_arn: &sm.arn,
                        source_account: &model.account,
                        region: &model.region,
                        now: None,
                    },
                )
                .is_allowed()
            });
        if !trusted {
            out.push((
                sm.logical_id.clone(),
                (
                    "Properties.RoleArn".to_string(),
                    ErrorKind::Invalid {
                        reason: format!(
                            "Resource handler returned message: \"{} (Service: Sfn, Status Code: 400)\"",
                            crate::sfn::role::CANNOT_ASSUME_ROLE
                        ),
                    },
                ),
            ));
        }
    }
    out
}

fn state_machine(p: &mut Props<'_>, model: &mut Model, id: &str, arn: &str, name: &str) {
    let role_arn = p.str("RoleArn").unwrap_or_default();
    let kind = match p.opt_str("StateMachineType").as_deref() {
        None | Some("STANDARD") => StateMachineType::Standard,
        Some("EXPRESS") => StateMachineType::Express,
        Some(other) => {
            p.invalid(
                "StateMachineType",
                format!("{other:?} is not one of STANDARD, EXPRESS"),
            );
            StateMachineType::Standard
        }
    };
    let mut definition = match (p.get("Definition"), p.get("DefinitionString")) {
        (Some(d), None) if d.is_object() => d.to_string(),
        (None, Some(Value::String(s))) => s.clone(),
        (Some(_), Some(_)) => {
            p.invalid("Definition", "give one of Definition, DefinitionString");
            return;
        }
        (None, None) => {
            if p.get("DefinitionS3Location").is_some() {
                p.invalid("DefinitionS3Location", "definitions in S3 are not emulated: inline the definition with Definition or DefinitionString");
            } else {
                p.missing_as("DefinitionString", "Definition or DefinitionString");
            }
            return;
        }
        (Some(other), None) | (None, Some(other)) => {
            let found = type_name(other);
            p.fail(
                "DefinitionString",
                ErrorKind::WrongType {
                    expected: "a JSON object (Definition) or a string (DefinitionString)",
                    found,
                },
            );
            return;
        }
    };
    if let Some((_, subs)) = p.object("DefinitionSubstitutions") {
        for (k, v) in subs {
            let text = match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            definition = definition.replace(&format!("${{{k}}}"), &text);
        }
    }
    model.state_machines.push(StateMachine {
        logical_id: id.to_string(),
        name: name.to_string(),
        arn: arn.to_string(),
        role_arn,
        definition,
        kind,
    });
}
