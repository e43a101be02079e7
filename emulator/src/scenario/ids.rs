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

fn attrs(pairs: &[(&str, Value)]) -> Map<String, Value> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect()
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
    let r = &ctx.region;
    let a = &ctx.account;
    let p = match ty {
        "AWS::EC2::VPC" => {
            let id = format!("vpc-{}", ctx.hex(logical, "vpc", 17));
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
                    (
                        "DefaultNetworkAcl",
                        json!(format!("acl-{}", ctx.hex(logical, "acl", 17))),
                    ),
                    ("CidrBlockAssociations", json!([])),
                    ("Ipv6CidrBlocks", json!([])),
                ]),
            }
        }
        "AWS::EC2::Subnet" => {
            let id = format!("subnet-{}", ctx.hex(logical, "subnet", 17));
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
            let id = format!("sg-{}", ctx.hex(logical, "sg", 17));
            Physical {
                reference: json!(id),
                attributes: attrs(&[
                    ("GroupId", json!(id)),
                    ("VpcId", props.get("VpcId").cloned().unwrap_or(Value::Null)),
                ]),
            }
        }
        "AWS::EC2::SecurityGroupIngress" | "AWS::EC2::SecurityGroupEgress" => Physical {
            reference: json!(format!("sgr-{}", ctx.hex(logical, "sgr", 17))),
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
            let number = ctx.digits(logical, "alb-dns", 10);
            let dns = if internal {
                format!("internal-{name}-{number}.{r}.elb.amazonaws.com")
            } else {
                format!("{name}-{number}.{r}.elb.amazonaws.com")
            };
            let arn = format!("arn:aws:elasticloadbalancing:{r}:{a}:loadbalancer/app/{name}/{id}");
            Physical {
                reference: json!(arn),
                attributes: attrs(&[
                    ("LoadBalancerArn", json!(arn)),
                    ("DNSName", json!(dns)),
                    ("LoadBalancerName", json!(name)),
                    ("LoadBalancerFullName", json!(format!("app/{name}/{id}"))),
                    ("CanonicalHostedZoneID", json!(elb_zone(r))),
                    (
                        "SecurityGroups",
                        props.get("SecurityGroups").cloned().unwrap_or(json!([])),
                    ),
                ]),
            }
        }
        "AWS::ElasticLoadBalancingV2::Listener" => {
            let lb = prop(props, "LoadBalancerArn").unwrap_or_default();
            let lb_part = lb
                .split_once(":loadbalancer/")
                .map(|(_, p)| p)
                .unwrap_or("app/unknown/0");
            let arn = format!(
                "arn:aws:elasticloadbalancing:{r}:{a}:listener/{lb_part}/{}",
                ctx.hex(logical, "listener", 16)
            );
            Physical {
                reference: json!(arn),
                attributes: attrs(&[("ListenerArn", json!(arn))]),
            }
        }
        "AWS::ElasticLoadBalancingV2::ListenerRule" => {
            let listener = prop(props, "ListenerArn").unwrap_or_default();
            let part = listener
                .split_once(":listener/")
                .map(|(_, p)| p)
                .unwrap_or("app/unknown/0/0");
            let arn = format!(
                "arn:aws:elasticloadbalancing:{r}:{a}:listener-rule/{part}/{}",
                ctx.hex(logical, "rule", 16)
            );
            Physical {
                reference: json!(arn),
                attributes: attrs(&[("RuleArn", json!(arn))]),
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
        "AWS::VpcLattice::ResourceGateway" => {
            let id = format!("rgw-{}", ctx.lower(logical, "rgw", 17));
            let arn = format!("arn:aws:vpc-lattice:{r}:{a}:resourcegateway/{id}");
            Physical {
                reference: json!(arn),
                attributes: attrs(&[("Arn", json!(arn)), ("Id", json!(id))]),
            }
        }
        "AWS::VpcLattice::ResourceConfiguration" => {
            let id = format!("rcfg-{}", ctx.lower(logical, "rcfg", 17));
            let arn = format!("arn:aws:vpc-lattice:{r}:{a}:resourceconfiguration/{id}");
            Physical {
                reference: json!(arn),
                attributes: attrs(&[("Arn", json!(arn)), ("Id", json!(id))]),
            }
        }
        t if t.starts_with("AWS::VpcLattice::") && super::lattice::handles(t) => {
            // VPC Lattice service networks (scenario::lattice).
            return super::lattice::physical(ctx, logical, ty, props);
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
        "AWS::ApiGateway::Resource" => {
            let id = ctx.lower(logical, "resource", 6);
            Physical {
                reference: json!(id),
                attributes: attrs(&[("ResourceId", json!(id))]),
            }
        }
        "AWS::ApiGateway::Method" => Physical {
            reference: json!(ctx.lower(logical, "method", 10)),
            attributes: Map::new(),
        },
        "AWS::ApiGateway::Deployment" => {
            let id = ctx.lower(logical, "deployment", 6);
            Physical {
                reference: json!(id),
                attributes: attrs(&[("DeploymentId", json!(id))]),
            }
        }
        "AWS::ApiGateway::Stage" => Physical {
            reference: props.get("StageName").cloned().unwrap_or(json!(logical)),
            attributes: Map::new(),
        },
        "AWS::ApiGatewayV2::VpcLink" => {
            let id = ctx.lower(logical, "vpclink", 6);
            Physical {
                reference: json!(id),
                attributes: attrs(&[("VpcLinkId", json!(id))]),
            }
        }
        _ => return None,
    };
    Some(p)
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

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx() -> IdContext {
        IdContext {
            region: "ap-northeast-1".into(),
            account: "123456789012".into(),
            stack: "eb-connection-infra".into(),
        }
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
    fn generated_names_fit() {
        let n = ctx().generated_name("ApplicationLoadBalancerForTheDemo", 32, 13);
        assert!(n.len() <= 32, "{n}");
        assert!(n.starts_with("eb-con"), "{n}");
    }
}
