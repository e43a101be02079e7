//! CloudFormation stacks deployed at run time (`serve`'s CloudFormation API): each (account,
//! Region) keeps its stacks, their events and change sets here; the template engine
//! ([`crate::scenario::stacks`]) validates and resolves them.
//!
//! Every operation redeploys the whole set of live stacks, in deployment order, through
//! [`crate::scenario::stacks::deploy`] — the checks and messages `vpcgate check --stack` gives —
//! and, when it succeeds, the caller swaps in a world built from the result
//! ([`crate::edge::Edge::swap_world`]). Operations complete synchronously: a stack is already `CREATE_COMPLETE` (or
//! `ROLLBACK_COMPLETE`) when CreateStack answers; boto3's waiters and `aws cloudformation
//! deploy` accept that on their first poll.
//!
//! Status and event sequences follow CloudFormation's
//! (<https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/view-stack-events.html>),
//! as recorded from AWS in LocalStack's `tests/aws/services/cloudformation/api/test_stacks.snapshot.json`
//! (`test_list_events_after_deployment`: `REVIEW_IN_PROGRESS` → `CREATE_IN_PROGRESS` "User
//! Initiated" → per resource `CREATE_IN_PROGRESS`, `CREATE_IN_PROGRESS` "Resource creation
//! Initiated", `CREATE_COMPLETE` → `CREATE_COMPLETE`; `test_blocked_stack_deletion`: a failed
//! resource's `CREATE_FAILED` then `ROLLBACK_IN_PROGRESS`).

pub mod error;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use serde_json::{Map, Value};

pub use error::CfnError;

use crate::scenario::error::{ErrorKind, ScenarioErrors};
use crate::scenario::stacks::{Loaded, StackSpec, StackSummary};
use crate::scenario::yaml::Template;

/// The largest `TemplateBody` CloudFormation takes (API_CreateStack: "Length Constraints:
/// Minimum length of 1. Maximum length of 51200").
pub const MAX_TEMPLATE_BODY: usize = 51_200;

/// One resource of a stack as DescribeStackResources shows it.
#[derive(Clone, Debug)]
pub struct Resource {
    /// Logical id.
    pub logical_id: String,
    /// Physical id (the `Ref` value).
    pub physical_id: String,
    /// Resource type.
    pub resource_type: String,
    /// `CREATE_COMPLETE`, `UPDATE_COMPLETE`, …
    pub status: String,
    /// Last change.
    pub updated: SystemTime,
}

/// One stack event.
#[derive(Clone, Debug)]
pub struct Event {
    /// `EventId`.
    pub id: String,
    /// The resource (the stack's own name for stack events).
    pub logical_id: String,
    /// Its physical id (the stack id for stack events; empty before the resource exists).
    pub physical_id: String,
    /// Resource type (`AWS::CloudFormation::Stack` for stack events).
    pub resource_type: String,
    /// Status.
    pub status: String,
    /// Why, when CloudFormation says.
    pub reason: Option<String>,
    /// When.
    pub time: SystemTime,
}

/// A stack.
#[derive(Clone, Debug)]
pub struct Stack {
    /// `arn:aws:cloudformation:<region>:<account>:stack/<name>/<uuid>`.
    pub id: String,
    /// Name.
    pub name: String,
    /// The template as given.
    pub body: String,
    /// Parameter values given (before defaults).
    pub parameters: BTreeMap<String, String>,
    /// Capabilities given.
    pub capabilities: Vec<String>,
    /// Tags given.
    pub tags: Vec<(String, String)>,
    /// The template's `Description`.
    pub description: Option<String>,
    /// `StackStatus`.
    pub status: String,
    /// `StackStatusReason`.
    pub reason: Option<String>,
    /// `CreationTime`.
    pub created: SystemTime,
    /// `LastUpdatedTime`.
    pub updated: Option<SystemTime>,
    /// `DeletionTime`.
    pub deleted: Option<SystemTime>,
    /// The last change set executed.
    pub change_set_id: Option<String>,
    /// What the template engine made of it at the last successful deploy.
    pub summary: Option<StackSummary>,
    /// Its resources now.
    pub resources: Vec<Resource>,
    /// Every event, oldest first.
    pub events: Vec<Event>,
}

impl Stack {
    /// The stack `req` asks for, before it is deployed: a new id, created now, in `status`.
    fn new(
        ctx: &Ctx<'_>,
        req: &Request,
        body: String,
        parameters: BTreeMap<String, String>,
        doc: &Map<String, Value>,
        status: &str,
    ) -> Stack {
        Stack {
            id: format!(
                "{}stack/{}/{}",
                ctx.arn_prefix,
                req.name,
                uuid::Uuid::new_v4()
            ),
            name: req.name.clone(),
            body,
            parameters,
            capabilities: req.capabilities.clone(),
            tags: req.tags.clone(),
            description: doc
                .get("Description")
                .and_then(Value::as_str)
                .map(str::to_string),
            status: status.into(),
            reason: None,
            created: ctx.now,
            updated: None,
            deleted: None,
            change_set_id: None,
            summary: None,
            resources: Vec::new(),
            events: Vec::new(),
        }
    }

    /// Whether the stack has resources in the world (it takes part in every redeploy).
    pub fn is_live(&self) -> bool {
        matches!(
            self.status.as_str(),
            "CREATE_COMPLETE" | "UPDATE_COMPLETE" | "UPDATE_ROLLBACK_COMPLETE" | "DELETE_FAILED"
        )
    }

    /// Whether the name is taken (DescribeStacks by name finds it).
    pub fn exists(&self) -> bool {
        self.status != "DELETE_COMPLETE"
    }

    fn spec(&self) -> StackSpec {
        spec(&self.name, &self.body, &self.parameters)
    }

    /// Outputs: (key, value, description, export name).
    pub fn outputs(&self) -> Vec<(String, String, Option<String>, Option<String>)> {
        let Some(s) = &self.summary else {
            return Vec::new();
        };
        let descriptions = output_descriptions(&self.body);
        s.outputs
            .iter()
            .map(|(k, v)| {
                (
                    k.clone(),
                    text(v),
                    descriptions.get(k).cloned(),
                    s.export_names.get(k).cloned(),
                )
            })
            .collect()
    }

    /// Parameters as DescribeStacks lists them: every declared one with its value.
    pub fn parameter_values(&self) -> Vec<(String, String)> {
        match &self.summary {
            Some(s) => s
                .parameters
                .iter()
                .map(|(k, v)| (k.clone(), text(v)))
                .collect(),
            None => self
                .parameters
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        }
    }
}

/// A value as CloudFormation's API shows it (lists comma-joined).
pub fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Array(items) => items.iter().map(text).collect::<Vec<_>>().join(","),
        other => other.to_string(),
    }
}

fn output_descriptions(body: &str) -> BTreeMap<String, String> {
    let Ok(template) = parse(body) else {
        return BTreeMap::new();
    };
    template
        .doc
        .get("Outputs")
        .and_then(Value::as_object)
        .map(|o| {
            o.iter()
                .filter_map(|(k, v)| Some((k.clone(), v.get("Description")?.as_str()?.to_string())))
                .collect()
        })
        .unwrap_or_default()
}

/// The template engine's input for a stack given by the API.
pub fn spec(name: &str, body: &str, parameters: &BTreeMap<String, String>) -> StackSpec {
    StackSpec {
        name: name.to_string(),
        template: PathBuf::from(name),
        parameters: parameters.clone(),
        body: Some(body.to_string()),
    }
}

/// `CREATE` or `UPDATE`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChangeSetType {
    /// A change set that creates its stack.
    Create,
    /// A change set that updates it.
    Update,
}

impl ChangeSetType {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Create => "CREATE",
            Self::Update => "UPDATE",
        }
    }
}

/// One change of a change set.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Change {
    /// `Add`, `Modify` or `Remove`.
    pub action: &'static str,
    /// Logical id.
    pub logical_id: String,
    /// Physical id (`Modify`, `Remove`).
    pub physical_id: Option<String>,
    /// Resource type.
    pub resource_type: String,
    /// `True` / `False` (`Modify`).
    pub replacement: Option<&'static str>,
    /// The changed property names (`Modify`).
    pub properties: Vec<String>,
}

/// A change set.
#[derive(Clone, Debug)]
pub struct ChangeSet {
    /// `arn:aws:cloudformation:<region>:<account>:changeSet/<name>/<uuid>`.
    pub id: String,
    /// Name.
    pub name: String,
    /// The change set's own description (CreateChangeSet's `Description`).
    pub description: Option<String>,
    /// Its stack's id.
    pub stack_id: String,
    /// Its stack's name.
    pub stack_name: String,
    /// CREATE or UPDATE.
    pub kind: ChangeSetType,
    /// The template.
    pub body: String,
    /// Parameter values (after `UsePreviousValue`).
    pub parameters: BTreeMap<String, String>,
    /// Capabilities.
    pub capabilities: Vec<String>,
    /// Tags.
    pub tags: Vec<(String, String)>,
    /// `CREATE_COMPLETE` or `FAILED`.
    pub status: String,
    /// `AVAILABLE`, `UNAVAILABLE`, `EXECUTE_COMPLETE`, …
    pub execution_status: String,
    /// Why it failed.
    pub reason: Option<String>,
    /// When.
    pub created: SystemTime,
    /// The changes.
    pub changes: Vec<Change>,
    /// The parameters as they resolve (DescribeChangeSet's `Parameters`).
    pub parameter_values: Vec<(String, String)>,
}

/// What a CreateStack, UpdateStack or change set asks for.
#[derive(Clone, Debug, Default)]
pub struct Request {
    /// Stack name.
    pub name: String,
    /// The template (`None` with `UsePreviousTemplate`).
    pub body: Option<String>,
    /// Parameters: key -> value, or `None` for `UsePreviousValue`.
    pub parameters: Vec<(String, Option<String>)>,
    /// Capabilities.
    pub capabilities: Vec<String>,
    /// Tags.
    pub tags: Vec<(String, String)>,
}

/// Why a deploy did not go through.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Failure {
    /// CloudFormation refuses the call itself (template format, parameters).
    Validation(String),
    /// A resource fails to create or update (the stack rolls back).
    Resource { logical_id: String, reason: String },
}

/// The stacks and change sets of one (account, Region).
#[derive(Clone, Debug, Default)]
pub struct Stacks {
    /// Every stack, in deployment order (deleted ones stay, as ListStacks shows them).
    pub stacks: Vec<Stack>,
    /// Change sets.
    pub change_sets: Vec<ChangeSet>,
}

/// Parses a template body (YAML or JSON) the way the template engine does.
pub fn parse(body: &str) -> Result<Arc<Template>, CfnError> {
    crate::scenario::yaml::parse_template_shared(body, "template")
        .map_err(|e| CfnError::validation(first_message(&e)))
}

/// CloudFormation's one-line message for the first of a load's errors.
fn first_message(e: &ScenarioErrors) -> String {
    e.0.first()
        .map(|e| match &e.kind {
            ErrorKind::Syntax { reason, .. } => reason.clone(),
            other => other.to_string(),
        })
        .unwrap_or_else(|| "Template format error: the template is empty".into())
}

/// The capability a template needs, checked as CloudFormation does
/// (<https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/control-access-with-iam.html#using-iam-capabilities>):
/// IAM resources need `CAPABILITY_IAM`, named ones `CAPABILITY_NAMED_IAM`.
pub fn check_capabilities(doc: &Map<String, Value>, given: &[String]) -> Result<(), CfnError> {
    const IAM: [(&str, Option<&str>); 8] = [
        ("AWS::IAM::AccessKey", None),
        ("AWS::IAM::Group", Some("GroupName")),
        ("AWS::IAM::InstanceProfile", Some("InstanceProfileName")),
        ("AWS::IAM::ManagedPolicy", Some("ManagedPolicyName")),
        ("AWS::IAM::Policy", None),
        ("AWS::IAM::Role", Some("RoleName")),
        ("AWS::IAM::User", Some("UserName")),
        ("AWS::IAM::UserToGroupAddition", None),
    ];
    let mut iam = false;
    let mut named = false;
    for r in doc
        .get("Resources")
        .and_then(Value::as_object)
        .into_iter()
        .flat_map(|m| m.values())
    {
        let ty = r.get("Type").and_then(Value::as_str).unwrap_or_default();
        if let Some((_, name)) = IAM.iter().find(|(t, _)| *t == ty) {
            iam = true;
            if name.is_some_and(|n| r.get("Properties").and_then(|p| p.get(n)).is_some()) {
                named = true;
            }
        }
    }
    let has = |c: &str| given.iter().any(|g| g == c);
    if named && !has("CAPABILITY_NAMED_IAM") {
        return Err(CfnError::InsufficientCapabilities {
            capability: "CAPABILITY_NAMED_IAM",
        });
    }
    if iam && !has("CAPABILITY_IAM") && !has("CAPABILITY_NAMED_IAM") {
        return Err(CfnError::InsufficientCapabilities {
            capability: "CAPABILITY_IAM",
        });
    }
    Ok(())
}

/// Sorts a failed load: CloudFormation refuses the call for template and parameter errors; a
/// resource's own error fails the resource and rolls the stack back. An error in a stack after
/// `target` (it reads `target`'s outputs) fails `target`'s update.
fn classify(e: &ScenarioErrors, target: &str) -> Failure {
    let in_target = |file: &str| file == target || file.starts_with(&format!("{target}:"));
    let Some(first) = e.0.first() else {
        return Failure::Validation("Template format error: the template is empty".into());
    };
    let message = match &first.kind {
        ErrorKind::Syntax { reason, .. } => reason.clone(),
        other => other.to_string(),
    };
    if !in_target(&first.file) {
        let other = first.file.split(':').next().unwrap_or_default().to_string();
        return Failure::Resource {
            logical_id: target.to_string(),
            reason: format!("stack {other} depends on this stack and fails with it: {message}"),
        };
    }
    let resource_level = matches!(
        first.kind,
        ErrorKind::Missing { .. } | ErrorKind::WrongType { .. } | ErrorKind::Invalid { .. }
    ) && !message.starts_with("Template")
        && !message.starts_with("Parameter");
    match (&first.logical_id, resource_level) {
        (Some(id), true) => Failure::Resource {
            logical_id: id.clone(),
            reason: if first.path.is_empty() {
                message
            } else {
                format!("{}: {message}", first.path)
            },
        },
        _ => Failure::Validation(message),
    }
}

/// Everything a stack operation needs besides the stacks.
pub struct Ctx<'a> {
    /// `arn:aws:cloudformation:<region>:<account>:`.
    pub arn_prefix: String,
    /// Now.
    pub now: SystemTime,
    /// Loads a whole set of live stacks, in order, with the template engine.
    pub load: &'a dyn Fn(&[StackSpec]) -> Result<Loaded, ScenarioErrors>,
    /// Makes a successful load the running world.
    pub commit: &'a mut dyn FnMut(&Loaded) -> Result<(), String>,
}

impl std::fmt::Debug for Ctx<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ctx")
            .field("arn_prefix", &self.arn_prefix)
            .finish_non_exhaustive()
    }
}

/// Records events at strictly increasing times (a millisecond apart, so ordering by `Timestamp`
/// is ordering by sequence).
struct Recorder {
    start: SystemTime,
    n: u64,
}

impl Recorder {
    fn new(start: SystemTime, stack: &Stack) -> Self {
        Self {
            start,
            n: stack.events.len() as u64,
        }
    }

    fn tick(&mut self) -> SystemTime {
        self.n += 1;
        self.start + Duration::from_millis(self.n)
    }

    fn stack(&mut self, stack: &mut Stack, status: &str, reason: Option<&str>) {
        let time = self.tick();
        stack.status = status.to_string();
        stack.reason = reason.map(str::to_string);
        stack.events.push(Event {
            id: uuid::Uuid::new_v4().to_string(),
            logical_id: stack.name.clone(),
            physical_id: stack.id.clone(),
            resource_type: "AWS::CloudFormation::Stack".into(),
            status: status.into(),
            reason: reason.map(str::to_string),
            time,
        });
    }

    fn resource(
        &mut self,
        stack: &mut Stack,
        (logical, physical, ty): (&str, &str, &str),
        status: &str,
        reason: Option<&str>,
    ) {
        let time = self.tick();
        stack.events.push(Event {
            id: format!("{logical}-{status}-{}", iso(time)),
            logical_id: logical.into(),
            physical_id: physical.into(),
            resource_type: ty.into(),
            status: status.into(),
            reason: reason.map(str::to_string),
            time,
        });
    }
}

/// ISO 8601 with milliseconds, as the query protocol sends timestamps.
pub fn iso(t: SystemTime) -> String {
    chrono::DateTime::<chrono::Utc>::from(t)
        .format("%Y-%m-%dT%H:%M:%S%.3fZ")
        .to_string()
}

fn physical(r: &crate::scenario::template::ResolvedResource) -> String {
    text(&r.physical.reference)
}

/// The changes from `before` to `after` (logical id -> resource), in CloudFormation's terms.
fn diff(before: Option<&StackSummary>, after: &StackSummary) -> Vec<Change> {
    let old: BTreeMap<&str, &crate::scenario::template::ResolvedResource> = before
        .map(|b| {
            b.resolved
                .iter()
                .map(|r| (r.logical_id.as_str(), r))
                .collect()
        })
        .unwrap_or_default();
    let mut changes = Vec::new();
    for r in &after.resolved {
        match old.get(r.logical_id.as_str()) {
            None => changes.push(Change {
                action: "Add",
                logical_id: r.logical_id.clone(),
                physical_id: None,
                resource_type: r.ty.clone(),
                replacement: None,
                properties: Vec::new(),
            }),
            Some(o) if o.ty != r.ty || o.properties != r.properties => {
                let mut names: BTreeSet<String> = BTreeSet::new();
                for k in o.properties.keys().chain(r.properties.keys()) {
                    if o.properties.get(k) != r.properties.get(k) {
                        names.insert(k.clone());
                    }
                }
                let replace = o.ty != r.ty || physical(o) != physical(r);
                changes.push(Change {
                    action: "Modify",
                    logical_id: r.logical_id.clone(),
                    physical_id: Some(physical(o)),
                    resource_type: r.ty.clone(),
                    replacement: Some(if replace { "True" } else { "False" }),
                    properties: names.into_iter().collect(),
                })
            }
            Some(_) => {}
        }
    }
    let new: BTreeSet<&str> = after
        .resolved
        .iter()
        .map(|r| r.logical_id.as_str())
        .collect();
    for r in before.map(|b| b.resolved.as_slice()).unwrap_or_default() {
        if !new.contains(r.logical_id.as_str()) {
            changes.push(Change {
                action: "Remove",
                logical_id: r.logical_id.clone(),
                physical_id: Some(physical(r)),
                resource_type: r.ty.clone(),
                replacement: None,
                properties: Vec::new(),
            });
        }
    }
    changes
}

/// Stack names: CreateStack's constraint
/// (<https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_CreateStack.html>).
pub fn check_name(name: &str) -> Result<(), CfnError> {
    if crate::scenario::stacks::is_stack_name(name) {
        Ok(())
    } else {
        Err(CfnError::validation(format!(
            "1 validation error detected: Value '{name}' at 'stackName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z][-a-zA-Z0-9]*"
        )))
    }
}

impl Stacks {
    /// The stack a name or id names: by id any stack (deleted ones too), by name the one that
    /// exists.
    pub fn find(&self, name_or_id: &str) -> Option<usize> {
        if name_or_id.starts_with("arn:") {
            self.stacks.iter().position(|s| s.id == name_or_id)
        } else {
            self.stacks
                .iter()
                .position(|s| s.name == name_or_id && s.exists())
        }
    }

    /// Like [`Stacks::find`], or CloudFormation's "does not exist".
    pub fn get(&self, name_or_id: &str) -> Result<&Stack, CfnError> {
        self.find(name_or_id)
            .map(|i| &self.stacks[i])
            .ok_or_else(|| CfnError::no_stack(name_or_id))
    }

    /// The specs of the live stacks, with stack `replace` swapped for `with` (or left out).
    fn specs(&self, replace: Option<usize>, with: Option<StackSpec>) -> Vec<StackSpec> {
        let mut out = Vec::new();
        for (i, s) in self.stacks.iter().enumerate() {
            if Some(i) == replace {
                out.extend(with.clone());
            } else if s.is_live() {
                out.push(s.spec());
            }
        }
        if replace.is_none_or(|i| i >= self.stacks.len()) {
            out.extend(with);
        }
        out
    }

    /// Records what a successful deploy gave every live stack (outputs a later stack reads may
    /// have changed).
    fn refresh(&mut self, loaded: &Loaded) {
        for summary in &loaded.stacks {
            if let Some(s) = self
                .stacks
                .iter_mut()
                .find(|s| s.name == summary.name && s.exists())
            {
                s.summary = Some(summary.clone());
            }
        }
    }

    /// Checks a request's template: present, small enough, well-formed, capabilities.
    fn template(
        &self,
        req: &Request,
        previous: Option<&Stack>,
    ) -> Result<(String, Arc<Template>), CfnError> {
        let body = match (&req.body, previous) {
            (Some(b), _) => b.clone(),
            (None, Some(p)) => p.body.clone(),
            (None, None) => {
                return Err(CfnError::validation(
                    "Either Template URL or Template Body must be specified.",
                ));
            }
        };
        if body.len() > MAX_TEMPLATE_BODY {
            return Err(CfnError::validation(format!(
                "1 validation error detected: Value '{}…' at 'templateBody' failed to satisfy constraint: Member must have length less than or equal to {MAX_TEMPLATE_BODY}",
                body.chars().take(40).collect::<String>()
            )));
        }
        let template = parse(&body)?;
        check_capabilities(&template.doc, &req.capabilities)?;
        Ok((body, template))
    }

    /// Parameters after `UsePreviousValue`.
    fn parameters(
        req: &Request,
        previous: Option<&Stack>,
    ) -> Result<BTreeMap<String, String>, CfnError> {
        let mut out = BTreeMap::new();
        for (k, v) in &req.parameters {
            match (v, previous) {
                (Some(v), _) => {
                    out.insert(k.clone(), v.clone());
                }
                (None, Some(p)) => {
                    let prev = p
                        .parameter_values()
                        .into_iter()
                        .find(|(pk, _)| pk == k)
                        .map(|(_, v)| v);
                    match prev {
                        Some(v) => {
                            out.insert(k.clone(), v);
                        }
                        None => {
                            return Err(CfnError::validation(format!(
                                "Invalid input for parameter key {k}. Cannot specify usePreviousValue as true for a parameter key not in the previous template"
                            )));
                        }
                    }
                }
                (None, None) => {
                    return Err(CfnError::validation(format!(
                        "Invalid input for parameter key {k}. Cannot specify usePreviousValue as true for non-existing stack"
                    )));
                }
            }
        }
        Ok(out)
    }

    /// CreateStack: validates, deploys, and records the stack as `CREATE_COMPLETE` or, when a
    /// resource fails, `ROLLBACK_COMPLETE`. Returns the stack id.
    pub fn create(&mut self, ctx: &mut Ctx<'_>, req: &Request) -> Result<String, CfnError> {
        check_name(&req.name)?;
        if self.find(&req.name).is_some() {
            return Err(CfnError::AlreadyExists {
                name: req.name.clone(),
            });
        }
        let (body, template) = self.template(req, None)?;
        let doc = &template.doc;
        let parameters = Self::parameters(req, None)?;
        let stack = Stack::new(ctx, req, body, parameters, doc, "CREATE_IN_PROGRESS");
        let id = stack.id.clone();
        self.run_create(ctx, stack, None)?;
        Ok(id)
    }

    /// Deploys a new stack (CreateStack, or a CREATE change set's stack at `index`).
    fn run_create(
        &mut self,
        ctx: &mut Ctx<'_>,
        mut stack: Stack,
        index: Option<usize>,
    ) -> Result<(), CfnError> {
        let specs = self.specs(index, Some(stack.spec()));
        let failure = match (ctx.load)(&specs) {
            Ok(loaded) => {
                (ctx.commit)(&loaded).map_err(CfnError::validation)?;
                let mut rec = Recorder::new(ctx.now, &stack);
                rec.stack(&mut stack, "CREATE_IN_PROGRESS", Some("User Initiated"));
                let summary = loaded
                    .stacks
                    .iter()
                    .find(|s| s.name == stack.name)
                    .cloned()
                    .unwrap_or_default();
                for r in &summary.resolved {
                    let p = physical(r);
                    rec.resource(
                        &mut stack,
                        (&r.logical_id, "", &r.ty),
                        "CREATE_IN_PROGRESS",
                        None,
                    );
                    rec.resource(
                        &mut stack,
                        (&r.logical_id, &p, &r.ty),
                        "CREATE_IN_PROGRESS",
                        Some("Resource creation Initiated"),
                    );
                    rec.resource(
                        &mut stack,
                        (&r.logical_id, &p, &r.ty),
                        "CREATE_COMPLETE",
                        None,
                    );
                    stack.resources.push(Resource {
                        logical_id: r.logical_id.clone(),
                        physical_id: p,
                        resource_type: r.ty.clone(),
                        status: "CREATE_COMPLETE".into(),
                        updated: ctx.now,
                    });
                }
                rec.stack(&mut stack, "CREATE_COMPLETE", None);
                self.place(stack, index);
                self.refresh(&loaded);
                return Ok(());
            }
            Err(e) => classify(&e, &stack.name),
        };
        let (logical, reason) = match failure {
            Failure::Validation(message) if index.is_none() => {
                return Err(CfnError::validation(message));
            }
            Failure::Validation(reason) => (stack.name.clone(), reason),
            Failure::Resource { logical_id, reason } => (logical_id, reason),
        };
        let ty = resource_type(&stack.body, &logical);
        let mut rec = Recorder::new(ctx.now, &stack);
        rec.stack(&mut stack, "CREATE_IN_PROGRESS", Some("User Initiated"));
        if logical == stack.name {
            rec.stack(&mut stack, "CREATE_FAILED", Some(&reason));
        } else {
            rec.resource(&mut stack, (&logical, "", &ty), "CREATE_IN_PROGRESS", None);
            rec.resource(
                &mut stack,
                (&logical, "", &ty),
                "CREATE_FAILED",
                Some(&reason),
            );
        }
        let why = format!(
            "The following resource(s) failed to create: [{logical}]. Rollback requested by user."
        );
        rec.stack(&mut stack, "ROLLBACK_IN_PROGRESS", Some(&why));
        if logical != stack.name {
            rec.resource(&mut stack, (&logical, "", &ty), "DELETE_COMPLETE", None);
        }
        rec.stack(&mut stack, "ROLLBACK_COMPLETE", None);
        self.place(stack, index);
        Ok(())
    }

    /// UpdateStack. Returns the stack id.
    pub fn update(&mut self, ctx: &mut Ctx<'_>, req: &Request) -> Result<String, CfnError> {
        let i = self
            .find(&req.name)
            .ok_or_else(|| CfnError::validation(format!("Stack [{}] does not exist", req.name)))?;
        updatable(&self.stacks[i])?;
        let (body, template) = self.template(req, Some(&self.stacks[i]))?;
        let doc = &template.doc;
        let parameters = Self::parameters(req, Some(&self.stacks[i]))?;
        let mut next = self.stacks[i].clone();
        next.body = body;
        next.parameters = parameters;
        next.capabilities = req.capabilities.clone();
        if !req.tags.is_empty() {
            next.tags = req.tags.clone();
        }
        next.description = doc
            .get("Description")
            .and_then(Value::as_str)
            .map(str::to_string);
        self.run_update(ctx, i, next, false)?;
        Ok(self.stacks[i].id.clone())
    }

    /// Deploys `next` in place of stack `i`: `UPDATE_COMPLETE`, or `UPDATE_ROLLBACK_COMPLETE`
    /// when a resource fails. Without changes: CloudFormation's "No updates are to be
    /// performed." (unless a change set already said what changes).
    fn run_update(
        &mut self,
        ctx: &mut Ctx<'_>,
        i: usize,
        next: Stack,
        from_change_set: bool,
    ) -> Result<bool, CfnError> {
        let specs = self.specs(Some(i), Some(next.spec()));
        let before = self.stacks[i].summary.clone();
        let mut rec = Recorder::new(ctx.now, &self.stacks[i]);
        let failure = match (ctx.load)(&specs) {
            Ok(loaded) => {
                let after = loaded
                    .stacks
                    .iter()
                    .find(|s| s.name == next.name)
                    .cloned()
                    .unwrap_or_default();
                let changes = diff(before.as_ref(), &after);
                let same_outputs = before.as_ref().is_some_and(|b| b.outputs == after.outputs);
                if changes.is_empty() && same_outputs && !from_change_set {
                    return Err(CfnError::validation("No updates are to be performed."));
                }
                (ctx.commit)(&loaded).map_err(CfnError::validation)?;
                let mut stack = next;
                rec.stack(&mut stack, "UPDATE_IN_PROGRESS", Some("User Initiated"));
                let by_id: BTreeMap<&str, &crate::scenario::template::ResolvedResource> = after
                    .resolved
                    .iter()
                    .map(|r| (r.logical_id.as_str(), r))
                    .collect();
                for c in changes.iter().filter(|c| c.action != "Remove") {
                    let p = by_id
                        .get(c.logical_id.as_str())
                        .map(|r| physical(r))
                        .unwrap_or_default();
                    let key = (c.logical_id.as_str(), p.as_str(), c.resource_type.as_str());
                    if c.action == "Add" {
                        rec.resource(
                            &mut stack,
                            (&c.logical_id, "", &c.resource_type),
                            "CREATE_IN_PROGRESS",
                            None,
                        );
                        rec.resource(
                            &mut stack,
                            key,
                            "CREATE_IN_PROGRESS",
                            Some("Resource creation Initiated"),
                        );
                        rec.resource(&mut stack, key, "CREATE_COMPLETE", None);
                    } else {
                        rec.resource(&mut stack, key, "UPDATE_IN_PROGRESS", None);
                        rec.resource(&mut stack, key, "UPDATE_COMPLETE", None);
                    }
                }
                rec.stack(&mut stack, "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS", None);
                for c in changes.iter().filter(|c| c.action == "Remove").rev() {
                    let p = c.physical_id.clone().unwrap_or_default();
                    let key = (c.logical_id.as_str(), p.as_str(), c.resource_type.as_str());
                    rec.resource(&mut stack, key, "DELETE_IN_PROGRESS", None);
                    rec.resource(&mut stack, key, "DELETE_COMPLETE", None);
                }
                rec.stack(&mut stack, "UPDATE_COMPLETE", None);
                let old: BTreeMap<String, Resource> = stack
                    .resources
                    .drain(..)
                    .map(|r| (r.logical_id.clone(), r))
                    .collect();
                stack.resources = after
                    .resolved
                    .iter()
                    .map(|r| {
                        let changed = changes.iter().find(|c| c.logical_id == r.logical_id);
                        match (changed, old.get(&r.logical_id)) {
                            (None, Some(o)) => o.clone(),
                            (c, _) => Resource {
                                logical_id: r.logical_id.clone(),
                                physical_id: physical(r),
                                resource_type: r.ty.clone(),
                                status: if c.is_some_and(|c| c.action == "Modify") {
                                    "UPDATE_COMPLETE".into()
                                } else {
                                    "CREATE_COMPLETE".into()
                                },
                                updated: ctx.now,
                            },
                        }
                    })
                    .collect();
                stack.updated = Some(ctx.now);
                self.stacks[i] = stack;
                self.refresh(&loaded);
                return Ok(true);
            }
            Err(e) => classify(&e, &next.name),
        };
        let (logical, reason) = match failure {
            Failure::Validation(message) if !from_change_set => {
                return Err(CfnError::validation(message));
            }
            Failure::Validation(reason) => (next.name.clone(), reason),
            Failure::Resource { logical_id, reason } => (logical_id, reason),
        };
        // Rolled back: the stack keeps its template, parameters and resources.
        let stack = &mut self.stacks[i];
        stack.updated = Some(ctx.now);
        rec.stack(stack, "UPDATE_IN_PROGRESS", Some("User Initiated"));
        let (verb, failed) = if logical == stack.name {
            ("update", "UPDATE_FAILED")
        } else if before
            .as_ref()
            .is_some_and(|b| b.resolved.iter().any(|r| r.logical_id == logical))
        {
            let ty = resource_type(&next.body, &logical);
            let p = stack
                .resources
                .iter()
                .find(|r| r.logical_id == logical)
                .map(|r| r.physical_id.clone())
                .unwrap_or_default();
            rec.resource(stack, (&logical, &p, &ty), "UPDATE_IN_PROGRESS", None);
            rec.resource(stack, (&logical, &p, &ty), "UPDATE_FAILED", Some(&reason));
            ("update", "")
        } else {
            let ty = resource_type(&next.body, &logical);
            rec.resource(stack, (&logical, "", &ty), "CREATE_IN_PROGRESS", None);
            rec.resource(stack, (&logical, "", &ty), "CREATE_FAILED", Some(&reason));
            ("create", "")
        };
        if !failed.is_empty() {
            rec.stack(stack, failed, Some(&reason));
        }
        let why = format!("The following resource(s) failed to {verb}: [{logical}]. ");
        rec.stack(stack, "UPDATE_ROLLBACK_IN_PROGRESS", Some(&why));
        rec.stack(stack, "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS", None);
        rec.stack(stack, "UPDATE_ROLLBACK_COMPLETE", None);
        Ok(false)
    }

    /// DeleteStack: refused (`DELETE_FAILED`) while another stack imports one of its exports or
    /// reads its outputs; otherwise its resources go and it stays, `DELETE_COMPLETE`, for
    /// ListStacks and DescribeStacks by id. Deleting a stack that does not exist succeeds, as on
    /// AWS.
    pub fn delete(&mut self, ctx: &mut Ctx<'_>, name: &str) -> Result<(), CfnError> {
        let Some(i) = self.find(name) else {
            return Ok(());
        };
        if self.stacks[i].status == "DELETE_COMPLETE" {
            return Ok(());
        }
        let me = self.stacks[i].name.clone();
        let mut blocker = None;
        if let Some(summary) = &self.stacks[i].summary {
            for other in self.stacks.iter().filter(|s| s.is_live() && s.name != me) {
                let Some(o) = &other.summary else { continue };
                if let Some(e) = summary.exports.keys().find(|e| o.imports.contains(*e)) {
                    // <https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/using-cfn-stack-exports.html>:
                    // "You can't delete a stack if another stack references one of its outputs."
                    blocker = Some(format!(
                        "Export {e} cannot be deleted as it is in use by {}",
                        other.name
                    ));
                    break;
                }
                if o.reads_outputs_of.contains(&me) {
                    blocker = Some(format!(
                        "Stack {me} cannot be deleted while stack {} reads its outputs with Fn::GetStackOutput",
                        other.name
                    ));
                    break;
                }
            }
        }
        let live = self.stacks[i].is_live();
        let loaded = match blocker {
            Some(b) => Err(b),
            None if !live => Ok(None),
            None => (ctx.load)(&self.specs(Some(i), None))
                .map(Some)
                .map_err(|e| first_message(&e)),
        };
        let mut rec = Recorder::new(ctx.now, &self.stacks[i]);
        let stack = &mut self.stacks[i];
        rec.stack(stack, "DELETE_IN_PROGRESS", Some("User Initiated"));
        let loaded = match loaded {
            Err(reason) => {
                rec.stack(stack, "DELETE_FAILED", Some(&reason));
                return Ok(());
            }
            Ok(l) => l,
        };
        if let Some(l) = &loaded
            && let Err(reason) = (ctx.commit)(l)
        {
            rec.stack(stack, "DELETE_FAILED", Some(&reason));
            return Ok(());
        }
        let resources: Vec<Resource> = stack.resources.iter().rev().cloned().collect();
        for r in &resources {
            let key = (
                r.logical_id.as_str(),
                r.physical_id.as_str(),
                r.resource_type.as_str(),
            );
            rec.resource(stack, key, "DELETE_IN_PROGRESS", None);
            rec.resource(stack, key, "DELETE_COMPLETE", None);
        }
        for r in &mut stack.resources {
            r.status = "DELETE_COMPLETE".into();
            r.updated = ctx.now;
        }
        rec.stack(stack, "DELETE_COMPLETE", None);
        stack.deleted = Some(ctx.now);
        stack.reason = None;
        if let Some(l) = &loaded {
            self.refresh(l);
        }
        Ok(())
    }

    /// The change set a name (with its stack) or an ARN names.
    pub fn change_set(&self, name: &str, stack: Option<&str>) -> Result<usize, CfnError> {
        let found = if name.starts_with("arn:") {
            self.change_sets.iter().position(|c| c.id == name)
        } else {
            let Some(stack) = stack else {
                return Err(CfnError::validation(
                    "StackName must be specified if ChangeSetName is not specified as an ARN.",
                ));
            };
            let st = self
                .find(stack)
                .map(|i| self.stacks[i].id.clone())
                .ok_or_else(|| CfnError::validation(format!("Stack [{stack}] does not exist")))?;
            self.change_sets
                .iter()
                .position(|c| c.name == name && c.stack_id == st)
        };
        found.ok_or_else(|| CfnError::ChangeSetNotFound {
            name: name.to_string(),
        })
    }

    /// CreateChangeSet: validates now, works out the changes with a dry run; a CREATE change set
    /// makes its stack `REVIEW_IN_PROGRESS`. Returns (change set id, stack id).
    pub fn create_change_set(
        &mut self,
        ctx: &mut Ctx<'_>,
        req: &Request,
        name: &str,
        kind: ChangeSetType,
        description: Option<String>,
    ) -> Result<(String, String), CfnError> {
        check_name(&req.name)?;
        let name_ok = name.len() <= 128
            && name.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
        if !name_ok {
            return Err(CfnError::validation(format!(
                "1 validation error detected: Value '{name}' at 'changeSetName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z][-a-zA-Z0-9]*"
            )));
        }
        let existing = self.find(&req.name);
        let previous = match (kind, existing) {
            (ChangeSetType::Create, Some(i)) if self.stacks[i].status != "REVIEW_IN_PROGRESS" => {
                // LocalStack's AWS-recorded test_changesets.snapshot.json.
                return Err(CfnError::validation(format!(
                    "Stack [{}] already exists and cannot be created again with the changeSet [{name}].",
                    self.stacks[i].id
                )));
            }
            (ChangeSetType::Create, _) => None,
            (ChangeSetType::Update, None) => {
                return Err(CfnError::validation(format!(
                    "Stack [{}] does not exist",
                    req.name
                )));
            }
            (ChangeSetType::Update, Some(i)) => {
                updatable(&self.stacks[i])?;
                Some(&self.stacks[i])
            }
        };
        if let Some(i) = existing {
            // Only a change set not yet executed holds its name. Executing one removes the
            // stack's change sets ("After you execute a change set, CloudFormation removes all
            // change sets associated with the stack", using-cfn-updating-stacks-changesets-execute),
            // so a name can be used again: `cdk deploy` names every change set
            // `cdk-deploy-change-set`, and `aws cloudformation deploy` names its by the second.
            let stack_id = self.stacks[i].id.clone();
            // vpcgate's choice: a FAILED change set (the empty one `aws cloudformation deploy`
            // leaves when nothing changed) does not hold its name either. Its deploys are instant,
            // so the CLI's per-second names collide where AWS's seconds-long ones never do.
            let pending = |c: &ChangeSet| {
                c.execution_status == "AVAILABLE"
                    || (c.execution_status == "UNAVAILABLE" && c.status != "FAILED")
            };
            if self
                .change_sets
                .iter()
                .any(|c| c.name == name && c.stack_id == stack_id && pending(c))
            {
                return Err(CfnError::validation(format!(
                    "ChangeSet [{name}] already exists"
                )));
            }
            self.change_sets
                .retain(|c| !(c.name == name && c.stack_id == stack_id));
        }
        let (body, template) = self.template(req, previous)?;
        let doc = &template.doc;
        let parameters = Self::parameters(req, previous)?;
        let index = existing.unwrap_or(self.stacks.len());
        let specs = self.specs(Some(index), Some(spec(&req.name, &body, &parameters)));
        let before = previous.and_then(|p| p.summary.clone());
        let (status, reason, changes, parameter_values) = match (ctx.load)(&specs) {
            Ok(loaded) => {
                let after = loaded
                    .stacks
                    .iter()
                    .find(|s| s.name == req.name)
                    .cloned()
                    .unwrap_or_default();
                let changes = diff(before.as_ref(), &after);
                let same_outputs = before.as_ref().is_some_and(|b| b.outputs == after.outputs);
                let values = after
                    .parameters
                    .iter()
                    .map(|(k, v)| (k.clone(), text(v)))
                    .collect();
                if kind == ChangeSetType::Update && changes.is_empty() && same_outputs {
                    // The text `aws cloudformation deploy` looks for
                    // (awscli/customizations/cloudformation/deployer.py) and AWS answers
                    // (LocalStack's test_changesets.snapshot.json).
                    (
                        "FAILED",
                        Some("The submitted information didn't contain changes. Submit different information to create a change set.".to_string()),
                        Vec::new(),
                        values,
                    )
                } else {
                    ("CREATE_COMPLETE", None, changes, values)
                }
            }
            Err(e) => match classify(&e, &req.name) {
                Failure::Validation(m) => return Err(CfnError::validation(m)),
                // The resource fails when the change set runs; until then CloudFormation lists
                // what the template declares.
                Failure::Resource { .. } => {
                    let changes = doc
                        .get("Resources")
                        .and_then(Value::as_object)
                        .into_iter()
                        .flatten()
                        .map(|(k, v)| Change {
                            action: "Add",
                            logical_id: k.clone(),
                            physical_id: None,
                            resource_type: v
                                .get("Type")
                                .and_then(Value::as_str)
                                .unwrap_or_default()
                                .to_string(),
                            replacement: None,
                            properties: Vec::new(),
                        })
                        .collect();
                    ("CREATE_COMPLETE", None, changes, Vec::new())
                }
            },
        };
        let stack_id = match existing {
            Some(i) => self.stacks[i].id.clone(),
            None => {
                let mut stack = Stack::new(ctx, req, body.clone(), parameters.clone(), doc, "");
                let id = stack.id.clone();
                let mut rec = Recorder::new(ctx.now, &stack);
                rec.stack(&mut stack, "REVIEW_IN_PROGRESS", Some("User Initiated"));
                self.stacks.push(stack);
                id
            }
        };
        let id = format!(
            "{}changeSet/{name}/{}",
            ctx.arn_prefix,
            uuid::Uuid::new_v4()
        );
        self.change_sets.push(ChangeSet {
            id: id.clone(),
            name: name.to_string(),
            stack_id: stack_id.clone(),
            stack_name: req.name.clone(),
            kind,
            body,
            parameters,
            capabilities: req.capabilities.clone(),
            tags: req.tags.clone(),
            description,
            status: status.into(),
            execution_status: if status == "FAILED" {
                "UNAVAILABLE"
            } else {
                "AVAILABLE"
            }
            .into(),
            reason,
            created: ctx.now,
            changes,
            parameter_values,
        });
        Ok((id, stack_id))
    }

    /// ExecuteChangeSet.
    pub fn execute_change_set(
        &mut self,
        ctx: &mut Ctx<'_>,
        name: &str,
        stack: Option<&str>,
    ) -> Result<(), CfnError> {
        let c = self.change_set(name, stack)?;
        let cs = self.change_sets[c].clone();
        if cs.execution_status != "AVAILABLE" {
            return Err(CfnError::InvalidChangeSetStatus {
                id: cs.id,
                status: cs.execution_status,
            });
        }
        let i = self
            .stacks
            .iter()
            .position(|s| s.id == cs.stack_id)
            .ok_or_else(|| CfnError::no_stack(&cs.stack_name))?;
        let mut next = self.stacks[i].clone();
        next.body = cs.body.clone();
        next.parameters = cs.parameters.clone();
        next.capabilities = cs.capabilities.clone();
        if !cs.tags.is_empty() {
            next.tags = cs.tags.clone();
        }
        next.description = parse(&cs.body).ok().and_then(|t| {
            t.doc
                .get("Description")
                .and_then(Value::as_str)
                .map(str::to_string)
        });
        next.change_set_id = Some(cs.id.clone());
        let ok = match cs.kind {
            ChangeSetType::Create => {
                self.run_create(ctx, next, Some(i))?;
                self.stacks[i].status == "CREATE_COMPLETE"
            }
            ChangeSetType::Update => self.run_update(ctx, i, next, true)?,
        };
        self.stacks[i].change_set_id = Some(cs.id.clone());
        for other in self
            .change_sets
            .iter_mut()
            .filter(|o| o.stack_id == cs.stack_id)
        {
            other.execution_status = if other.id == cs.id {
                if ok {
                    "EXECUTE_COMPLETE"
                } else {
                    "EXECUTE_FAILED"
                }
            } else {
                "OBSOLETE"
            }
            .into();
        }
        Ok(())
    }

    fn place(&mut self, stack: Stack, index: Option<usize>) {
        match index {
            Some(i) => self.stacks[i] = stack,
            None => self.stacks.push(stack),
        }
    }
}

/// UpdateStack and UPDATE change sets need a stack that finished its last operation.
fn updatable(s: &Stack) -> Result<(), CfnError> {
    if matches!(
        s.status.as_str(),
        "CREATE_COMPLETE" | "UPDATE_COMPLETE" | "UPDATE_ROLLBACK_COMPLETE"
    ) {
        Ok(())
    } else {
        Err(CfnError::validation(format!(
            "Stack:{} is in {} state and can not be updated.",
            s.id, s.status
        )))
    }
}

/// A resource's type as the template declares it.
fn resource_type(body: &str, logical: &str) -> String {
    parse(body)
        .ok()
        .and_then(|t| {
            t.doc
                .get("Resources")?
                .get(logical)?
                .get("Type")?
                .as_str()
                .map(str::to_string)
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(yaml: &str) -> Map<String, Value> {
        parse(yaml).unwrap().doc.clone()
    }

    #[test]
    fn iam_resources_need_their_capability() {
        let role = doc("Resources:\n  R:\n    Type: AWS::IAM::Role\n    Properties: {}\n");
        let named =
            doc("Resources:\n  R:\n    Type: AWS::IAM::Role\n    Properties:\n      RoleName: r\n");
        let none = doc("Resources:\n  Q:\n    Type: AWS::SQS::Queue\n");
        let iam = || vec!["CAPABILITY_IAM".to_string()];
        let named_iam = || vec!["CAPABILITY_NAMED_IAM".to_string()];
        assert_eq!(
            check_capabilities(&role, &[]).unwrap_err().to_string(),
            "Requires capabilities : [CAPABILITY_IAM]"
        );
        assert!(check_capabilities(&role, &iam()).is_ok());
        assert!(check_capabilities(&role, &named_iam()).is_ok());
        assert_eq!(
            check_capabilities(&named, &iam()).unwrap_err().to_string(),
            "Requires capabilities : [CAPABILITY_NAMED_IAM]"
        );
        assert!(check_capabilities(&named, &named_iam()).is_ok());
        assert!(check_capabilities(&none, &[]).is_ok());
    }

    #[test]
    fn stack_names_follow_create_stack_constraint() {
        assert!(check_name("eb-connection-infra").is_ok());
        assert!(check_name("1st").is_err());
        assert!(check_name("a_b").is_err());
        assert!(check_name(&"a".repeat(129)).is_err());
    }

    #[test]
    fn template_errors_are_refused_and_resource_errors_fail_the_resource() {
        use crate::scenario::error::ScenarioError;
        let e = |file: &str, logical: Option<&str>, kind: ErrorKind| {
            ScenarioErrors(vec![ScenarioError {
                file: file.into(),
                logical_id: logical.map(str::to_string),
                path: String::new(),
                kind,
            }])
        };
        assert_eq!(
            classify(
                &e(
                    "s:3:4",
                    Some("Sg"),
                    ErrorKind::UnknownReference {
                        target: "Nope".into()
                    }
                ),
                "s"
            ),
            Failure::Validation(
                "Template format error: Unresolved resource dependencies [Nope] in the Resources block of the template".into()
            )
        );
        assert_eq!(
            classify(
                &e(
                    "s:3:4",
                    Some("Sg"),
                    ErrorKind::Invalid {
                        reason: "CIDR block 10.0.0.0/33 is malformed".into()
                    }
                ),
                "s"
            ),
            Failure::Resource {
                logical_id: "Sg".into(),
                reason: "CIDR block 10.0.0.0/33 is malformed".into()
            }
        );
        // An error in a later stack (it reads this one's outputs) fails this one's update.
        assert!(matches!(
            classify(
                &e(
                    "later:1:1",
                    None,
                    ErrorKind::Invalid {
                        reason: "x".into()
                    }
                ),
                "s"
            ),
            Failure::Resource { logical_id, .. } if logical_id == "s"
        ));
    }
}
