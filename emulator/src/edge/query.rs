//! AWS's query protocol on the wire (CloudFormation): a form-encoded POST
//! (`Action=CreateStack&Version=2010-05-15&…`, lists as `Name.member.N`, structures as
//! `Name.member.N.Field`) answered in XML (`<ActionResponse xmlns=…><ActionResult>…`), errors as
//! `<ErrorResponse><Error><Type>Sender</Type><Code>…</Code><Message>…</Message></Error>…`
//! (<https://smithy.io/2.0/aws/protocols/aws-query-protocol.html>).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use bytes::Bytes;
use http_body_util::Full;

use super::wire::{Body, request_id};

/// A form-encoded request body.
#[derive(Clone, Debug, Default)]
pub struct Form(BTreeMap<String, String>);

impl Form {
    /// Parses `application/x-www-form-urlencoded` text.
    pub fn parse(body: &[u8]) -> Self {
        Self(
            form_urlencoded::parse(body)
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        )
    }

    /// A field.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(String::as_str)
    }

    /// A boolean field (`true` / `false`).
    pub fn flag(&self, key: &str) -> bool {
        self.get(key)
            .is_some_and(|v| v.eq_ignore_ascii_case("true"))
    }

    /// A list of strings: `Key.member.1`, `Key.member.2`, … in order.
    pub fn list(&self, key: &str) -> Vec<String> {
        self.members(key)
            .into_iter()
            .filter_map(|m| m.get("").cloned())
            .collect()
    }

    /// A list of structures: `Key.member.N.Field` → one map per N (a plain `Key.member.N` value
    /// is under the empty field name), in order of N.
    pub fn members(&self, key: &str) -> Vec<BTreeMap<String, String>> {
        let prefix = format!("{key}.member.");
        let mut by_index: BTreeMap<u32, BTreeMap<String, String>> = BTreeMap::new();
        for (k, v) in self.0.range(prefix.clone()..) {
            let Some(rest) = k.strip_prefix(&prefix) else {
                break;
            };
            let (n, field) = rest.split_once('.').unwrap_or((rest, ""));
            if let Ok(n) = n.parse::<u32>() {
                by_index
                    .entry(n)
                    .or_default()
                    .insert(field.to_string(), v.clone());
            }
        }
        by_index.into_values().collect()
    }
}

/// Escapes text for XML content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\r' => out.push_str("&#xD;"),
            c => out.push(c),
        }
    }
    out
}

/// A small XML writer: elements with escaped text, nested elements, `member` lists.
#[derive(Debug, Default)]
pub struct Xml(String);

impl Xml {
    /// `<tag>text</tag>`.
    pub fn leaf(&mut self, tag: &str, text: impl AsRef<str>) -> &mut Self {
        let _ = write!(self.0, "<{tag}>{}</{tag}>", escape(text.as_ref()));
        self
    }

    /// `<tag>text</tag>` when there is a value.
    pub fn opt(&mut self, tag: &str, text: Option<impl AsRef<str>>) -> &mut Self {
        if let Some(t) = text {
            self.leaf(tag, t);
        }
        self
    }

    /// `<tag>…</tag>`.
    pub fn node(&mut self, tag: &str, inner: impl FnOnce(&mut Xml)) -> &mut Self {
        let _ = write!(self.0, "<{tag}>");
        inner(self);
        let _ = write!(self.0, "</{tag}>");
        self
    }

    /// `<tag><member>…</member>…</tag>`.
    pub fn list<T>(&mut self, tag: &str, items: &[T], each: impl Fn(&mut Xml, &T)) -> &mut Self {
        self.node(tag, |x| {
            for i in items {
                x.node("member", |m| each(m, i));
            }
        })
    }

    /// A list of strings.
    pub fn strings(&mut self, tag: &str, items: &[String]) -> &mut Self {
        self.list(tag, items, |x, s| {
            x.0.push_str(&escape(s));
        })
    }

    /// The text written.
    pub fn into_string(self) -> String {
        self.0
    }
}

/// The XML namespace of CloudFormation's API.
pub const CLOUDFORMATION_NS: &str = "http://cloudformation.amazonaws.com/doc/2010-05-15/";

fn respond(status: u16, body: String, id: &str) -> http::Response<Body> {
    http::Response::builder()
        .status(status)
        .header(http::header::CONTENT_TYPE, "text/xml")
        .header("x-amzn-RequestId", id)
        .body(Full::new(Bytes::from(body)))
        .expect("static response parts are valid")
}

/// `<ActionResponse xmlns=…><ActionResult>…</ActionResult><ResponseMetadata>…`.
pub fn ok(ns: &str, action: &str, result: Xml) -> http::Response<Body> {
    let id = request_id();
    let body = format!(
        "<{action}Response xmlns=\"{ns}\"><{action}Result>{}</{action}Result><ResponseMetadata><RequestId>{id}</RequestId></ResponseMetadata></{action}Response>\n",
        result.into_string()
    );
    respond(200, body, &id)
}

/// `<ActionResponse xmlns=…><ResponseMetadata>…` for actions without a result (DeleteStack).
pub fn ok_empty(ns: &str, action: &str) -> http::Response<Body> {
    let id = request_id();
    let body = format!(
        "<{action}Response xmlns=\"{ns}\"><ResponseMetadata><RequestId>{id}</RequestId></ResponseMetadata></{action}Response>\n"
    );
    respond(200, body, &id)
}

/// `<ErrorResponse xmlns=…><Error><Type>Sender</Type><Code>…` (status 4xx: `Sender`, 5xx:
/// `Receiver`).
pub fn error(ns: &str, status: u16, code: &str, message: &str) -> http::Response<Body> {
    let id = request_id();
    let kind = if status >= 500 { "Receiver" } else { "Sender" };
    let body = format!(
        "<ErrorResponse xmlns=\"{ns}\"><Error><Type>{kind}</Type><Code>{}</Code><Message>{}</Message></Error><RequestId>{id}</RequestId></ErrorResponse>\n",
        escape(code),
        escape(message)
    );
    respond(status, body, &id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_read_members_in_order() {
        let f = Form::parse(
            b"Action=CreateStack&Capabilities.member.2=CAPABILITY_NAMED_IAM&Capabilities.member.1=CAPABILITY_IAM&Parameters.member.10.ParameterKey=K10&Parameters.member.2.ParameterKey=K2&Parameters.member.2.ParameterValue=a%2Cb+c",
        );
        assert_eq!(f.get("Action"), Some("CreateStack"));
        assert_eq!(
            f.list("Capabilities"),
            ["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM"]
        );
        let p = f.members("Parameters");
        assert_eq!(p.len(), 2);
        assert_eq!(p[0]["ParameterKey"], "K2");
        assert_eq!(p[0]["ParameterValue"], "a,b c");
        assert_eq!(p[1]["ParameterKey"], "K10");
    }

    #[test]
    fn xml_escapes_text() {
        let mut x = Xml::default();
        x.leaf("M", "<a & 'b'>").strings("L", &["x\"y".into()]);
        assert_eq!(
            x.into_string(),
            "<M>&lt;a &amp; &apos;b&apos;&gt;</M><L><member>x&quot;y</member></L>"
        );
    }
}
