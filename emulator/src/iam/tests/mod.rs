//! Cross-module tests of the iam module: the evaluation table, the seed's policies, every
//! condition operator, malformed documents and a few properties.

mod conditions;
mod eval_table;
mod malformed;
mod matching;
mod principals;
mod props;
mod seed;

use serde_json::Value;

use super::{
    Decision, NamedPolicy, Policy, PolicyKind, PolicySet, Principal, Request, RequestContext,
    evaluate,
};

/// The seed's account.
const ACCT: &str = "123456789012";
/// Another account, for cross-account cases.
const OTHER: &str = "210987654321";

fn parse(kind: PolicyKind, doc: Value) -> Policy {
    Policy::parse(&doc, kind).unwrap_or_else(|e| panic!("{e} ({})", e.aws_message()))
}

fn named(name: &str, kind: PolicyKind, doc: Value) -> NamedPolicy {
    NamedPolicy::new(name, parse(kind, doc))
}

/// Evaluates with identity policies and an optional resource policy.
fn decide(
    principal: &Principal,
    action: &str,
    resource: &str,
    ctx: &RequestContext,
    identity: &[NamedPolicy],
    resource_policy: Option<&NamedPolicy>,
) -> Decision {
    let request = Request {
        principal,
        action,
        resource,
        context: ctx,
    };
    evaluate(
        &request,
        &PolicySet {
            identity,
            resource: resource_policy,
            ..PolicySet::default()
        },
    )
}
