//! CloudFormation's API (the query protocol, version 2010-05-15) on `serve`: stacks deployed,
//! updated and deleted at run time, in the caller's (account, Region).
//!
//! Member names and shapes follow botocore's `cloudformation/2010-05-15/service-2.json`. A
//! deploy in the world's own (account, Region) validates the whole set of stacks with the template
//! engine and swaps in a world built from it ([`Edge::swap_world`]); in any other (account,
//! Region) the stacks build that scope's own world ([`Edge::swap_scope_world`]: its own emulated
//! network, roles and APIs, on the same clock and root CA), and their state machines join that
//! scope's. [`crate::cfn`] keeps the stacks, events and change sets.

use std::collections::BTreeSet;
use std::sync::Arc;

use bytes::Bytes;
use serde_json::{Map, Value, json};

use super::query::{self, CLOUDFORMATION_NS, Form, Xml};
use super::wire::Body;
use super::{Call, Edge, Scope, ScopeState, StateMachineEntry};
use crate::cfn::{self, CfnError, ChangeSetType, Request, Stack, iso, text};
use crate::scenario::stacks::{Loaded, StackSpec};
use crate::world::World;

/// Whether a request is a CloudFormation query-protocol call: a form-encoded POST with an
/// `Action`, signed for `cloudformation` (or declaring `Version=2010-05-15`).
pub fn is_query(parts: &http::request::Parts, body: &[u8]) -> bool {
    let form = parts
        .headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if parts.method != http::Method::POST || !form {
        return false;
    }
    let f = Form::parse(body);
    if f.get("Action").is_none() {
        return false;
    }
    let signed_for = parts
        .headers
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|a| a.split("Credential=").nth(1))
        .and_then(|c| c.split([',', ' ']).next())
        .and_then(|c| c.split('/').nth(3))
        .map(str::to_string);
    signed_for.as_deref() == Some("cloudformation") || f.get("Version") == Some("2010-05-15")
}

/// Answers one CloudFormation call.
pub fn handle(
    edge: &Arc<Edge>,
    world: World,
    parts: &http::request::Parts,
    body: &Bytes,
) -> (String, http::Response<Body>) {
    let form = Form::parse(body);
    let action = form.get("Action").unwrap_or_default().to_string();
    let label = format!("cloudformation {action}");
    let (principal, scope) = match edge.authenticate(&world, parts, body, "cloudformation") {
        Ok(p) => p,
        Err(e) => {
            let w = crate::sigv4::wire(&e, crate::sigv4::Protocol::Query);
            return (
                label,
                query::error(CLOUDFORMATION_NS, w.status.as_u16(), w.code, &w.message),
            );
        }
    };
    let call = Call {
        edge,
        context: crate::edge::request_context(&world, &scope, Some(&parts.extensions)),
        world,
        state: edge.scope_state(&scope),
        principal,
        scope,
    };
    if let Err(e) = call.authorize(&format!("cloudformation:{action}"), "*") {
        return (
            label,
            query::error(CLOUDFORMATION_NS, 403, "AccessDenied", &e.message),
        );
    }
    let resp = match dispatch(edge, &call, &action, &form) {
        Ok(None) => query::ok_empty(CLOUDFORMATION_NS, &action),
        Ok(Some(x)) => query::ok(CLOUDFORMATION_NS, &action, x),
        Err(e) => {
            let (status, code) = e.wire();
            query::error(CLOUDFORMATION_NS, status, code, &e.to_string())
        }
    };
    (label, resp)
}

/// Runs one action for `call` (tests call it directly). `Ok(None)`: an action without a result
/// element (DeleteStack).
pub fn dispatch(
    edge: &Arc<Edge>,
    call: &Call<'_>,
    action: &str,
    form: &Form,
) -> Result<Option<Xml>, CfnError> {
    let mut x = Xml::default();
    let state = call.state.clone();
    let mut stacks = state.stacks.lock().expect("lock");
    match action {
        "CreateStack" | "UpdateStack" => {
            let req = request(form)?;
            let started = tokio::time::Instant::now();
            let id = with_ctx(edge, call, |ctx| {
                if action == "CreateStack" {
                    stacks.create(ctx, &req)
                } else {
                    stacks.update(ctx, &req)
                }
            })?;
            tracing::info!(
                "{action} {} in {:.1} ms",
                req.name,
                started.elapsed().as_secs_f64() * 1000.0
            );
            x.leaf("StackId", id);
        }
        "DeleteStack" => {
            let name = required(form, "StackName")?;
            with_ctx(edge, call, |ctx| stacks.delete(ctx, name))?;
            return Ok(None);
        }
        "DescribeStacks" => {
            let list: Vec<&Stack> = match form.get("StackName") {
                Some(n) => vec![stacks.get(n)?],
                None => stacks.stacks.iter().rev().filter(|s| s.exists()).collect(),
            };
            x.list("Stacks", &list, |m, s| write_stack(m, s));
        }
        "ListStacks" => {
            let filter = form.list("StackStatusFilter");
            let list: Vec<&Stack> = stacks
                .stacks
                .iter()
                .rev()
                .filter(|s| filter.is_empty() || filter.contains(&s.status))
                .collect();
            x.list("StackSummaries", &list, |m, s| {
                m.leaf("StackId", &s.id)
                    .leaf("StackName", &s.name)
                    .opt("TemplateDescription", s.description.as_ref())
                    .leaf("CreationTime", iso(s.created))
                    .opt("LastUpdatedTime", s.updated.map(iso))
                    .opt("DeletionTime", s.deleted.map(iso))
                    .leaf("StackStatus", &s.status)
                    .opt("StackStatusReason", s.reason.as_ref())
                    .node("DriftInformation", |d| {
                        d.leaf("StackDriftStatus", "NOT_CHECKED");
                    });
            });
        }
        "DescribeStackEvents" => {
            let s = stacks.get(required(form, "StackName")?)?;
            let events: Vec<&cfn::Event> = s.events.iter().rev().collect();
            x.list("StackEvents", &events, |m, e| {
                m.leaf("StackId", &s.id)
                    .leaf("EventId", &e.id)
                    .leaf("StackName", &s.name)
                    .leaf("LogicalResourceId", &e.logical_id)
                    .leaf("PhysicalResourceId", &e.physical_id)
                    .leaf("ResourceType", &e.resource_type)
                    .leaf("Timestamp", iso(e.time))
                    .leaf("ResourceStatus", &e.status)
                    .opt("ResourceStatusReason", e.reason.as_ref());
            });
        }
        "DescribeStackResource" => {
            let s = stacks.get(required(form, "StackName")?)?;
            let id = required(form, "LogicalResourceId")?;
            let r = s
                .resources
                .iter()
                .find(|r| r.logical_id == id)
                .ok_or_else(|| {
                    CfnError::validation(format!(
                        "Resource {id} does not exist for stack {}",
                        s.name
                    ))
                })?;
            x.node("StackResourceDetail", |d| {
                write_resource(d, Some(s), r, "LastUpdatedTimestamp");
            });
        }
        "DescribeStackResources" => {
            let (s, only) = match (form.get("StackName"), form.get("PhysicalResourceId")) {
                (Some(n), _) => (stacks.get(n)?, form.get("LogicalResourceId")),
                (None, Some(p)) => {
                    let s = stacks
                        .stacks
                        .iter()
                        .rev()
                        .find(|s| s.exists() && s.resources.iter().any(|r| r.physical_id == p))
                        .ok_or_else(|| CfnError::no_stack(p))?;
                    (s, None)
                }
                (None, None) => {
                    return Err(CfnError::validation(
                        "Either StackName or PhysicalResourceId must be specified.",
                    ));
                }
            };
            let list: Vec<&cfn::Resource> = s
                .resources
                .iter()
                .filter(|r| only.is_none_or(|o| o == r.logical_id))
                .collect();
            x.list("StackResources", &list, |m, r| {
                write_resource(m, Some(s), r, "Timestamp");
            });
        }
        "ListStackResources" => {
            let s = stacks.get(required(form, "StackName")?)?;
            x.list("StackResourceSummaries", &s.resources, |m, r| {
                write_resource(m, None, r, "LastUpdatedTimestamp");
            });
        }
        "GetTemplate" => {
            let body = match form.get("ChangeSetName") {
                Some(cs) => {
                    let i = stacks.change_set(cs, form.get("StackName"))?;
                    stacks.change_sets[i].body.clone()
                }
                None => stacks.get(required(form, "StackName")?)?.body.clone(),
            };
            x.leaf("TemplateBody", body).strings(
                "StagesAvailable",
                &["Original".to_string(), "Processed".to_string()],
            );
        }
        "GetTemplateSummary" => {
            let body = match (form.get("TemplateBody"), form.get("StackName")) {
                (Some(b), _) => b.to_string(),
                (None, Some(n)) => stacks.get(n)?.body.clone(),
                (None, None) => {
                    template_url(form)?;
                    return Err(CfnError::validation(
                        "Either Template URL or Template Body must be specified.",
                    ));
                }
            };
            let template = cfn::parse(&body)?;
            let doc = &template.doc;
            write_parameters(&mut x, doc, true);
            x.opt(
                "Description",
                doc.get("Description").and_then(Value::as_str),
            );
            write_capabilities(&mut x, doc);
            let mut types: Vec<String> = doc
                .get("Resources")
                .and_then(Value::as_object)
                .into_iter()
                .flatten()
                .filter_map(|(_, r)| r.get("Type").and_then(Value::as_str).map(str::to_string))
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect();
            types.sort();
            x.strings("ResourceTypes", &types);
            x.opt(
                "Version",
                doc.get("AWSTemplateFormatVersion").and_then(Value::as_str),
            );
        }
        "ValidateTemplate" => {
            let Some(body) = form.get("TemplateBody") else {
                template_url(form)?;
                return Err(CfnError::validation(
                    "Either Template URL or Template Body must be specified.",
                ));
            };
            let template = cfn::parse(body)?;
            let doc = &template.doc;
            validate_template(edge, call, body)?;
            write_parameters(&mut x, doc, false);
            x.opt(
                "Description",
                doc.get("Description").and_then(Value::as_str),
            );
            write_capabilities(&mut x, doc);
        }
        "ListExports" => {
            let mut exports: Vec<(String, String, String)> = Vec::new();
            for s in stacks.stacks.iter().filter(|s| s.is_live()) {
                if let Some(sum) = &s.summary {
                    for (k, v) in &sum.exports {
                        exports.push((s.id.clone(), k.clone(), text(v)));
                    }
                }
            }
            x.list("Exports", &exports, |m, (id, name, value)| {
                m.leaf("ExportingStackId", id)
                    .leaf("Name", name)
                    .leaf("Value", value);
            });
        }
        "ListImports" => {
            let export = required(form, "ExportName")?;
            let importers: Vec<String> = stacks
                .stacks
                .iter()
                .filter(|s| s.is_live())
                .filter(|s| {
                    s.summary
                        .as_ref()
                        .is_some_and(|m| m.imports.contains(export))
                })
                .map(|s| s.name.clone())
                .collect();
            if importers.is_empty() {
                return Err(CfnError::validation(format!(
                    "Export '{export}' is not imported by any stack."
                )));
            }
            x.strings("Imports", &importers);
        }
        "CreateChangeSet" => {
            let req = request(form)?;
            let name = required(form, "ChangeSetName")?;
            let kind = match form.get("ChangeSetType").unwrap_or("UPDATE") {
                "CREATE" => ChangeSetType::Create,
                "UPDATE" => ChangeSetType::Update,
                other => {
                    return Err(CfnError::validation(format!(
                        "1 validation error detected: Value '{other}' at 'changeSetType' failed to satisfy constraint: Member must satisfy enum value set: [IMPORT, UPDATE, CREATE] (vpcgate emulates CREATE and UPDATE)"
                    )));
                }
            };
            let description = form.get("Description").map(str::to_string);
            let (id, stack_id) = with_ctx(edge, call, |ctx| {
                stacks.create_change_set(ctx, &req, name, kind, description)
            })?;
            x.leaf("Id", id).leaf("StackId", stack_id);
        }
        "DescribeChangeSet" => {
            let i = stacks.change_set(required(form, "ChangeSetName")?, form.get("StackName"))?;
            let c = &stacks.change_sets[i];
            x.leaf("ChangeSetName", &c.name)
                .leaf("ChangeSetId", &c.id)
                .leaf("StackId", &c.stack_id)
                .leaf("StackName", &c.stack_name)
                .opt("Description", c.description.as_ref())
                .list("Parameters", &c.parameter_values, |m, (k, v)| {
                    m.leaf("ParameterKey", k).leaf("ParameterValue", v);
                })
                .leaf("CreationTime", iso(c.created))
                .leaf("ExecutionStatus", &c.execution_status)
                .leaf("Status", &c.status)
                .opt("StatusReason", c.reason.as_ref())
                .strings("NotificationARNs", &[])
                .node("RollbackConfiguration", |_| {})
                .strings("Capabilities", &c.capabilities)
                .list("Tags", &c.tags, |m, (k, v)| {
                    m.leaf("Key", k).leaf("Value", v);
                })
                .list("Changes", &c.changes, |m, ch| {
                    m.leaf("Type", "Resource").node("ResourceChange", |r| {
                        r.leaf("Action", ch.action)
                            .leaf("LogicalResourceId", &ch.logical_id)
                            .opt("PhysicalResourceId", ch.physical_id.as_ref())
                            .leaf("ResourceType", &ch.resource_type)
                            .opt("Replacement", ch.replacement);
                        if ch.action == "Modify" {
                            r.strings("Scope", &["Properties".to_string()]);
                            r.list("Details", &ch.properties, |d, p| {
                                d.node("Target", |t| {
                                    t.leaf("Attribute", "Properties").leaf("Name", p).leaf(
                                        "RequiresRecreation",
                                        if ch.replacement == Some("True") {
                                            "Always"
                                        } else {
                                            "Never"
                                        },
                                    );
                                })
                                .leaf("Evaluation", "Static")
                                .leaf("ChangeSource", "DirectModification");
                            });
                        } else {
                            r.strings("Scope", &[])
                                .list("Details", &[] as &[u8], |_, _| {});
                        }
                    });
                })
                .leaf("IncludeNestedStacks", "false");
        }
        "ExecuteChangeSet" => {
            let name = required(form, "ChangeSetName")?;
            let stack = form.get("StackName");
            let started = tokio::time::Instant::now();
            with_ctx(edge, call, |ctx| {
                stacks.execute_change_set(ctx, name, stack)
            })?;
            tracing::info!(
                "ExecuteChangeSet {name} in {:.1} ms",
                started.elapsed().as_secs_f64() * 1000.0
            );
        }
        "DeleteChangeSet" => {
            let i = stacks.change_set(required(form, "ChangeSetName")?, form.get("StackName"))?;
            stacks.change_sets.remove(i);
        }
        "ListChangeSets" => {
            let s = stacks.get(required(form, "StackName")?)?;
            let list: Vec<&cfn::ChangeSet> = stacks
                .change_sets
                .iter()
                .filter(|c| c.stack_id == s.id)
                .collect();
            x.list("Summaries", &list, |m, c| {
                m.leaf("StackId", &c.stack_id)
                    .leaf("StackName", &c.stack_name)
                    .leaf("ChangeSetId", &c.id)
                    .leaf("ChangeSetName", &c.name)
                    .leaf("ExecutionStatus", &c.execution_status)
                    .leaf("Status", &c.status)
                    .opt("StatusReason", c.reason.as_ref())
                    .leaf("CreationTime", iso(c.created))
                    .opt("Description", c.description.as_ref())
                    .leaf("IncludeNestedStacks", "false");
            });
        }
        other => {
            return Err(CfnError::UnknownOperation {
                action: other.to_string(),
            });
        }
    }
    Ok(Some(x))
}

/// Runs a stack operation with the template engine and, on success, the new world.
fn with_ctx<T>(
    edge: &Arc<Edge>,
    call: &Call<'_>,
    op: impl FnOnce(&mut cfn::Ctx<'_>) -> Result<T, CfnError>,
) -> Result<T, CfnError> {
    with_ctx_building(edge, call, None, op)
}

/// [`with_ctx`]; with `deferred`, a deploy's model is kept there instead of being built into a
/// world at once (`serve --stack` builds one world after its last stack, not one per stack).
fn with_ctx_building<T>(
    edge: &Arc<Edge>,
    call: &Call<'_>,
    mut deferred: Option<&mut Option<crate::model::Model>>,
    op: impl FnOnce(&mut cfn::Ctx<'_>) -> Result<T, CfnError>,
) -> Result<T, CfnError> {
    let (base, env, home) = edge.deploy_base(&call.scope);
    let now = call.world.clock.now();
    let load = |specs: &[StackSpec]| crate::scenario::stacks::deploy(&base, &env, specs);
    let state = call.state.clone();
    let mut commit = |loaded: &Loaded| -> Result<(), String> {
        match deferred.as_deref_mut() {
            Some(model) => *model = Some(loaded.model.clone()),
            None => build_world(edge, &call.scope, home, loaded.model.clone())?,
        }
        sync_machines(&state, loaded, now);
        Ok(())
    };
    let mut ctx = cfn::Ctx {
        arn_prefix: call.scope.arn("cloudformation", ""),
        now,
        load: &load,
        commit: &mut commit,
    };
    op(&mut ctx)
}

/// Makes a world built from `model` the one `scope`'s requests start on (`home`: the edge's own
/// world, else the scope's).
fn build_world(
    edge: &Arc<Edge>,
    scope: &Scope,
    home: bool,
    model: crate::model::Model,
) -> Result<(), String> {
    let built = if home {
        edge.swap_world(model)
    } else {
        edge.swap_scope_world(scope, model)
    };
    built.map_err(|e| format!("vpcgate could not build the world: {e}"))
}

/// The scope's state machines after a deploy: the ones the last deploy made go, the new ones
/// come (those kept keep their creation date); the ones made through the Step Functions API stay.
fn sync_machines(state: &ScopeState, loaded: &Loaded, now: std::time::SystemTime) {
    let new: BTreeSet<String> = loaded
        .model
        .state_machines
        .iter()
        .map(|m| m.arn.clone())
        .collect();
    let mut made = state.stack_machines.lock().expect("lock");
    let mut machines = state.state_machines.write().expect("lock");
    for arn in made.difference(&new) {
        machines.remove(arn);
    }
    for m in &loaded.model.state_machines {
        match machines.get_mut(&m.arn) {
            Some(e) => e.machine = m.clone(),
            None => {
                machines.insert(
                    m.arn.clone(),
                    StateMachineEntry {
                        machine: m.clone(),
                        created: now,
                        extra: json!({}),
                    },
                );
            }
        }
    }
    *made = new;
}

fn required<'f>(form: &'f Form, key: &str) -> Result<&'f str, CfnError> {
    form.get(key).ok_or_else(|| {
        let mut member = key.to_string();
        if let Some(first) = member.get_mut(0..1) {
            first.make_ascii_lowercase();
        }
        CfnError::validation(format!(
            "1 validation error detected: Value null at '{member}' failed to satisfy constraint: Member must not be null"
        ))
    })
}

/// TemplateURL: vpcgate has no S3 to read it from.
fn template_url(form: &Form) -> Result<(), CfnError> {
    match form.get("TemplateURL") {
        None => Ok(()),
        Some(url) if url.starts_with("https://") && url.contains("amazonaws.com") => {
            // What CloudFormation answers for an S3 object it cannot read.
            Err(CfnError::validation(
                "S3 error: Access Denied For more information check http://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html (vpcgate emulates no S3: send the template as TemplateBody)",
            ))
        }
        Some(_) => Err(CfnError::validation("TemplateURL must be a supported URL.")),
    }
}

/// A CreateStack / UpdateStack / CreateChangeSet request.
fn request(form: &Form) -> Result<Request, CfnError> {
    let name = required(form, "StackName")?.to_string();
    let body = form.get("TemplateBody").map(str::to_string);
    if body.is_none() {
        template_url(form)?;
        if !form.flag("UsePreviousTemplate") {
            return Err(CfnError::validation(
                "Either Template URL or Template Body must be specified.",
            ));
        }
    }
    let mut parameters = Vec::new();
    for p in form.members("Parameters") {
        let Some(k) = p.get("ParameterKey") else {
            continue;
        };
        let previous = p
            .get("UsePreviousValue")
            .is_some_and(|v| v.eq_ignore_ascii_case("true"));
        let value = match (p.get("ParameterValue"), previous) {
            (Some(_), true) => {
                return Err(CfnError::validation(format!(
                    "Invalid input for parameter key {k}. Cannot specify usePreviousValue as true and non empty value for a parameter"
                )));
            }
            (_, true) => None,
            (v, false) => Some(v.cloned().unwrap_or_default()),
        };
        parameters.push((k.clone(), value));
    }
    let tags = form
        .members("Tags")
        .into_iter()
        .filter_map(|t| {
            Some((
                t.get("Key")?.clone(),
                t.get("Value").cloned().unwrap_or_default(),
            ))
        })
        .collect();
    Ok(Request {
        name,
        body,
        parameters,
        capabilities: form.list("Capabilities"),
        tags,
    })
}

/// A resource as DescribeStackResource (`StackResourceDetail`), DescribeStackResources
/// (`StackResource`, its time as `Timestamp`) and ListStackResources (`StackResourceSummary`,
/// without the stack) give it.
fn write_resource(m: &mut Xml, stack: Option<&Stack>, r: &cfn::Resource, time: &str) {
    if let Some(s) = stack {
        m.leaf("StackName", &s.name).leaf("StackId", &s.id);
    }
    m.leaf("LogicalResourceId", &r.logical_id)
        .leaf("PhysicalResourceId", &r.physical_id)
        .leaf("ResourceType", &r.resource_type)
        .leaf(time, iso(r.updated))
        .leaf("ResourceStatus", &r.status)
        .node("DriftInformation", |d| {
            d.leaf("StackResourceDriftStatus", "NOT_CHECKED");
        });
}

fn write_stack(m: &mut Xml, s: &Stack) {
    let params = s.parameter_values();
    let outputs = s.outputs();
    m.leaf("StackId", &s.id)
        .leaf("StackName", &s.name)
        .opt("ChangeSetId", s.change_set_id.as_ref())
        .opt("Description", s.description.as_ref())
        .list("Parameters", &params, |p, (k, v)| {
            p.leaf("ParameterKey", k).leaf("ParameterValue", v);
        })
        .leaf("CreationTime", iso(s.created))
        .opt("DeletionTime", s.deleted.map(iso))
        .opt("LastUpdatedTime", s.updated.map(iso))
        .node("RollbackConfiguration", |_| {})
        .leaf("StackStatus", &s.status)
        .opt("StackStatusReason", s.reason.as_ref())
        .leaf("DisableRollback", "false")
        .strings("NotificationARNs", &[])
        .strings("Capabilities", &s.capabilities)
        .list("Outputs", &outputs, |o, (k, v, d, e)| {
            o.leaf("OutputKey", k)
                .leaf("OutputValue", v)
                .opt("Description", d.as_ref())
                .opt("ExportName", e.as_ref());
        })
        .list("Tags", &s.tags, |t, (k, v)| {
            t.leaf("Key", k).leaf("Value", v);
        })
        .leaf("EnableTerminationProtection", "false")
        .node("DriftInformation", |d| {
            d.leaf("StackDriftStatus", "NOT_CHECKED");
        });
}

/// `Parameters` of ValidateTemplate (`TemplateParameter`) or GetTemplateSummary
/// (`ParameterDeclaration`, with the type and allowed values).
fn write_parameters(x: &mut Xml, doc: &Map<String, Value>, declarations: bool) {
    let params: Vec<(String, Value)> = doc
        .get("Parameters")
        .and_then(Value::as_object)
        .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default();
    x.list("Parameters", &params, |m, (k, decl)| {
        m.leaf("ParameterKey", k)
            .opt("DefaultValue", decl.get("Default").map(text));
        if declarations {
            m.opt("ParameterType", decl.get("Type").and_then(Value::as_str));
        }
        m.leaf(
            "NoEcho",
            if decl.get("NoEcho").map(text).as_deref() == Some("true") {
                "true"
            } else {
                "false"
            },
        )
        .opt(
            "Description",
            decl.get("Description").and_then(Value::as_str),
        );
        if declarations {
            let allowed: Vec<String> = decl
                .get("AllowedValues")
                .and_then(Value::as_array)
                .map(|a| a.iter().map(text).collect())
                .unwrap_or_default();
            m.node("ParameterConstraints", |c| {
                if !allowed.is_empty() {
                    c.strings("AllowedValues", &allowed);
                }
            });
        }
    });
}

/// `Capabilities` and `CapabilitiesReason` for a template's IAM resources.
fn write_capabilities(x: &mut Xml, doc: &Map<String, Value>) {
    let needed = match cfn::check_capabilities(doc, &[]) {
        Ok(()) => None,
        Err(CfnError::InsufficientCapabilities { capability }) => Some(capability),
        Err(_) => None,
    };
    let Some(capability) = needed else {
        x.strings("Capabilities", &[]);
        return;
    };
    let iam: Vec<String> = doc
        .get("Resources")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .filter(|(_, r)| {
            r.get("Type")
                .and_then(Value::as_str)
                .is_some_and(|t| t.starts_with("AWS::IAM::"))
        })
        .map(|(k, _)| k.clone())
        .collect();
    x.strings("Capabilities", &[capability.to_string()]).leaf(
        "CapabilitiesReason",
        format!(
            "The following resource(s) require capabilities: [{}]",
            iam.join(", ")
        ),
    );
}

/// ValidateTemplate: the template's own errors (format, references, intrinsic functions), not
/// its parameter values or what it imports.
fn validate_template(edge: &Arc<Edge>, call: &Call<'_>, body: &str) -> Result<(), CfnError> {
    let (base, env, _) = edge.deploy_base(&call.scope);
    let spec = cfn::spec("ValidateTemplate", body, &Default::default());
    match crate::scenario::stacks::deploy(&base, &env, &[spec]) {
        Ok(_) => Ok(()),
        Err(e) => match e.0.first() {
            Some(first) => {
                let message = match &first.kind {
                    crate::scenario::error::ErrorKind::Syntax { reason, .. } => reason.clone(),
                    other => other.to_string(),
                };
                if message.starts_with("Template format error")
                    || message.starts_with("Template error")
                {
                    Err(CfnError::validation(message))
                } else {
                    Ok(())
                }
            }
            None => Ok(()),
        },
    }
}

/// Deploys stacks as CreateStack does, as the root of the world's account (`serve --stack`).
/// Every capability is granted: the command line names the templates itself.
pub fn deploy_at_start(edge: &Arc<Edge>, specs: &[StackSpec]) -> Result<(), String> {
    let call = edge.call_as_root();
    let state = call.state.clone();
    let mut stacks = state.stacks.lock().expect("lock");
    let mut model = None;
    for s in specs {
        let body = match &s.body {
            Some(b) => b.clone(),
            None => crate::scenario::read_source(&s.template)
                .map_err(|e| format!("{}: {e}", s.template.display()))?,
        };
        let req = Request {
            name: s.name.clone(),
            body: Some(body),
            parameters: s
                .parameters
                .iter()
                .map(|(k, v)| (k.clone(), Some(v.clone())))
                .collect(),
            capabilities: vec![
                "CAPABILITY_IAM".into(),
                "CAPABILITY_NAMED_IAM".into(),
                "CAPABILITY_AUTO_EXPAND".into(),
            ],
            tags: Vec::new(),
        };
        with_ctx_building(edge, &call, Some(&mut model), |ctx| {
            stacks.create(ctx, &req)
        })
        .map_err(|e| e.to_string())?;
        let st = stacks.get(&s.name).map_err(|e| e.to_string())?;
        if st.status != "CREATE_COMPLETE" {
            return Err(format!(
                "stack {}: {}",
                s.name,
                st.events
                    .iter()
                    .rev()
                    .find_map(|e| e.reason.clone())
                    .unwrap_or_else(|| st.status.clone())
            ));
        }
    }
    match model {
        // The root's call is the edge's own scope.
        Some(model) => build_world(edge, &call.scope, true, model),
        None => Ok(()),
    }
}
