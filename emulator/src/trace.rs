//! The hop-by-hop trace of one request.
//!
//! Every component a request passes through appends a [`Hop`]: which component, what it decided
//! (passed, dropped, refused, failed), and why — the security-group rule that admitted or dropped
//! a connection, the DNS answer, the certificate check, the policy statement that decided. A user
//! whose request timed out reads the trace and learns which hop swallowed it.
//!
//! A trace travels with the request: virtual connections carry it to the listener that accepts
//! them (see [`crate::vpc`]), so the ALB behind a Lattice gateway appends to the same trace as the
//! Step Functions task that opened the connection. Secrets are redacted by the component when it
//! makes the hop (see [`redact`]), never later.

use std::borrow::Cow;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Serialize;

pub mod svg;

/// What a hop did with the request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Verdict {
    /// The request went on to the next hop.
    Pass,
    /// Information about the hop (an answer, a chosen route), no decision.
    Info,
    /// The request was silently dropped (a lost SYN): the caller only sees its own timer fire.
    Drop,
    /// The request was refused (a TCP reset, an HTTP error answer).
    Refuse,
    /// The hop failed (TLS error, resolution failure, time-out).
    Fail,
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Verdict::Pass => "pass",
            Verdict::Info => "info",
            Verdict::Drop => "DROP",
            Verdict::Refuse => "REFUSE",
            Verdict::Fail => "FAIL",
        })
    }
}

/// An IP address as a hop's message writes it (`192.168.0.5`, the standard library's text): an
/// IPv4 address is written into a buffer on the stack with `itoa` and handed to the formatter
/// whole, where `Ipv4Addr`'s own `Display` formats each octet through `fmt` (most of a REST
/// request's trace formatting). IPv6 addresses keep the standard library's text.
#[derive(Clone, Copy, Debug)]
pub struct IpText {
    ip: std::net::IpAddr,
    v4: [u8; 15],
    len: u8,
}

impl IpText {
    /// The text of `ip`.
    pub fn new(ip: std::net::IpAddr) -> Self {
        let mut v4 = [0u8; 15];
        let mut len = 0;
        if let std::net::IpAddr::V4(addr) = ip {
            for (i, octet) in addr.octets().into_iter().enumerate() {
                if i > 0 {
                    v4[len] = b'.';
                    len += 1;
                }
                let mut digits = itoa::Buffer::new();
                let digits = digits.format(octet).as_bytes();
                v4[len..len + digits.len()].copy_from_slice(digits);
                len += digits.len();
            }
        }
        Self {
            ip,
            v4,
            len: len as u8,
        }
    }

    /// Appends the text to `out`.
    pub fn push_to(&self, out: &mut String) {
        match self.ip {
            std::net::IpAddr::V4(_) => out.push_str(self.v4_text()),
            std::net::IpAddr::V6(_) => {
                let _ = fmt::Write::write_fmt(out, format_args!("{}", self.ip));
            }
        }
    }

    fn v4_text(&self) -> &str {
        // Only ASCII digits and dots were written.
        std::str::from_utf8(&self.v4[..self.len as usize]).unwrap_or_default()
    }
}

impl fmt::Display for IpText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.ip {
            std::net::IpAddr::V4(_) => f.write_str(self.v4_text()),
            std::net::IpAddr::V6(_) => fmt::Display::fmt(&self.ip, f),
        }
    }
}

/// An HTTP status as a hop's message writes it (`200 OK`, the `http` crate's `Display`: the code,
/// then its canonical reason or `<unknown status code>`), written as three pieces where the
/// crate's `Display` formats through `fmt` twice.
#[derive(Clone, Copy, Debug)]
pub struct StatusText(pub http::StatusCode);

impl fmt::Display for StatusText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0.as_str())?;
        f.write_str(" ")?;
        f.write_str(self.0.canonical_reason().unwrap_or("<unknown status code>"))
    }
}

/// One step of a request's path.
#[derive(Clone, Debug, Serialize)]
pub struct Hop {
    /// Virtual time since the trace started, in milliseconds.
    pub at_ms: u64,
    /// The component that made the hop, named after the AWS noun (`sfn`, `events`, `lattice`, `sg`, `dns`, `tls`, `alb`, ...).
    pub component: &'static str,
    /// What it decided.
    pub verdict: Verdict,
    /// Why, in words: the rule, statement, answer or error.
    pub message: String,
    /// Where the hop happened, when the component names it: an address (`192.168.0.5:443`), an
    /// ENI, a listener, the resource an IAM decision was about.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    /// What decided, when the component names it: the security-group rule (or the missing
    /// one), the policy statement, the DNS answer, the certificate check.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    /// The state (Task) of the execution the hop belongs to, when it ran inside one
    /// ([`Trace::scoped`]).
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "serialize_state"
    )]
    pub state: Option<Arc<str>>,
}

fn serialize_state<S: serde::Serializer>(
    state: &Option<Arc<str>>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match state {
        Some(v) => s.serialize_str(v),
        None => s.serialize_none(),
    }
}

/// The structured parts of a hop beside its message ([`Trace::hop_with`]): kept as data so the
/// viewer (`/_vpcgate/ui`) and `explain --format svg` can draw them in their own box lines.
/// Each part is borrowed when the caller has the text already (an IAM decision's resource and
/// rule), so it is copied once, into the trace's own text.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Detail<'a> {
    /// Where the hop happened ([`Hop::address`]).
    pub address: Option<Cow<'a, str>>,
    /// What decided ([`Hop::rule`]).
    pub rule: Option<Cow<'a, str>>,
}

impl<'a> Detail<'a> {
    /// A detail naming where the hop happened.
    pub fn at(address: impl Into<Cow<'a, str>>) -> Self {
        Self {
            address: Some(address.into()),
            rule: None,
        }
    }

    /// The same detail naming what decided.
    pub fn rule(mut self, rule: impl Into<Cow<'a, str>>) -> Self {
        self.rule = Some(rule.into());
        self
    }
}

impl fmt::Display for Hop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:>8.3}s  {:<8} {:<6} {}",
            self.at_ms as f64 / 1000.0,
            self.component,
            self.verdict,
            self.message
        )
    }
}

/// How many hops a trace makes room for at its first (an API Gateway request through a VPC link
/// to an ALB makes ten, a StartSyncExecution of the seed's machines about fifteen).
const HOPS_RESERVED: usize = 16;

/// Room for the text of those hops at the first (about 2 KB for such a request, 3.5 KB for
/// such an execution): the text is not moved as it grows.
const TEXT_RESERVED: usize = 4096;

/// A trace keeps its first this many hops: an execution that loops for its whole history
/// (25,000 events) would otherwise keep tens of thousands, in each of the viewer's entries.
/// Later hops are counted, and [`Trace::hops`] ends with a hop that says how many were not kept.
pub const MAX_HOPS: usize = 5_000;

/// … and at most this much text (one hop's text past it is cut short).
pub const MAX_TEXT: usize = 1 << 20;

/// The hops of a trace as they are kept: every text of every hop back to back in one string,
/// each hop naming its parts by span. A request makes about ten hops; one growing text rather
/// than a string per message, address and rule spares most of their allocations (and frees,
/// when the viewer's oldest request is dropped). [`Trace::hops`] gives them back as [`Hop`]s.
#[derive(Debug, Default)]
struct Hops {
    list: Vec<Stored>,
    text: String,
    /// Hops not kept past [`MAX_HOPS`] or [`MAX_TEXT`].
    dropped: u64,
    /// The text reached [`MAX_TEXT`] (its cut may land a few bytes short, at a character
    /// boundary): no later hop is kept.
    full: bool,
}

/// A part of the text by its byte offsets (the text is at most [`MAX_TEXT`] long, so they fit
/// in 32 bits: a stored hop is 72 bytes rather than 112).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Span {
    start: u32,
    end: u32,
}

impl Span {
    /// No such part (a hop without an address or rule).
    const NONE: Span = Span {
        start: u32::MAX,
        end: u32::MAX,
    };

    fn new(range: std::ops::Range<usize>) -> Self {
        let at = |i: usize| u32::try_from(i).unwrap_or(u32::MAX - 1);
        Span {
            start: at(range.start),
            end: at(range.end),
        }
    }

    /// The part's text (cut short with the text, when the hop's text was).
    fn text(self, text: &str) -> Option<&str> {
        if self == Span::NONE {
            return None;
        }
        let end = (self.end as usize).min(text.len());
        let start = (self.start as usize).min(end);
        Some(&text[start..end])
    }
}

#[derive(Debug)]
struct Stored {
    at_ms: u64,
    component: &'static str,
    state: Option<Arc<str>>,
    message: Span,
    address: Span,
    rule: Span,
    verdict: Verdict,
}

impl Hops {
    /// Appends `write`'s text; its span.
    fn append(&mut self, write: impl FnOnce(&mut String)) -> Span {
        let start = self.text.len();
        write(&mut self.text);
        Span::new(start..self.text.len())
    }

    fn hop(&self, h: &Stored) -> Hop {
        let text = |s: Span| s.text(&self.text).map(str::to_owned);
        Hop {
            at_ms: h.at_ms,
            component: h.component,
            verdict: h.verdict,
            message: text(h.message).unwrap_or_default(),
            address: text(h.address),
            rule: text(h.rule),
            state: h.state.clone(),
        }
    }

    /// The closing hop that counts the hops not kept, if any were not.
    fn dropped_note(&self) -> Option<Hop> {
        (self.dropped > 0).then(|| Hop {
            at_ms: self.list.last().map_or(0, |h| h.at_ms),
            component: "trace",
            verdict: Verdict::Info,
            message: format!(
                "{} later {} not kept (a trace keeps its first {MAX_HOPS} hops and {} KiB of text)",
                self.dropped,
                if self.dropped == 1 {
                    "hop was"
                } else {
                    "hops were"
                },
                MAX_TEXT / 1024
            ),
            address: None,
            rule: None,
            state: None,
        })
    }

    /// Cuts the text back to [`MAX_TEXT`] (at a character boundary) when the last hop's
    /// text reached it, and marks it full; the hop's spans then end where the text does.
    fn clamp(&mut self) {
        if self.text.len() >= MAX_TEXT {
            let mut cut = MAX_TEXT;
            while !self.text.is_char_boundary(cut) {
                cut -= 1;
            }
            self.text.truncate(cut);
            self.full = true;
        }
    }
}

/// A hop's message as the caller gives it: text, or `format_args!` written straight into the
/// trace ([`Trace::hop_fmt`]).
enum Message<'a> {
    Text(String),
    Args(fmt::Arguments<'a>),
}

/// A shared, append-only list of hops. Cloning gives another handle to the same trace.
#[derive(Clone, Debug)]
pub struct Trace {
    inner: Arc<Mutex<Hops>>,
    origin: tokio::time::Instant,
    enabled: bool,
    /// The state whose hops this handle records ([`Trace::scoped`]).
    scope: Option<Arc<str>>,
    /// For a connection's trace ([`Trace::relay`]): the request's trace its hops go to now.
    relay: Option<Relay>,
}

/// Where a pooled connection's hops go ([`Trace::relay`]): the trace of the request the
/// connection carries now. A connection kept alive between requests (API Gateway's and
/// Lattice's connections to targets, [`crate::vpc::pool`]) is opened with the relay's trace, so
/// the listener that accepted it appends each request's hops to that request's own trace.
#[derive(Clone, Debug, Default)]
pub struct Relay(Arc<Mutex<Option<Trace>>>);

impl Relay {
    /// Sends the connection's hops to `trace` from now on.
    pub fn attach(&self, trace: &Trace) {
        *self.0.lock().expect("relay lock") = Some(trace.clone());
    }

    /// Drops the connection's hops until the next [`Relay::attach`] (an idle connection).
    pub fn detach(&self) {
        *self.0.lock().expect("relay lock") = None;
    }

    /// `f` on the trace attached now, borrowed under the relay's lock (a hop is recorded
    /// without a copy of the handle: no reference counts touched per hop).
    fn with_current<R>(&self, f: impl FnOnce(Option<&Trace>) -> R) -> R {
        f(self.0.lock().expect("relay lock").as_ref())
    }
}

impl Default for Trace {
    fn default() -> Self {
        Self::new()
    }
}

impl Trace {
    /// A new, empty trace whose clock starts now.
    pub fn new() -> Self {
        Self {
            inner: Arc::default(),
            origin: tokio::time::Instant::now(),
            enabled: true,
            scope: None,
            relay: None,
        }
    }

    /// A trace for a connection that outlives this request, and its [`Relay`]: hops appended to
    /// the returned trace go to the trace last attached to the relay (first this one), so a
    /// connection opened with it records each request's hops in that request's own trace.
    pub fn relay(&self) -> (Trace, Relay) {
        let relay = Relay::default();
        relay.attach(self);
        (
            Self {
                relay: Some(relay.clone()),
                ..Self::new()
            },
            relay,
        )
    }

    /// Another handle to the same trace whose hops are marked as made inside `state` (a Task of
    /// an execution; branches of a Parallel state record side by side and stay apart).
    pub fn scoped(&self, state: &str) -> Self {
        Self {
            scope: Some(Arc::from(state)),
            ..self.clone()
        }
    }

    /// A trace that records nothing (for hot paths where nobody will read it).
    pub fn disabled() -> Self {
        Self {
            enabled: false,
            ..Self::new()
        }
    }

    /// Appends a hop.
    pub fn hop(&self, component: &'static str, verdict: Verdict, message: impl Into<String>) {
        self.hop_with(component, verdict, Detail::default, message);
    }

    /// Appends a hop whose message is formatted straight into the trace
    /// (`trace.hop_fmt("alb", Verdict::Pass, format_args!(…))`), with no string of its own.
    pub fn hop_fmt(&self, component: &'static str, verdict: Verdict, message: fmt::Arguments<'_>) {
        self.record(component, verdict, Detail::default, Message::Args(message));
    }

    /// Appends a hop with its address and deciding rule as data ([`Detail`]); `detail` is
    /// called only when the trace records (a [`Trace::disabled`] one builds nothing).
    pub fn hop_with<'d>(
        &self,
        component: &'static str,
        verdict: Verdict,
        detail: impl FnOnce() -> Detail<'d>,
        message: impl Into<String>,
    ) {
        self.record(component, verdict, detail, Message::Text(message.into()));
    }

    /// [`Trace::hop_with`] with the message formatted straight into the trace.
    pub fn hop_with_fmt<'d>(
        &self,
        component: &'static str,
        verdict: Verdict,
        detail: impl FnOnce() -> Detail<'d>,
        message: fmt::Arguments<'_>,
    ) {
        self.record(component, verdict, detail, Message::Args(message));
    }

    fn record<'d>(
        &self,
        component: &'static str,
        verdict: Verdict,
        detail: impl FnOnce() -> Detail<'d>,
        message: Message<'_>,
    ) {
        if let Some(relay) = &self.relay {
            // The attached trace is a request's own (never a relay of this one), so its hops'
            // lock is taken under the relay's without an order to break.
            relay.with_current(|trace| {
                if let Some(trace) = trace {
                    trace.record(component, verdict, detail, message);
                }
            });
            return;
        }
        if !self.enabled {
            return;
        }
        let detail = detail();
        let at_ms = self.origin.elapsed().as_millis() as u64;
        let mut hops = self.inner.lock().expect("trace lock");
        if hops.list.len() >= MAX_HOPS || hops.full {
            hops.dropped += 1;
            return;
        }
        if hops.list.capacity() == 0 {
            // A request's trace has about a dozen hops: one allocation for them and one for
            // their text, neither moved as the trace grows.
            hops.list.reserve_exact(HOPS_RESERVED);
            hops.text.reserve(TEXT_RESERVED);
        }
        let message = hops.append(|out| match message {
            Message::Text(text) => out.push_str(&text),
            Message::Args(args) => {
                let _ = fmt::Write::write_fmt(out, args);
            }
        });
        let mut part =
            |text: Option<Cow<'_, str>>| text.map(|t| hops.append(|out| out.push_str(&t)));
        let (address, rule) = (part(detail.address), part(detail.rule));
        hops.clamp();
        tracing::debug!(component, %verdict, message = message.text(&hops.text).unwrap_or_default(), "hop");
        hops.list.push(Stored {
            at_ms,
            component,
            verdict,
            message,
            address: address.unwrap_or(Span::NONE),
            rule: rule.unwrap_or(Span::NONE),
            state: self.scope.clone(),
        });
    }

    /// Shorthand for a [`Verdict::Pass`] hop.
    pub fn pass(&self, component: &'static str, message: impl Into<String>) {
        self.hop(component, Verdict::Pass, message);
    }

    /// Shorthand for a [`Verdict::Info`] hop.
    pub fn info(&self, component: &'static str, message: impl Into<String>) {
        self.hop(component, Verdict::Info, message);
    }

    /// [`Trace::pass`] with the message formatted straight into the trace.
    pub fn pass_fmt(&self, component: &'static str, message: fmt::Arguments<'_>) {
        self.hop_fmt(component, Verdict::Pass, message);
    }

    /// [`Trace::info`] with the message formatted straight into the trace.
    pub fn info_fmt(&self, component: &'static str, message: fmt::Arguments<'_>) {
        self.hop_fmt(component, Verdict::Info, message);
    }

    /// Whether hops are recorded (a [`Trace::disabled`] trace records none: callers can skip
    /// building a [`Detail`]).
    pub fn enabled(&self) -> bool {
        match &self.relay {
            Some(relay) => relay.with_current(|t| t.is_some_and(Trace::enabled)),
            None => self.enabled,
        }
    }

    /// How many hops there are so far, and a copy of the one that dropped, refused or failed
    /// the request, if one did (without copying the rest: the viewer's feed asks every second).
    pub fn outline(&self) -> (usize, Option<Hop>) {
        let hops = self.inner.lock().expect("trace lock");
        let deciding = hops
            .list
            .iter()
            .find(|h| svg::stops(h.verdict))
            .map(|h| hops.hop(h));
        (hops.list.len() + usize::from(hops.dropped > 0), deciding)
    }

    /// A copy of the hops so far.
    pub fn hops(&self) -> Vec<Hop> {
        if let Some(relay) = &self.relay {
            return relay.with_current(|t| t.map(Trace::hops).unwrap_or_default());
        }
        let hops = self.inner.lock().expect("trace lock");
        hops.list
            .iter()
            .map(|h| hops.hop(h))
            .chain(hops.dropped_note())
            .collect()
    }

    /// Virtual time elapsed since the trace started.
    pub fn elapsed(&self) -> Duration {
        self.origin.elapsed()
    }

    /// The hops as text, one per line.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for hop in self.hops() {
            out.push_str(&hop.to_string());
            out.push('\n');
        }
        out
    }

    /// The trace as JSON for the viewer's feed (`/_vpcgate/trace/{id}`) and `explain --format
    /// json`: the hops (each with its virtual time, component, verdict, message, and address,
    /// rule and state when the hop has them), the virtual time elapsed at the last hop, and the
    /// index of the hop that dropped, refused or failed the request (`null` when none did).
    pub fn to_json(&self) -> serde_json::Value {
        let hops = self.hops();
        serde_json::json!({
            "elapsedMs": hops.iter().map(|h| h.at_ms).max().unwrap_or(0),
            "decidingHop": svg::deciding_hop(&hops),
            "hops": hops,
        })
    }

    /// The hops drawn as a path ([`svg::render`]).
    pub fn to_svg(&self, title: &str) -> String {
        svg::render(&self.hops(), title)
    }

    /// The hops as a Mermaid sequence diagram (GitHub renders it in Markdown, so a CI job can
    /// put it in its step summary): one participant per component in order of appearance, an
    /// arrow per hop from the component before it, a crossed arrow and a note for the hop that
    /// dropped, refused or failed the request, and the virtual time on every message.
    pub fn to_mermaid(&self, title: &str) -> String {
        let hops = self.hops();
        let mut out = String::from("sequenceDiagram\n");
        out.push_str(&format!("    title {}\n", mermaid_text(title)));
        let mut seen: Vec<&str> = Vec::new();
        for h in &hops {
            if !seen.contains(&h.component) {
                seen.push(h.component);
                out.push_str(&format!("    participant {}\n", h.component));
            }
        }
        let mut previous = hops.first().map(|h| h.component).unwrap_or("client");
        for h in &hops {
            let arrow = match h.verdict {
                Verdict::Drop | Verdict::Refuse | Verdict::Fail => "-x",
                Verdict::Info => "-->>",
                Verdict::Pass => "->>",
            };
            let text = mermaid_text(&format!(
                "{:.3}s {}: {}",
                h.at_ms as f64 / 1000.0,
                h.verdict,
                h.message
            ));
            out.push_str(&format!("    {previous}{arrow}{}: {text}\n", h.component));
            if matches!(h.verdict, Verdict::Drop | Verdict::Refuse | Verdict::Fail) {
                out.push_str(&format!(
                    "    Note over {}: {} here\n",
                    h.component,
                    match h.verdict {
                        Verdict::Drop => "dropped",
                        Verdict::Refuse => "refused",
                        _ => "failed",
                    }
                ));
            }
            previous = h.component;
        }
        out
    }
}

/// Text safe in a Mermaid message: one line, no `;` or `#` (Mermaid's statement and entity
/// markers), at most 200 characters.
fn mermaid_text(text: &str) -> String {
    let one_line: String = text
        .chars()
        .map(|c| match c {
            '\n' | '\r' => ' ',
            ';' => ',',
            '#' => ' ',
            c => c,
        })
        .collect();
    match one_line.char_indices().nth(200) {
        Some((i, _)) => format!("{}...", &one_line[..i]),
        None => one_line,
    }
}

/// Replaces a secret with a fixed marker, keeping only its length class, for trace messages.
pub fn redact(secret: &str) -> String {
    if secret.is_empty() {
        String::new()
    } else {
        "*****".to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ip_and_status_texts_are_the_standard_texts() {
        use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
        let ips = [
            IpAddr::V4(Ipv4Addr::new(192, 168, 0, 5)),
            IpAddr::V4(Ipv4Addr::new(0, 0, 0, 0)),
            IpAddr::V4(Ipv4Addr::new(255, 255, 255, 255)),
            IpAddr::V4(Ipv4Addr::new(10, 0, 100, 9)),
            IpAddr::V6(Ipv6Addr::LOCALHOST),
            IpAddr::V6("fd00:ec2::23".parse().unwrap()),
            IpAddr::V6("::ffff:192.168.0.1".parse().unwrap()),
        ];
        for ip in ips {
            let text = IpText::new(ip);
            assert_eq!(text.to_string(), ip.to_string());
            let mut pushed = String::from("at ");
            text.push_to(&mut pushed);
            assert_eq!(pushed, format!("at {ip}"));
        }
        for code in [200, 204, 301, 403, 404, 429, 502, 504, 599, 999] {
            let status = http::StatusCode::from_u16(code).unwrap();
            assert_eq!(StatusText(status).to_string(), status.to_string(), "{code}");
        }
    }

    /// A trace keeps its first [`MAX_HOPS`] hops, counts the rest, and says so in a closing
    /// hop: an execution that loops for its whole history cannot grow one without bound.
    #[test]
    fn a_trace_keeps_its_first_hops_and_counts_the_rest() {
        let trace = Trace::new();
        for i in 0..MAX_HOPS + 3 {
            trace.info_fmt("sfn", format_args!("hop {i}"));
        }
        let hops = trace.hops();
        assert_eq!(hops.len(), MAX_HOPS + 1);
        assert_eq!(hops[MAX_HOPS - 1].message, format!("hop {}", MAX_HOPS - 1));
        let note = hops.last().unwrap();
        assert_eq!((note.component, note.verdict), ("trace", Verdict::Info));
        assert!(
            note.message.starts_with("3 later hops were not kept"),
            "{}",
            note.message
        );
        assert_eq!(trace.outline().0, MAX_HOPS + 1);
    }

    /// … and at most [`MAX_TEXT`] of text: a hop whose text goes past it is cut short at a
    /// character boundary, and no hop after it is kept.
    #[test]
    fn a_trace_keeps_at_most_its_text_limit() {
        let trace = Trace::new();
        trace.pass("apigw", "before");
        trace.hop_with(
            "iam",
            Verdict::Refuse,
            || Detail::at("arn:aws:execute-api:r:1:a/s/GET/").rule("no statement allows"),
            "é".repeat(MAX_TEXT),
        );
        trace.pass("alb", "after");
        let hops = trace.hops();
        assert_eq!(
            hops.len(),
            3,
            "{:?}",
            hops.iter().map(|h| h.component).collect::<Vec<_>>()
        );
        assert_eq!(hops[0].message, "before");
        let cut = &hops[1];
        assert_eq!(cut.verdict, Verdict::Refuse);
        assert!(cut.message.chars().all(|c| c == 'é'));
        assert!(cut.message.len() <= MAX_TEXT && cut.message.len() > MAX_TEXT - 16);
        // The parts written after the cut are empty, not out of bounds.
        assert_eq!(cut.address.as_deref(), Some(""));
        assert!(hops[2].message.starts_with("1 later hop was not kept"));
    }

    /// A cut that lands short of [`MAX_TEXT`] (a character straddles the limit) still ends the
    /// trace: no empty hop is kept after it.
    #[test]
    fn a_cut_short_of_the_limit_still_ends_the_trace() {
        let trace = Trace::new();
        trace.pass("apigw", "odd");
        trace.hop("iam", Verdict::Refuse, "é".repeat(MAX_TEXT));
        trace.pass("alb", "after");
        let hops = trace.hops();
        assert_eq!(
            hops.iter().map(|h| h.component).collect::<Vec<_>>(),
            ["apigw", "iam", "trace"]
        );
        assert!(hops[2].message.starts_with("1 later hop was not kept"));
    }

    #[tokio::test(start_paused = true)]
    async fn hops_carry_virtual_time() {
        let trace = Trace::new();
        trace.pass("sg", "ingress allowed");
        tokio::time::sleep(Duration::from_secs(60)).await;
        trace.hop("sfn", Verdict::Fail, "timed out");
        let hops = trace.hops();
        assert_eq!(hops[0].at_ms, 0);
        assert_eq!(hops[1].at_ms, 60_000);
        assert!(trace.render().contains("60.000s"));
    }

    #[test]
    fn hops_keep_their_texts_apart() {
        let trace = Trace::new();
        trace.hop_with(
            "iam",
            Verdict::Refuse,
            || Detail::at("arn:aws:execute-api:r:1:a/s/GET/").rule("no statement allows"),
            String::from("denied"),
        );
        trace.info_fmt("alb", format_args!("GET {} matched", "/items"));
        trace.pass("sg", "ingress allowed");
        let scoped = trace.scoped("Call API");
        scoped.hop_fmt("apigw", Verdict::Fail, format_args!("{}", 504));
        let hops = trace.hops();
        let texts: Vec<_> = hops
            .iter()
            .map(|h| {
                (
                    h.component,
                    h.message.as_str(),
                    h.address.as_deref(),
                    h.rule.as_deref(),
                    h.state.as_deref(),
                )
            })
            .collect();
        assert_eq!(
            texts,
            [
                (
                    "iam",
                    "denied",
                    Some("arn:aws:execute-api:r:1:a/s/GET/"),
                    Some("no statement allows"),
                    None
                ),
                ("alb", "GET /items matched", None, None, None),
                ("sg", "ingress allowed", None, None, None),
                ("apigw", "504", None, None, Some("Call API")),
            ]
        );
        let (count, deciding) = trace.outline();
        assert_eq!(count, 4);
        assert_eq!(deciding.map(|h| h.message), Some("denied".to_owned()));
        // A disabled trace builds nothing, formatted or not.
        let off = Trace::disabled();
        off.info_fmt("alb", format_args!("{}", 1));
        assert!(off.hops().is_empty());
    }

    #[test]
    fn redaction_hides_the_value() {
        assert_eq!(redact("dummy"), "*****");
        assert!(!redact("secret-value").contains("secret"));
    }
}
