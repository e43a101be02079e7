//! REST APIs defined by an OpenAPI document (`AWS::ApiGateway::RestApi` `Body` or
//! `BodyS3Location`, what every SAM API becomes). Until the OpenAPI import is emulated (issue 15,
//! second half), such an API and the resources attached to it (`RestApiId` naming it: its
//! deployments, stages, resources, methods, …) load as placeholders — AWS-shaped `Ref` and
//! `Fn::GetAtt`, never an error — and are listed as not emulated.

use std::collections::BTreeSet;

use serde_json::Value;

use super::template::ResolvedResource;

/// The ids (`Ref`) of the REST APIs of `resources` defined by an OpenAPI document.
pub fn body_defined(resources: &[ResolvedResource]) -> BTreeSet<String> {
    resources
        .iter()
        .filter(|r| {
            r.ty == "AWS::ApiGateway::RestApi"
                && (r.properties.contains_key("Body")
                    || r.properties.contains_key("BodyS3Location"))
        })
        .filter_map(|r| r.physical.reference.as_str().map(str::to_string))
        .collect()
}

/// Whether `r` is such an API or attached to one.
pub fn is_placeholder(r: &ResolvedResource, apis: &BTreeSet<String>) -> bool {
    if apis.is_empty() || !r.ty.starts_with("AWS::ApiGateway::") {
        return false;
    }
    if r.ty == "AWS::ApiGateway::RestApi" {
        return r
            .physical
            .reference
            .as_str()
            .is_some_and(|id| apis.contains(id));
    }
    r.properties
        .get("RestApiId")
        .and_then(Value::as_str)
        .is_some_and(|id| apis.contains(id))
}
