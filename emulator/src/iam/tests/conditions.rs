//! One test per condition operator family, through the whole evaluator.
//! Source for every expectation unless noted:
//! <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html>.

use serde_json::{Value, json};

use super::super::{PolicyKind, Principal, RequestContext};
use super::{ACCT, decide, named};

/// Whether an Allow statement whose only condition is `{op: {key: values}}` applies.
fn holds(op: &str, key: &str, values: Value, ctx: &RequestContext) -> bool {
    holds_block(json!({ op: { key: values } }), ctx)
}

fn holds_block(condition: Value, ctx: &RequestContext) -> bool {
    let policy = named(
        "User/Test",
        PolicyKind::IdentityBased,
        json!({"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Action": "s3:GetObject", "Resource": "*", "Condition": condition}]}),
    );
    let user = Principal::user(ACCT, "alice");
    decide(
        &user,
        "s3:GetObject",
        "arn:aws:s3:::b/k",
        ctx,
        &[policy],
        None,
    )
    .is_allowed()
}

fn ctx1(key: &str, value: &str) -> RequestContext {
    RequestContext::new().with(key, value)
}

#[test]
fn string_operators() {
    let c = ctx1("aws:SourceVpce", "vpce-1a2b3c4d");
    assert!(holds(
        "StringEquals",
        "aws:SourceVpce",
        json!("vpce-1a2b3c4d"),
        &c
    ));
    assert!(!holds(
        "StringEquals",
        "aws:SourceVpce",
        json!("VPCE-1A2B3C4D"),
        &c
    ));
    // Several values for one key are OR'd.
    assert!(holds(
        "StringEquals",
        "aws:SourceVpce",
        json!(["x", "vpce-1a2b3c4d"]),
        &c
    ));
    assert!(holds(
        "StringEqualsIgnoreCase",
        "aws:SourceVpce",
        json!("VPCE-1A2B3C4D"),
        &c
    ));
    assert!(!holds(
        "StringNotEqualsIgnoreCase",
        "aws:SourceVpce",
        json!("VPCE-1A2B3C4D"),
        &c
    ));
    assert!(holds(
        "StringNotEquals",
        "aws:SourceVpce",
        json!("vpce-other"),
        &c
    ));
    // Negated operator with several values: "the string cannot match any of the values".
    // (reference_policies_multi-value-conditions.html, note on negated operators)
    assert!(!holds(
        "StringNotEquals",
        "aws:SourceVpce",
        json!(["vpce-other", "vpce-1a2b3c4d"]),
        &c
    ));
    assert!(holds(
        "StringLike",
        "aws:SourceVpce",
        json!("vpce-1a2b*"),
        &c
    ));
    assert!(holds(
        "StringLike",
        "aws:SourceVpce",
        json!("vpce-????????"),
        &c
    ));
    assert!(!holds("StringLike", "aws:SourceVpce", json!("VPCE-*"), &c));
    assert!(holds(
        "StringNotLike",
        "aws:SourceVpce",
        json!("vpce-9*"),
        &c
    ));
    assert!(!holds(
        "StringNotLike",
        "aws:SourceVpce",
        json!("vpce-1*"),
        &c
    ));
    // StringEquals has no wildcards: `*` is literal.
    assert!(!holds(
        "StringEquals",
        "aws:SourceVpce",
        json!("vpce-*"),
        &c
    ));
}

#[test]
fn missing_key_rules() {
    let empty = RequestContext::new();
    // "If the key … is not present in the request context, the values do not match and the
    // condition is false … If the policy condition requires that the key is not matched …
    // the condition is true."
    for op in [
        "StringEquals",
        "StringLike",
        "StringEqualsIgnoreCase",
        "ArnLike",
        "ArnEquals",
    ] {
        assert!(!holds(op, "aws:SourceVpce", json!("x"), &empty), "{op}");
    }
    for op in [
        "StringNotEquals",
        "StringNotLike",
        "StringNotEqualsIgnoreCase",
        "ArnNotLike",
        "ArnNotEquals",
    ] {
        assert!(holds(op, "aws:SourceVpce", json!("x"), &empty), "{op}");
    }
    assert!(!holds(
        "NumericLessThan",
        "s3:max-keys",
        json!("10"),
        &empty
    ));
    assert!(holds(
        "NumericNotEquals",
        "s3:max-keys",
        json!("10"),
        &empty
    ));
    assert!(!holds(
        "DateGreaterThan",
        "aws:TokenIssueTime",
        json!("2020-01-01T00:00:01Z"),
        &empty
    ));
    assert!(holds(
        "DateNotEquals",
        "aws:TokenIssueTime",
        json!("2020-01-01T00:00:01Z"),
        &empty
    ));
    assert!(!holds(
        "IpAddress",
        "aws:SourceIp",
        json!("203.0.113.0/24"),
        &empty
    ));
    assert!(holds(
        "NotIpAddress",
        "aws:SourceIp",
        json!("203.0.113.0/24"),
        &empty
    ));
    assert!(!holds("Bool", "aws:SecureTransport", json!("true"), &empty));
    assert!(!holds("BinaryEquals", "aws:Bin", json!("QmluYXJ5"), &empty));
}

#[test]
fn if_exists() {
    // "If the key is not present, evaluate the condition element as true."
    let empty = RequestContext::new();
    let c = ctx1("ec2:InstanceType", "m5.large");
    assert!(holds(
        "StringLikeIfExists",
        "ec2:InstanceType",
        json!(["t1.*", "t2.*"]),
        &empty
    ));
    assert!(!holds(
        "StringLikeIfExists",
        "ec2:InstanceType",
        json!(["t1.*", "t2.*"]),
        &c
    ));
    assert!(holds(
        "StringLikeIfExists",
        "ec2:InstanceType",
        json!("m5.*"),
        &c
    ));
    assert!(holds(
        "StringNotEqualsIfExists",
        "aws:SourceVpc",
        json!("vpc-1"),
        &empty
    ));
    assert!(holds(
        "NumericLessThanIfExists",
        "s3:max-keys",
        json!(10),
        &empty
    ));
    assert!(holds(
        "BoolIfExists",
        // Not aws:ViaAWSService: that key is "always included in the request context"
        // (reference_policies_condition-keys.html), so it is never missing.
        "aws:MultiFactorAuthPresent",
        json!("true"),
        &empty
    ));
    assert!(holds(
        "IpAddressIfExists",
        "aws:SourceIp",
        json!("10.0.0.0/8"),
        &empty
    ));
    assert!(holds(
        "DateLessThanIfExists",
        "aws:TokenIssueTime",
        json!("2020-01-01"),
        &empty
    ));
    assert!(holds(
        "ArnLikeIfExists",
        "aws:SourceArn",
        json!("arn:aws:sns:*:*:t"),
        &empty
    ));
    assert!(holds(
        "BinaryEqualsIfExists",
        "aws:Bin",
        json!("QmluYXJ5"),
        &empty
    ));
    assert!(holds(
        "ForAnyValue:StringEqualsIfExists",
        "aws:TagKeys",
        json!("a"),
        &empty
    ));
}

#[test]
fn null_operator() {
    let empty = RequestContext::new();
    let c = ctx1("aws:TokenIssueTime", "2025-01-01T00:00:00Z");
    assert!(holds("Null", "aws:TokenIssueTime", json!("true"), &empty));
    assert!(!holds("Null", "aws:TokenIssueTime", json!("true"), &c));
    assert!(holds("Null", "aws:TokenIssueTime", json!("false"), &c));
    assert!(!holds("Null", "aws:TokenIssueTime", json!("false"), &empty));
    assert!(holds("Null", "aws:TokenIssueTime", json!(false), &c));
    // A key present with no values counts as null.
    let none: Vec<String> = Vec::new();
    let empty_set = RequestContext::new().with_values("aws:TagKeys", none);
    assert!(holds("Null", "aws:TagKeys", json!("true"), &empty_set));
}

#[test]
fn numeric_operators() {
    let c = ctx1("s3:max-keys", "10");
    assert!(holds("NumericEquals", "s3:max-keys", json!("10"), &c));
    assert!(holds("NumericEquals", "s3:max-keys", json!(10), &c));
    assert!(holds("NumericEquals", "s3:max-keys", json!("10.0"), &c));
    assert!(!holds("NumericNotEquals", "s3:max-keys", json!("10"), &c));
    assert!(holds(
        "NumericLessThanEquals",
        "s3:max-keys",
        json!("10"),
        &c
    ));
    assert!(!holds("NumericLessThan", "s3:max-keys", json!("10"), &c));
    assert!(holds("NumericLessThan", "s3:max-keys", json!("10.5"), &c));
    assert!(holds(
        "NumericGreaterThanEquals",
        "s3:max-keys",
        json!("10"),
        &c
    ));
    assert!(!holds("NumericGreaterThan", "s3:max-keys", json!("10"), &c));
    assert!(holds("NumericGreaterThan", "s3:max-keys", json!("-1"), &c));
    // A request value that is not a number matches no numeric comparison.
    let bad = ctx1("s3:max-keys", "ten");
    assert!(!holds("NumericEquals", "s3:max-keys", json!("10"), &bad));
    assert!(holds("NumericNotEquals", "s3:max-keys", json!("10"), &bad));
}

#[test]
fn date_operators_iso_and_epoch() {
    let now = ctx1("aws:CurrentTime", "2025-06-01T12:00:00Z").with("aws:EpochTime", "1748779200");
    assert!(holds(
        "DateGreaterThan",
        "aws:CurrentTime",
        json!("2025-06-01T11:59:59Z"),
        &now
    ));
    assert!(!holds(
        "DateGreaterThan",
        "aws:CurrentTime",
        json!("2025-06-01T12:00:00Z"),
        &now
    ));
    assert!(holds(
        "DateGreaterThanEquals",
        "aws:CurrentTime",
        json!("2025-06-01T12:00:00Z"),
        &now
    ));
    assert!(holds(
        "DateEquals",
        "aws:CurrentTime",
        json!("2025-06-01T21:00:00+09:00"),
        &now
    ));
    assert!(holds(
        "DateEquals",
        "aws:CurrentTime",
        json!("2025-06-01T12:00Z"),
        &now
    ));
    assert!(holds(
        "DateEquals",
        "aws:CurrentTime",
        json!("2025-06-01T12:00:00.000Z"),
        &now
    ));
    assert!(!holds(
        "DateNotEquals",
        "aws:CurrentTime",
        json!("2025-06-01T12:00:00Z"),
        &now
    ));
    assert!(holds(
        "DateLessThan",
        "aws:CurrentTime",
        json!("2025-06-02"),
        &now
    ));
    assert!(holds(
        "DateLessThan",
        "aws:CurrentTime",
        json!("2025-07"),
        &now
    ));
    assert!(holds(
        "DateLessThan",
        "aws:CurrentTime",
        json!("2026"),
        &now
    ));
    assert!(!holds(
        "DateLessThanEquals",
        "aws:CurrentTime",
        json!("2025-06-01"),
        &now
    ));
    // Epoch on either side ("W3C implementations of the ISO 8601 date formats or in epoch").
    assert!(holds(
        "DateEquals",
        "aws:CurrentTime",
        json!("1748779200"),
        &now
    ));
    assert!(holds(
        "DateEquals",
        "aws:CurrentTime",
        json!(1_748_779_200),
        &now
    ));
    assert!(holds(
        "DateGreaterThan",
        "aws:EpochTime",
        json!("2025-06-01T00:00:00Z"),
        &now
    ));
    assert!(holds(
        "DateLessThan",
        "aws:EpochTime",
        json!("1748779201"),
        &now
    ));
}

#[test]
fn bool_operator() {
    let https = ctx1("aws:SecureTransport", "true");
    let http = ctx1("aws:SecureTransport", "false");
    assert!(holds("Bool", "aws:SecureTransport", json!("true"), &https));
    assert!(holds("Bool", "aws:SecureTransport", json!(true), &https));
    assert!(holds("Bool", "aws:SecureTransport", json!("TRUE"), &https));
    assert!(!holds("Bool", "aws:SecureTransport", json!("true"), &http));
    assert!(holds("Bool", "aws:SecureTransport", json!("false"), &http));
    let garbage = ctx1("aws:SecureTransport", "yes");
    assert!(!holds(
        "Bool",
        "aws:SecureTransport",
        json!("true"),
        &garbage
    ));
    assert!(!holds(
        "Bool",
        "aws:SecureTransport",
        json!("false"),
        &garbage
    ));
}

#[test]
fn binary_equals() {
    // "compares the value of the specified key byte for byte against a base-64 encoded
    // representation of the binary value in the policy".
    let c = ctx1("aws:Bin", "QmluYXJ5VmFsdWVJbkJhc2U2NA==");
    assert!(holds(
        "BinaryEquals",
        "aws:Bin",
        json!("QmluYXJ5VmFsdWVJbkJhc2U2NA=="),
        &c
    ));
    assert!(!holds("BinaryEquals", "aws:Bin", json!("QmluYXJ5"), &c));
    // A request value that is not base64 is compared as raw bytes.
    let raw = ctx1("aws:Bin", "Binary!");
    assert!(holds(
        "BinaryEquals",
        "aws:Bin",
        json!("QmluYXJ5IQ=="),
        &raw
    ));
}

#[test]
fn ip_operators_v4_and_v6() {
    let v4 = ctx1("aws:SourceIp", "203.0.113.77");
    assert!(holds(
        "IpAddress",
        "aws:SourceIp",
        json!("203.0.113.0/24"),
        &v4
    ));
    assert!(!holds(
        "IpAddress",
        "aws:SourceIp",
        json!("203.0.114.0/24"),
        &v4
    ));
    assert!(holds(
        "NotIpAddress",
        "aws:SourceIp",
        json!("203.0.114.0/24"),
        &v4
    ));
    assert!(!holds(
        "NotIpAddress",
        "aws:SourceIp",
        json!(["10.0.0.0/8", "203.0.113.0/24"]),
        &v4
    ));
    // A bare address means /32.
    assert!(holds(
        "IpAddress",
        "aws:SourceIp",
        json!("203.0.113.77"),
        &v4
    ));
    assert!(!holds(
        "IpAddress",
        "aws:SourceIp",
        json!("203.0.113.78"),
        &v4
    ));
    // Host bits in the policy's CIDR are ignored.
    assert!(holds(
        "IpAddress",
        "aws:SourceIp",
        json!("203.0.113.5/24"),
        &v4
    ));
    let v6 = ctx1("aws:SourceIp", "2001:db8:1234:5678::1");
    assert!(holds(
        "IpAddress",
        "aws:SourceIp",
        json!("2001:DB8:1234:5678::/64"),
        &v6
    ));
    assert!(!holds(
        "IpAddress",
        "aws:SourceIp",
        json!("2001:DB8:1234:5679::/64"),
        &v6
    ));
    // The documented mixed list.
    let mixed = json!(["203.0.113.0/24", "2001:DB8:1234:5678::/64"]);
    assert!(holds("IpAddress", "aws:SourceIp", mixed.clone(), &v4));
    assert!(holds("IpAddress", "aws:SourceIp", mixed, &v6));
    // An IPv4 range never matches an IPv6 address.
    assert!(!holds("IpAddress", "aws:SourceIp", json!("0.0.0.0/0"), &v6));
    assert!(holds("IpAddress", "aws:SourceIp", json!("::/0"), &v6));
}

#[test]
fn arn_operators_match_segment_by_segment() {
    // The documented case: StringLike matches across colons, ArnLike does not.
    let c = ctx1(
        "aws:SourceArn",
        "arn:aws:someservice:us-east-2:999999999999:store/abc:111122223333:finance/document.txt",
    );
    let pattern = json!("arn:aws:someservice:*:111122223333:finance/*");
    assert!(holds("StringLike", "aws:SourceArn", pattern.clone(), &c));
    assert!(!holds("ArnLike", "aws:SourceArn", pattern.clone(), &c));
    assert!(holds("ArnNotLike", "aws:SourceArn", pattern, &c));
    let topic = ctx1(
        "aws:SourceArn",
        "arn:aws:sns:us-east-2:123456789012:TOPIC-ID",
    );
    for op in ["ArnEquals", "ArnLike"] {
        assert!(holds(
            op,
            "aws:SourceArn",
            json!("arn:aws:sns:us-east-2:123456789012:TOPIC-ID"),
            &topic
        ));
        // ArnEquals and ArnLike "behave identically": wildcards work in both.
        assert!(holds(
            op,
            "aws:SourceArn",
            json!("arn:aws:sns:*:123456789012:TOPIC-*"),
            &topic
        ));
        assert!(!holds(
            op,
            "aws:SourceArn",
            json!("arn:aws:sns:*:123456789012:topic-*"),
            &topic
        ));
    }
    assert!(holds(
        "ArnNotEquals",
        "aws:SourceArn",
        json!("arn:aws:sns:*:210987654321:*"),
        &topic
    ));
    // The resource segment keeps its colons.
    let with_colons = ctx1(
        "aws:SourceArn",
        "arn:aws:logs:us-east-1:123456789012:log-group:g:*",
    );
    assert!(holds(
        "ArnLike",
        "aws:SourceArn",
        json!("arn:aws:logs:*:*:log-group:*"),
        &with_colons
    ));
}

#[test]
fn set_operators_and_empty_sets() {
    // reference_policies_condition-single-vs-multi-valued-context-keys.html
    let tags = RequestContext::new().with_values("aws:TagKeys", ["Dept", "Cost-Center"]);
    let no_values = RequestContext::new().with_values("aws:TagKeys", Vec::<String>::new());
    let missing = RequestContext::new();
    let allowed = json!(["Dept", "Cost-Center", "Owner"]);
    // ForAllValues: every request value must be in the policy set.
    assert!(holds(
        "ForAllValues:StringEquals",
        "aws:TagKeys",
        allowed.clone(),
        &tags
    ));
    assert!(!holds(
        "ForAllValues:StringEquals",
        "aws:TagKeys",
        json!(["Dept"]),
        &tags
    ));
    // "It also returns true if there are no keys in the request, or if the key values resolve
    // to a null data set".
    assert!(holds(
        "ForAllValues:StringEquals",
        "aws:TagKeys",
        json!(["Dept"]),
        &no_values
    ));
    assert!(holds(
        "ForAllValues:StringEquals",
        "aws:TagKeys",
        json!(["Dept"]),
        &missing
    ));
    // ForAnyValue: at least one; "For no matching key or a null dataset, the condition
    // returns false".
    assert!(holds(
        "ForAnyValue:StringEquals",
        "aws:TagKeys",
        json!(["Dept"]),
        &tags
    ));
    assert!(!holds(
        "ForAnyValue:StringEquals",
        "aws:TagKeys",
        json!(["Owner"]),
        &tags
    ));
    assert!(!holds(
        "ForAnyValue:StringEquals",
        "aws:TagKeys",
        json!(["Dept"]),
        &no_values
    ));
    assert!(!holds(
        "ForAnyValue:StringEquals",
        "aws:TagKeys",
        json!(["Dept"]),
        &missing
    ));
    // Negated operators apply per request value; the documented table for
    // `ForAllValues:StringNotLike {"aws:TagKeys": "key1*"}`
    // (reference_policies_condition_examples-multi-valued-context-keys.html):
    let c = |v: &[&str]| RequestContext::new().with_values("aws:TagKeys", v.iter().copied());
    let op = "ForAllValues:StringNotLike";
    assert!(!holds(
        op,
        "aws:TagKeys",
        json!("key1*"),
        &c(&["key1:legal"])
    ));
    assert!(!holds(
        op,
        "aws:TagKeys",
        json!("key1*"),
        &c(&["key1:hr", "key1:personnel"])
    ));
    assert!(holds(
        op,
        "aws:TagKeys",
        json!("key1*"),
        &c(&["key2:audit"])
    ));
    assert!(holds(op, "aws:TagKeys", json!("key1*"), &missing));
    let any_not = "ForAnyValue:StringNotEquals";
    assert!(holds(any_not, "aws:TagKeys", json!(["Dept"]), &tags));
    assert!(!holds(
        any_not,
        "aws:TagKeys",
        json!(["Dept", "Cost-Center"]),
        &tags
    ));
    assert!(!holds(any_not, "aws:TagKeys", json!(["Dept"]), &missing));
    // Set operators work with other comparisons too.
    let ips = RequestContext::new().with_values("aws:SourceIp", ["10.0.0.1", "192.168.0.1"]);
    assert!(holds(
        "ForAnyValue:IpAddress",
        "aws:SourceIp",
        json!("10.0.0.0/8"),
        &ips
    ));
    assert!(!holds(
        "ForAllValues:IpAddress",
        "aws:SourceIp",
        json!("10.0.0.0/8"),
        &ips
    ));
}

#[test]
fn multivalued_key_without_qualifier() {
    // Not documented: without a qualifier a positive operator holds when any value matches
    // and a negated one when none does (the emulator's choice, consistent with one value).
    let tags = RequestContext::new().with_values("aws:TagKeys", ["a", "b"]);
    assert!(holds("StringEquals", "aws:TagKeys", json!("b"), &tags));
    assert!(!holds("StringNotEquals", "aws:TagKeys", json!("b"), &tags));
    assert!(holds("StringNotEquals", "aws:TagKeys", json!("c"), &tags));
}

#[test]
fn keys_and_operators_combine_with_and() {
    // "If your policy has multiple condition operators or multiple keys attached to a single
    // condition operator, the conditions are evaluated using a logical AND."
    let c = RequestContext::new()
        .with("aws:SourceVpce", "vpce-1")
        .with("aws:SecureTransport", "true")
        .with("aws:PrincipalTag/dept", "finance");
    let both = json!({
        "StringEquals": {"aws:SourceVpce": "vpce-1", "aws:PrincipalTag/dept": ["hr", "finance"]},
        "Bool": {"aws:SecureTransport": "true"}
    });
    assert!(holds_block(both, &c));
    let one_fails = json!({
        "StringEquals": {"aws:SourceVpce": "vpce-1", "aws:PrincipalTag/dept": "hr"},
        "Bool": {"aws:SecureTransport": "true"}
    });
    assert!(!holds_block(one_fails, &c));
    let other_op_fails = json!({
        "StringEquals": {"aws:SourceVpce": "vpce-1"},
        "Bool": {"aws:SecureTransport": "false"}
    });
    assert!(!holds_block(other_op_fails, &c));
}

#[test]
fn condition_key_names_are_case_insensitive() {
    let c = ctx1("AWS:SOURCEVPCE", "vpce-1");
    assert!(holds("StringEquals", "aws:sourcevpce", json!("vpce-1"), &c));
    assert!(holds("StringEquals", "aws:SourceVpce", json!("vpce-1"), &c));
}

#[test]
fn principal_derived_keys_are_filled_in() {
    let empty = RequestContext::new();
    let user = Principal::user(ACCT, "alice");
    let check = |cond: Value| {
        let policy = named(
            "User/Test",
            PolicyKind::IdentityBased,
            json!({"Version": "2012-10-17", "Statement": [{
                "Effect": "Allow", "Action": "s3:GetObject", "Resource": "*", "Condition": cond}]}),
        );
        decide(&user, "s3:GetObject", "*", &empty, &[policy], None).is_allowed()
    };
    assert!(check(
        json!({"StringEquals": {"aws:PrincipalArn": "arn:aws:iam::123456789012:user/alice"}})
    ));
    assert!(check(
        json!({"StringEquals": {"aws:PrincipalAccount": ACCT}})
    ));
    assert!(check(
        json!({"StringEquals": {"aws:PrincipalType": "User"}})
    ));
    assert!(check(json!({"StringEquals": {"aws:username": "alice"}})));
    assert!(check(json!({"StringLike": {"aws:userid": "AIDA*"}})));
    assert!(check(
        json!({"Bool": {"aws:PrincipalIsAWSService": "false"}})
    ));
    // The caller cannot spoof them.
    let spoofed =
        RequestContext::new().with("aws:PrincipalArn", "arn:aws:iam::123456789012:role/Admin");
    let policy = named(
        "User/Test",
        PolicyKind::IdentityBased,
        json!({"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Action": "s3:GetObject", "Resource": "*",
            "Condition": {"StringEquals": {"aws:PrincipalArn": "arn:aws:iam::123456789012:role/Admin"}}}]}),
    );
    assert!(!decide(&user, "s3:GetObject", "*", &spoofed, &[policy], None).is_allowed());
}

#[test]
fn policy_variables_in_conditions_and_resources() {
    // reference_policies_variables.html
    let user = Principal::user(ACCT, "alice");
    let ctx = RequestContext::new().with("s3:prefix", "home/alice/");
    let doc = |version: Option<&str>| {
        let mut d = json!({"Statement": [
            {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "arn:aws:s3:::BUCKET",
             "Condition": {"StringLike": {"s3:prefix": ["", "home/", "home/${aws:username}/"]}}},
            {"Effect": "Allow", "Action": "s3:*", "Resource": [
                "arn:aws:s3:::BUCKET/home/${aws:username}",
                "arn:aws:s3:::BUCKET/home/${aws:username}/*"]}]});
        if let Some(v) = version {
            d["Version"] = json!(v);
        }
        d
    };
    let p = [named("G/Home", PolicyKind::ResourceBased, {
        // As a resource policy to allow the 2008 version below; add a principal.
        let mut d = doc(Some("2012-10-17"));
        for s in d["Statement"].as_array_mut().unwrap() {
            s["Principal"] = json!({"AWS": "arn:aws:iam::123456789012:user/alice"});
        }
        d
    })];
    let eval = |policy: &[super::super::NamedPolicy], action: &str, resource: &str| {
        decide(&user, action, resource, &ctx, &[], policy.first()).is_allowed()
    };
    assert!(eval(&p, "s3:ListBucket", "arn:aws:s3:::BUCKET"));
    assert!(eval(
        &p,
        "s3:GetObject",
        "arn:aws:s3:::BUCKET/home/alice/notes.txt"
    ));
    assert!(!eval(
        &p,
        "s3:GetObject",
        "arn:aws:s3:::BUCKET/home/bob/notes.txt"
    ));

    // Without Version 2012-10-17 the variable is literal text.
    let old = [named("G/Home", PolicyKind::ResourceBased, {
        let mut d = doc(None);
        for s in d["Statement"].as_array_mut().unwrap() {
            s["Principal"] = json!({"AWS": "arn:aws:iam::123456789012:user/alice"});
        }
        d
    })];
    assert!(!eval(
        &old,
        "s3:GetObject",
        "arn:aws:s3:::BUCKET/home/alice/notes.txt"
    ));
    assert!(eval(
        &old,
        "s3:GetObject",
        "arn:aws:s3:::BUCKET/home/${aws:username}/x"
    ));

    // A role session has no aws:username: the variable is null and matches nothing, but the
    // negated operator matches ("Inverted condition operators … do match against a null value").
    let session = Principal::assumed_role(ACCT, "R", "s");
    let cond = |op: &str| {
        named(
            "R/P",
            PolicyKind::IdentityBased,
            json!({"Version": "2012-10-17", "Statement": [{
                "Effect": "Allow", "Action": "s3:GetObject", "Resource": "*",
                "Condition": {op: {"s3:prefix": "home/${aws:username}/"}}}]}),
        )
    };
    let c = RequestContext::new().with("s3:prefix", "home/alice/");
    assert!(
        !decide(
            &session,
            "s3:GetObject",
            "*",
            &c,
            &[cond("StringEquals")],
            None
        )
        .is_allowed()
    );
    assert!(
        decide(
            &session,
            "s3:GetObject",
            "*",
            &c,
            &[cond("StringNotEquals")],
            None
        )
        .is_allowed()
    );

    // `${aws:PrincipalAccount}` in a resource, with a default and escapes.
    let acct = named(
        "R/Acct",
        PolicyKind::IdentityBased,
        json!({"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Action": "secretsmanager:GetSecretValue",
            "Resource": "arn:aws:secretsmanager:*:${aws:PrincipalAccount}:secret:${aws:PrincipalTag/team, 'shared'}-${*}"}]}),
    );
    let eval_res = |r: &str| {
        decide(
            &session,
            "secretsmanager:GetSecretValue",
            r,
            &RequestContext::new(),
            std::slice::from_ref(&acct),
            None,
        )
        .is_allowed()
    };
    assert!(eval_res(
        "arn:aws:secretsmanager:us-east-1:123456789012:secret:shared-*"
    ));
    assert!(!eval_res(
        "arn:aws:secretsmanager:us-east-1:123456789012:secret:shared-x"
    ));
    assert!(!eval_res(
        "arn:aws:secretsmanager:us-east-1:210987654321:secret:shared-*"
    ));
}

#[test]
fn variables_are_literal_in_non_string_operators() {
    let c = ctx1("s3:max-keys", "10").with("aws:SourceIp", "10.0.0.1");
    // Numeric values cannot hold variables, so this is a malformed number, caught at parse.
    let err = super::super::Policy::parse(
        &json!({"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Action": "s3:*", "Resource": "*",
            "Condition": {"NumericEquals": {"s3:max-keys": "${aws:username}"}}}]}),
        PolicyKind::IdentityBased,
    )
    .unwrap_err();
    assert_eq!(
        err.path().as_str(),
        "Statement[0].Condition.NumericEquals.s3:max-keys"
    );
    assert!(holds("NumericEquals", "s3:max-keys", json!("10"), &c));
}
