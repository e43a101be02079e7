//! The second corpus, one CI can run: the real templates cfn-lint ships in its source
//! distribution on PyPI (`cfn-lint==1.58.0`, MIT-0) — `test/fixtures/templates/public/` (public
//! templates), `quickstart/` (AWS Quick Starts) and `good/` (templates cfn-lint considers valid) —
//! each loaded as `vpcgate check --stack` loads it, into the account of
//! tests/fixtures/corpus-cfnlint/environment.json, with the values of parameters.json for
//! parameters without a default, and its world started.
//!
//! The templates are not in this repository (other projects' files stay out of its commits):
//! scripts/test.sh downloads the pinned sdist with pip into a cache outside the tree and exports
//! `VPCGATE_CFNLINT_TEMPLATES` (its `test/fixtures/templates` folder). What is committed is ours:
//! the environment, the parameter values, and exclusions.json — the templates that are not
//! expected to load, each with why (`cloudformation:` CloudFormation itself refuses it; `vpcgate:`
//! a missing feature). An excluded template that loads fails the test, so the list stays true.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;
use vpcgate::scenario::stacks::{Environment, StackSpec, load};

const SUBDIRS: [&str; 3] = ["public", "quickstart", "good"];

fn manifest() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/corpus-cfnlint")
}

fn json(name: &str) -> Value {
    let path = manifest().join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path:?}: {e}"))
}

/// Template path (under the templates folder) -> parameter values.
fn parameters() -> BTreeMap<String, BTreeMap<String, String>> {
    json("parameters.json")["Parameters"]
        .as_object()
        .expect("Parameters")
        .iter()
        .map(|(file, values)| {
            let values = values
                .as_object()
                .expect("an object of values")
                .iter()
                .map(|(k, v)| (k.clone(), v.as_str().expect("a string value").to_string()))
                .collect();
            (file.clone(), values)
        })
        .collect()
}

/// Template path -> why it is not expected to load.
fn exclusions() -> BTreeMap<String, String> {
    json("exclusions.json")["Excluded"]
        .as_object()
        .expect("Excluded")
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().expect("a reason").to_string()))
        .collect()
}

/// Every template file under `dir` (recursively), as paths relative to `root`.
fn templates_under(root: &Path, dir: &Path, out: &mut Vec<String>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{dir:?}: {e}"))
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            templates_under(root, &p, out);
        } else if p
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| ["yaml", "yml", "json"].contains(&e))
        {
            let rel = p.strip_prefix(root).unwrap().to_string_lossy();
            out.push(rel.replace('\\', "/"));
        }
    }
}

#[test]
fn cfnlint_corpus_manifest_is_ours_and_every_exclusion_says_why() {
    let env = Environment::load(&manifest().join("environment.json"))
        .unwrap_or_else(|e| panic!("the environment does not load:\n{e}"));
    assert_eq!(env.region.as_deref(), Some("us-east-1"));
    let excluded = exclusions();
    assert!(!excluded.is_empty());
    for (file, why) in &excluded {
        assert!(
            SUBDIRS.iter().any(|d| file.starts_with(&format!("{d}/"))),
            "{file}: not under public/, quickstart/ or good/"
        );
        let reason = why
            .strip_prefix("cloudformation: ")
            .or_else(|| why.strip_prefix("vpcgate: "));
        assert!(
            reason.is_some_and(|r| r.len() > 20),
            "{file}: the reason must say whether CloudFormation refuses it or which vpcgate feature is missing: {why:?}"
        );
    }
    for (file, values) in parameters() {
        assert!(!values.is_empty(), "{file}: no values");
        assert!(
            SUBDIRS.iter().any(|d| file.starts_with(&format!("{d}/"))),
            "{file}"
        );
    }
    let source = std::fs::read_to_string(manifest().join("SOURCE")).unwrap();
    for key in ["cfn-lint==1.58.0", "sha256: ", "licence: MIT-0"] {
        assert!(source.contains(key), "SOURCE lacks {key}");
    }
}

#[test]
#[ignore = "needs cfn-lint's sdist templates in VPCGATE_CFNLINT_TEMPLATES (scripts/test.sh downloads them with pip; other projects' files are not committed)"]
fn every_cfnlint_template_loads_except_the_excluded_and_its_world_starts() {
    let root = PathBuf::from(std::env::var_os("VPCGATE_CFNLINT_TEMPLATES").expect(
        "VPCGATE_CFNLINT_TEMPLATES names cfn-lint 1.58.0's test/fixtures/templates (scripts/test.sh sets it)",
    ));
    let mut files = Vec::new();
    for d in SUBDIRS {
        templates_under(&root, &root.join(d), &mut files);
    }
    assert!(
        files.len() >= 110,
        "{} templates under {root:?}",
        files.len()
    );
    let env = Environment::load(&manifest().join("environment.json")).unwrap();
    let params = parameters();
    let excluded = exclusions();
    for name in params.keys().chain(excluded.keys()) {
        assert!(
            files.contains(name),
            "{name} is named in the manifest but is not in the sdist"
        );
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut failures = Vec::new();
    let mut loaded = 0;
    for file in &files {
        let spec = StackSpec {
            name: "cfnlint".into(),
            template: root.join(file),
            parameters: params.get(file).cloned().unwrap_or_default(),
            body: None,
        };
        // Loaded, transformed, resolved and built into a world: what `vpcgate check` does.
        let outcome = load(&[spec], &env, &[])
            .map_err(|e| format!("does not load:\n{e}"))
            .and_then(|l| {
                rt.block_on(async {
                    vpcgate::world::World::build(
                        l.model,
                        vpcgate::clock::Clock::at_unix(1_780_000_000),
                    )
                    .map(|_| ())
                    .map_err(|e| format!("the world does not start: {e}"))
                })
            });
        match (outcome, excluded.get(file)) {
            (Ok(()), None) => loaded += 1,
            (Err(e), None) => failures.push(format!("{file} {e}")),
            (Ok(()), Some(why)) => failures.push(format!(
                "{file} loads but exclusions.json says it should not ({why}): take it off the list"
            )),
            (Err(_), Some(_)) => {}
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert_eq!(loaded + excluded.len(), files.len());
    eprintln!(
        "cfn-lint corpus: {loaded} of {} templates load; {} excluded",
        files.len(),
        excluded.len()
    );
}
