//! The environment's `PublicEndpoints`: public origins mapped to the user's own processes on this
//! machine, where public connections' calls to them go ([`crate::events::public`]).
//!
//! ```json
//! "PublicEndpoints": [{"Url": "https://api.example.com", "Target": "http://127.0.0.1:8080"}]
//! ```

use serde_json::Value;

use crate::events::public::{MAX_PUBLIC_ENDPOINTS, PublicEndpoint};

/// Reads the `PublicEndpoints` list. Errors are (path below the environment, reason).
pub fn read(value: Option<&Value>) -> (Vec<PublicEndpoint>, Vec<(String, String)>) {
    let mut out: Vec<PublicEndpoint> = Vec::new();
    let mut errors = Vec::new();
    let items = match value {
        None => return (out, errors),
        Some(Value::Array(items)) => items,
        Some(_) => {
            errors.push((
                "PublicEndpoints".to_string(),
                "must be a list of {\"Url\": …, \"Target\": …}".to_string(),
            ));
            return (out, errors);
        }
    };
    if items.len() > MAX_PUBLIC_ENDPOINTS {
        errors.push((
            "PublicEndpoints".to_string(),
            format!("at most {MAX_PUBLIC_ENDPOINTS} entries"),
        ));
        return (out, errors);
    }
    for (i, item) in items.iter().enumerate() {
        let path = format!("PublicEndpoints[{i}]");
        let Some(m) = item.as_object() else {
            errors.push((path, "must be an object with Url and Target".to_string()));
            continue;
        };
        if let Some(k) = m.keys().find(|k| !["Url", "Target"].contains(&k.as_str())) {
            errors.push((
                format!("{path}.{k}"),
                format!("unknown key {k} (expected one of Url, Target)"),
            ));
            continue;
        }
        let field = |k: &str| m.get(k).and_then(Value::as_str);
        let (Some(url), Some(target)) = (field("Url"), field("Target")) else {
            errors.push((path, "needs Url and Target (strings)".to_string()));
            continue;
        };
        match PublicEndpoint::parse(url, target) {
            Ok(p) if out.iter().any(|o| o.host == p.host && o.port == p.port) => {
                errors.push((format!("{path}.Url"), format!("{url} is mapped twice")))
            }
            Ok(p) => out.push(p),
            Err(reason) => errors.push((path, reason)),
        }
    }
    (out, errors)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_mappings_and_names_each_bad_entry() {
        let v = json!([
            {"Url": "https://api.example.com", "Target": "http://127.0.0.1:8080"},
            {"Url": "https://api.example.com", "Target": "http://127.0.0.1:8081"},
            {"Url": "https://b.example.com"},
            {"Url": "https://c.example.com", "Target": "http://127.0.0.1:1", "Extra": 1},
            "x"
        ]);
        let (ok, errors) = read(Some(&v));
        assert_eq!(ok.len(), 1);
        let paths: Vec<&str> = errors.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(
            paths,
            [
                "PublicEndpoints[1].Url",
                "PublicEndpoints[2]",
                "PublicEndpoints[3].Extra",
                "PublicEndpoints[4]"
            ]
        );
        assert_eq!(read(Some(&json!({}))).1.len(), 1);
        assert!(read(None).0.is_empty());
    }
}
