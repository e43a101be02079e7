//! Trust policies: whether an AWS service may assume a role.
//!
//! A service (Step Functions, EventBridge, API Gateway) gets a role's session only if the role's
//! trust policy (`AssumeRolePolicyDocument`) allows `sts:AssumeRole` to its service principal —
//! the global one (`states.amazonaws.com`) or the Regional one (`states.<region>.amazonaws.com`),
//! as Step Functions' refusal names both. The request carries `aws:SourceArn` and
//! `aws:SourceAccount` (the resource the service acts for), which AWS recommends trust policies
//! check against the confused-deputy problem
//! (<https://docs.aws.amazon.com/IAM/latest/UserGuide/confused-deputy.html>,
//! <https://docs.aws.amazon.com/step-functions/latest/dg/procedure-create-iam-role.html>).

use chrono::{DateTime, Utc};

use super::{Decision, NamedPolicy, PolicySet, Principal, Request, RequestContext, evaluate, keys};

/// The action a service performs on a role to get its session.
pub const ASSUME_ROLE: &str = "sts:AssumeRole";

/// A service assuming a role on behalf of one of its resources.
#[derive(Clone, Copy, Debug)]
pub struct ServiceAssumption<'a> {
    /// The global service principal (`states.amazonaws.com`).
    pub service: &'a str,
    /// The resource the service acts for (`aws:SourceArn`): the state machine, the rule, …
    pub source_arn: &'a str,
    /// Its account (`aws:SourceAccount`).
    pub source_account: &'a str,
    /// The Region the service runs in (`aws:RequestedRegion`, and the Regional principal).
    pub region: &'a str,
    /// The time of the request, when known (`aws:CurrentTime`).
    pub now: Option<DateTime<Utc>>,
}

impl ServiceAssumption<'_> {
    /// `states.<region>.amazonaws.com` for `states.amazonaws.com`.
    pub fn regional_principal(&self) -> String {
        match self.service.strip_suffix(".amazonaws.com") {
            Some(name) => format!("{name}.{}.amazonaws.com", self.region),
            None => self.service.to_string(),
        }
    }
}

/// Evaluates `trust` (a [`super::PolicyKind::Trust`] policy of `role_arn`) for the service's
/// `sts:AssumeRole`: allowed when the global or the Regional service principal is allowed and
/// nothing denies. Returns the decision for the global principal unless the Regional one is
/// allowed.
pub fn service_may_assume(
    trust: &NamedPolicy,
    role_arn: &str,
    assumption: &ServiceAssumption<'_>,
) -> Decision {
    let mut context = match assumption.now {
        Some(now) => RequestContext::for_request(now, assumption.region),
        None => RequestContext::new()
            .with(keys::REQUESTED_REGION, assumption.region)
            .with(keys::SECURE_TRANSPORT, "true"),
    };
    context.insert(keys::SOURCE_ARN, assumption.source_arn);
    context.insert(keys::SOURCE_ACCOUNT, assumption.source_account);
    let role_account = role_arn.split(':').nth(4).unwrap_or_default();
    let decide = |service: String| {
        let principal = Principal::service(service);
        evaluate(
            &Request {
                principal: &principal,
                action: ASSUME_ROLE,
                resource: role_arn,
                context: &context,
            },
            &PolicySet {
                identity: &[],
                resource: Some(trust),
                resource_account: Some(role_account),
                gates: &[],
            },
        )
    };
    let global = decide(assumption.service.to_string());
    if global.is_allowed() {
        return global;
    }
    let regional = decide(assumption.regional_principal());
    if regional.is_allowed() {
        regional
    } else {
        global
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::iam::{Policy, PolicyKind};
    use serde_json::json;

    fn trust(doc: serde_json::Value) -> NamedPolicy {
        NamedPolicy::new(
            "R/AssumeRolePolicyDocument",
            Policy::parse(&doc, PolicyKind::Trust).unwrap(),
        )
    }

    const ROLE: &str = "arn:aws:iam::123456789012:role/R";

    fn states(source_arn: &str) -> ServiceAssumption<'_> {
        ServiceAssumption {
            service: "states.amazonaws.com",
            source_arn,
            source_account: "123456789012",
            region: "ap-northeast-1",
            now: None,
        }
    }

    #[test]
    fn the_service_principal_must_be_trusted() {
        // Step Functions' execution-role trust policy (procedure-create-iam-role.html).
        let t = trust(
            json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
            "Principal": {"Service": "states.amazonaws.com"}, "Action": "sts:AssumeRole"}]}),
        );
        assert!(
            service_may_assume(
                &t,
                ROLE,
                &states("arn:aws:states:ap-northeast-1:123456789012:stateMachine:m")
            )
            .is_allowed()
        );
        let lambda = ServiceAssumption {
            service: "lambda.amazonaws.com",
            ..states("x")
        };
        assert!(!service_may_assume(&t, ROLE, &lambda).is_allowed());
    }

    #[test]
    fn the_regional_principal_counts_too() {
        let t = trust(
            json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
            "Principal": {"Service": "states.ap-northeast-1.amazonaws.com"}, "Action": "sts:AssumeRole"}]}),
        );
        assert!(service_may_assume(&t, ROLE, &states("s")).is_allowed());
    }

    #[test]
    fn source_arn_and_account_conditions_are_checked() {
        // The confused-deputy example of Step Functions' guide: ArnLike aws:SourceArn and
        // StringEquals aws:SourceAccount (procedure-create-iam-role.html).
        let t = trust(
            json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
            "Principal": {"Service": "states.amazonaws.com"}, "Action": "sts:AssumeRole",
            "Condition": {
                "ArnLike": {"aws:SourceArn": "arn:aws:states:ap-northeast-1:123456789012:stateMachine:ok-*"},
                "StringEquals": {"aws:SourceAccount": "123456789012"}}}]}),
        );
        assert!(
            service_may_assume(
                &t,
                ROLE,
                &states("arn:aws:states:ap-northeast-1:123456789012:stateMachine:ok-1")
            )
            .is_allowed()
        );
        assert!(
            !service_may_assume(
                &t,
                ROLE,
                &states("arn:aws:states:ap-northeast-1:123456789012:stateMachine:other")
            )
            .is_allowed()
        );
    }
}
