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

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Serialize;

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

/// A shared, append-only list of hops. Cloning gives another handle to the same trace.
#[derive(Clone, Debug)]
pub struct Trace {
    inner: Arc<Mutex<Vec<Hop>>>,
    origin: tokio::time::Instant,
    enabled: bool,
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
            inner: Arc::new(Mutex::new(Vec::new())),
            origin: tokio::time::Instant::now(),
            enabled: true,
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
        if !self.enabled {
            return;
        }
        let hop = Hop {
            at_ms: self.origin.elapsed().as_millis() as u64,
            component,
            verdict,
            message: message.into(),
        };
        tracing::debug!(component, %verdict, message = %hop.message, "hop");
        self.inner.lock().expect("trace lock").push(hop);
    }

    /// Shorthand for a [`Verdict::Pass`] hop.
    pub fn pass(&self, component: &'static str, message: impl Into<String>) {
        self.hop(component, Verdict::Pass, message);
    }

    /// Shorthand for a [`Verdict::Info`] hop.
    pub fn info(&self, component: &'static str, message: impl Into<String>) {
        self.hop(component, Verdict::Info, message);
    }

    /// A copy of the hops so far.
    pub fn hops(&self) -> Vec<Hop> {
        self.inner.lock().expect("trace lock").clone()
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
    fn redaction_hides_the_value() {
        assert_eq!(redact("dummy"), "*****");
        assert!(!redact("secret-value").contains("secret"));
    }
}
