//! Physical ids, names and attributes of resources, made deterministically.
//!
//! CloudFormation gives every resource a physical id (`sg-0a1b…`, an ALB ARN, a role name) that
//! `Ref` and `Fn::GetAtt` return. vpcgate derives them from a hash of the stack name and logical id,
//! so the same scenario yields the same ARNs on every run (tests and traces can name them), in the
//! shapes AWS uses.

use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

/// Context every physical id depends on.
#[derive(Clone, Debug)]
pub struct IdContext {
    /// `AWS::Region`.
    pub region: String,
    /// `AWS::AccountId`.
    pub account: String,
    /// `AWS::StackName`.
    pub stack: String,
}

impl IdContext {
    fn digest(&self, logical: &str, salt: &str) -> [u8; 32] {
        let mut h = Sha256::new();
        h.update(self.stack.as_bytes());
        h.update([0]);
        h.update(logical.as_bytes());
        h.update([0]);
        h.update(salt.as_bytes());
        h.finalize().into()
    }

    /// `n` lower-case hex digits.
    pub fn hex(&self, logical: &str, salt: &str, n: usize) -> String {
        let mut out = String::new();
        let mut round = 0;
        while out.len() < n {
            out.push_str(&hex::encode(
                self.digest(logical, &format!("{salt}{round}")),
            ));
            round += 1;
        }
        out.truncate(n);
        out
    }

    /// `n` characters from `alphabet`.
    pub fn chars(&self, logical: &str, salt: &str, n: usize, alphabet: &[u8]) -> String {
        let mut out = String::new();
        let mut round = 0;
        while out.len() < n {
            for b in self.digest(logical, &format!("{salt}{round}")) {
                if out.len() == n {
                    break;
                }
                out.push(alphabet[b as usize % alphabet.len()] as char);
            }
            round += 1;
        }
        out
    }

    /// `n` upper-case letters and digits (CloudFormation's name suffixes).
    pub fn upper(&self, logical: &str, salt: &str, n: usize) -> String {
        self.chars(logical, salt, n, b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
    }

    /// `n` lower-case letters and digits (API Gateway ids).
    pub fn lower(&self, logical: &str, salt: &str, n: usize) -> String {
        self.chars(logical, salt, n, b"abcdefghijklmnopqrstuvwxyz0123456789")
    }

    /// `n` decimal digits, not starting with 0.
    pub fn digits(&self, logical: &str, salt: &str, n: usize) -> String {
        let mut s = self.chars(logical, salt, n, b"0123456789");
        if s.starts_with('0') {
            s.replace_range(0..1, "1");
        }
        s
    }

    /// A version-4-shaped UUID.
    pub fn uuid(&self, logical: &str, salt: &str) -> String {
        let h = self.hex(logical, salt, 32);
        format!(
            "{}-{}-4{}-a{}-{}",
            &h[0..8],
            &h[8..12],
            &h[13..16],
            &h[17..20],
            &h[20..32]
        )
    }

    /// The name CloudFormation generates when a resource's name property is omitted:
    /// `<stack>-<logical id>-<suffix>`, both parts shortened so the whole fits `max`.
    pub fn generated_name(&self, logical: &str, max: usize, suffix_len: usize) -> String {
        let suffix = self.upper(logical, "name", suffix_len);
        let room = max.saturating_sub(suffix_len + 2);
        let stack_room = room.min(self.stack.len()).min(room / 2);
        let logical_room = room - stack_room;
        let stack: String = self.stack.chars().take(stack_room).collect();
        let logical: String = logical.chars().take(logical_room).collect();
        format!("{stack}-{logical}-{suffix}")
    }
}

/// What `Ref` and `Fn::GetAtt` return for one resource.
#[derive(Clone, Debug, Default)]
pub struct Physical {
    /// The value of `Ref`.
    pub reference: Value,
    /// `Fn::GetAtt` attributes.
    pub attributes: Map<String, Value>,
}

fn prop<'a>(props: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    props.get(key).and_then(Value::as_str)
}

/// An attributes map of `pairs`, in their order (for a [`Physical`]).
pub(super) fn attrs(pairs: &[(&str, Value)]) -> Map<String, Value> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect()
}

/// The resource whose physical ids a family of types makes: the context, its logical id and its
/// resolved properties.
#[derive(Clone, Copy, Debug)]
pub struct Subject<'a> {
    /// Region, account and stack.
    pub ctx: &'a IdContext,
    /// The logical id.
    pub logical: &'a str,
    /// The resolved properties.
    pub props: &'a Map<String, Value>,
}

impl Subject<'_> {
    /// `<prefix>-` and 17 hex digits hashed with the prefix (EC2's ids: `vpc-…`, `igw-…`; VPC
    /// Lattice's `sn-…`).
    pub fn hex17(&self, prefix: &str) -> String {
        format!("{prefix}-{}", self.ctx.hex(self.logical, prefix, 17))
    }

    /// The string property `key`, else the name CloudFormation generates (at most `max`
    /// characters, a suffix of `suffix_len`).
    pub fn name_or(&self, key: &str, max: usize, suffix_len: usize) -> String {
        prop(self.props, key)
            .map(str::to_string)
            .unwrap_or_else(|| self.ctx.generated_name(self.logical, max, suffix_len))
    }

    /// The string property `key`, else the generated name in lower case (S3, ECR, RDS, …).
    pub fn lower_name_or(&self, key: &str, max: usize) -> String {
        prop(self.props, key)
            .map(str::to_string)
            .unwrap_or_else(|| {
                self.ctx
                    .generated_name(self.logical, max, 12)
                    .to_ascii_lowercase()
            })
    }

    /// The property `key` as given, else `null`.
    pub fn value(&self, key: &str) -> Value {
        self.props.get(key).cloned().unwrap_or(Value::Null)
    }
}

/// A family's `Ref` and attributes (a module of types: [`super::ec2`], [`super::lattice`]):
/// `None` for the types it does not make.
pub type PhysicalFn = fn(&Subject<'_>, &str) -> Option<Physical>;

/// The families of emulated types, asked in turn by [`physical`].
const FAMILIES: &[PhysicalFn] = &[
    common_physical,
    super::lattice::physical,
    super::ec2::physical,
];

/// Types whose `Ref` is an id of lower-case letters and digits that one attribute repeats
/// (API Gateway): (type, salt, length, attribute).
const LOWER_ID_TYPES: &[(&str, &str, usize, &str)] = &[
    ("AWS::ApiGateway::Resource", "resource", 6, "ResourceId"),
    (
        "AWS::ApiGateway::Deployment",
        "deployment",
        6,
        "DeploymentId",
    ),
    ("AWS::ApiGateway::VpcLink", "vpclink-v1", 6, "VpcLinkId"),
    ("AWS::ApiGatewayV2::Route", "route", 7, "RouteId"),
    (
        "AWS::ApiGatewayV2::Integration",
        "integration",
        7,
        "IntegrationId",
    ),
    (
        "AWS::ApiGatewayV2::Authorizer",
        "authorizer",
        6,
        "AuthorizerId",
    ),
    (
        "AWS::ApiGatewayV2::Deployment",
        "deployment",
        6,
        "DeploymentId",
    ),
    ("AWS::ApiGatewayV2::VpcLink", "vpclink", 6, "VpcLinkId"),
];

/// `Ref` `id`, which the attribute `attr` repeats.
fn same_id(id: &str, attr: &str) -> (Value, Map<String, Value>) {
    (json!(id), attrs(&[(attr, json!(id))]))
}

/// The canonical hosted zone id of ALBs per region
/// (<https://docs.aws.amazon.com/general/latest/gr/elb.html>).
fn elb_zone(region: &str) -> &'static str {
    match region {
        "us-east-1" => "Z35SXDOTRQ7X7K",
        "us-east-2" => "Z3AADJGX6KTTL2",
        "us-west-1" => "Z368ELLRRE2KJ0",
        "us-west-2" => "Z1H1FL5HABSF5",
        "eu-west-1" => "Z32O12XQLNTSW2",
        "eu-west-3" => "Z3Q77PNBQS71R4",
        "eu-central-1" => "Z215JYRZR1TBD5",
        "ap-northeast-1" => "Z14GRHDCWA56QT",
        "ap-southeast-1" => "Z1LMS91P8CMLE5",
        "ap-southeast-2" => "Z1GM3OXH4ZPM65",
        _ => "Z35SXDOTRQ7X7K",
    }
}

/// Computes `Ref` and attributes of a resource of type `ty` from its resolved properties, or `None`
/// for types vpcgate does not emulate (they get placeholders).
pub fn physical(
    ctx: &IdContext,
    logical: &str,
    ty: &str,
    props: &Map<String, Value>,
) -> Option<Physical> {
    let s = Subject {
        ctx,
        logical,
        props,
    };
    FAMILIES.iter().find_map(|family| family(&s, ty))
}

/// The emulated types outside [`super::ec2`] and [`super::lattice`].
fn common_physical(s: &Subject<'_>, ty: &str) -> Option<Physical> {
    let Subject {
        ctx,
        logical,
        props,
    } = *s;
    if let Some((_, salt, len, attr)) = LOWER_ID_TYPES.iter().find(|(t, ..)| *t == ty) {
        let (reference, attributes) = same_id(&ctx.lower(logical, salt, *len), attr);
        return Some(Physical {
            reference,
            attributes,
        });
    }
    let r = &ctx.region;
    let a = &ctx.account;
    let p = match ty {
        "AWS::EC2::VPC" => {
            let id = s.hex17("vpc");
            Physical {
                reference: json!(id),
                attributes: attrs(&[
                    ("VpcId", json!(id)),
                    (
                        "CidrBlock",
                        props.get("CidrBlock").cloned().unwrap_or(Value::Null),
                    ),
                    (
                        "DefaultSecurityGroup",
                        json!(format!("sg-{}", ctx.hex(logical, "default-sg", 17))),
                    ),
                    ("DefaultNetworkAcl", json!(s.hex17("acl"))),
                    ("CidrBlockAssociations", json!([])),
                    ("Ipv6CidrBlocks", json!([])),
                ]),
            }
        }
        "AWS::EC2::Subnet" => {
            let id = s.hex17("subnet");
            Physical {
                reference: json!(id),
                attributes: attrs(&[
                    ("SubnetId", json!(id)),
                    ("VpcId", props.get("VpcId").cloned().unwrap_or(Value::Null)),
                    (
                        "CidrBlock",
                        props.get("CidrBlock").cloned().unwrap_or(Value::Null),
                    ),
                    (
                        "AvailabilityZone",
                        props
                            .get("AvailabilityZone")
                            .cloned()
                            .unwrap_or(json!(format!("{r}a"))),
                    ),
                    ("Ipv6CidrBlocks", json!([])),
                ]),
            }
        }
        "AWS::EC2::SecurityGroup" => {
            let id = s.hex17("sg");
            Physical {
                reference: json!(id),
                attributes: attrs(&[
                    ("GroupId", json!(id)),
                    ("VpcId", props.get("VpcId").cloned().unwrap_or(Value::Null)),
                ]),
            }
        }
        "AWS::EC2::SecurityGroupIngress" | "AWS::EC2::SecurityGroupEgress" => Physical {
            reference: json!(s.hex17("sgr")),
            attributes: Map::new(),
        },
        "AWS::Route53::HostedZone" => {
            let id = format!("Z{}", ctx.upper(logical, "zone", 20));
            Physical {
                reference: json!(id),
                attributes: attrs(&[("Id", json!(id)), ("NameServers", json!([]))]),
            }
        }
        "AWS::Route53::RecordSet" => Physical {
            reference: props.get("Name").cloned().unwrap_or(json!(logical)),
            attributes: Map::new(),
        },
        "AWS::CertificateManager::Certificate" => Physical {
            reference: json!(format!(
                "arn:aws:acm:{r}:{a}:certificate/{}",
                ctx.uuid(logical, "acm")
            )),
            attributes: Map::new(),
        },
        "AWS::ElasticLoadBalancingV2::LoadBalancer" => {
            let name = prop(props, "Name")
                .map(str::to_string)
                .unwrap_or_else(|| ctx.generated_name(logical, 32, 13));
            let id = ctx.hex(logical, "alb", 16);
            let internal = prop(props, "Scheme") == Some("internal");
            let network = prop(props, "Type") == Some("network");
            let number = ctx.digits(logical, "alb-dns", 10);
            // NLBs: `<name>-<16 hex>.elb.<region>.amazonaws.com` whatever the scheme; ALBs:
            // `[internal-]<name>-<number>.<region>.elb.amazonaws.com`
            // (<https://docs.aws.amazon.com/elasticloadbalancing/latest/network/network-load-balancers.html#dns-name>).
            let dns = if network {
                format!(
                    "{name}-{}.elb.{r}.amazonaws.com",
                    ctx.hex(logical, "nlb-dns", 16)
                )
            } else if internal {
                format!("internal-{name}-{number}.{r}.elb.amazonaws.com")
            } else {
                format!("{name}-{number}.{r}.elb.amazonaws.com")
            };
            let kind = if network { "net" } else { "app" };
            let arn =
                format!("arn:aws:elasticloadbalancing:{r}:{a}:loadbalancer/{kind}/{name}/{id}");
            let zone = if network {
                crate::nlb::canonical_hosted_zone_id(r)
            } else {
                elb_zone(r)
            };
            Physical {
                reference: json!(arn),
                attributes: attrs(&[
                    ("LoadBalancerArn", json!(arn)),
                    ("DNSName", json!(dns)),
                    ("LoadBalancerName", json!(name)),
                    ("LoadBalancerFullName", json!(format!("{kind}/{name}/{id}"))),
                    ("CanonicalHostedZoneID", json!(zone)),
                    (
                        "SecurityGroups",
                        props.get("SecurityGroups").cloned().unwrap_or(json!([])),
                    ),
                ]),
            }
        }
        // A listener's ARN extends its load balancer's, a rule's its listener's.
        "AWS::ElasticLoadBalancingV2::Listener" | "AWS::ElasticLoadBalancingV2::ListenerRule" => {
            let (parent, marker, fallback, kind, salt, attr) =
                if ty == "AWS::ElasticLoadBalancingV2::Listener" {
                    (
                        "LoadBalancerArn",
                        ":loadbalancer/",
                        "app/unknown/0",
                        "listener",
                        "listener",
                        "ListenerArn",
                    )
                } else {
                    (
                        "ListenerArn",
                        ":listener/",
                        "app/unknown/0/0",
                        "listener-rule",
                        "rule",
                        "RuleArn",
                    )
                };
            let part = prop(props, parent)
                .unwrap_or_default()
                .split_once(marker)
                .map(|(_, p)| p)
                .unwrap_or(fallback);
            let arn = format!(
                "arn:aws:elasticloadbalancing:{r}:{a}:{kind}/{part}/{}",
                ctx.hex(logical, salt, 16)
            );
            Physical {
                reference: json!(arn),
                attributes: attrs(&[(attr, json!(arn))]),
            }
        }
        "AWS::ElasticLoadBalancingV2::TargetGroup" => {
            let name = prop(props, "Name")
                .map(str::to_string)
                .unwrap_or_else(|| ctx.generated_name(logical, 32, 13));
            let id = ctx.hex(logical, "tg", 16);
            let arn = format!("arn:aws:elasticloadbalancing:{r}:{a}:targetgroup/{name}/{id}");
            Physical {
                reference: json!(arn),
                attributes: attrs(&[
                    ("TargetGroupArn", json!(arn)),
                    ("TargetGroupName", json!(name)),
                    (
                        "TargetGroupFullName",
                        json!(format!("targetgroup/{name}/{id}")),
                    ),
                    ("LoadBalancerArns", json!([])),
                ]),
            }
        }
        "AWS::VpcLattice::ResourceGateway" | "AWS::VpcLattice::ResourceConfiguration" => {
            let (prefix, kind) = if ty == "AWS::VpcLattice::ResourceGateway" {
                ("rgw", "resourcegateway")
            } else {
                ("rcfg", "resourceconfiguration")
            };
            let id = format!("{prefix}-{}", ctx.lower(logical, prefix, 17));
            let arn = format!("arn:aws:vpc-lattice:{r}:{a}:{kind}/{id}");
            Physical {
                reference: json!(arn),
                attributes: attrs(&[("Arn", json!(arn)), ("Id", json!(id))]),
            }
        }
        // Emulated (scenario::events) with the shapes placeholder_for gives them.
        "AWS::Events::Rule" | "AWS::Events::EventBus" | "AWS::Events::ApiDestination" => {
            placeholder_for(ctx, logical, ty, props)
        }
        "AWS::Events::Connection" => {
            let name = prop(props, "Name")
                .map(str::to_string)
                .unwrap_or_else(|| ctx.generated_name(logical, 64, 12));
            let uuid = ctx.uuid(logical, "connection");
            let arn = format!("arn:aws:events:{r}:{a}:connection/{name}/{uuid}");
            // The secret's uuid differs from the connection's (recorded against AWS, see README).
            let secret_name = format!(
                "events!connection/{name}/{}",
                ctx.uuid(logical, "connection-secret")
            );
            let suffix = ctx.chars(
                logical,
                "secret-suffix",
                6,
                b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
            );
            let secret_arn =
                format!("arn:aws:secretsmanager:{r}:{a}:secret:{secret_name}-{suffix}");
            Physical {
                reference: json!(name),
                attributes: attrs(&[
                    ("Arn", json!(arn)),
                    (
                        "ArnForPolicy",
                        json!(format!("arn:aws:events:{r}:{a}:connection/{name}")),
                    ),
                    ("SecretArn", json!(secret_arn)),
                ]),
            }
        }
        "AWS::IAM::Role" => {
            let name = prop(props, "RoleName")
                .map(str::to_string)
                .unwrap_or_else(|| ctx.generated_name(logical, 64, 12));
            let path = prop(props, "Path").unwrap_or("/");
            let arn = format!("arn:aws:iam::{a}:role{path}{name}");
            Physical {
                reference: json!(name),
                attributes: attrs(&[
                    ("Arn", json!(arn)),
                    (
                        "RoleId",
                        json!(format!("AROA{}", ctx.upper(logical, "roleid", 17))),
                    ),
                ]),
            }
        }
        "AWS::IAM::User" => {
            let name = prop(props, "UserName")
                .map(str::to_string)
                .unwrap_or_else(|| ctx.generated_name(logical, 64, 12));
            let path = prop(props, "Path").unwrap_or("/");
            Physical {
                reference: json!(name),
                attributes: attrs(&[("Arn", json!(format!("arn:aws:iam::{a}:user{path}{name}")))]),
            }
        }
        "AWS::IAM::AccessKey" => Physical {
            reference: json!(format!("AKIA{}", ctx.upper(logical, "akid", 16))),
            attributes: attrs(&[(
                "SecretAccessKey",
                json!(ctx.chars(
                    logical,
                    "secret",
                    40,
                    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
                )),
            )]),
        },
        "AWS::IAM::ManagedPolicy" => {
            let name = prop(props, "ManagedPolicyName")
                .map(str::to_string)
                .unwrap_or_else(|| ctx.generated_name(logical, 128, 12));
            let path = prop(props, "Path").unwrap_or("/");
            let arn = format!("arn:aws:iam::{a}:policy{path}{name}");
            Physical {
                reference: json!(arn),
                attributes: attrs(&[("PolicyArn", json!(arn))]),
            }
        }
        "AWS::IAM::Policy" => Physical {
            reference: json!(prop(props, "PolicyName").unwrap_or(logical)),
            attributes: attrs(&[("Id", json!(prop(props, "PolicyName").unwrap_or(logical)))]),
        },
        "AWS::StepFunctions::StateMachine" => {
            let name = prop(props, "StateMachineName")
                .map(str::to_string)
                .unwrap_or_else(|| format!("{logical}-{}", ctx.upper(logical, "sm", 12)));
            let arn = format!("arn:aws:states:{r}:{a}:stateMachine:{name}");
            Physical {
                reference: json!(arn),
                attributes: attrs(&[
                    ("Arn", json!(arn)),
                    ("Name", json!(name)),
                    ("StateMachineRevisionId", json!(arn)),
                ]),
            }
        }
        "AWS::ApiGateway::RestApi" => {
            let id = ctx.lower(logical, "restapi", 10);
            Physical {
                reference: json!(id),
                attributes: attrs(&[
                    ("RestApiId", json!(id)),
                    ("RootResourceId", json!(ctx.lower(logical, "root", 10))),
                ]),
            }
        }
        "AWS::ApiGateway::Method" => Physical {
            reference: json!(ctx.lower(logical, "method", 10)),
            attributes: Map::new(),
        },
        "AWS::ApiGateway::Stage" | "AWS::ApiGatewayV2::Stage" => Physical {
            reference: props.get("StageName").cloned().unwrap_or(json!(logical)),
            attributes: Map::new(),
        },
        "AWS::ApiGatewayV2::Api" => {
            let id = ctx.lower(logical, "httpapi", 10);
            Physical {
                reference: json!(id),
                attributes: attrs(&[
                    ("ApiId", json!(id)),
                    (
                        "ApiEndpoint",
                        json!(format!("https://{id}.execute-api.{r}.amazonaws.com")),
                    ),
                ]),
            }
        }
        _ => return None,
    };
    Some(p)
}

/// The context of the unit tests: stack `stack` in ap-northeast-1, account 123456789012.
#[cfg(test)]
pub(super) fn test_context(stack: &str) -> IdContext {
    IdContext {
        region: "ap-northeast-1".into(),
        account: "123456789012".into(),
        stack: stack.into(),
    }
}

/// Placeholder `Ref` of a resource type vpcgate does not emulate.
pub fn placeholder(ctx: &IdContext, logical: &str) -> Physical {
    Physical {
        reference: json!(format!(
            "{logical}-{}",
            ctx.upper(logical, "placeholder", 12)
        )),
        attributes: Map::new(),
    }
}

/// The ARN service name of a resource type (`AWS::Logs::LogGroup` -> `logs`).
fn service(ty: &str) -> String {
    let raw = ty.split("::").nth(1).unwrap_or("unknown");
    match raw {
        "ElasticLoadBalancingV2" | "ElasticLoadBalancing" => "elasticloadbalancing".into(),
        "VpcLattice" => "vpc-lattice".into(),
        "StepFunctions" => "states".into(),
        "CertificateManager" => "acm".into(),
        "ApiGatewayV2" => "apigateway".into(),
        "CloudWatch" => "cloudwatch".into(),
        "EventSchemas" => "schemas".into(),
        other => other.to_ascii_lowercase(),
    }
}

/// Not-emulated types whose `Ref` is their name (the property, else a generated name of at most
/// `max` characters) and whose one attribute is `Arn`,
/// `arn:<partition>:<service>:<region>:<account>:<resource><name><tail>` (each service's ARN
/// format): (type, name property, max, service, resource, tail).
const NAMED_ARN_TYPES: &[(&str, &str, usize, &str, &str, &str)] = &[
    (
        "AWS::Logs::LogGroup",
        "LogGroupName",
        512,
        "logs",
        "log-group:",
        ":*",
    ),
    (
        "AWS::Lambda::Function",
        "FunctionName",
        64,
        "lambda",
        "function:",
        "",
    ),
    (
        "AWS::ECS::Cluster",
        "ClusterName",
        255,
        "ecs",
        "cluster/",
        "",
    ),
    (
        "AWS::Kinesis::Stream",
        "Name",
        128,
        "kinesis",
        "stream/",
        "",
    ),
    (
        "AWS::KinesisFirehose::DeliveryStream",
        "DeliveryStreamName",
        64,
        "firehose",
        "deliverystream/",
        "",
    ),
    (
        "AWS::CloudWatch::Alarm",
        "AlarmName",
        255,
        "cloudwatch",
        "alarm:",
        "",
    ),
];

/// Not-emulated types whose `Ref` is `<prefix>-<17 hex digits>` (EC2's id shape), which one
/// attribute repeats, with an `Arn` `arn:<partition>:<service>:<region>:<account>:<resource><id>`
/// where the type has one: (type, prefix, id attribute, (service, resource)).
type HexIdType = (
    &'static str,
    &'static str,
    &'static str,
    Option<(&'static str, &'static str)>,
);
const HEX_ID_TYPES: &[HexIdType] = &[
    ("AWS::EC2::NetworkAcl", "acl", "Id", None),
    (
        "AWS::EC2::PrefixList",
        "pl",
        "PrefixListId",
        Some(("ec2", "prefix-list/")),
    ),
    ("AWS::EC2::Volume", "vol", "VolumeId", None),
    (
        "AWS::EFS::FileSystem",
        "fs",
        "FileSystemId",
        Some(("elasticfilesystem", "file-system/")),
    ),
];

/// AWS-shaped `Ref` and attributes of a resource type vpcgate does not emulate, so that templates
/// using them still resolve: the common types get the shapes AWS gives (ARNs, ids, names, URLs);
/// any other type gets `<LogicalId>-<SUFFIX>` and [`placeholder_attribute`]'s values.
pub fn placeholder_for(
    ctx: &IdContext,
    logical: &str,
    ty: &str,
    props: &Map<String, Value>,
) -> Physical {
    let s = Subject {
        ctx,
        logical,
        props,
    };
    let r = &ctx.region;
    let a = &ctx.account;
    let p = super::template::partition(r);
    let name_or = |key: &str, max: usize| s.name_or(key, max, 12);
    let lower_name = |key: &str, max: usize| s.lower_name_or(key, max);
    if let Some((_, key, max, service, resource, tail)) =
        NAMED_ARN_TYPES.iter().find(|(t, ..)| *t == ty)
    {
        let name = name_or(key, *max);
        let arn = format!("arn:{p}:{service}:{r}:{a}:{resource}{name}{tail}");
        return Physical {
            reference: json!(name),
            attributes: attrs(&[("Arn", json!(arn))]),
        };
    }
    if let Some((_, prefix, attr, arn)) = HEX_ID_TYPES.iter().find(|(t, ..)| *t == ty) {
        let id = s.hex17(prefix);
        let (reference, mut attributes) = same_id(&id, attr);
        if let Some((service, resource)) = arn {
            let arn = format!("arn:{p}:{service}:{r}:{a}:{resource}{id}");
            attributes.insert("Arn".into(), json!(arn));
        }
        return Physical {
            reference,
            attributes,
        };
    }
    let (reference, attributes) = match ty {
        "AWS::KMS::Key" => {
            let id = ctx.uuid(logical, "kms");
            let arn = format!("arn:{p}:kms:{r}:{a}:key/{id}");
            (
                json!(id),
                attrs(&[("Arn", json!(arn)), ("KeyId", json!(id))]),
            )
        }
        "AWS::KMS::Alias" => (
            json!(prop(props, "AliasName").unwrap_or(logical)),
            Map::new(),
        ),
        "AWS::Lambda::Permission" => (
            json!(format!(
                "{}-{}",
                ctx.generated_name(logical, 64, 12),
                "permission"
            )),
            Map::new(),
        ),
        "AWS::SNS::Topic" => {
            let name = name_or("TopicName", 256);
            let arn = format!("arn:{p}:sns:{r}:{a}:{name}");
            (
                json!(arn),
                attrs(&[("TopicArn", json!(arn)), ("TopicName", json!(name))]),
            )
        }
        "AWS::SQS::Queue" => {
            let name = name_or("QueueName", 80);
            let arn = format!("arn:{p}:sqs:{r}:{a}:{name}");
            let url = format!("https://sqs.{r}.amazonaws.com/{a}/{name}");
            (
                json!(url),
                attrs(&[
                    ("Arn", json!(arn)),
                    ("QueueName", json!(name)),
                    ("QueueUrl", json!(url)),
                ]),
            )
        }
        "AWS::S3::Bucket" => {
            let name = lower_name("BucketName", 63);
            (
                json!(name),
                attrs(&[
                    ("Arn", json!(format!("arn:{p}:s3:::{name}"))),
                    ("DomainName", json!(format!("{name}.s3.amazonaws.com"))),
                    (
                        "RegionalDomainName",
                        json!(format!("{name}.s3.{r}.amazonaws.com")),
                    ),
                    (
                        "DualStackDomainName",
                        json!(format!("{name}.s3.dualstack.{r}.amazonaws.com")),
                    ),
                    (
                        "WebsiteURL",
                        json!(format!("http://{name}.s3-website-{r}.amazonaws.com")),
                    ),
                ]),
            )
        }
        "AWS::DynamoDB::Table" => {
            let name = name_or("TableName", 255);
            let arn = format!("arn:{p}:dynamodb:{r}:{a}:table/{name}");
            (
                json!(name),
                attrs(&[
                    ("Arn", json!(arn)),
                    (
                        "StreamArn",
                        json!(format!("{arn}/stream/2026-01-01T00:00:00.000")),
                    ),
                ]),
            )
        }
        "AWS::SecretsManager::Secret" => {
            let name = name_or("Name", 512);
            let suffix = ctx.chars(
                logical,
                "secret-suffix",
                6,
                b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
            );
            let arn = format!("arn:{p}:secretsmanager:{r}:{a}:secret:{name}-{suffix}");
            (json!(arn), attrs(&[("Id", json!(arn))]))
        }
        "AWS::SSM::Parameter" => (
            json!(name_or("Name", 2048)),
            attrs(&[
                (
                    "Type",
                    props.get("Type").cloned().unwrap_or(json!("String")),
                ),
                ("Value", props.get("Value").cloned().unwrap_or(json!(""))),
            ]),
        ),
        "AWS::IAM::InstanceProfile" => {
            let name = name_or("InstanceProfileName", 128);
            let path = prop(props, "Path").unwrap_or("/");
            (
                json!(name),
                attrs(&[(
                    "Arn",
                    json!(format!("arn:{p}:iam::{a}:instance-profile{path}{name}")),
                )]),
            )
        }
        "AWS::Events::Rule" | "AWS::Events::EventBus" | "AWS::Events::ApiDestination" => {
            let name = name_or("Name", 64);
            let kind = match ty {
                "AWS::Events::Rule" => "rule",
                "AWS::Events::EventBus" => "event-bus",
                _ => "api-destination",
            };
            let bus = crate::events::bus::bus_name(prop(props, "EventBusName"));
            let arn = if kind == "api-destination" {
                format!(
                    "arn:{p}:events:{r}:{a}:{kind}/{name}/{}",
                    ctx.uuid(logical, kind)
                )
            } else if kind == "rule" && bus != crate::events::bus::DEFAULT_BUS {
                // A rule on a custom bus: `rule/<bus>/<name>` (API_PutRule, RuleArn).
                format!("arn:{p}:events:{r}:{a}:rule/{bus}/{name}")
            } else {
                format!("arn:{p}:events:{r}:{a}:{kind}/{name}")
            };
            (
                json!(name),
                attrs(&[
                    ("Arn", json!(arn)),
                    ("Name", json!(name)),
                    (
                        "ArnForPolicy",
                        json!(format!("arn:{p}:events:{r}:{a}:{kind}/{name}")),
                    ),
                ]),
            )
        }
        // API Gateway V2 (HTTP and WebSocket APIs): API ids are 10 lowercase alphanumerics,
        // the ids of their stages' children 7 (API Gateway V2 API reference, "Api", "Route",
        // "Integration"); ARNs `arn:aws:apigateway:<region>::/apis/<id>`.
        "AWS::ApiGatewayV2::Api" => {
            let id = ctx.lower(logical, "apigwv2-api", 10);
            let ws = props.get("ProtocolType").and_then(Value::as_str) == Some("WEBSOCKET");
            let endpoint = format!(
                "{}://{id}.execute-api.{r}.amazonaws.com",
                if ws { "wss" } else { "https" }
            );
            (
                json!(id),
                attrs(&[("ApiId", json!(id)), ("ApiEndpoint", json!(endpoint))]),
            )
        }
        "AWS::ApiGatewayV2::Route"
        | "AWS::ApiGatewayV2::Integration"
        | "AWS::ApiGatewayV2::Authorizer"
        | "AWS::ApiGatewayV2::Deployment" => {
            let id = ctx.lower(logical, ty, 7);
            let key = ty.rsplit("::").next().unwrap_or("Id");
            (json!(id), attrs(&[(&format!("{key}Id"), json!(id))]))
        }
        // Cognito user pools: `<region>_<9 alphanumerics>`; app clients 26 lowercase
        // alphanumerics; identity pools `<region>:<uuid>` (Cognito API reference, UserPoolType,
        // UserPoolClientType, IdentityPool).
        "AWS::Cognito::UserPool" => {
            let id = format!(
                "{r}_{}",
                ctx.chars(
                    logical,
                    "userpool",
                    9,
                    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
                )
            );
            let provider = format!("cognito-idp.{r}.amazonaws.com/{id}");
            (
                json!(id),
                attrs(&[
                    (
                        "Arn",
                        json!(format!("arn:{p}:cognito-idp:{r}:{a}:userpool/{id}")),
                    ),
                    ("ProviderName", json!(provider)),
                    ("ProviderURL", json!(format!("https://{provider}"))),
                    ("UserPoolId", json!(id)),
                ]),
            )
        }
        "AWS::Cognito::UserPoolClient" => {
            let id = ctx.lower(logical, "userpoolclient", 26);
            let name = prop(props, "ClientName").unwrap_or(logical).to_string();
            (
                json!(id),
                attrs(&[
                    ("ClientId", json!(id)),
                    ("Name", json!(name)),
                    (
                        "ClientSecret",
                        json!(ctx.lower(logical, "client-secret", 51)),
                    ),
                ]),
            )
        }
        "AWS::Cognito::IdentityPool" => {
            let id = format!("{r}:{}", ctx.uuid(logical, "identitypool"));
            let name = name_or("IdentityPoolName", 128);
            (
                json!(id),
                attrs(&[("Id", json!(id)), ("Name", json!(name))]),
            )
        }
        // ECS: clusters are named, services and task definitions are ARNs (ECS API reference).
        "AWS::ECS::Service" => {
            let name = name_or("ServiceName", 255);
            let cluster = prop(props, "Cluster")
                .map(|c| c.rsplit('/').next().unwrap_or(c).to_string())
                .unwrap_or_else(|| "default".into());
            let arn = format!("arn:{p}:ecs:{r}:{a}:service/{cluster}/{name}");
            (
                json!(arn),
                attrs(&[("ServiceArn", json!(arn)), ("Name", json!(name))]),
            )
        }
        "AWS::ECS::TaskDefinition" => {
            let family = name_or("Family", 255);
            let arn = format!("arn:{p}:ecs:{r}:{a}:task-definition/{family}:1");
            (json!(arn), attrs(&[("TaskDefinitionArn", json!(arn))]))
        }
        // RDS: identifiers are lowercase; endpoints `<id>.<12 lowercase>.<region>.rds.amazonaws.com`
        // (`.cluster-` / `.cluster-ro-` for clusters), ports by engine.
        "AWS::RDS::DBInstance" | "AWS::RDS::DBCluster" => {
            let cluster = ty == "AWS::RDS::DBCluster";
            let key = if cluster {
                "DBClusterIdentifier"
            } else {
                "DBInstanceIdentifier"
            };
            let id = lower_name(key, 63).to_ascii_lowercase();
            let host = ctx.lower(logical, "rds-host", 12);
            let engine = prop(props, "Engine").unwrap_or("mysql");
            let port = if engine.contains("postgres") {
                "5432"
            } else if engine.starts_with("oracle") {
                "1521"
            } else if engine.starts_with("sqlserver") {
                "1433"
            } else {
                "3306"
            };
            let port = prop(props, "Port").unwrap_or(port).to_string();
            let resource = ctx.upper(logical, "rds-resource", 26);
            let (arn_key, arn, resource_key, resource, dot) = if cluster {
                (
                    "DBClusterArn",
                    format!("arn:{p}:rds:{r}:{a}:cluster:{id}"),
                    "DBClusterResourceId",
                    format!("cluster-{resource}"),
                    ".cluster-",
                )
            } else {
                (
                    "DBInstanceArn",
                    format!("arn:{p}:rds:{r}:{a}:db:{id}"),
                    "DbiResourceId",
                    format!("db-{resource}"),
                    ".",
                )
            };
            let mut attributes = attrs(&[(arn_key, json!(arn)), (resource_key, json!(resource))]);
            attributes.extend(endpoints(
                &[("Endpoint", format!("{id}{dot}{host}.{r}.rds.amazonaws.com"))],
                &port,
            ));
            if cluster {
                attributes.insert(
                    "ReadEndpoint.Address".into(),
                    json!(format!("{id}.cluster-ro-{host}.{r}.rds.amazonaws.com")),
                );
            }
            (json!(id), attributes)
        }
        // ElastiCache: `<name>.<6>.0001.<use1>.cache.amazonaws.com` (Redis node),
        // `<name>.<6>.cfg.<use1>.cache.amazonaws.com` (Memcached configuration endpoint).
        "AWS::ElastiCache::CacheCluster" | "AWS::ElastiCache::ReplicationGroup" => {
            let group = ty == "AWS::ElastiCache::ReplicationGroup";
            let key = if group {
                "ReplicationGroupId"
            } else {
                "ClusterName"
            };
            let name = lower_name(key, 40).to_ascii_lowercase();
            let host = ctx.lower(logical, "cache-host", 6);
            let zone = format!("{}.cache.amazonaws.com", region_short(r));
            let memcached = prop(props, "Engine") == Some("memcached");
            let port = if memcached { "11211" } else { "6379" };
            let ends = if group {
                vec![
                    ("PrimaryEndPoint", format!("master.{name}.{host}.{zone}")),
                    ("ReaderEndPoint", format!("replica.{name}.{host}.{zone}")),
                    (
                        "ConfigurationEndPoint",
                        format!("clustercfg.{name}.{host}.{zone}"),
                    ),
                ]
            } else {
                vec![
                    ("RedisEndpoint", format!("{name}.{host}.0001.{zone}")),
                    ("ConfigurationEndpoint", format!("{name}.{host}.cfg.{zone}")),
                ]
            };
            (json!(name), endpoints(&ends, port))
        }
        "AWS::ECR::Repository" => {
            let name = lower_name("RepositoryName", 256);
            (
                json!(name),
                attrs(&[
                    (
                        "Arn",
                        json!(format!("arn:{p}:ecr:{r}:{a}:repository/{name}")),
                    ),
                    (
                        "RepositoryUri",
                        json!(format!("{a}.dkr.ecr.{r}.amazonaws.com/{name}")),
                    ),
                ]),
            )
        }
        "AWS::IAM::ManagedPolicy" => {
            let name = name_or("ManagedPolicyName", 128);
            let path = prop(props, "Path").unwrap_or("/");
            let arn = format!("arn:{p}:iam::{a}:policy{path}{name}");
            (json!(arn), attrs(&[("PolicyArn", json!(arn))]))
        }
        "AWS::IAM::User" => {
            let name = name_or("UserName", 64);
            let path = prop(props, "Path").unwrap_or("/");
            let arn = format!("arn:{p}:iam::{a}:user{path}{name}");
            (json!(name), attrs(&[("Arn", json!(arn))]))
        }
        "AWS::EC2::LaunchTemplate" => {
            let id = s.hex17("lt");
            (
                json!(id),
                attrs(&[
                    ("LaunchTemplateId", json!(id)),
                    ("DefaultVersionNumber", json!("1")),
                    ("LatestVersionNumber", json!("1")),
                ]),
            )
        }
        "AWS::CloudFront::Distribution" => {
            let id = format!("E{}", ctx.upper(logical, "cloudfront", 13));
            let domain = format!("d{}.cloudfront.net", ctx.lower(logical, "cf-domain", 13));
            (
                json!(id),
                attrs(&[("Id", json!(id)), ("DomainName", json!(domain))]),
            )
        }
        t if t.starts_with("AWS::VpcLattice::") => {
            let (kind, prefix) = match t {
                "AWS::VpcLattice::ServiceNetwork" => ("servicenetwork", "sn"),
                "AWS::VpcLattice::Service" => ("service", "svc"),
                "AWS::VpcLattice::TargetGroup" => ("targetgroup", "tg"),
                "AWS::VpcLattice::Listener" => ("listener", "listener"),
                "AWS::VpcLattice::Rule" => ("rule", "rule"),
                "AWS::VpcLattice::ServiceNetworkServiceAssociation" => {
                    ("servicenetworkserviceassociation", "snsa")
                }
                "AWS::VpcLattice::ServiceNetworkVpcAssociation" => {
                    ("servicenetworkvpcassociation", "snva")
                }
                "AWS::VpcLattice::ServiceNetworkResourceAssociation" => {
                    ("servicenetworkresourceassociation", "snra")
                }
                "AWS::VpcLattice::AccessLogSubscription" => ("accesslogsubscription", "als"),
                _ => ("resource", "res"),
            };
            let id = format!("{prefix}-{}", ctx.lower(logical, prefix, 17));
            let arn = match t {
                // Listeners and rules live under their service.
                "AWS::VpcLattice::Listener" | "AWS::VpcLattice::Rule" => format!(
                    "arn:{p}:vpc-lattice:{r}:{a}:service/{}/{kind}/{id}",
                    prop(props, "ServiceIdentifier")
                        .and_then(|s| s.rsplit('/').next())
                        .unwrap_or("svc-unknown")
                ),
                _ => format!("arn:{p}:vpc-lattice:{r}:{a}:{kind}/{id}"),
            };
            let mut attributes = attrs(&[("Arn", json!(arn)), ("Id", json!(id))]);
            if t == "AWS::VpcLattice::Service"
                || t == "AWS::VpcLattice::ServiceNetworkServiceAssociation"
            {
                let name = prop(props, "Name")
                    .map(str::to_string)
                    .unwrap_or_else(|| id.clone());
                let domain = format!(
                    "{name}-{}.{}.vpc-lattice-svcs.{r}.on.aws",
                    ctx.hex(logical, "lattice-dns", 17),
                    ctx.hex(logical, "lattice-sub", 7)
                );
                attributes.insert("DnsEntry.DomainName".into(), json!(domain));
                attributes.insert(
                    "DnsEntry.HostedZoneId".into(),
                    json!(format!("Z{}", ctx.upper(logical, "lattice-zone", 13))),
                );
            }
            (json!(arn), attributes)
        }
        _ => return placeholder(ctx, logical),
    };
    Physical {
        reference,
        attributes,
    }
}

/// The `<Name>.Address` and `<Name>.Port` attributes of each `(Name, address)` endpoint, all on
/// `port` (RDS, ElastiCache).
fn endpoints(ends: &[(&str, String)], port: &str) -> Map<String, Value> {
    let mut out = Map::new();
    for (name, address) in ends {
        out.insert(format!("{name}.Address"), json!(address));
        out.insert(format!("{name}.Port"), json!(port));
    }
    out
}

/// ElastiCache's short Region code in endpoint names (`us-east-1` -> `use1`,
/// `ap-northeast-1` -> `apne1`).
fn region_short(region: &str) -> String {
    let parts: Vec<&str> = region.split('-').collect();
    let Some((first, rest)) = parts.split_first() else {
        return region.to_string();
    };
    let mut out = first.to_string();
    for part in rest {
        out.push_str(match *part {
            "northeast" => "ne",
            "southeast" => "se",
            "northwest" => "nw",
            "southwest" => "sw",
            "central" => "c",
            "gov" => "gov",
            p if p.chars().all(|c| c.is_ascii_digit()) => p,
            p => &p[..1],
        });
    }
    out
}

/// The `Fn::GetAtt` attributes CloudFormation documents for common types vpcgate does not
/// emulate (each type's "Return values"): any other attribute of these types is
/// CloudFormation's "does not support attribute type" error; the types not listed here accept
/// any attribute ([`placeholder_attribute`]).
pub const PLACEHOLDER_ATTRIBUTES: &[(&str, &[&str])] = &[
    ("AWS::SQS::Queue", &["Arn", "QueueName", "QueueUrl"]),
    ("AWS::SNS::Topic", &["TopicArn", "TopicName"]),
    ("AWS::DynamoDB::Table", &["Arn", "StreamArn"]),
    ("AWS::KMS::Key", &["Arn", "KeyId"]),
    ("AWS::Logs::LogGroup", &["Arn"]),
    ("AWS::Kinesis::Stream", &["Arn"]),
    ("AWS::ECS::Cluster", &["Arn"]),
    ("AWS::ECS::Service", &["Name", "ServiceArn"]),
    ("AWS::ECS::TaskDefinition", &["TaskDefinitionArn"]),
    (
        "AWS::Cognito::UserPool",
        &["Arn", "ProviderName", "ProviderURL", "UserPoolId"],
    ),
    (
        "AWS::Cognito::UserPoolClient",
        &["ClientId", "ClientSecret", "Name"],
    ),
    (
        "AWS::ElastiCache::CacheCluster",
        &[
            "ConfigurationEndpoint.Address",
            "ConfigurationEndpoint.Port",
            "RedisEndpoint.Address",
            "RedisEndpoint.Port",
        ],
    ),
];

/// Whether CloudFormation documents `attr` for the placeholder type `ty` (types not in
/// [`PLACEHOLDER_ATTRIBUTES`]: unknown).
pub fn placeholder_documents(ty: &str, attr: &str) -> Option<bool> {
    PLACEHOLDER_ATTRIBUTES
        .iter()
        .find(|(t, _)| *t == ty)
        .map(|(_, attrs)| attrs.contains(&attr))
}

/// Every `Fn::GetAtt` attribute CloudFormation documents for the types vpcgate emulates, from
/// each type's "Return values" section of the CloudFormation template reference
/// (<https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-template-resource-type-ref.html>,
/// e.g. `aws-resource-ec2-instance.html#aws-resource-ec2-instance-return-values`). An attribute
/// listed here always resolves (the type's own value, else an AWS-shaped placeholder,
/// [`documented_attribute`]); any other one is CloudFormation's "does not support attribute
/// type" error.
pub const DOCUMENTED_ATTRIBUTES: &[(&str, &[&str])] = &[
    (
        "AWS::EC2::VPC",
        &[
            "CidrBlock",
            "CidrBlockAssociations",
            "DefaultNetworkAcl",
            "DefaultSecurityGroup",
            "Ipv6CidrBlocks",
            "VpcId",
        ],
    ),
    (
        "AWS::EC2::Subnet",
        &[
            "AvailabilityZone",
            "AvailabilityZoneId",
            "CidrBlock",
            "Ipv6CidrBlocks",
            "NetworkAclAssociationId",
            "OutpostArn",
            "SubnetId",
            "VpcId",
        ],
    ),
    ("AWS::EC2::SecurityGroup", &["GroupId", "VpcId"]),
    (
        "AWS::EC2::Instance",
        &[
            "AvailabilityZone",
            "InstanceId",
            "PrivateDnsName",
            "PrivateIp",
            "PublicDnsName",
            "PublicIp",
            "VpcId",
            "State.Code",
            "State.Name",
        ],
    ),
    ("AWS::EC2::EIP", &["AllocationId", "PublicIp"]),
    (
        "AWS::EC2::NetworkInterface",
        &[
            "Id",
            "PrimaryIpv6Address",
            "PrimaryPrivateIpAddress",
            "SecondaryPrivateIpAddresses",
            "VpcId",
        ],
    ),
    ("AWS::EC2::NatGateway", &["NatGatewayId"]),
    ("AWS::EC2::InternetGateway", &["InternetGatewayId"]),
    ("AWS::EC2::RouteTable", &["RouteTableId"]),
    ("AWS::EC2::SubnetRouteTableAssociation", &["Id"]),
    (
        "AWS::EC2::VPCEndpoint",
        &[
            "CreationTimestamp",
            "DnsEntries",
            "Id",
            "NetworkInterfaceIds",
        ],
    ),
    (
        "AWS::ElasticLoadBalancingV2::LoadBalancer",
        &[
            "CanonicalHostedZoneID",
            "DNSName",
            "LoadBalancerArn",
            "LoadBalancerFullName",
            "LoadBalancerName",
            "SecurityGroups",
        ],
    ),
    (
        "AWS::ElasticLoadBalancingV2::TargetGroup",
        &[
            "LoadBalancerArns",
            "TargetGroupArn",
            "TargetGroupFullName",
            "TargetGroupName",
        ],
    ),
    ("AWS::ElasticLoadBalancingV2::Listener", &["ListenerArn"]),
    (
        "AWS::ElasticLoadBalancingV2::ListenerRule",
        &["IsDefault", "RuleArn"],
    ),
    ("AWS::IAM::Role", &["Arn", "RoleId"]),
    (
        "AWS::StepFunctions::StateMachine",
        &["Arn", "Name", "StateMachineRevisionId"],
    ),
    ("AWS::Events::Connection", &["Arn", "SecretArn"]),
    ("AWS::Events::ApiDestination", &["Arn"]),
    ("AWS::Events::EventBus", &["Arn", "Name"]),
    ("AWS::Events::Rule", &["Arn"]),
    ("AWS::SecretsManager::Secret", &["Id"]),
    ("AWS::Route53::HostedZone", &["Id", "NameServers"]),
    ("AWS::ApiGateway::RestApi", &["RestApiId", "RootResourceId"]),
    ("AWS::ApiGateway::Resource", &["ResourceId"]),
    ("AWS::ApiGateway::Deployment", &["DeploymentId"]),
    ("AWS::ApiGatewayV2::Api", &["ApiEndpoint", "ApiId"]),
    ("AWS::ApiGatewayV2::VpcLink", &["VpcLinkId"]),
    ("AWS::ApiGatewayV2::Integration", &["IntegrationId"]),
    ("AWS::ApiGatewayV2::Route", &["RouteId"]),
    (
        "AWS::VpcLattice::ServiceNetwork",
        &["Arn", "CreatedAt", "Id", "LastUpdatedAt"],
    ),
    (
        "AWS::VpcLattice::Service",
        &[
            "Arn",
            "CreatedAt",
            "DnsEntry.DomainName",
            "DnsEntry.HostedZoneId",
            "Id",
            "LastUpdatedAt",
            "Status",
        ],
    ),
    (
        "AWS::VpcLattice::TargetGroup",
        &["Arn", "CreatedAt", "Id", "LastUpdatedAt", "Status"],
    ),
    (
        "AWS::VpcLattice::Listener",
        &["Arn", "Id", "ServiceArn", "ServiceId"],
    ),
    ("AWS::VpcLattice::Rule", &["Arn", "Id"]),
    ("AWS::VpcLattice::ResourceGateway", &["Arn", "Id"]),
    ("AWS::VpcLattice::ResourceConfiguration", &["Arn", "Id"]),
];

/// Whether CloudFormation documents `attr` for `ty` (types not in [`DOCUMENTED_ATTRIBUTES`]:
/// unknown).
pub fn is_documented(ty: &str, attr: &str) -> Option<bool> {
    DOCUMENTED_ATTRIBUTES
        .iter()
        .find(|(t, _)| *t == ty)
        .map(|(_, attrs)| attrs.contains(&attr))
}

/// A resource whose `Fn::GetAtt` names an attribute its [`Physical`] does not list.
#[derive(Clone, Copy, Debug)]
pub struct Unlisted<'a> {
    /// Region, account and stack.
    pub ctx: &'a IdContext,
    /// The logical id.
    pub logical: &'a str,
    /// The resource type.
    pub ty: &'a str,
    /// Its `Ref` and listed attributes.
    pub physical: &'a Physical,
}

/// A documented attribute the type's own values do not hold (e.g. `State.Name` of an instance):
/// the value a running resource has where vpcgate knows it, else an AWS-shaped placeholder.
pub fn documented_attribute(u: &Unlisted<'_>, attr: &str) -> Value {
    let Unlisted {
        ctx, logical, ty, ..
    } = *u;
    match (ty, attr) {
        ("AWS::EC2::Instance", "State.Name") => json!("running"),
        ("AWS::EC2::Instance", "State.Code") => json!("16"),
        ("AWS::VpcLattice::Service" | "AWS::VpcLattice::TargetGroup", "Status") => json!("ACTIVE"),
        (_, "CreatedAt" | "LastUpdatedAt" | "CreationTimestamp") => json!("2026-01-01T00:00:00Z"),
        ("AWS::ElasticLoadBalancingV2::ListenerRule", "IsDefault") => json!(false),
        ("AWS::StepFunctions::StateMachine", "StateMachineRevisionId") => {
            json!(ctx.uuid(logical, "sfn-revision"))
        }
        (
            _,
            "Ipv6CidrBlocks"
            | "CidrBlockAssociations"
            | "NetworkInterfaceIds"
            | "LoadBalancerArns"
            | "NameServers"
            | "SecurityGroups",
        ) => json!([]),
        _ => placeholder_attribute(u, attr),
    }
}

/// What an address is placed among: the resources of the template resolved so far, and the
/// subnets the account already has (the environment's), by id.
#[derive(Clone, Copy, Debug)]
pub struct Around<'a> {
    /// The template's resources resolved so far.
    pub done: &'a std::collections::HashMap<String, Physical>,
    /// The account's own subnets.
    pub known: &'a std::collections::BTreeMap<String, crate::vpc::Subnet>,
}

/// An instance's private address when the template does not pin it, chosen in its subnet (a
/// subnet of this template or of the environment: its `CidrBlock` is known) so that `Fn::GetAtt PrivateIp` and
/// `PrivateDnsName` give the address its ENI gets: the upper half of the subnet, by a hash of
/// the logical id, clear of the addresses ENIs take from the bottom and of the other
/// instances. Also `VpcId` from the subnet.
pub fn place_instance(
    ctx: &IdContext,
    logical: &str,
    ty: &str,
    props: &Map<String, Value>,
    physical: &mut Physical,
    around: Around<'_>,
    addressed: bool,
) {
    let Around { done, known } = around;
    let interface = props
        .get("NetworkInterfaces")
        .and_then(Value::as_array)
        .and_then(|l| {
            l.iter().find(|n| {
                n.get("DeviceIndex")
                    .is_none_or(|d| d == &json!(0) || d == &json!("0"))
            })
        });
    // An existing interface as the primary one: the instance's address and VPC are its.
    if let Some(eni) = interface
        .and_then(|n| n.get("NetworkInterfaceId"))
        .and_then(Value::as_str)
    {
        if let Some(iface) = done.values().find(|p| p.reference.as_str() == Some(eni)) {
            for (from, to) in [("VpcId", "VpcId"), ("PrimaryPrivateIpAddress", "PrivateIp")] {
                if let Some(v) = iface.attributes.get(from) {
                    physical.attributes.insert(to.into(), v.clone());
                }
            }
            if let Some(ip) = iface
                .attributes
                .get("PrimaryPrivateIpAddress")
                .and_then(Value::as_str)
            {
                physical.attributes.insert(
                    "PrivateDnsName".into(),
                    json!(super::ec2::private_dns_name(ip, &ctx.region)),
                );
            }
        }
        return;
    }
    // A network interface's own address is always placed (`PrimaryPrivateIpAddress`), unless
    // pinned.
    let is_interface = ty == "AWS::EC2::NetworkInterface";
    let attr = if is_interface {
        "PrimaryPrivateIpAddress"
    } else {
        "PrivateIp"
    };
    let addressed = addressed || is_interface;
    let subnet_id = props.get("SubnetId").and_then(Value::as_str).or_else(|| {
        interface
            .and_then(|n| n.get("SubnetId"))
            .and_then(Value::as_str)
    });
    let Some(subnet_id) = subnet_id else { return };
    // A subnet of this template, or one the account already has (the environment's).
    let (vpc, cidr) = match done
        .values()
        .find(|p| p.attributes.get("SubnetId").and_then(Value::as_str) == Some(subnet_id))
    {
        Some(subnet) => (
            subnet.attributes.get("VpcId").cloned(),
            subnet
                .attributes
                .get("CidrBlock")
                .and_then(Value::as_str)
                .and_then(|c| c.parse::<ipnet::Ipv4Net>().ok()),
        ),
        None => match known.get(subnet_id) {
            Some(s) => (Some(json!(s.vpc_id)), Some(s.cidr)),
            None => return,
        },
    };
    if let Some(vpc) = vpc {
        physical.attributes.entry("VpcId").or_insert(vpc);
    }
    // `SecondaryPrivateIpAddressCount` (AWS::EC2::NetworkInterface): EC2 picks that many more
    // addresses of the subnet, which `Fn::GetAtt …SecondaryPrivateIpAddresses` lists.
    let secondary_wanted = if is_interface {
        let count = props
            .get("SecondaryPrivateIpAddressCount")
            .and_then(|v| match v {
                Value::Number(n) => n.as_u64(),
                Value::String(t) => t.trim().parse().ok(),
                _ => None,
            })
            .unwrap_or(0)
            .min(64) as usize;
        let have = physical
            .attributes
            .get("SecondaryPrivateIpAddresses")
            .and_then(Value::as_array)
            .map_or(0, Vec::len);
        count.saturating_sub(have)
    } else {
        0
    };
    let primary_wanted = addressed && !physical.attributes.contains_key(attr);
    if !primary_wanted && secondary_wanted == 0 {
        return;
    }
    let Some(cidr) = cidr else {
        return;
    };
    let size = 1u32 << (32 - u32::from(cidr.prefix_len()).min(32));
    if size < 16 {
        return;
    }
    let taken: Vec<&str> = done
        .values()
        .flat_map(|p| {
            let one = ["PrivateIp", "PrimaryPrivateIpAddress"]
                .into_iter()
                .filter_map(|k| p.attributes.get(k).and_then(Value::as_str));
            let many = p
                .attributes
                .get("SecondaryPrivateIpAddresses")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_str);
            one.chain(many).collect::<Vec<_>>()
        })
        .collect();
    let half = size / 2;
    let span = half - 1; // the upper half, without the broadcast address
    let start = u32::from_str_radix(&ctx.hex(logical, "private-ip", 8), 16).unwrap_or(0) % span;
    let base = u32::from(cidr.network()) + half;
    let mut free = (0..span)
        .map(|k| std::net::Ipv4Addr::from(base + (start + k) % span).to_string())
        .filter(|text| !taken.contains(&text.as_str()));
    if primary_wanted {
        let Some(text) = free.next() else { return };
        if !is_interface {
            physical.attributes.insert(
                "PrivateDnsName".into(),
                json!(super::ec2::private_dns_name(&text, &ctx.region)),
            );
        }
        physical.attributes.insert(attr.into(), json!(text));
    }
    if secondary_wanted > 0 {
        let picked: Vec<Value> = free.take(secondary_wanted).map(Value::from).collect();
        if let Value::Array(list) = physical
            .attributes
            .entry("SecondaryPrivateIpAddresses")
            .or_insert_with(|| json!([]))
        {
            list.extend(picked);
        }
    }
}

/// The logical ids whose `PrivateIp` or `PrivateDnsName` a template reads (`Fn::GetAtt` in
/// either form, or `${Id.PrivateIp}` in an `Fn::Sub` string).
pub fn instances_addressed(doc: &Map<String, Value>) -> std::collections::BTreeSet<String> {
    fn walk(v: &Value, out: &mut std::collections::BTreeSet<String>, depth: usize) {
        if depth > super::yaml::MAX_DEPTH {
            return;
        }
        let wanted = |a: &str| a == "PrivateIp" || a == "PrivateDnsName";
        match v {
            Value::Object(m) => {
                if let Some(g) = m.get("Fn::GetAtt") {
                    match g {
                        Value::Array(l) => {
                            if let (Some(id), Some(a)) = (
                                l.first().and_then(Value::as_str),
                                l.get(1).and_then(Value::as_str),
                            ) && wanted(a)
                            {
                                out.insert(id.to_string());
                            }
                        }
                        Value::String(s) => {
                            if let Some((id, a)) = s.split_once('.')
                                && wanted(a)
                            {
                                out.insert(id.to_string());
                            }
                        }
                        _ => {}
                    }
                }
                for x in m.values() {
                    walk(x, out, depth + 1);
                }
            }
            Value::Array(l) => l.iter().for_each(|x| walk(x, out, depth + 1)),
            Value::String(s) => {
                for part in s.split("${").skip(1) {
                    if let Some((inner, _)) = part.split_once('}')
                        && let Some((id, a)) = inner.trim().split_once('.')
                        && wanted(a)
                    {
                        out.insert(id.to_string());
                    }
                }
            }
            _ => {}
        }
    }
    let mut out = std::collections::BTreeSet::new();
    walk(&Value::Object(doc.clone()), &mut out, 0);
    out
}

/// `Fn::GetAtt` of an attribute a not-emulated resource does not list: an ARN for `Arn`/`…Arn`
/// attributes (`arn:aws:<service>:<region>:<account>:<type>/<ref>`), the `Ref` for `Id`/`…Id`
/// and `Name`/`…Name`, else `<ref>.<attribute>`.
pub fn placeholder_attribute(u: &Unlisted<'_>, attr: &str) -> Value {
    let Unlisted {
        ctx,
        logical,
        ty,
        physical,
    } = *u;
    let reference = physical
        .reference
        .as_str()
        .map(str::to_string)
        .unwrap_or_else(|| logical.to_string());
    if attr == "Arn" || attr.ends_with("Arn") {
        if reference.starts_with("arn:") {
            return json!(reference);
        }
        let kind = ty
            .rsplit("::")
            .next()
            .unwrap_or("resource")
            .to_ascii_lowercase();
        return json!(format!(
            "arn:{}:{}:{}:{}:{kind}/{reference}",
            super::template::partition(&ctx.region),
            service(ty),
            ctx.region,
            ctx.account
        ));
    }
    if attr == "Id" || attr.ends_with("Id") || attr == "Name" || attr.ends_with("Name") {
        return json!(reference);
    }
    // Attributes that are lists (`SecondaryPrivateIpAddresses`, `NetworkInterfaceIds`,
    // `DnsEntries`, `PrivateIps`, …): two items, so `Fn::Select` and `Fn::Join` read them.
    let last = attr.rsplit('.').next().unwrap_or(attr);
    if ["Addresses", "Ids", "Entries", "Ips", "Arns", "Names"]
        .iter()
        .any(|s| last.ends_with(s))
    {
        return json!([
            format!("{reference}.{attr}.0"),
            format!("{reference}.{attr}.1")
        ]);
    }
    json!(format!("{reference}.{attr}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx() -> IdContext {
        test_context("eb-connection-infra")
    }

    #[test]
    fn ids_are_stable_and_shaped_like_aws() {
        let c = ctx();
        let vpc = physical(&c, "Vpc", "AWS::EC2::VPC", &Map::new()).unwrap();
        let again = physical(&c, "Vpc", "AWS::EC2::VPC", &Map::new()).unwrap();
        assert_eq!(vpc.reference, again.reference);
        let id = vpc.reference.as_str().unwrap();
        assert!(id.starts_with("vpc-") && id.len() == 21, "{id}");
        let uuid = c.uuid("X", "y");
        assert_eq!(uuid.len(), 36);
        assert_eq!(&uuid[14..15], "4");
    }

    #[test]
    fn internal_alb_names_follow_aws() {
        let mut props = Map::new();
        props.insert("Scheme".into(), json!("internal"));
        props.insert("Name".into(), json!("eb-demo-alb"));
        let p = physical(
            &ctx(),
            "ALB",
            "AWS::ElasticLoadBalancingV2::LoadBalancer",
            &props,
        )
        .unwrap();
        let dns = p.attributes["DNSName"].as_str().unwrap();
        assert!(
            dns.starts_with("internal-eb-demo-alb-")
                && dns.ends_with(".ap-northeast-1.elb.amazonaws.com"),
            "{dns}"
        );
        let arn = p.reference.as_str().unwrap();
        assert!(arn.starts_with(
            "arn:aws:elasticloadbalancing:ap-northeast-1:123456789012:loadbalancer/app/eb-demo-alb/"
        ));
    }

    #[test]
    fn placeholders_are_shaped_like_aws() {
        let c = ctx();
        let mut props = Map::new();
        props.insert("LogGroupName".into(), json!("/aws/x"));
        let lg = placeholder_for(&c, "Logs", "AWS::Logs::LogGroup", &props);
        assert_eq!(lg.reference, "/aws/x");
        assert_eq!(
            lg.attributes["Arn"],
            "arn:aws:logs:ap-northeast-1:123456789012:log-group:/aws/x:*"
        );
        let key = placeholder_for(&c, "Key", "AWS::KMS::Key", &Map::new());
        let id = key.reference.as_str().unwrap();
        assert_eq!(id.len(), 36);
        assert_eq!(
            key.attributes["Arn"],
            format!("arn:aws:kms:ap-northeast-1:123456789012:key/{id}")
        );
        let f = placeholder_for(&c, "Fn", "AWS::Lambda::Function", &Map::new());
        assert!(
            f.attributes["Arn"].as_str().unwrap().starts_with(
                "arn:aws:lambda:ap-northeast-1:123456789012:function:eb-connection-infra-Fn-"
            ),
            "{:?}",
            f.attributes
        );
        let sn = placeholder_for(&c, "Net", "AWS::VpcLattice::ServiceNetwork", &Map::new());
        let arn = sn.reference.as_str().unwrap();
        assert!(
            arn.starts_with("arn:aws:vpc-lattice:ap-northeast-1:123456789012:servicenetwork/sn-"),
            "{arn}"
        );
        let other = placeholder_for(&c, "Thing", "AWS::Foo::Thing", &Map::new());
        assert_eq!(
            placeholder_attribute(
                &Unlisted {
                    ctx: &c,
                    logical: "Thing",
                    ty: "AWS::Foo::Thing",
                    physical: &other,
                },
                "Arn"
            ),
            json!(format!(
                "arn:aws:foo:ap-northeast-1:123456789012:thing/{}",
                other.reference.as_str().unwrap()
            ))
        );
    }

    /// The common types vpcgate does not emulate get each service's shapes (the ids and ARNs of
    /// each service's API reference), and their documented attributes resolve.
    #[test]
    fn common_placeholder_types_are_shaped_like_aws() {
        let c = IdContext {
            region: "us-east-1".into(),
            account: "123456789012".into(),
            stack: "app".into(),
        };
        let arn = |svc: &str, rest: &str| format!(r"^arn:aws:{svc}:us-east-1:123456789012:{rest}$");
        // (type, Ref regex, [(attribute, regex)])
        type Case = (&'static str, String, Vec<(&'static str, String)>);
        let cases: Vec<Case> = vec![
            ("AWS::Lambda::Function", r"^app-Fn-[A-Za-z0-9]+$".into(), vec![("Arn", arn("lambda", r"function:app-Fn-[A-Za-z0-9]+"))]),
            ("AWS::SQS::Queue", r"^https://sqs\.us-east-1\.amazonaws\.com/123456789012/app-Fn-[A-Za-z0-9]+$".into(), vec![("Arn", arn("sqs", r"app-Fn-[A-Za-z0-9]+")), ("QueueName", r"^app-Fn-".into())]),
            ("AWS::SNS::Topic", arn("sns", r"app-Fn-[A-Za-z0-9]+"), vec![("TopicName", r"^app-Fn-".into())]),
            ("AWS::DynamoDB::Table", r"^app-Fn-[A-Za-z0-9]+$".into(), vec![("Arn", arn("dynamodb", r"table/app-Fn-[A-Za-z0-9]+")), ("StreamArn", arn("dynamodb", r"table/app-Fn-[A-Za-z0-9]+/stream/[0-9T:.-]+"))]),
            ("AWS::S3::Bucket", r"^app-fn-[a-z0-9]+$".into(), vec![("Arn", r"^arn:aws:s3:::app-fn-[a-z0-9]+$".into()), ("RegionalDomainName", r"^app-fn-[a-z0-9]+\.s3\.us-east-1\.amazonaws\.com$".into())]),
            ("AWS::KMS::Key", r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-a[0-9a-f]{3}-[0-9a-f]{12}$".into(), vec![("Arn", arn("kms", r"key/[0-9a-f-]{36}"))]),
            ("AWS::Logs::LogGroup", r"^app-Fn-[A-Za-z0-9]+$".into(), vec![("Arn", arn("logs", r"log-group:app-Fn-[A-Za-z0-9]+:\*"))]),
            ("AWS::Cognito::UserPool", r"^us-east-1_[A-Za-z0-9]{9}$".into(), vec![("Arn", arn("cognito-idp", r"userpool/us-east-1_[A-Za-z0-9]{9}")), ("ProviderURL", r"^https://cognito-idp\.us-east-1\.amazonaws\.com/us-east-1_[A-Za-z0-9]{9}$".into())]),
            ("AWS::Cognito::UserPoolClient", r"^[a-z0-9]{26}$".into(), vec![("ClientId", r"^[a-z0-9]{26}$".into())]),
            ("AWS::Cognito::IdentityPool", r"^us-east-1:[0-9a-f-]{36}$".into(), vec![]),
            ("AWS::ECS::Cluster", r"^app-Fn-[A-Za-z0-9]+$".into(), vec![("Arn", arn("ecs", r"cluster/app-Fn-[A-Za-z0-9]+"))]),
            ("AWS::ECS::Service", arn("ecs", r"service/default/app-Fn-[A-Za-z0-9]+"), vec![("Name", r"^app-Fn-".into())]),
            ("AWS::ECS::TaskDefinition", arn("ecs", r"task-definition/app-Fn-[A-Za-z0-9]+:1"), vec![]),
            ("AWS::RDS::DBInstance", r"^app-fn-[a-z0-9]+$".into(), vec![("Endpoint.Address", r"^app-fn-[a-z0-9]+\.[a-z0-9]{12}\.us-east-1\.rds\.amazonaws\.com$".into()), ("Endpoint.Port", r"^3306$".into()), ("DBInstanceArn", arn("rds", r"db:app-fn-[a-z0-9]+"))]),
            ("AWS::RDS::DBCluster", r"^app-fn-[a-z0-9]+$".into(), vec![("Endpoint.Address", r"^app-fn-[a-z0-9]+\.cluster-[a-z0-9]{12}\.us-east-1\.rds\.amazonaws\.com$".into()), ("ReadEndpoint.Address", r"\.cluster-ro-".into())]),
            ("AWS::ElastiCache::CacheCluster", r"^app-fn-[a-z0-9]+$".into(), vec![("RedisEndpoint.Address", r"^app-fn-[a-z0-9]+\.[a-z0-9]{6}\.0001\.use1\.cache\.amazonaws\.com$".into()), ("RedisEndpoint.Port", r"^6379$".into())]),
            ("AWS::ElastiCache::ReplicationGroup", r"^app-fn-[a-z0-9]+$".into(), vec![("PrimaryEndPoint.Address", r"^master\.app-fn-[a-z0-9]+\.[a-z0-9]{6}\.use1\.cache\.amazonaws\.com$".into())]),
            ("AWS::Kinesis::Stream", r"^app-Fn-[A-Za-z0-9]+$".into(), vec![("Arn", arn("kinesis", r"stream/app-Fn-[A-Za-z0-9]+"))]),
            ("AWS::KinesisFirehose::DeliveryStream", r"^app-Fn-[A-Za-z0-9]+$".into(), vec![("Arn", arn("firehose", r"deliverystream/app-Fn-[A-Za-z0-9]+"))]),
            ("AWS::ECR::Repository", r"^app-fn-[a-z0-9]+$".into(), vec![("RepositoryUri", r"^123456789012\.dkr\.ecr\.us-east-1\.amazonaws\.com/app-fn-[a-z0-9]+$".into())]),
            ("AWS::IAM::ManagedPolicy", r"^arn:aws:iam::123456789012:policy/app-Fn-[A-Za-z0-9]+$".into(), vec![]),
            ("AWS::EC2::LaunchTemplate", r"^lt-[0-9a-f]{17}$".into(), vec![("LatestVersionNumber", r"^1$".into())]),
            ("AWS::EFS::FileSystem", r"^fs-[0-9a-f]{17}$".into(), vec![("Arn", arn("elasticfilesystem", r"file-system/fs-[0-9a-f]{17}"))]),
            ("AWS::CloudFront::Distribution", r"^E[A-Z0-9]{13}$".into(), vec![("DomainName", r"^d[a-z0-9]{13}\.cloudfront\.net$".into())]),
        ];
        for (ty, reference, attributes) in cases {
            let p = placeholder_for(&c, "Fn", ty, &Map::new());
            let r = p.reference.as_str().unwrap_or_default();
            assert!(
                regex::Regex::new(&reference).unwrap().is_match(r),
                "{ty} Ref {r} !~ {reference}"
            );
            for (attr, want) in attributes {
                let v = p
                    .attributes
                    .get(attr)
                    .and_then(Value::as_str)
                    .unwrap_or_else(|| panic!("{ty}.{attr}: {:?}", p.attributes));
                assert!(
                    regex::Regex::new(&want).unwrap().is_match(v),
                    "{ty}.{attr} {v} !~ {want}"
                );
                if let Some(documented) = placeholder_documents(ty, attr) {
                    assert!(
                        documented,
                        "{ty}.{attr} is given but not in PLACEHOLDER_ATTRIBUTES"
                    );
                }
            }
        }
        assert_eq!(placeholder_documents("AWS::SQS::Queue", "Url"), Some(false));
        assert_eq!(placeholder_documents("AWS::Foo::Bar", "Url"), None);
        assert_eq!(region_short("ap-northeast-1"), "apne1");
        assert_eq!(region_short("eu-central-1"), "euc1");
    }

    /// Every documented (type, attribute) pair of the emulated types resolves to an AWS-shaped
    /// value: ARNs for `…Arn`, non-empty ids and names, lists for list attributes.
    #[test]
    fn every_documented_attribute_resolves_aws_shaped() {
        let c = ctx();
        for (ty, attrs) in DOCUMENTED_ATTRIBUTES {
            let mut props = Map::new();
            props.insert("CidrBlock".into(), json!("10.0.0.0/16"));
            props.insert("VpcId".into(), json!("vpc-0123456789abcdef0"));
            props.insert("Name".into(), json!("x"));
            let p = physical(&c, "Thing", ty, &props)
                .unwrap_or_else(|| placeholder_for(&c, "Thing", ty, &props));
            for attr in *attrs {
                let v = p.attributes.get(*attr).cloned().unwrap_or_else(|| {
                    let u = Unlisted {
                        ctx: &c,
                        logical: "Thing",
                        ty,
                        physical: &p,
                    };
                    documented_attribute(&u, attr)
                });
                match &v {
                    Value::String(s) => {
                        assert!(!s.is_empty(), "{ty}.{attr}");
                        if attr.ends_with("Arn") && *attr != "OutpostArn" {
                            assert!(s.starts_with("arn:aws:"), "{ty}.{attr} = {s}");
                        }
                        assert!(
                            !s.contains(".Thing.") && !s.starts_with("Thing."),
                            "{ty}.{attr} = {s}"
                        );
                    }
                    Value::Array(_) | Value::Bool(_) | Value::Number(_) => {}
                    other => panic!("{ty}.{attr} = {other}"),
                }
            }
            assert_eq!(is_documented(ty, "NoSuchAttribute"), Some(false));
        }
        assert_eq!(is_documented("AWS::Foo::Bar", "Arn"), None);
    }

    #[test]
    fn generated_names_fit() {
        let n = ctx().generated_name("ApplicationLoadBalancerForTheDemo", 32, 13);
        assert!(n.len() <= 32, "{n}");
        assert!(n.starts_with("eb-con"), "{n}");
    }
}
