//! `Limit` and `NextToken` of EventBridge's List operations (ListRules, ListTargetsByRule,
//! ListEventBuses, ListApiDestinations, ListConnections, ListRuleNamesByTarget): at most `Limit`
//! items (1 to 100, the API reference's `LimitMax100`), and a `NextToken` only while more
//! remain — AWS's recorded pages (LocalStack `test_list_rule_with_limit`,
//! `test_list_event_buses_with_limit`, `test_list_target_by_rule_limit`,
//! `test_list_rule_names_by_target_with_limit`) end with a page that has none.
//!
//! A token is opaque to clients; vpcgate's names the operation and the position, so a token of
//! another operation, or one that is not vpcgate's, is refused as AWS refuses one: a
//! `ValidationException` "Parameter NextToken is not valid.".

use base64::Engine;
use serde_json::Value;

use super::error::EventBridgeError;

/// The largest `Limit` (`LimitMax100`).
pub const MAX_LIMIT: u64 = 100;
/// The longest `NextToken` (API reference: "Maximum length of 2048").
pub const MAX_TOKEN: usize = 2048;

/// One page of a listing.
#[derive(Debug)]
pub struct Page<T> {
    /// The items on it.
    pub items: Vec<T>,
    /// Where the next page starts, while items remain.
    pub next_token: Option<String>,
}

fn token_for(op: &str, offset: usize) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("vpcgate/{op}/{offset}"))
}

fn offset_of(op: &str, token: &str) -> Option<usize> {
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token)
        .ok()?;
    let text = String::from_utf8(bytes).ok()?;
    let rest = text.strip_prefix("vpcgate/")?.strip_prefix(op)?;
    rest.strip_prefix('/')?.parse().ok()
}

/// The page of `items` that `input`'s `Limit` and `NextToken` ask for (without a `Limit`, all
/// the rest: AWS's own page size is unpublished, and a listing is bounded by the service's
/// quotas).
pub fn page<T>(op: &str, items: Vec<T>, input: &Value) -> Result<Page<T>, EventBridgeError> {
    let limit = match input.get("Limit") {
        None | Some(Value::Null) => None,
        Some(v) => {
            let n = v.as_i64().ok_or_else(|| {
                EventBridgeError::validation(format!(
                    "1 validation error detected: Value '{v}' at 'limit' failed to satisfy constraint: Member must be an integer"
                ))
            })?;
            if n < 1 {
                return Err(EventBridgeError::validation(format!(
                    "1 validation error detected: Value '{n}' at 'limit' failed to satisfy constraint: Member must have value greater than or equal to 1"
                )));
            }
            if n as u64 > MAX_LIMIT {
                return Err(EventBridgeError::validation(format!(
                    "1 validation error detected: Value '{n}' at 'limit' failed to satisfy constraint: Member must have value less than or equal to {MAX_LIMIT}"
                )));
            }
            Some(n as usize)
        }
    };
    let start = match input.get("NextToken") {
        None | Some(Value::Null) => 0,
        Some(Value::String(t)) if t.is_empty() => {
            return Err(EventBridgeError::validation(
                "1 validation error detected: Value '' at 'nextToken' failed to satisfy constraint: Member must have length greater than or equal to 1",
            ));
        }
        Some(Value::String(t)) if t.len() > MAX_TOKEN => {
            return Err(EventBridgeError::validation(format!(
                "1 validation error detected: Value at 'nextToken' failed to satisfy constraint: Member must have length less than or equal to {MAX_TOKEN}"
            )));
        }
        Some(Value::String(t)) => offset_of(op, t).ok_or(EventBridgeError::InvalidNextToken)?,
        Some(_) => return Err(EventBridgeError::InvalidNextToken),
    };
    let total = items.len();
    let start = start.min(total);
    let end = limit.map_or(total, |l| start.saturating_add(l).min(total));
    let items: Vec<T> = items.into_iter().skip(start).take(end - start).collect();
    Ok(Page {
        items,
        next_token: (end < total).then(|| token_for(op, end)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// test_list_rule_names_by_target_with_limit: five items, Limit 2: 2 + token, 2 + token, 1.
    #[test]
    fn pages_of_limit_items_with_a_token_while_more_remain() {
        let items: Vec<u32> = (0..5).collect();
        let p1 = page("ListRules", items.clone(), &json!({"Limit": 2})).unwrap();
        assert_eq!(p1.items, [0, 1]);
        let t1 = p1.next_token.unwrap();
        let p2 = page(
            "ListRules",
            items.clone(),
            &json!({"Limit": 2, "NextToken": t1}),
        )
        .unwrap();
        assert_eq!(p2.items, [2, 3]);
        let t2 = p2.next_token.unwrap();
        let p3 = page(
            "ListRules",
            items.clone(),
            &json!({"Limit": 2, "NextToken": t2}),
        )
        .unwrap();
        assert_eq!((p3.items, p3.next_token), (vec![4], None));
        // test_list_target_by_rule_limit: without a Limit, the rest.
        let t = page("ListRules", items.clone(), &json!({"Limit": 3}))
            .unwrap()
            .next_token
            .unwrap();
        let rest = page("ListRules", items.clone(), &json!({"NextToken": t})).unwrap();
        assert_eq!((rest.items, rest.next_token), (vec![3, 4], None));
        // An exact fit has no token.
        let all = page("ListRules", items, &json!({"Limit": 5})).unwrap();
        assert_eq!(all.next_token, None);
    }

    #[test]
    fn foreign_tokens_and_limits_out_of_range_are_refused() {
        let items: Vec<u32> = (0..5).collect();
        let other = page("ListEventBuses", items.clone(), &json!({"Limit": 1}))
            .unwrap()
            .next_token
            .unwrap();
        for token in [json!(other), json!("garbage"), json!(7)] {
            let e = page("ListRules", items.clone(), &json!({"NextToken": token})).unwrap_err();
            assert_eq!(e, EventBridgeError::InvalidNextToken);
            assert_eq!(
                (e.wire().code, e.wire().message.as_str()),
                ("ValidationException", "Parameter NextToken is not valid.")
            );
        }
        for (limit, says) in [
            (0, "greater than or equal to 1"),
            (101, "less than or equal to 100"),
        ] {
            let e = page("ListRules", items.clone(), &json!({"Limit": limit})).unwrap_err();
            assert!(e.to_string().contains(says), "{e}");
            assert!(e.to_string().contains("at 'limit'"), "{e}");
        }
        let e = page("ListRules", items, &json!({"NextToken": ""})).unwrap_err();
        assert!(e.to_string().contains("at 'nextToken'"), "{e}");
    }
}
