//! The IAM family: `AWS::IAM::Role`, `::User`, `::AccessKey`, `::ManagedPolicy` and `::Policy`
//! into the [`Model`]'s roles, users and policies.
//!
//! Standalone policies and access keys name the roles and users they attach to; they wait in
//! [`Iam`] until [`Iam::finish`], once every role and user of the stack exists. CloudFormation
//! fails a policy that names what does not exist with IAM's NoSuchEntity ("The role with name X
//! cannot be found.", "The user with name X cannot be found." — API_PutRolePolicy.html,
//! API_AttachRolePolicy.html, Errors).

use serde_json::Value;

use super::error::ErrorKind;
use super::props::{PropError, Props, names};
use super::template::ResolvedResource;
use crate::model::{ManagedPolicy, Model, Role, User};

/// The resource types of this family.
pub const TYPES: &[&str] = &[
    "AWS::IAM::Role",
    "AWS::IAM::User",
    "AWS::IAM::AccessKey",
    "AWS::IAM::ManagedPolicy",
    "AWS::IAM::Policy",
];

/// A standalone policy waiting for its roles and users: (logical id, roles, users, policy name,
/// document).
type PendingPolicy = (String, Vec<String>, Vec<String>, String, Value);

/// What the family holds between its resources and [`Iam::finish`].
#[derive(Default)]
pub(super) struct Iam {
    policies: Vec<PendingPolicy>,
    /// Access keys waiting for their user: (user name, key id, secret).
    access_keys: Vec<(String, String, String)>,
}

impl Iam {
    /// Converts one IAM resource; a standalone policy or key waits for [`Iam::finish`].
    pub(super) fn convert(&mut self, r: &ResolvedResource, model: &mut Model) -> Vec<PropError> {
        let mut errors = Vec::new();
        let mut p = Props::of(r, &mut errors);
        let (id, reference, attr) = names(r);
        match r.ty.as_str() {
            "AWS::IAM::Role" => {
                let path = p.opt_str("Path").unwrap_or_else(|| "/".into());
                let trust_policy = p
                    .get("AssumeRolePolicyDocument")
                    .cloned()
                    .unwrap_or(Value::Null);
                if trust_policy.is_null() {
                    p.missing("AssumeRolePolicyDocument");
                }
                let inline_policies = inline_policies(&mut p);
                let tags = tags(&mut p);
                model.roles.push(Role {
                    logical_id: id.clone(),
                    name: reference.clone(),
                    path,
                    arn: attr("Arn"),
                    trust_policy,
                    inline_policies,
                    managed_policy_arns: p.str_list("ManagedPolicyArns"),
                    tags,
                });
            }
            "AWS::IAM::User" => {
                let path = p.opt_str("Path").unwrap_or_else(|| "/".into());
                let inline_policies = inline_policies(&mut p);
                let tags = tags(&mut p);
                model.users.push(User {
                    logical_id: id.clone(),
                    name: reference.clone(),
                    path,
                    arn: attr("Arn"),
                    inline_policies,
                    managed_policy_arns: p.str_list("ManagedPolicyArns"),
                    tags,
                    access_keys: Vec::new(),
                });
            }
            "AWS::IAM::AccessKey" => {
                if let Some(user) = p.str("UserName") {
                    self.access_keys
                        .push((user, reference.clone(), attr("SecretAccessKey")));
                }
            }
            "AWS::IAM::ManagedPolicy" => {
                let doc = p.get("PolicyDocument").cloned().unwrap_or(Value::Null);
                if doc.is_null() {
                    p.missing("PolicyDocument");
                }
                let roles = p.str_list("Roles");
                let users = p.str_list("Users");
                let name = reference.rsplit('/').next().unwrap_or_default().to_string();
                model.managed_policies.push(ManagedPolicy {
                    arn: reference.clone(),
                    name: name.clone(),
                    document: doc.clone(),
                });
                self.policies.push((id.clone(), roles, users, name, doc));
            }
            "AWS::IAM::Policy" => {
                let name = p.str("PolicyName").unwrap_or_default();
                let doc = p.get("PolicyDocument").cloned().unwrap_or(Value::Null);
                if doc.is_null() {
                    p.missing("PolicyDocument");
                }
                self.policies.push((
                    id.clone(),
                    p.str_list("Roles"),
                    p.str_list("Users"),
                    name,
                    doc,
                ));
            }
            _ => {}
        }
        errors
    }

    /// Attaches the standalone policies to their roles and users, and the access keys to
    /// their users.
    pub(super) fn finish(self, model: &mut Model) -> Vec<(String, PropError)> {
        let mut errors = Vec::new();
        let mut unknown = |id: &str, path: String, reason: String| {
            errors.push((id.to_string(), (path, ErrorKind::Invalid { reason })));
        };
        for (id, roles, users, name, doc) in self.policies {
            for (i, role) in roles.iter().enumerate() {
                match model.roles.iter_mut().find(|r| &r.name == role) {
                    Some(r) => r.inline_policies.push((name.clone(), doc.clone())),
                    None => unknown(
                        &id,
                        format!("Properties.Roles[{i}]"),
                        format!("The role with name {role} cannot be found."),
                    ),
                }
            }
            for (i, user) in users.iter().enumerate() {
                match model.users.iter_mut().find(|u| &u.name == user) {
                    Some(u) => u.inline_policies.push((name.clone(), doc.clone())),
                    None => unknown(
                        &id,
                        format!("Properties.Users[{i}]"),
                        format!("The user with name {user} cannot be found."),
                    ),
                }
            }
        }
        for (user, key, secret) in self.access_keys {
            if let Some(u) = model.users.iter_mut().find(|u| u.name == user) {
                u.access_keys.push((key, secret));
            }
        }
        errors
    }
}

/// `Tags` of an IAM role or user: `[{Key, Value}]` (both required, as IAM's `Tag` type says).
fn tags(p: &mut Props<'_>) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (path, m) in p.objects("Tags") {
        let mut c = p.child(path, m);
        if let (Some(k), Some(v)) = (c.str("Key"), c.str("Value")) {
            out.push((k, v));
        }
    }
    out
}

fn inline_policies(p: &mut Props<'_>) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    for (path, m) in p.objects("Policies") {
        let mut c = p.child(path, m);
        let name = c.str("PolicyName");
        let doc = c.get("PolicyDocument").cloned();
        if doc.is_none() {
            c.missing("PolicyDocument");
        }
        if let (Some(name), Some(doc)) = (name, doc) {
            out.push((name, doc));
        }
    }
    out
}
