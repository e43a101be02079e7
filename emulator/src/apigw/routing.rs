//! Which resource and method of a deployed stage a request reaches.
//!
//! A REST API's resources form a tree of path parts: literals, `{name}` (one segment) and the
//! greedy `{name+}` (the rest of the path). A request path is matched against every resource's
//! full path; the most specific match wins, segment by segment a literal before a `{name}`
//! before a `{name+}`
//! (<https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-method-settings-method-request.html>,
//! "a resource path with a greedy path variable … catches any request not matched by a more
//! specific resource"). Then the method: the request's verb, else `ANY`. No match is API
//! Gateway's 403 `Missing Authentication Token` — there is no 404 or 405 in REST APIs.

use std::collections::BTreeMap;
use std::sync::Arc;

use percent_encoding::percent_decode_str;

use super::integration::TargetUri;
use super::rest_api::{ApiGatewayModel, MethodConfig, MethodKey};

/// One segment of a resource's or route key's path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Segment {
    /// A literal.
    Literal(String),
    /// `{name}`.
    Param(String),
    /// `{name+}` (last).
    Greedy(String),
}

#[derive(Clone, Debug)]
struct RouteResource {
    /// `/`, `/items/{id}` (shared with each route to it).
    path: Arc<str>,
    segments: Vec<Segment>,
    /// Each method with its integration's `Uri` parsed once when it has no `{variables}`.
    methods: Vec<(MethodKey, Arc<MethodConfig>, Option<Arc<TargetUri>>)>,
}

/// The routes of one deployment.
#[derive(Clone, Debug, Default)]
pub struct Router {
    resources: Vec<RouteResource>,
}

/// What a request matched.
#[derive(Clone, Debug)]
pub struct Route {
    /// The method (with its integration).
    pub method: Arc<MethodConfig>,
    /// The matched resource's path template (`/items/{id}`), shared with the routes.
    pub resource_path: Arc<str>,
    /// Values of `{name}` and `{name+}` variables, percent-decoded.
    pub path_params: BTreeMap<String, String>,
    /// The integration's `Uri` parsed when the deployment was routed, if it has no
    /// `{variables}` (the same for every request).
    pub uri: Option<Arc<TargetUri>>,
}

impl Router {
    /// The routes of `api_id` in `model`: every resource that has at least one method.
    pub fn new(model: &ApiGatewayModel, api_id: &str) -> Self {
        let mut resources: Vec<RouteResource> = Vec::new();
        for m in model.methods.iter().filter(|m| m.rest_api_id == api_id) {
            let Some(path) = model.resource_path(api_id, &m.resource_id) else {
                continue;
            };
            let method = Arc::new(m.clone());
            let uri = TargetUri::fixed(m).map(Arc::new);
            match resources.iter_mut().find(|r| *r.path == path) {
                Some(r) => r.methods.push((m.http_method.clone(), method, uri)),
                None => resources.push(RouteResource {
                    segments: parse_template(&path),
                    path: path.into(),
                    methods: vec![(m.http_method.clone(), method, uri)],
                }),
            }
        }
        Self { resources }
    }

    /// Finds the method for `verb` on `path` (the path below the stage, `/` for the root).
    pub fn route(&self, verb: &http::Method, path: &str) -> Option<Route> {
        let parts: Vec<String> = path
            .split('/')
            .filter(|p| !p.is_empty())
            .map(decode)
            .collect();
        let mut best: Option<(Vec<u8>, &RouteResource, BTreeMap<String, String>)> = None;
        for r in &self.resources {
            if let Some((_, score, params)) = matches(&r.segments, &parts)
                && best.as_ref().is_none_or(|(s, _, _)| score > *s)
            {
                best = Some((score, r, params));
            }
        }
        let (_, resource, path_params) = best?;
        let exact = MethodKey::Verb(verb.clone());
        let (_, method, uri) = resource
            .methods
            .iter()
            .find(|(k, _, _)| *k == exact)
            .or_else(|| {
                resource
                    .methods
                    .iter()
                    .find(|(k, _, _)| *k == MethodKey::Any)
            })?;
        Some(Route {
            method: method.clone(),
            resource_path: resource.path.clone(),
            path_params,
            uri: uri.clone(),
        })
    }
}

fn parse_template(path: &str) -> Vec<Segment> {
    path.split('/')
        .filter(|p| !p.is_empty())
        .map(
            |p| match p.strip_prefix('{').and_then(|p| p.strip_suffix('}')) {
                Some(inner) => match inner.strip_suffix('+') {
                    Some(name) => Segment::Greedy(name.to_string()),
                    None => Segment::Param(inner.to_string()),
                },
                None => Segment::Literal(p.to_string()),
            },
        )
        .collect()
}

fn decode(s: &str) -> String {
    percent_decode_str(s).decode_utf8_lossy().into_owned()
}

/// Whether the path `parts` (percent-decoded segments) match `template`: whether a greedy
/// variable took the rest, a specificity score (one entry per segment: 2 literal, 1 variable,
/// 0 greedy; longer wins on ties) and the variables; `None` when they do not. REST and HTTP
/// APIs alike (`{proxy+}` needs at least one segment).
#[allow(clippy::type_complexity)]
pub(crate) fn matches(
    template: &[Segment],
    parts: &[String],
) -> Option<(bool, Vec<u8>, BTreeMap<String, String>)> {
    let mut score = Vec::new();
    let mut params = BTreeMap::new();
    for (i, seg) in template.iter().enumerate() {
        match seg {
            Segment::Greedy(name) => {
                if parts.len() <= i {
                    return None;
                }
                params.insert(name.clone(), parts[i..].join("/"));
                score.push(0);
                return Some((true, score, params));
            }
            Segment::Literal(lit) => {
                if parts.get(i) != Some(lit) {
                    return None;
                }
                score.push(2);
            }
            Segment::Param(name) => {
                params.insert(name.clone(), parts.get(i)?.clone());
                score.push(1);
            }
        }
    }
    (template.len() == parts.len()).then_some((false, score, params))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::apigw::rest_api::{AuthorizationType, ResourceConfig, RestApiConfig};

    fn model() -> ApiGatewayModel {
        let api = RestApiConfig {
            logical_id: "Api".into(),
            id: "a1".into(),
            name: "api".into(),
            endpoint_type: crate::apigw::rest_api::EndpointType::Regional,
            policy: None,
            root_resource_id: "root".into(),
        };
        let res = |id: &str, parent: &str, part: &str| ResourceConfig {
            logical_id: id.into(),
            id: id.into(),
            rest_api_id: "a1".into(),
            parent_id: parent.into(),
            path_part: part.into(),
        };
        let method = |resource: &str, verb: &str| MethodConfig {
            logical_id: format!("{resource}{verb}"),
            rest_api_id: "a1".into(),
            resource_id: resource.into(),
            http_method: MethodKey::parse(verb).unwrap(),
            authorization: AuthorizationType::None,
            integration: None,
            authorizer_id: None,
            api_key_required: false,
            origin: crate::apigw::rest_api::MethodOrigin::Template,
        };
        ApiGatewayModel {
            rest_apis: vec![api],
            resources: vec![
                res("items", "root", "items"),
                res("item", "items", "{id}"),
                res("special", "items", "special"),
                res("proxy", "root", "{proxy+}"),
            ],
            methods: vec![
                method("root", "GET"),
                method("items", "GET"),
                method("item", "GET"),
                method("item", "DELETE"),
                method("special", "GET"),
                method("proxy", "ANY"),
            ],
            ..Default::default()
        }
    }

    #[test]
    fn most_specific_resource_wins() {
        let r = Router::new(&model(), "a1");
        let get = http::Method::GET;
        assert_eq!(r.route(&get, "/").unwrap().resource_path.as_ref(), "/");
        assert_eq!(r.route(&get, "").unwrap().resource_path.as_ref(), "/");
        assert_eq!(
            r.route(&get, "/items").unwrap().resource_path.as_ref(),
            "/items"
        );
        let item = r.route(&get, "/items/42").unwrap();
        assert_eq!(item.resource_path.as_ref(), "/items/{id}");
        assert_eq!(item.path_params["id"], "42");
        assert_eq!(
            r.route(&get, "/items/special")
                .unwrap()
                .resource_path
                .as_ref(),
            "/items/special"
        );
        let greedy = r.route(&get, "/a/b%20c/d").unwrap();
        assert_eq!(greedy.resource_path.as_ref(), "/{proxy+}");
        assert_eq!(greedy.path_params["proxy"], "a/b c/d");
        assert_eq!(
            r.route(&http::Method::POST, "/items/1/x")
                .unwrap()
                .resource_path
                .as_ref(),
            "/{proxy+}"
        );
    }

    /// Segments are percent-decoded once, before matching: a literal matches its encoded form,
    /// and variables (greedy ones too) get the decoded text, as HTTP APIs' routes do.
    #[test]
    fn segments_are_matched_decoded() {
        let r = Router::new(&model(), "a1");
        let get = http::Method::GET;
        assert_eq!(
            r.route(&get, "/items/spe%63ial")
                .unwrap()
                .resource_path
                .as_ref(),
            "/items/special"
        );
        assert_eq!(
            r.route(&get, "/items/a%20b").unwrap().path_params["id"],
            "a b"
        );
        let greedy = r.route(&get, "/x%2Fy/z").unwrap();
        assert_eq!(greedy.path_params["proxy"], "x/y/z");
    }

    #[test]
    fn resource_without_the_verb_is_no_route() {
        let r = Router::new(&model(), "a1");
        // /items/{id} is chosen first and has no POST: API Gateway does not fall back.
        assert!(r.route(&http::Method::POST, "/items/42").is_none());
        assert!(r.route(&http::Method::DELETE, "/items/42").is_some());
        assert!(r.route(&http::Method::POST, "/").is_none());
    }
}
