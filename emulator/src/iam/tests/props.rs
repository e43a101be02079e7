//! Properties of the matchers, checked with proptest.

use proptest::prelude::*;
use serde_json::json;

use super::super::wildcard::{Tok, compile_glob, glob_match};
use super::super::{PolicyKind, Principal, RequestContext};
use super::{ACCT, decide, named};

/// Characters that are not wildcards, including the ARN separators.
fn literal() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9:/._-]{0,24}"
}

proptest! {
    #[test]
    fn literal_pattern_matches_only_itself(p in literal(), t in literal()) {
        prop_assert_eq!(glob_match(&compile_glob(&p), &t, false), p == t);
    }

    #[test]
    fn star_matches_everything(t in ".{0,40}") {
        prop_assert!(glob_match(&[Tok::Star], &t, false));
    }

    #[test]
    fn question_marks_match_exactly_that_many(n in 0usize..12, t in "[a-z]{0,12}") {
        let pattern = "?".repeat(n);
        prop_assert_eq!(glob_match(&compile_glob(&pattern), &t, false), t.chars().count() == n);
    }

    #[test]
    fn prefix_star_matches_extensions(p in literal(), rest in literal()) {
        let pattern = format!("{p}*");
        let text = format!("{p}{rest}");
        prop_assert!(glob_match(&compile_glob(&pattern), &text, false));
    }

    #[test]
    fn action_match_ignores_case(name in "[A-Za-z]{1,16}") {
        let policy = named(
            "R/P",
            PolicyKind::IdentityBased,
            json!({"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Action": format!("S3:{name}"), "Resource": "*"}]}),
        );
        let user = Principal::user(ACCT, "u");
        let action = format!("s3:{}", name.to_lowercase());
        prop_assert!(decide(&user, &action, "*", &RequestContext::new(), &[policy], None).is_allowed());
    }

    #[test]
    fn literal_resource_matches_only_itself(a in "[a-z0-9/]{1,12}", b in "[a-z0-9/]{1,12}") {
        let policy = named(
            "R/P",
            PolicyKind::IdentityBased,
            json!({"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Action": "s3:GetObject", "Resource": format!("arn:aws:s3:::{a}")}]}),
        );
        let user = Principal::user(ACCT, "u");
        let allowed = decide(&user, "s3:GetObject", &format!("arn:aws:s3:::{b}"), &RequestContext::new(), &[policy], None).is_allowed();
        prop_assert_eq!(allowed, a == b);
    }

    #[test]
    fn explicit_deny_always_wins(effects in proptest::collection::vec(any::<bool>(), 1..6)) {
        let statements: Vec<_> = effects
            .iter()
            .map(|allow| json!({"Effect": if *allow { "Allow" } else { "Deny" }, "Action": "s3:*", "Resource": "*"}))
            .collect();
        let policy = named("R/P", PolicyKind::IdentityBased, json!({"Version": "2012-10-17", "Statement": statements}));
        let user = Principal::user(ACCT, "u");
        let d = decide(&user, "s3:GetObject", "*", &RequestContext::new(), &[policy], None);
        prop_assert_eq!(d.is_allowed(), effects.iter().all(|a| *a));
    }
}
