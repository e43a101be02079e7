//! The layering that `emulator/src/lib.rs` documents, checked from the code's own `crate::` paths
//! (issue 12). Configuration flows one way (scenario -> model -> world) and nothing below the world
//! reaches back up into it: a module may name modules of its own layer or below, never above.
//!
//! The code keeps the rule everywhere (since session 5): no module imports one above it, and the
//! import graph of the top-level modules has no cycle, within a layer either. [`KNOWN_UPWARD`] and
//! [`KNOWN_CYCLES`] were the ratchet that got there and are empty; they stay as the place a
//! deliberate, reasoned exception would have to be written down.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The layers, bottom first. A module's place says what it may import.
const LAYERS: &[&[&str]] = &[
    // Values and leaf mechanisms: no component behind them.
    &["clock", "trace", "sigv4", "pki"],
    // The network, names, policies and secrets every component is handed.
    &["iam", "vpc", "dns", "secrets", "authz"],
    // The components: one per AWS noun.
    &[
        "alb", "nlb", "lattice", "events", "ec2", "proxy", "apigw", "asl",
    ],
    // Step Functions' task integrations call the components above.
    &["sfn"],
    // Plain data: every component's validated configuration, as the scenario resolved it.
    &["model"],
    // The composition root builds every component from the model.
    &["world"],
    // Templates and scenarios into the model; CloudFormation's stacks at run time.
    &["scenario", "cfn", "bundled"],
    // The front doors.
    &["edge", "check", "cli"],
];

/// `file -> module` imports that go up a layer. Empty: keep it so.
const KNOWN_UPWARD: &[(&str, &str)] = &[];

/// Import cycles between top-level modules (each as its sorted members). Empty: keep it so.
const KNOWN_CYCLES: &[&[&str]] = &[];

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("emulator")
        .join("src")
}

fn layer(module: &str) -> Option<usize> {
    LAYERS.iter().position(|l| l.contains(&module))
}

/// The top-level module a file belongs to (`apigw/auth.rs` -> `apigw`, `world.rs` -> `world`).
fn module_of(rel: &Path) -> String {
    let first = rel
        .components()
        .next()
        .unwrap()
        .as_os_str()
        .to_string_lossy();
    first.trim_end_matches(".rs").to_string()
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Every top-level module a file names through `crate::…`, outside comments and `#[cfg(test)]`
/// modules at the end of the file (tests may reach anywhere).
fn imports(text: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let mut in_tests = false;
    let mut lines = text.lines().peekable();
    while let Some(line) = lines.next() {
        let code = line.trim_start();
        // `#[cfg(test)] mod tests;` declares a test module in another file: the lines after it
        // are still the module's own code.
        let declares_only = lines.peek().is_some_and(|next| {
            next.trim_start().starts_with("mod ") && next.trim_end().ends_with(';')
        });
        if code.starts_with("#[cfg(test)]") && !declares_only {
            in_tests = true;
        }
        if in_tests || code.starts_with("//") {
            continue;
        }
        let mut rest = code;
        while let Some(at) = rest.find("crate::") {
            let after = &rest[at + "crate::".len()..];
            let name: String = after
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() {
                found.insert(name);
            }
            rest = after;
        }
        // `use crate::{a, b::c}` names several.
        if let Some(group) = code.strip_prefix("use crate::{") {
            for part in group.split([',', '}', '{']) {
                let name: String = part
                    .trim()
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                if !name.is_empty() && layer(&name).is_some() {
                    found.insert(name);
                }
            }
        }
    }
    found
}

/// One import: the file, its module, the module it names.
type Import = (String, String, String);
/// Each module and the modules it names.
type ModuleGraph = BTreeMap<String, BTreeSet<String>>;

/// `(file, module)` for each import and the module graph.
fn graph() -> (Vec<Import>, ModuleGraph) {
    let root = src();
    let mut files = Vec::new();
    rust_files(&root, &mut files);
    files.sort();
    let mut edges = Vec::new();
    let mut modules: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in files {
        let rel = file.strip_prefix(&root).unwrap().to_path_buf();
        let from = module_of(&rel);
        // Unit-test modules kept in a `tests/` folder may reach anywhere.
        if matches!(from.as_str(), "lib" | "main")
            || rel.components().any(|c| c.as_os_str() == "tests")
        {
            continue;
        }
        let text = std::fs::read_to_string(&file).unwrap();
        for to in imports(&text) {
            if to == from || layer(&to).is_none() {
                continue;
            }
            modules.entry(from.clone()).or_default().insert(to.clone());
            edges.push((rel.to_string_lossy().into_owned(), from.clone(), to));
        }
    }
    (edges, modules)
}

/// Strongly connected components of more than one module (Tarjan's algorithm).
fn cycles(graph: &BTreeMap<String, BTreeSet<String>>) -> BTreeSet<Vec<String>> {
    struct Tarjan<'a> {
        graph: &'a BTreeMap<String, BTreeSet<String>>,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on_stack: BTreeSet<&'a str>,
        out: BTreeSet<Vec<String>>,
    }
    impl<'a> Tarjan<'a> {
        fn visit(&mut self, v: &'a str) {
            let i = self.index.len();
            self.index.insert(v, i);
            self.low.insert(v, i);
            self.stack.push(v);
            self.on_stack.insert(v);
            if let Some(next) = self.graph.get(v) {
                for w in next {
                    let w = w.as_str();
                    if !self.index.contains_key(w) {
                        self.visit(w);
                        let lw = self.low[w];
                        let lv = self.low.get_mut(v).unwrap();
                        *lv = (*lv).min(lw);
                    } else if self.on_stack.contains(w) {
                        let iw = self.index[w];
                        let lv = self.low.get_mut(v).unwrap();
                        *lv = (*lv).min(iw);
                    }
                }
            }
            if self.low[v] == self.index[v] {
                let mut component = Vec::new();
                while let Some(w) = self.stack.pop() {
                    self.on_stack.remove(w);
                    component.push(w.to_string());
                    if w == v {
                        break;
                    }
                }
                if component.len() > 1 {
                    component.sort();
                    self.out.insert(component);
                }
            }
        }
    }
    let mut t = Tarjan {
        graph,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        out: BTreeSet::new(),
    };
    for v in graph.keys() {
        if !t.index.contains_key(v.as_str()) {
            t.visit(v);
        }
    }
    t.out
}

#[test]
fn every_top_level_module_has_a_layer() {
    let root = src();
    let mut missing = Vec::new();
    for entry in std::fs::read_dir(&root).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        let module = name.trim_end_matches(".rs");
        if !matches!(module, "lib" | "main") && layer(module).is_none() {
            missing.push(module.to_string());
        }
    }
    assert!(
        missing.is_empty(),
        "give these modules a layer in LAYERS (and in lib.rs's picture): {missing:?}"
    );
}

#[test]
fn no_module_imports_one_above_it() {
    let (edges, _) = graph();
    let upward: BTreeSet<(String, String)> = edges
        .iter()
        .filter(|(_, from, to)| layer(to) > layer(from))
        .map(|(file, _, to)| (file.clone(), to.clone()))
        .collect();
    let known: BTreeSet<(String, String)> = KNOWN_UPWARD
        .iter()
        .map(|(f, m)| (f.to_string(), m.to_string()))
        .collect();
    let new: Vec<_> = upward.difference(&known).collect();
    let gone: Vec<_> = known.difference(&upward).collect();
    assert!(
        new.is_empty(),
        "these files import a module above their own layer (hand them a narrow handle instead):\n{}",
        new.iter()
            .map(|(f, m)| format!("    (\"{f}\", \"{m}\"),"))
            .collect::<Vec<_>>()
            .join("\n")
    );
    assert!(
        gone.is_empty(),
        "these upward imports are gone: delete them from KNOWN_UPWARD: {gone:#?}"
    );
}

#[test]
fn the_module_graph_has_no_new_cycle() {
    let (_, modules) = graph();
    let found = cycles(&modules);
    let known: BTreeSet<Vec<String>> = KNOWN_CYCLES
        .iter()
        .map(|c| c.iter().map(|s| s.to_string()).collect())
        .collect();
    let new: Vec<_> = found.difference(&known).collect();
    let gone: Vec<_> = known.difference(&found).collect();
    assert!(
        new.is_empty(),
        "import cycles between modules:\n{}",
        new.iter()
            .map(|c| format!("    &{c:?},"))
            .collect::<Vec<_>>()
            .join("\n")
    );
    assert!(
        gone.is_empty(),
        "these cycles are gone: delete them from KNOWN_CYCLES: {gone:#?}"
    );
}

#[test]
fn the_checker_sees_imports_and_cycles() {
    let text = "#[cfg(test)]\nmod tests;\nuse crate::world::World;\n// crate::edge in a comment\nuse crate::{vpc, iam::Policy};\nlet x = crate::clock::Clock::system();\n#[cfg(test)]\nmod tests { use crate::cli; }\n";
    let found: Vec<String> = imports(text).into_iter().collect();
    assert_eq!(found, ["clock", "iam", "vpc", "world"]);
    let mut g: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    g.entry("a".into()).or_default().insert("b".into());
    g.entry("b".into()).or_default().insert("c".into());
    g.entry("c".into()).or_default().insert("a".into());
    g.entry("c".into()).or_default().insert("d".into());
    let c: Vec<Vec<String>> = cycles(&g).into_iter().collect();
    assert_eq!(c, vec![vec!["a".to_string(), "b".into(), "c".into()]]);
}
