//! Malformed documents: each error names the JSON path of the culprit and carries IAM's
//! `MalformedPolicyDocument` message (texts as reproduced by moto's validator and public issue
//! reports; see the policy module's docs).

use serde_json::{Value, json};

use super::super::{Policy, PolicyError, PolicyKind};

fn err(kind: PolicyKind, doc: Value) -> PolicyError {
    Policy::parse(&doc, kind).expect_err("document should be rejected")
}

fn stmt(extra: Value) -> Value {
    let mut s = json!({"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"});
    for (k, v) in extra.as_object().unwrap() {
        if v.is_null() {
            s.as_object_mut().unwrap().remove(k);
        } else {
            s[k] = v.clone();
        }
    }
    s
}

fn doc(statements: Value) -> Value {
    json!({"Version": "2012-10-17", "Statement": statements})
}

/// (kind, document, expected path, expected AWS message)
fn cases() -> Vec<(PolicyKind, Value, &'static str, String)> {
    use PolicyKind::{IdentityBased as Id, ResourceBased as Res};
    let syntax = "Syntax errors in policy.".to_owned();
    let legacy = "The policy failed legacy parsing".to_owned();
    vec![
        (Id, json!([]), "", syntax.clone()),
        (Id, json!({"Version": "2012-10-17"}), "", syntax.clone()),
        (Id, json!({"Version": "2012-10-17", "Statement": [], }), "Statement", syntax.clone()),
        (Id, json!({"Version": "2012-10-17", "Statement": "x"}), "Statement", syntax.clone()),
        (Id, json!({"Version": "2012-10-17", "Statement": [stmt(json!({}))], "Foo": 1}), "", syntax.clone()),
        (Id, json!({"Version": "2012-10-18", "Statement": [stmt(json!({}))]}), "Version", syntax.clone()),
        (Id, json!({"Version": "2008-10-17", "Statement": [stmt(json!({}))]}), "Version",
            "Policy document must be version 2012-10-17 or greater.".to_owned()),
        (Id, json!({"Statement": [stmt(json!({}))]}), "",
            "Policy document must be version 2012-10-17 or greater.".to_owned()),
        (Id, doc(json!([stmt(json!({})), "x"])), "Statement[1]", syntax.clone()),
        (Id, doc(json!([stmt(json!({"Effect": null}))])), "Statement[0]", syntax.clone()),
        (Id, doc(json!([stmt(json!({"Effect": "Permit"}))])), "Statement[0].Effect", syntax.clone()),
        (Id, doc(json!([stmt(json!({"Effect": "allow"}))])), "Statement[0].Effect", legacy.clone()),
        (Id, doc(json!([stmt(json!({"Bogus": 1}))])), "Statement[0]", syntax.clone()),
        (Id, doc(json!([stmt(json!({"NotAction": "s3:*"}))])), "Statement[0]", syntax.clone()),
        (Id, doc(json!([stmt(json!({"Action": null}))])), "Statement[0]",
            "Policy statement must contain actions.".to_owned()),
        (Id, doc(json!([stmt(json!({"Action": []}))])), "Statement[0]",
            "Policy statement must contain actions.".to_owned()),
        (Id, doc(json!([stmt(json!({"Action": [1]}))])), "Statement[0].Action[0]", syntax.clone()),
        (Id, doc(json!([stmt(json!({"Resource": null}))])), "Statement[0]",
            "Policy statement must contain resources.".to_owned()),
        (Id, doc(json!([stmt(json!({"Resource": []}))])), "Statement[0]",
            "Policy statement must contain resources.".to_owned()),
        (Id, doc(json!([stmt(json!({"Principal": "*"}))])), "Statement[0].Principal",
            "Policy document should not specify a principal.".to_owned()),
        (Id, doc(json!([stmt(json!({"NotPrincipal": {"AWS": "123456789012"}}))])), "Statement[0].NotPrincipal",
            "Policy document should not specify a principal.".to_owned()),
        (Res, doc(json!([stmt(json!({}))])), "Statement[0]", "Missing required field Principal".to_owned()),
        (Res, doc(json!([stmt(json!({"Principal": {"AWS": "arn:aws:iam::123456789012:role/*"}}))])),
            "Statement[0].Principal.AWS",
            "Invalid principal in policy: \"AWS\":\"arn:aws:iam::123456789012:role/*\"".to_owned()),
        (Res, doc(json!([stmt(json!({"Principal": {"AWS": ["*", "bob"]}}))])),
            "Statement[0].Principal.AWS[1]",
            "Invalid principal in policy: \"AWS\":\"bob\"".to_owned()),
        (Res, doc(json!([stmt(json!({"Principal": {"Robot": "x"}}))])), "Statement[0].Principal.Robot",
            "Invalid principal in policy: \"Robot\":\"x\"".to_owned()),
        (Res, doc(json!([stmt(json!({"Principal": "arn:aws:iam::123456789012:root"}))])), "Statement[0].Principal",
            "Invalid principal in policy: \"Principal\":\"arn:aws:iam::123456789012:root\"".to_owned()),
        (Id, doc(json!([stmt(json!({"Sid": "A"})), stmt(json!({"Sid": "A"}))])), "Statement[1].Sid",
            "Statement IDs (SID) in a single policy must be unique.".to_owned()),
        (Id, doc(json!([stmt(json!({"Sid": "has space"}))])), "Statement[0].Sid",
            "Statement IDs (SID) must be alpha-numeric. Check that your input satisfies the regular expression [0-9A-Za-z]*".to_owned()),
        (Id, doc(json!([stmt(json!({"Action": "GetObject"}))])), "Statement[0].Action",
            "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc.".to_owned()),
        (Id, doc(json!([stmt(json!({"Action": ["s3:Get", "s3:a:b"]}))])), "Statement[0].Action[1]",
            "Actions/Condition can contain only one colon.".to_owned()),
        (Id, doc(json!([stmt(json!({"Action": "s 3:Get"}))])), "Statement[0].Action",
            "Vendor s 3 is not valid".to_owned()),
        (Id, doc(json!([stmt(json!({"Resource": "bucket"}))])), "Statement[0].Resource",
            "Resource bucket must be in ARN format or \"*\".".to_owned()),
        (Id, doc(json!([stmt(json!({"Resource": "arn:aws-x:s3:::b"}))])), "Statement[0].Resource",
            "Partition \"aws-x\" is not valid for resource \"arn:aws-x:s3:::b\".".to_owned()),
        (Id, doc(json!([stmt(json!({"Resource": ["*", "arn:aws:s*:::b"]}))])), "Statement[0].Resource[1]",
            "Resource vendor must be fully qualified and cannot contain regexes.".to_owned()),
        (Id, doc(json!([stmt(json!({"Resource": "arn:aws:s3::b"}))])), "Statement[0].Resource", legacy.clone()),
        (Id, doc(json!([stmt(json!({"Condition": {"StringNotEqual": {"aws:SourceVpce": "v"}}}))])),
            "Statement[0].Condition.StringNotEqual", syntax.clone()),
        (Id, doc(json!([stmt(json!({"Condition": {"NullIfExists": {"aws:SourceVpce": "true"}}}))])),
            "Statement[0].Condition.NullIfExists", syntax.clone()),
        (Id, doc(json!([stmt(json!({"Condition": {"StringNotEquals": {"SourceVpce": "v"}}}))])),
            "Statement[0].Condition.StringNotEquals.SourceVpce",
            "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc.".to_owned()),
        (Id, doc(json!([stmt(json!({"Condition": {"StringNotEquals": "v"}}))])),
            "Statement[0].Condition.StringNotEquals", syntax.clone()),
        (Id, doc(json!([stmt(json!({"Condition": {"StringEquals": {"aws:SourceVpce": {"a": 1}}}}))])),
            "Statement[0].Condition.StringEquals.aws:SourceVpce", syntax.clone()),
        (Id, doc(json!([stmt(json!({"Condition": {"DateLessThan": {"aws:CurrentTime": ["2020-01-01", "yesterday"]}}}))])),
            "Statement[0].Condition.DateLessThan.aws:CurrentTime[1]", legacy.clone()),
        (Id, doc(json!([stmt(json!({"Condition": {"IpAddress": {"aws:SourceIp": "10.0.0.0/33"}}}))])),
            "Statement[0].Condition.IpAddress.aws:SourceIp", syntax.clone()),
        (Id, doc(json!([stmt(json!({"Condition": {"Bool": {"aws:SecureTransport": "yes"}}}))])),
            "Statement[0].Condition.Bool.aws:SecureTransport", syntax.clone()),
        (Id, doc(json!([stmt(json!({"Condition": {"NumericLessThan": {"s3:max-keys": "ten"}}}))])),
            "Statement[0].Condition.NumericLessThan.s3:max-keys", syntax.clone()),
        (Id, doc(json!([stmt(json!({"Condition": {"BinaryEquals": {"aws:Bin": "not base64!"}}}))])),
            "Statement[0].Condition.BinaryEquals.aws:Bin", syntax.clone()),
        (Id, doc(json!([stmt(json!({"Condition": {"ForAnyValue:Null": {"aws:Bin": "true"}}}))])),
            "Statement[0].Condition.ForAnyValue:Null", syntax.clone()),
        (Id, doc(json!([stmt(json!({"Condition": {"Null": {"aws:Bin": "maybe"}}}))])),
            "Statement[0].Condition.Null.aws:Bin", syntax.clone()),
    ]
}

#[test]
fn each_malformed_document_reports_path_and_aws_message() {
    for (i, (kind, document, path, message)) in cases().into_iter().enumerate() {
        let e = err(kind, document);
        assert_eq!(e.path().as_str(), path, "case {i}: {e}");
        assert_eq!(e.aws_message(), message, "case {i}: {e}");
        // The Display text is lower-case and names the path.
        let text = e.to_string();
        assert!(
            text.starts_with(if path.is_empty() {
                "policy document"
            } else {
                path
            }),
            "{text}"
        );
    }
}

#[test]
fn the_brief_example_path() {
    let e = err(
        PolicyKind::ResourceBased,
        doc(json!([
            {"Effect": "Allow", "Principal": "*", "Action": "execute-api:Invoke", "Resource": "*"},
            {"Effect": "Deny", "Principal": "*", "Action": "execute-api:Invoke", "Resource": "*",
             "Condition": {"StringNotEquals": "arn:aws:iam::123456789012:role/PatternBRole"}}
        ])),
    );
    assert_eq!(e.path().as_str(), "Statement[1].Condition.StringNotEquals");
    assert_eq!(
        e.to_string(),
        "Statement[1].Condition.StringNotEquals: expected an object of condition keys"
    );
}

#[test]
fn accepted_variations() {
    // Statement as a single object; Action as a string; Id; resource policies may omit
    // Version (then 2008-10-17) and use free-form Sids; condition values may be numbers and
    // booleans.
    let p = Policy::parse(
        &json!({"Id": "x", "Statement": {"Sid": "Allow all from VPC", "Effect": "Allow",
            "Principal": {"AWS": ["123456789012", "arn:aws:iam::123456789012:root",
                                   "arn:aws:sts::123456789012:federated-user/bob",
                                   "AIDACKCEVSQ6C2EXAMPLE"],
                          "Service": "states.amazonaws.com", "Federated": "cognito-identity.amazonaws.com",
                          "CanonicalUser": "79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be"},
            "NotAction": "iam:*", "NotResource": "arn:aws:s3:::secret/*",
            "Condition": {"NumericLessThan": {"s3:max-keys": 10}, "Bool": {"aws:SecureTransport": true}}}}),
        PolicyKind::ResourceBased,
    )
    .unwrap();
    assert_eq!(p.statements().len(), 1);
    assert_eq!(p.id(), Some("x"));
    assert_eq!(p.version(), super::super::PolicyVersion::V2008_10_17);
    assert_eq!(p.statements()[0].sid(), Some("Allow all from VPC"));
    // The default VPC endpoint policy has no Version.
    Policy::parse(
        &json!({"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*"}]}),
        PolicyKind::VpcEndpoint,
    )
    .unwrap();
}

#[test]
fn parse_str_rejects_bad_json_and_duplicate_keys() {
    let e = Policy::parse_str("{\"Version\": ", PolicyKind::IdentityBased).unwrap_err();
    assert!(matches!(e, PolicyError::InvalidJson { .. }));
    assert_eq!(e.aws_message(), "Syntax errors in policy.");
    let e = Policy::parse_str(
        r#"{"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Effect": "Deny", "Action": "s3:*", "Resource": "*"}]}"#,
        PolicyKind::IdentityBased,
    )
    .unwrap_err();
    assert!(
        matches!(&e, PolicyError::DuplicateKey { key, .. } if key == "Effect"),
        "{e}"
    );
    assert_eq!(e.path().as_str(), "Statement[0]");
    Policy::parse_str(
        r#"{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "s3:*", "Resource": "*"}}"#,
        PolicyKind::IdentityBased,
    )
    .unwrap();
}
