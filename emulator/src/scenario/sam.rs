//! `Transform: AWS::Serverless-2016-10-31` (SAM), expanded by AWS's own translator.
//!
//! CloudFormation runs the `aws-sam-translator` Python package to turn a SAM template into a plain
//! one ("AWS::Serverless transform",
//! <https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/transform-aws-serverless.html>).
//! vpcgate runs the same package as a subprocess (`python3 -c` with [`SCRIPT`]): the template, the
//! parameter values, the account and the Region go in as JSON on stdin, the processed template
//! comes out on stdout. Policy templates, connectors, `DefinitionSubstitutions` and the generated
//! roles, permissions and stages are therefore exactly what the translator writes.
//!
//! What `sam package` would do first is done here: local `DefinitionUri` files of state machines
//! are read (JSON or YAML) and inlined as `Definition`, local `DefinitionUri` files of APIs as
//! `DefinitionBody`, and local `CodeUri` / `ContentUri` of functions and layers become a
//! placeholder S3 location (vpcgate does not run Lambda code). Paths are relative to the template.
//!
//! The subprocess is bounded: [`TIME_LIMIT`] of wall time and [`MAX_OUTPUT`] bytes of output.
//! Managed policy names resolve offline: the translator's bundled map first, then
//! `arn:<partition>:iam::aws:policy/<name>` (CloudFormation would ask IAM's ListPolicies).

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::{Map, Value, json};

use super::ids::IdContext;

/// The transform's name.
pub const TRANSFORM: &str = "AWS::Serverless-2016-10-31";
/// What to run when the translator is missing.
pub const INSTALL: &str = "python3 -m pip install aws-sam-translator";
/// The bridge script run by `python3 -c`.
pub const SCRIPT: &str = include_str!("sam_translate.py");
/// Wall time the translator may take (it takes well under a second for real templates).
pub const TIME_LIMIT: Duration = Duration::from_secs(60);
/// The largest processed template accepted from the translator.
pub const MAX_OUTPUT: u64 = 32 * 1024 * 1024;
/// The S3 bucket named by placeholder code locations.
pub const PLACEHOLDER_BUCKET: &str = "vpcgate-local-artifacts";

/// The Python interpreter: `VPCGATE_PYTHON` or `python3`.
fn python() -> String {
    std::env::var("VPCGATE_PYTHON").unwrap_or_else(|_| "python3".into())
}

fn is_local(uri: &str) -> bool {
    !uri.starts_with("s3://") && !uri.starts_with("https://") && !uri.starts_with("http://")
}

/// Where a path written in the template points: relative to the template's folder.
fn beside(template: &str, rel: &str) -> PathBuf {
    let base = Path::new(template).parent().unwrap_or(Path::new(""));
    base.join(rel)
}

fn read_document(template: &str, rel: &str, property: &str) -> Result<Value, String> {
    let path = beside(template, rel);
    let text = super::read_source(&path)
        .map_err(|e| format!("{property} {rel} ({}): {e}", path.display()))?;
    let doc = super::yaml::parse(&text, &path.display().to_string()).map_err(|e| {
        let first = e.0.first().map(|e| e.to_string()).unwrap_or_default();
        format!("{property} {rel}: {first}")
    })?;
    Ok(doc.value)
}

fn placeholder_s3(rel: &str) -> Value {
    let key: String = rel
        .trim_start_matches("./")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_./".contains(c) {
                c
            } else {
                '-'
            }
        })
        .collect();
    let key = if key.is_empty() || key == "." {
        "code".to_string()
    } else {
        key
    };
    json!(format!("s3://{PLACEHOLDER_BUCKET}/{key}"))
}

/// Does what `sam package` does with local paths before the transform (see the module doc).
pub fn localize(template: &str, doc: &mut Map<String, Value>) -> Result<(), String> {
    if let Some(Value::Object(globals)) = doc.get_mut("Globals")
        && let Some(Value::Object(f)) = globals.get_mut("Function")
    {
        localize_code(f, "CodeUri");
    }
    let Some(Value::Object(resources)) = doc.get_mut("Resources") else {
        return Ok(());
    };
    for (id, res) in resources.iter_mut() {
        let Some(ty) = res.get("Type").and_then(Value::as_str).map(str::to_string) else {
            continue;
        };
        let Some(Value::Object(props)) = res.get_mut("Properties") else {
            continue;
        };
        match ty.as_str() {
            "AWS::Serverless::Function" => localize_code(props, "CodeUri"),
            "AWS::Serverless::LayerVersion" => localize_code(props, "ContentUri"),
            "AWS::Serverless::StateMachine" => {
                if let Some(Value::String(uri)) = props.get("DefinitionUri").cloned()
                    && is_local(&uri)
                {
                    let def = read_document(template, &uri, "DefinitionUri")
                        .map_err(|e| format!("resource {id}: {e}"))?;
                    props.remove("DefinitionUri");
                    props.insert("Definition".into(), def);
                }
            }
            "AWS::Serverless::Api" | "AWS::Serverless::HttpApi" => {
                if let Some(Value::String(uri)) = props.get("DefinitionUri").cloned()
                    && is_local(&uri)
                {
                    let body = read_document(template, &uri, "DefinitionUri")
                        .map_err(|e| format!("resource {id}: {e}"))?;
                    props.remove("DefinitionUri");
                    props.insert("DefinitionBody".into(), body);
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// The S3 definitions the environment's `S3Objects` maps: a state machine's `DefinitionUri` and
/// an API's `DefinitionUri` (`s3://…`, an S3 URL, or `{Bucket, Key}`) are inlined as
/// `Definition` / `DefinitionBody`, as the translator would have CloudFormation read them from
/// S3. An unmapped one stays for the translator (an API's becomes `BodyS3Location`, refused with
/// the environment key named).
pub fn localize_s3(
    s3: &super::transform::S3Objects,
    doc: &mut Map<String, Value>,
) -> Result<(), String> {
    let Some(Value::Object(resources)) = doc.get_mut("Resources") else {
        return Ok(());
    };
    for (id, res) in resources.iter_mut() {
        let Some(ty) = res.get("Type").and_then(Value::as_str).map(str::to_string) else {
            continue;
        };
        let target = match ty.as_str() {
            "AWS::Serverless::StateMachine" => "Definition",
            "AWS::Serverless::Api" | "AWS::Serverless::HttpApi" => "DefinitionBody",
            _ => continue,
        };
        let Some(Value::Object(props)) = res.get_mut("Properties") else {
            continue;
        };
        let uri = match props.get("DefinitionUri") {
            Some(Value::String(u)) if !is_local(u) => u.clone(),
            Some(Value::Object(o)) => match (
                o.get("Bucket").and_then(Value::as_str),
                o.get("Key").and_then(Value::as_str),
            ) {
                (Some(b), Some(k)) => format!("s3://{b}/{k}"),
                _ => continue,
            },
            _ => continue,
        };
        let Some(key) = super::transform::s3_uri(&uri) else {
            continue;
        };
        if !s3.contains_key(&key) {
            continue;
        }
        let body = super::transform::read_s3(s3, &uri, "DefinitionUri")
            .map_err(|e| format!("resource {id}: {e}"))?;
        props.remove("DefinitionUri");
        props.insert(target.into(), body);
    }
    Ok(())
}

fn localize_code(props: &mut Map<String, Value>, key: &str) {
    if let Some(Value::String(uri)) = props.get(key)
        && is_local(uri)
    {
        let v = placeholder_s3(uri);
        props.insert(key.into(), v);
    }
}

/// Why the translator gave no template.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SamError {
    /// python3 or the package is missing.
    #[error("the SAM translator is not installed ({detail}); install it with `{INSTALL}`")]
    Missing {
        /// What failed.
        detail: String,
    },
    /// The translator refused the template (its message, as CloudFormation reports it).
    #[error("Transform {TRANSFORM} failed with: {0}")]
    Translator(String),
    /// A local path could not be read.
    #[error("Transform {TRANSFORM}: {0}")]
    Local(String),
    /// The subprocess went past its bounds or died.
    #[error("Transform {TRANSFORM}: the translator {0}")]
    Process(String),
}

/// Expands a SAM template: local paths first ([`localize`]), then the translator.
pub fn expand(
    template: &str,
    doc: &Map<String, Value>,
    ctx: &IdContext,
    parameters: &BTreeMap<String, String>,
    s3: &super::transform::S3Objects,
) -> Result<Map<String, Value>, SamError> {
    let mut doc = doc.clone();
    localize(template, &mut doc).map_err(SamError::Local)?;
    localize_s3(s3, &mut doc).map_err(SamError::Local)?;
    let request = json!({
        "template": Value::Object(doc),
        "parameters": parameters,
        "region": ctx.region,
        "account": ctx.account,
    });
    let out = run(
        &python(),
        &serde_json::to_vec(&request).expect("JSON serializes"),
        TIME_LIMIT,
        MAX_OUTPUT,
    )?;
    let answer: Value = serde_json::from_slice(&out).map_err(|e| {
        SamError::Process(format!(
            "wrote something that is not JSON ({e}): {}",
            String::from_utf8_lossy(&out[..out.len().min(300)])
        ))
    })?;
    if let Some(m) = answer.get("missing").and_then(Value::as_str) {
        return Err(SamError::Missing { detail: m.into() });
    }
    if let Some(e) = answer.get("error").and_then(Value::as_str) {
        return Err(SamError::Translator(e.to_string()));
    }
    match answer.get("template") {
        Some(Value::Object(t)) => Ok(t.clone()),
        _ => Err(SamError::Process("gave no template".into())),
    }
}

/// Runs the bridge script with `input` on stdin; bounded in time and output.
fn run(
    interpreter: &str,
    input: &[u8],
    time_limit: Duration,
    max_output: u64,
) -> Result<Vec<u8>, SamError> {
    run_program(interpreter, SCRIPT, input, time_limit, max_output)
}

fn run_program(
    interpreter: &str,
    script: &str,
    input: &[u8],
    time_limit: Duration,
    max_output: u64,
) -> Result<Vec<u8>, SamError> {
    let mut child = Command::new(interpreter)
        .arg("-c")
        .arg(script)
        // vpcgate stays offline: the translator calls AWS only for Serverless Application
        // Repository applications; it gets no credentials and no instance-metadata lookup, so
        // such a template fails at once ("Unable to locate credentials") instead of reaching AWS
        // with the user's credentials.
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .env_remove("AWS_SESSION_TOKEN")
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI")
        .env_remove("AWS_CONTAINER_CREDENTIALS_FULL_URI")
        .env_remove("AWS_WEB_IDENTITY_TOKEN_FILE")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| SamError::Missing {
            detail: format!("cannot run {interpreter}: {e}"),
        })?;
    let mut stdin = child.stdin.take().expect("piped");
    let mut stdout = child.stdout.take().expect("piped");
    let mut stderr = child.stderr.take().expect("piped");
    let input = input.to_vec();
    // Writing and reading run beside each other so a large template cannot deadlock the pipes.
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(&input);
    });
    let err_reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = (&mut stderr).take(64 * 1024).read_to_end(&mut buf);
        buf
    });
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut buf = Vec::new();
        let r = (&mut stdout).take(max_output + 1).read_to_end(&mut buf);
        let _ = tx.send(r.map(|_| buf));
    });
    let out = match rx.recv_timeout(time_limit) {
        Ok(Ok(buf)) if buf.len() as u64 > max_output => {
            let _ = child.kill();
            let _ = child.wait();
            return Err(SamError::Process(format!(
                "wrote more than {max_output} bytes"
            )));
        }
        Ok(Ok(buf)) => buf,
        Ok(Err(e)) => {
            let _ = child.kill();
            let _ = child.wait();
            return Err(SamError::Process(format!("output could not be read: {e}")));
        }
        Err(_) => {
            let _ = child.kill();
            let _ = child.wait();
            return Err(SamError::Process(format!(
                "took longer than {} s and was stopped",
                time_limit.as_secs_f64()
            )));
        }
    };
    let _ = writer.join();
    let status = child
        .wait()
        .map_err(|e| SamError::Process(format!("could not be waited for: {e}")))?;
    let errtext = String::from_utf8_lossy(&err_reader.join().unwrap_or_default()).into_owned();
    if !status.success() {
        let last = errtext.trim().lines().last().unwrap_or("").to_string();
        return Err(SamError::Process(format!("exited with {status}: {last}")));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_code_uri_becomes_a_placeholder_s3_location() {
        let mut doc: Map<String, Value> = serde_json::from_value(json!({
            "Globals": {"Function": {"CodeUri": "src/"}},
            "Resources": {"F": {"Type": "AWS::Serverless::Function",
                "Properties": {"CodeUri": "./hello world/", "Handler": "app.handler"}},
                "G": {"Type": "AWS::Serverless::Function",
                "Properties": {"CodeUri": "s3://bucket/key"}}}
        }))
        .unwrap();
        localize("t/template.yaml", &mut doc).unwrap();
        assert_eq!(
            doc["Resources"]["F"]["Properties"]["CodeUri"],
            json!("s3://vpcgate-local-artifacts/hello-world/")
        );
        assert_eq!(
            doc["Resources"]["G"]["Properties"]["CodeUri"],
            json!("s3://bucket/key")
        );
        assert_eq!(
            doc["Globals"]["Function"]["CodeUri"],
            json!("s3://vpcgate-local-artifacts/src/")
        );
    }

    #[test]
    fn a_missing_interpreter_names_the_install_command() {
        let e = run("/nonexistent/python3", b"{}", TIME_LIMIT, MAX_OUTPUT).unwrap_err();
        assert!(matches!(e, SamError::Missing { .. }), "{e}");
        assert!(
            e.to_string()
                .contains("install it with `python3 -m pip install aws-sam-translator`"),
            "{e}"
        );
    }

    /// Hostile input: a translator that never answers is stopped at the time limit, one that
    /// writes without end at the output limit.
    #[test]
    fn the_subprocess_is_bounded_in_time_and_output() {
        let e = run_program(
            "python3",
            "while True: pass",
            b"",
            Duration::from_millis(300),
            MAX_OUTPUT,
        )
        .unwrap_err();
        assert!(e.to_string().contains("took longer than 0.3 s"), "{e}");
        let e = run_program(
            "python3",
            "import sys\nwhile True: sys.stdout.write('x' * 65536)",
            b"",
            TIME_LIMIT,
            1024 * 1024,
        )
        .unwrap_err();
        assert!(
            e.to_string().contains("wrote more than 1048576 bytes"),
            "{e}"
        );
    }

    /// The translator's own refusal comes back in CloudFormation's words.
    #[test]
    fn translator_errors_are_reported_as_cloudformation_does() {
        let doc: Map<String, Value> = serde_json::from_value(json!({
            "Transform": TRANSFORM,
            "Resources": {"F": {"Type": "AWS::Serverless::Function", "Properties": {"Runtime": "python3.12"}}}
        }))
        .unwrap();
        let ctx = IdContext {
            region: "us-east-1".into(),
            account: "123456789012".into(),
            stack: "s".into(),
        };
        let e = expand("t.yaml", &doc, &ctx, &BTreeMap::new(), &BTreeMap::new()).unwrap_err();
        let text = e.to_string();
        assert!(
            text.starts_with("Transform AWS::Serverless-2016-10-31 failed with: Invalid Serverless Application Specification document."),
            "{text}"
        );
        assert!(text.contains("[F]"), "{text}");
    }

    #[test]
    fn missing_definition_uri_file_names_the_resource_and_path() {
        let mut doc: Map<String, Value> = serde_json::from_value(json!({
            "Resources": {"SM": {"Type": "AWS::Serverless::StateMachine",
                "Properties": {"DefinitionUri": "statemachine/none.asl.json"}}}
        }))
        .unwrap();
        let e = localize("/nonexistent/template.yaml", &mut doc).unwrap_err();
        assert!(
            e.contains("resource SM: DefinitionUri statemachine/none.asl.json"),
            "{e}"
        );
    }
}
