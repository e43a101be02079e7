//! The scenarios shipped inside the binary, so `vpcgate check` runs the seed's cases anywhere.
//!
//! They are read where they are, in the binary: their paths sit under [`ROOT`]
//! (`<bundled>/seed.json`, `<bundled>/seed-000/01-infra.yaml`), and the scenario loader
//! ([`crate::scenario::read_source`], [`crate::scenario::is_file`]) and `check`'s file list
//! answer those paths from [`SCENARIOS`] and [`FILES`]. Nothing is written to disk: `serve` and
//! `check` used to copy every file into a new temporary folder at each start, and never removed
//! it.

use std::path::{Component, Path, PathBuf};

/// (file name, contents) of every file in the repository's `scenarios/` folder.
pub const SCENARIOS: &[(&str, &str)] = &[
    // The seed's whole setup, both patterns: `serve`'s default.
    ("seed.json", include_str!("../../scenarios/seed.json")),
    (
        "pattern-a.json",
        include_str!("../../scenarios/pattern-a.json"),
    ),
    (
        "gotcha-narrowed-gateway-sg.json",
        include_str!("../../scenarios/gotcha-narrowed-gateway-sg.json"),
    ),
    (
        "gotcha-ip-resource-configuration.json",
        include_str!("../../scenarios/gotcha-ip-resource-configuration.json"),
    ),
    (
        "gotcha-public-ip-resource.json",
        include_str!("../../scenarios/gotcha-public-ip-resource.json"),
    ),
    (
        "gotcha-self-signed-certificate.json",
        include_str!("../../scenarios/gotcha-self-signed-certificate.json"),
    ),
    (
        "gotcha-role-trusts-lambda.json",
        include_str!("../../scenarios/gotcha-role-trusts-lambda.json"),
    ),
    (
        "gotcha-role-source-arn.json",
        include_str!("../../scenarios/gotcha-role-source-arn.json"),
    ),
    (
        "gotcha-region-guardrail.json",
        include_str!("../../scenarios/gotcha-region-guardrail.json"),
    ),
    (
        "region-guardrail-allows-own-region.json",
        include_str!("../../scenarios/region-guardrail-allows-own-region.json"),
    ),
    (
        "gotcha-source-vpce-identity-policy.json",
        include_str!("../../scenarios/gotcha-source-vpce-identity-policy.json"),
    ),
    (
        "gotcha-pass-role.json",
        include_str!("../../scenarios/gotcha-pass-role.json"),
    ),
    (
        "pass-role-granted.json",
        include_str!("../../scenarios/pass-role-granted.json"),
    ),
    (
        "gotcha-dns-resolution-public.json",
        include_str!("../../scenarios/gotcha-dns-resolution-public.json"),
    ),
    (
        "gotcha-gateway-sg-443-only.json",
        include_str!("../../scenarios/gotcha-gateway-sg-443-only.json"),
    ),
    (
        "gotcha-policy-unknown-role.json",
        include_str!("../../scenarios/gotcha-policy-unknown-role.json"),
    ),
    (
        "gotcha-ingress-unknown-group.json",
        include_str!("../../scenarios/gotcha-ingress-unknown-group.json"),
    ),
    (
        "gotcha-missing-cname.json",
        include_str!("../../scenarios/gotcha-missing-cname.json"),
    ),
    (
        "gotcha-http-endpoint.json",
        include_str!("../../scenarios/gotcha-http-endpoint.json"),
    ),
    (
        "gotcha-alb-404.json",
        include_str!("../../scenarios/gotcha-alb-404.json"),
    ),
    (
        "gotcha-iam-missing-invoke-http-endpoint.json",
        include_str!("../../scenarios/gotcha-iam-missing-invoke-http-endpoint.json"),
    ),
    (
        "gotcha-iam-missing-retrieve-connection-credentials.json",
        include_str!("../../scenarios/gotcha-iam-missing-retrieve-connection-credentials.json"),
    ),
    (
        "gotcha-iam-missing-secrets-access.json",
        include_str!("../../scenarios/gotcha-iam-missing-secrets-access.json"),
    ),
    (
        "gotcha-iam-missing-lattice-invoke.json",
        include_str!("../../scenarios/gotcha-iam-missing-lattice-invoke.json"),
    ),
    (
        "retry-transient-503.json",
        include_str!("../../scenarios/retry-transient-503.json"),
    ),
    (
        "user-service.json",
        include_str!("../../scenarios/user-service.json"),
    ),
    // Pattern B.
    (
        "pattern-b.json",
        include_str!("../../scenarios/pattern-b.json"),
    ),
    (
        "pattern-b-identity.json",
        include_str!("../../scenarios/pattern-b-identity.json"),
    ),
    (
        "pattern-b-sg-blocks-80.json",
        include_str!("../../scenarios/pattern-b-sg-blocks-80.json"),
    ),
    (
        "pattern-b-slow-backend.json",
        include_str!("../../scenarios/pattern-b-slow-backend.json"),
    ),
    // HTTP APIs (v2), issue 16.
    (
        "pattern-b-http-api.json",
        include_str!("../../scenarios/pattern-b-http-api.json"),
    ),
    (
        "http-api-openapi-jwt.json",
        include_str!("../../scenarios/http-api-openapi-jwt.json"),
    ),
    (
        "rest-api-openapi.json",
        include_str!("../../scenarios/rest-api-openapi.json"),
    ),
    (
        "http-api-slow-backend.json",
        include_str!("../../scenarios/http-api-slow-backend.json"),
    ),
    (
        "http-api-sg-blocks-80.json",
        include_str!("../../scenarios/http-api-sg-blocks-80.json"),
    ),
    // Network Load Balancers and REST API VPC links v1 (emulator/src/nlb).
    (
        "pattern-b-vpc-link-v1.json",
        include_str!("../../scenarios/pattern-b-vpc-link-v1.json"),
    ),
    (
        "nlb-sg-blocks.json",
        include_str!("../../scenarios/nlb-sg-blocks.json"),
    ),
    (
        "nlb-no-healthy-targets.json",
        include_str!("../../scenarios/nlb-no-healthy-targets.json"),
    ),
    (
        "http-api-nlb.json",
        include_str!("../../scenarios/http-api-nlb.json"),
    ),
    // VPC Lattice service networks (seed 004).
    (
        "seed-004-service-network.json",
        include_str!("../../scenarios/seed-004-service-network.json"),
    ),
    (
        "seed-004-fixed.json",
        include_str!("../../scenarios/seed-004-fixed.json"),
    ),
    (
        "seed-004-unhealthy-target.json",
        include_str!("../../scenarios/seed-004-unhealthy-target.json"),
    ),
    (
        "seed-004-role-as-written.json",
        include_str!("../../scenarios/seed-004-role-as-written.json"),
    ),
    // Clients inside VPCs: routes, NAT, interface endpoints, PRIVATE APIs (docs/vpc-clients.md).
    (
        "seed-002-express-from-vpc.json",
        include_str!("../../scenarios/seed-002-express-from-vpc.json"),
    ),
    (
        "seed-002-states-endpoint-only.json",
        include_str!("../../scenarios/seed-002-states-endpoint-only.json"),
    ),
    (
        "seed-002-endpoint-policy.json",
        include_str!("../../scenarios/seed-002-endpoint-policy.json"),
    ),
    (
        "seed-001-nat.json",
        include_str!("../../scenarios/seed-001-nat.json"),
    ),
    (
        "nat-instance.json",
        include_str!("../../scenarios/nat-instance.json"),
    ),
    (
        "seed-001-no-nat.json",
        include_str!("../../scenarios/seed-001-no-nat.json"),
    ),
    (
        "seed-003-private-api.json",
        include_str!("../../scenarios/seed-003-private-api.json"),
    ),
    (
        "seed-003-wrong-endpoint.json",
        include_str!("../../scenarios/seed-003-wrong-endpoint.json"),
    ),
    (
        "seed-003-endpoint-sg-narrowed.json",
        include_str!("../../scenarios/seed-003-endpoint-sg-narrowed.json"),
    ),
    (
        "seed-003-no-resource-policy.json",
        include_str!("../../scenarios/seed-003-no-resource-policy.json"),
    ),
    // EventBridge's front door (issue 16).
    (
        "eventbridge-private-api-destination.json",
        include_str!("../../scenarios/eventbridge-private-api-destination.json"),
    ),
    (
        "eventbridge-narrowed-gateway-sg.json",
        include_str!("../../scenarios/eventbridge-narrowed-gateway-sg.json"),
    ),
    (
        "eventbridge-missing-role-grant.json",
        include_str!("../../scenarios/eventbridge-missing-role-grant.json"),
    ),
    (
        "eventbridge-retry-transient-503.json",
        include_str!("../../scenarios/eventbridge-retry-transient-503.json"),
    ),
    (
        "eventbridge-rate-limit.json",
        include_str!("../../scenarios/eventbridge-rate-limit.json"),
    ),
    (
        "eventbridge-public-connection.json",
        include_str!("../../scenarios/eventbridge-public-connection.json"),
    ),
    (
        "eventbridge-target-refusals.json",
        include_str!("../../scenarios/eventbridge-target-refusals.json"),
    ),
];

/// The scenario `serve` runs when given none: the seed's two stacks, both patterns.
pub const DEFAULT_SCENARIO: &str = "seed.json";

/// Files the scenarios name (`Vpcgate.Stacks`, `Vpcgate.Environment`), by path under
/// `scenarios/`: the seed's templates, copies of `tests/fixtures/templates/seed-000/`.
pub const FILES: &[(&str, &str)] = &[
    (
        "seed-000/01-infra.yaml",
        include_str!("../../scenarios/seed-000/01-infra.yaml"),
    ),
    (
        "seed-000/02-stepfunctions.yaml",
        include_str!("../../scenarios/seed-000/02-stepfunctions.yaml"),
    ),
    (
        "seed-000/environment.json",
        include_str!("../../scenarios/seed-000/environment.json"),
    ),
];

/// The folder the bundled files' paths are under (no such folder exists on disk).
pub const ROOT: &str = "<bundled>";

/// Whether `path` names a bundled file (or folder): it is under [`ROOT`].
pub fn is_bundled(path: &Path) -> bool {
    path.starts_with(ROOT)
}

/// The text of the bundled file at `path` (under [`ROOT`], `.` and `..` resolved), if there is
/// one.
pub fn file(path: &Path) -> Option<&'static str> {
    let rest = path.strip_prefix(ROOT).ok()?;
    let mut parts: Vec<&str> = Vec::new();
    for c in rest.components() {
        match c {
            Component::Normal(part) => parts.push(part.to_str()?),
            Component::CurDir => {}
            Component::ParentDir => {
                parts.pop()?;
            }
            Component::RootDir | Component::Prefix(_) => return None,
        }
    }
    let name = parts.join("/");
    SCENARIOS
        .iter()
        .chain(FILES)
        .find(|(n, _)| *n == name)
        .map(|(_, text)| *text)
}

/// The bundled scenario files, by path, sorted (what `check` of the `scenarios/` folder reads).
pub fn scenario_paths() -> Vec<PathBuf> {
    let mut names: Vec<&str> = SCENARIOS.iter().map(|(n, _)| *n).collect();
    names.sort_unstable();
    names.into_iter().map(|n| Path::new(ROOT).join(n)).collect()
}

/// The path of the scenario `serve` runs when given none.
pub fn default_scenario() -> PathBuf {
    Path::new(ROOT).join(DEFAULT_SCENARIO)
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_seed_files_are_the_seeds_own_and_all_bundled() {
        let ours = concat!(env!("CARGO_MANIFEST_DIR"), "/../scenarios/seed-000");
        let seed = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../tests/fixtures/templates/seed-000"
        );
        let mut names: Vec<String> = std::fs::read_dir(ours)
            .unwrap()
            .filter_map(|e| e.ok())
            .map(|e| format!("seed-000/{}", e.file_name().to_string_lossy()))
            .collect();
        names.sort();
        let bundled: Vec<String> = super::FILES.iter().map(|(n, _)| n.to_string()).collect();
        assert_eq!(names, bundled, "add new files to bundled::FILES");
        for (name, text) in super::FILES {
            let file = name.trim_start_matches("seed-000/");
            let original = std::fs::read_to_string(format!("{seed}/{file}")).unwrap();
            assert_eq!(
                *text, original,
                "scenarios/{name} differs from the seed's tests/fixtures/templates/seed-000/{file}"
            );
        }
    }

    /// Bundled paths are answered from the binary, `.` and `..` resolved within the bundle;
    /// nothing outside it is.
    #[test]
    fn bundled_paths_read_the_binary_files() {
        use super::*;
        let seed = file(&default_scenario()).expect("the default scenario");
        assert_eq!(seed, include_str!("../../scenarios/seed.json"));
        let env = Path::new(ROOT).join("seed-000/./../seed-000/environment.json");
        assert!(file(&env).is_some_and(|t| t.contains("Vpc")));
        assert!(file(&Path::new(ROOT).join("../seed.json")).is_none());
        assert!(file(&Path::new(ROOT).join("nope.json")).is_none());
        assert!(file(Path::new("scenarios/seed.json")).is_none());
        assert!(is_bundled(&env) && !is_bundled(Path::new("seed.json")));
        let paths = scenario_paths();
        assert_eq!(paths.len(), SCENARIOS.len());
        assert!(paths.windows(2).all(|w| w[0] < w[1]));
        assert!(paths.iter().all(|p| file(p).is_some()));
    }

    #[test]
    fn every_scenario_file_is_bundled() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../scenarios");
        let mut on_disk: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().to_string())
            .filter(|n| n.ends_with(".json"))
            .collect();
        on_disk.sort();
        let mut bundled: Vec<String> = super::SCENARIOS
            .iter()
            .map(|(n, _)| n.to_string())
            .collect();
        bundled.sort();
        assert_eq!(
            on_disk, bundled,
            "add new scenario files to emulator/src/bundled.rs"
        );
    }
}
