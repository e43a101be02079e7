//! Route keys and route selection of an HTTP API.
//!
//! A route key is `$default` or `METHOD /path`, the method one of `GET POST PUT PATCH DELETE
//! HEAD OPTIONS ANY`, the path of literals, `{name}` and a last greedy `{name+}`
//! (<https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-routes.html>).
//! Selection, from the same page ("Routing API requests"): a full match of path and method
//! first, then a match through a greedy path variable, then the `$default` route; the most
//! specific path wins ("API Gateway … routes the request to the route with the most-specific
//! match"); a route with the request's method beats `ANY` on the same path. A path that matches
//! but without the method falls through to the next candidate (HTTP APIs have no 405): nothing
//! left is 404 `{"message":"Not Found"}`.
//!
//! Path segments compare percent-decoded; empty segments (a trailing slash) are ignored.

use std::collections::BTreeMap;
use std::fmt;

use percent_encoding::percent_decode_str;

use crate::apigw::routing::matches;

/// The most path segments a route key or a request path may have for route matching.
pub const MAX_SEGMENTS: usize = 256;

/// One segment of a route key's path (REST and HTTP APIs match paths alike).
pub use crate::apigw::routing::Segment;

/// A parsed `RouteKey`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RouteKey {
    /// `$default`: catches what no other route matches.
    Default,
    /// `METHOD /path`.
    Path {
        /// The verb, `None` for `ANY`.
        method: Option<http::Method>,
        /// The path as written.
        path: String,
        /// Its segments.
        segments: Vec<Segment>,
    },
}

impl RouteKey {
    /// Parses a route key; the error is CreateRoute's wording where known.
    pub fn parse(text: &str) -> Result<Self, String> {
        if text == "$default" {
            return Ok(RouteKey::Default);
        }
        let invalid = || format!("Invalid route key: {text}");
        let (verb, path) = text.split_once(' ').ok_or_else(invalid)?;
        let method = match verb {
            "ANY" => None,
            "GET" | "POST" | "PUT" | "PATCH" | "DELETE" | "HEAD" | "OPTIONS" => {
                Some(http::Method::from_bytes(verb.as_bytes()).map_err(|_| invalid())?)
            }
            _ => return Err(invalid()),
        };
        if !path.starts_with('/') {
            return Err(invalid());
        }
        let parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
        if parts.len() > MAX_SEGMENTS {
            return Err(format!("{}: more than {MAX_SEGMENTS} segments", invalid()));
        }
        let mut segments = Vec::new();
        for (i, p) in parts.iter().enumerate() {
            let seg = match p.strip_prefix('{').and_then(|p| p.strip_suffix('}')) {
                Some(inner) => match inner.strip_suffix('+') {
                    Some(name) if i + 1 == parts.len() && valid_name(name) => {
                        Segment::Greedy(name.to_string())
                    }
                    Some(_) => {
                        return Err(format!(
                            "{}: a greedy path variable must be the last segment",
                            invalid()
                        ));
                    }
                    None if valid_name(inner) => Segment::Param(inner.to_string()),
                    None => return Err(invalid()),
                },
                None if !p.contains(['{', '}', ' ']) => Segment::Literal(p.to_string()),
                None => return Err(invalid()),
            };
            segments.push(seg);
        }
        Ok(RouteKey::Path {
            method,
            path: path.to_string(),
            segments,
        })
    }
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.')
}

impl fmt::Display for RouteKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RouteKey::Default => f.write_str("$default"),
            RouteKey::Path { method, path, .. } => write!(
                f,
                "{} {path}",
                method.as_ref().map(|m| m.as_str()).unwrap_or("ANY")
            ),
        }
    }
}

/// What a request matched: the route (an index into the router's list) and the path variables.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Matched {
    /// Index of the route in the list given to [`select`].
    pub index: usize,
    /// `{name}` and `{name+}` values, percent-decoded.
    pub path_params: BTreeMap<String, String>,
}

/// Chooses the route for `verb` on `path` among `keys` (see the module docs).
pub fn select(keys: &[&RouteKey], verb: &http::Method, path: &str) -> Option<Matched> {
    let parts: Vec<String> = path
        .split('/')
        .filter(|p| !p.is_empty())
        .take(MAX_SEGMENTS + 1)
        .map(|p| percent_decode_str(p).decode_utf8_lossy().into_owned())
        .collect();
    // Score: (no greedy variable, per-segment specificity, exact method).
    type Score = (bool, Vec<u8>, bool);
    let mut best: Option<(Score, Matched)> = None;
    for (index, key) in keys.iter().enumerate() {
        let RouteKey::Path {
            method, segments, ..
        } = key
        else {
            continue;
        };
        if method.as_ref().is_some_and(|m| m != verb) {
            continue;
        }
        let Some((greedy, specificity, path_params)) = matches(segments, &parts) else {
            continue;
        };
        let score = (!greedy, specificity, method.is_some());
        if best.as_ref().is_none_or(|(s, _)| score > *s) {
            best = Some((score, Matched { index, path_params }));
        }
    }
    best.map(|(_, m)| m).or_else(|| {
        keys.iter()
            .position(|k| **k == RouteKey::Default)
            .map(|index| Matched {
                index,
                path_params: BTreeMap::new(),
            })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(list: &[&str]) -> Vec<RouteKey> {
        list.iter().map(|k| RouteKey::parse(k).unwrap()).collect()
    }

    fn chosen(list: &[RouteKey], verb: &str, path: &str) -> Option<String> {
        let refs: Vec<&RouteKey> = list.iter().collect();
        select(
            &refs,
            &http::Method::from_bytes(verb.as_bytes()).unwrap(),
            path,
        )
        .map(|m| list[m.index].to_string())
    }

    /// The example of http-api-develop-routes.html ("Routing API requests").
    #[test]
    fn routing_follows_the_documented_precedence() {
        let k = keys(&[
            "GET /pets/dog/1",
            "GET /pets/dog/{id}",
            "GET /pets/{proxy+}",
            "ANY /{proxy+}",
            "$default",
        ]);
        assert_eq!(chosen(&k, "GET", "/pets/dog/1").unwrap(), "GET /pets/dog/1");
        assert_eq!(
            chosen(&k, "GET", "/pets/dog/2").unwrap(),
            "GET /pets/dog/{id}"
        );
        assert_eq!(
            chosen(&k, "GET", "/pets/cat/1").unwrap(),
            "GET /pets/{proxy+}"
        );
        assert_eq!(chosen(&k, "POST", "/pets/dog/1").unwrap(), "ANY /{proxy+}");
        assert_eq!(chosen(&k, "GET", "/").unwrap(), "$default");
    }

    #[test]
    fn exact_method_beats_any_and_no_match_is_none() {
        let k = keys(&["ANY /items", "GET /items", "GET /"]);
        assert_eq!(chosen(&k, "GET", "/items").unwrap(), "GET /items");
        assert_eq!(chosen(&k, "DELETE", "/items/").unwrap(), "ANY /items");
        assert_eq!(chosen(&k, "GET", "").unwrap(), "GET /");
        assert!(chosen(&k, "POST", "/").is_none());
        assert!(chosen(&k, "GET", "/nope").is_none());
        let refs: Vec<&RouteKey> = k.iter().collect();
        let m = select(&refs, &http::Method::GET, "/a%20b");
        assert!(m.is_none());
        let p = keys(&["GET /{proxy+}"]);
        let refs: Vec<&RouteKey> = p.iter().collect();
        let m = select(&refs, &http::Method::GET, "/a%20b/c").unwrap();
        assert_eq!(m.path_params["proxy"], "a b/c");
    }

    #[test]
    fn route_keys_are_checked() {
        for bad in [
            "FETCH /",
            "GET",
            "GET items",
            "GET /{proxy+}/x",
            "GET /{}",
            "get /",
        ] {
            assert!(RouteKey::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(RouteKey::parse("$default").unwrap(), RouteKey::Default);
        assert_eq!(
            RouteKey::parse("ANY /{proxy+}").unwrap().to_string(),
            "ANY /{proxy+}"
        );
    }
}
