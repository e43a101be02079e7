//! The validated model: what a scenario says, typed, checked once.
//!
//! The scenario turns a CloudFormation-shaped document into a [`Model`]; the world (the
//! composition root) builds running components from it. Nothing downstream of the model parses text, and every
//! component configuration here is the one its module defines.

use serde_json::{Map, Value};

pub use crate::authz::{ManagedPolicy, Role, User};

use crate::alb::{ListenerConfig, LoadBalancerConfig};
use crate::events::ConnectionConfig;
use crate::lattice::{ResourceConfigurationConfig, ResourceGatewayConfig};
use crate::pki::Issuer;
use crate::vpc::{SecurityGroup, Vpc};

/// An ACM certificate the account holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Certificate {
    /// `arn:aws:acm:<region>:<account>:certificate/<uuid>`.
    pub arn: String,
    /// Domain name first, then subject alternative names.
    pub names: Vec<String>,
    /// Issued by ACM (the emulated public CA) or imported self-signed.
    pub issuer: Issuer,
}

/// One record of a hosted zone.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    /// Owner name.
    pub name: String,
    /// `A`, `AAAA`, `CNAME` or `TXT`.
    pub record_type: String,
    /// Time to live.
    pub ttl: u32,
    /// `ResourceRecords`.
    pub values: Vec<String>,
    /// `AliasTarget.DNSName`: the name whose addresses this record answers with.
    pub alias: Option<String>,
}

/// A Route 53 hosted zone (private when associated with VPCs).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HostedZone {
    /// CloudFormation logical id.
    pub logical_id: String,
    /// `Z…`.
    pub id: String,
    /// The apex, without a trailing dot.
    pub name: String,
    /// The VPCs it is associated with (empty: a public zone).
    pub vpc_ids: Vec<String>,
    /// Its records.
    pub records: Vec<Record>,
}

// Step Functions' configuration is its own (components do not import the model).
pub use crate::sfn::{StateMachine, StateMachineType};

/// A resource vpcgate does not emulate (listed once at start; its `Ref`/`GetAtt` are placeholders).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NotEmulated {
    /// Logical id.
    pub logical_id: String,
    /// Resource type.
    pub resource_type: String,
}

/// Everything a scenario declares, validated.
#[derive(Clone, Debug, Default)]
pub struct Model {
    /// `AWS::Region`.
    pub region: String,
    /// `AWS::AccountId`.
    pub account: String,
    /// `AWS::StackName`.
    pub stack: String,
    /// VPCs with their subnets.
    pub vpcs: Vec<Vpc>,
    /// Security groups.
    pub security_groups: Vec<SecurityGroup>,
    /// Hosted zones.
    pub hosted_zones: Vec<HostedZone>,
    /// ACM certificates.
    pub certificates: Vec<Certificate>,
    /// Load balancers.
    pub load_balancers: Vec<LoadBalancerConfig>,
    /// Listeners.
    pub listeners: Vec<ListenerConfig>,
    /// Network Load Balancers, their listeners and target groups.
    pub nlb: crate::nlb::NlbModel,
    /// Lattice resource gateways.
    pub resource_gateways: Vec<ResourceGatewayConfig>,
    /// Lattice resource configurations.
    pub resource_configurations: Vec<ResourceConfigurationConfig>,
    /// EventBridge connections.
    pub connections: Vec<ConnectionConfig>,
    /// EventBridge buses, rules and API destinations (scenario::events).
    pub events: crate::events::EventsModel,
    /// IAM roles.
    pub roles: Vec<Role>,
    /// IAM users.
    pub users: Vec<User>,
    /// Customer managed policies.
    pub managed_policies: Vec<ManagedPolicy>,
    /// State machines.
    pub state_machines: Vec<StateMachine>,
    /// Resources accepted but not emulated.
    pub not_emulated: Vec<NotEmulated>,
    /// Stack outputs.
    pub outputs: Map<String, Value>,
    /// API Gateway REST APIs, their resources, methods, deployments, stages, and VPC links.
    pub apigw: crate::apigw::ApiGatewayModel,
    /// VPC Lattice service networks and what belongs to them (services, listeners, rules,
    /// target groups, associations, auth policies, access logs, instances, workloads).
    pub lattice: crate::lattice::service_network::LatticeModel,
    /// Instances, route tables, internet and NAT gateways, Elastic IPs, VPC endpoints.
    pub ec2: crate::ec2::Ec2Model,
}

impl Model {
    /// The load balancer, ALB or NLB, behind a listener ARN: its name and VPC.
    pub fn listener_load_balancer(&self, listener_arn: &str) -> Option<(&str, &str)> {
        if let Some((_, lb)) = self.nlb.listener(listener_arn) {
            return Some((&lb.name, &lb.vpc_id));
        }
        let l = self.listeners.iter().find(|l| l.arn == listener_arn)?;
        let lb = self
            .load_balancers
            .iter()
            .find(|lb| lb.arn == l.load_balancer_arn)?;
        Some((&lb.name, &lb.vpc_id))
    }

    /// The load balancer, ALB or NLB, a load balancer or listener ARN names: its name and VPC.
    pub fn load_balancer_behind(&self, arn: &str) -> Option<(&str, &str)> {
        if let Some(lb) = self.load_balancers.iter().find(|lb| lb.arn == arn) {
            return Some((&lb.name, &lb.vpc_id));
        }
        if let Some(lb) = self.nlb.load_balancer(arn) {
            return Some((&lb.name, &lb.vpc_id));
        }
        self.listener_load_balancer(arn)
    }

    /// The state machine with this logical id, name or ARN.
    pub fn state_machine(&self, key: &str) -> Option<&StateMachine> {
        self.state_machines
            .iter()
            .find(|s| s.logical_id == key || s.name == key || s.arn == key)
    }

    /// The account's IAM, for [`crate::authz::Directory::new`].
    pub fn iam(&self) -> crate::authz::IamConfig<'_> {
        crate::authz::IamConfig {
            account: &self.account,
            roles: &self.roles,
            users: &self.users,
            managed_policies: &self.managed_policies,
        }
    }

    /// The role with this ARN.
    pub fn role(&self, arn: &str) -> Option<&Role> {
        self.roles.iter().find(|r| r.arn == arn)
    }
}
