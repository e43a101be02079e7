//! A trace drawn as a path (SVG): one box per hop (component and verdict, address, the rule or
//! statement that decided, the message), arrows between them, the hop that dropped, refused or
//! failed the request in red with its reason, and the virtual time laid out twice: a bar across
//! the top whose segments show where the time went (the 60 s an HTTP Task waits after a dropped
//! SYN, API Gateway's 29 s), and the time of every hop on the axis beside the boxes with each
//! wait written in the gap it opens.
//!
//! One renderer for `vpcgate explain --format svg` and the trace viewer (`/_vpcgate/ui`, whose
//! feed serves the same drawing at `/_vpcgate/trace/{id}?format=svg`). Hop text is the user's
//! (paths, names, messages echoing their input): it is escaped for XML, stripped of characters
//! XML cannot carry, and cut to bounded lengths; at most [`MAX_HOPS`] hops are drawn.

use std::fmt::Write as _;

use super::{Hop, Verdict};

/// Most hops drawn; the rest are counted in a closing line.
pub const MAX_HOPS: usize = 400;
/// Most characters of a message drawn (the whole message is in the box's tooltip, cut to
/// [`MAX_TOOLTIP`]).
const MAX_MESSAGE: usize = 420;
const MAX_TOOLTIP: usize = 2_000;
/// Most characters of the title, an address or a rule line.
const MAX_LINE: usize = 160;

/// The drawing's width in pixels (fits beside the execution list in a 1280-pixel window).
pub const WIDTH: u32 = 640;
const AXIS_X: u32 = 78;
const BOX_X: u32 = 96;
const LINE_H: u32 = 15;
/// Approximate width of one character of the 12-pixel sans-serif text, for wrapping.
const CHAR_W: f64 = 7.6;

/// Whether a verdict stopped the request (drawn red).
pub fn stops(v: Verdict) -> bool {
    matches!(v, Verdict::Drop | Verdict::Refuse | Verdict::Fail)
}

/// The index of the hop that decided the request's fate: the first that dropped, refused or
/// failed it.
pub fn deciding_hop(hops: &[Hop]) -> Option<usize> {
    hops.iter().position(|h| stops(h.verdict))
}

/// Text safe inside an XML element or attribute: `&<>"'` escaped, characters XML 1.0 cannot
/// carry (control characters other than tab and newline) dropped, cut to `max` characters.
pub fn xml_text(text: &str, max: usize) -> String {
    let mut out = String::with_capacity(text.len().min(max) + 8);
    for (n, c) in text.chars().enumerate() {
        if n == max {
            out.push('…');
            break;
        }
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\t' | '\n' | '\r' => out.push(' '),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => {}
            c => out.push(c),
        }
    }
    out
}

/// Splits `text` into lines of at most `width` characters, breaking at spaces where it can and
/// inside long words (ARNs) where it must; at most `max_lines` lines, the last one ending in `…`
/// when text was left out.
fn wrap(text: &str, width: usize, max_lines: usize) -> Vec<String> {
    let width = width.max(8);
    let mut lines: Vec<String> = Vec::new();
    let mut line = String::new();
    let mut len = 0usize;
    for word in text.split_whitespace() {
        if lines.len() > max_lines {
            break;
        }
        let wlen = word.chars().count();
        if len > 0 && len + 1 + wlen <= width {
            line.push(' ');
            line.push_str(word);
            len += 1 + wlen;
            continue;
        }
        if wlen <= width {
            if len > 0 {
                lines.push(std::mem::take(&mut line));
            }
            line.push_str(word);
            len = wlen;
            continue;
        }
        // A word longer than a line (an ARN): it goes on from where the line is, broken where
        // the line ends.
        if len > 0 {
            line.push(' ');
            len += 1;
        }
        for c in word.chars() {
            if len == width {
                lines.push(std::mem::take(&mut line));
                len = 0;
            }
            line.push(c);
            len += 1;
        }
    }
    if len > 0 {
        lines.push(line);
    }
    if lines.len() > max_lines {
        lines.truncate(max_lines);
        if let Some(last) = lines.last_mut() {
            let keep: String = last.chars().take(width.saturating_sub(1)).collect();
            *last = format!("{keep}…");
        }
    }
    lines
}

fn seconds(ms: u64) -> String {
    format!("{:.3} s", ms as f64 / 1000.0)
}

/// The colours of a verdict: (fill, stroke, label).
fn palette(v: Verdict) -> (&'static str, &'static str, &'static str) {
    match v {
        Verdict::Pass => ("#eef7ee", "#2e7d32", "pass"),
        Verdict::Info => ("#f3f5f8", "#7b8794", "info"),
        Verdict::Drop => ("#fde8e8", "#c62828", "DROPPED"),
        Verdict::Refuse => ("#fde8e8", "#c62828", "REFUSED"),
        Verdict::Fail => ("#fde8e8", "#c62828", "FAILED"),
    }
}

/// What one hop's box shows, laid out.
struct Laid<'a> {
    hop: &'a Hop,
    y: u32,
    h: u32,
    lines: Vec<(String, &'static str)>,
    /// Virtual time waited since the hop before (drawn in the gap above the box).
    waited_ms: u64,
}

/// Draws `hops` as an SVG document titled `title`.
pub fn render(hops: &[Hop], title: &str) -> String {
    let shown = &hops[..hops.len().min(MAX_HOPS)];
    let total_ms = hops.iter().map(|h| h.at_ms).max().unwrap_or(0);
    let text_chars = ((WIDTH - BOX_X - 20) as f64 / CHAR_W) as usize;
    let mut y = 112u32;
    let mut laid = Vec::with_capacity(shown.len());
    let mut previous_ms = shown.first().map_or(0, |h| h.at_ms);
    for hop in shown {
        let waited_ms = hop.at_ms.saturating_sub(previous_ms);
        previous_ms = hop.at_ms;
        if waited_ms > 0 {
            y += 30;
        }
        // The hop that stopped the request gets the room; the others stay compact (their
        // whole message is in the box's tooltip).
        let red = stops(hop.verdict);
        let mut lines = Vec::new();
        if let Some(a) = &hop.address {
            for l in wrap(&format!("at {a}"), text_chars, if red { 2 } else { 1 }) {
                lines.push((l, "addr"));
            }
        }
        if let Some(r) = &hop.rule {
            for l in wrap(
                &format!("decided by: {r}"),
                text_chars,
                if red { 3 } else { 2 },
            ) {
                lines.push((l, "rule"));
            }
        }
        let message: String = hop.message.chars().take(MAX_MESSAGE).collect();
        let max_lines = if red { 5 } else { 2 };
        for l in wrap(&message, text_chars, max_lines) {
            lines.push((l, "msg"));
        }
        let h = 24 + LINE_H * lines.len() as u32 + 6;
        laid.push(Laid {
            hop,
            y,
            h,
            lines,
            waited_ms,
        });
        y += h + 22;
    }
    let height = y + if hops.len() > shown.len() { 30 } else { 10 };
    let deciding = deciding_hop(shown);

    let mut out = String::with_capacity(1024 + 600 * shown.len());
    let _ = write!(
        out,
        r##"<svg xmlns="http://www.w3.org/2000/svg" class="vg-trace" width="{WIDTH}" height="{height}" viewBox="0 0 {WIDTH} {height}" role="img" aria-labelledby="vg-trace-title" font-family="DejaVu Sans, Verdana, sans-serif" font-size="12">
<title id="vg-trace-title">{}</title>
<defs><marker id="vg-arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#555"/></marker><marker id="vg-arrow-red" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#c62828"/></marker></defs>
<rect width="100%" height="100%" fill="#ffffff"/>
<text x="12" y="22" font-size="14" font-weight="bold">{}</text>
"##,
        xml_text(title, MAX_LINE),
        xml_text(title, ((WIDTH - 24) as f64 / 8.6) as usize),
    );
    time_bar(&mut out, shown, total_ms);
    // The axis beside the boxes.
    if let (Some(first), Some(last)) = (laid.first(), laid.last()) {
        let _ = writeln!(
            out,
            r##"<line x1="{AXIS_X}" y1="{}" x2="{AXIS_X}" y2="{}" stroke="#b0b7c0" stroke-width="2"/>"##,
            first.y,
            last.y + last.h
        );
    }
    for (i, l) in laid.iter().enumerate() {
        let hop = l.hop;
        let (fill, stroke, label) = palette(hop.verdict);
        let red = stops(hop.verdict);
        if l.waited_ms > 0 {
            // The wait: a thick stretch of the axis and its length, in the gap above the box.
            let gap_top = l.y - 52;
            let waited_after_stop = i > 0 && stops(laid[i - 1].hop.verdict);
            let colour = if waited_after_stop {
                "#c62828"
            } else {
                "#e08a00"
            };
            let _ = writeln!(
                out,
                r##"<line class="wait" x1="{AXIS_X}" y1="{gap_top}" x2="{AXIS_X}" y2="{}" stroke="{colour}" stroke-width="6"/><text x="{}" y="{}" fill="{colour}" font-weight="bold">+{} of virtual time{}</text>"##,
                l.y,
                BOX_X + 52,
                l.y - 14,
                seconds(l.waited_ms),
                if waited_after_stop {
                    ": no answer came"
                } else {
                    ""
                }
            );
        }
        if i > 0 {
            let prev = &laid[i - 1];
            let after_stop = stops(prev.hop.verdict);
            let _ = writeln!(
                out,
                r##"<line x1="{x}" y1="{}" x2="{x}" y2="{}" stroke="{}" stroke-width="1.5"{} marker-end="url(#{})"/>"##,
                prev.y + prev.h,
                l.y - 2,
                if after_stop { "#c62828" } else { "#555" },
                if after_stop {
                    r#" stroke-dasharray="5,4""#
                } else {
                    ""
                },
                if after_stop {
                    "vg-arrow-red"
                } else {
                    "vg-arrow"
                },
                x = BOX_X + 40,
            );
        }
        let deciding_class = if deciding == Some(i) { " deciding" } else { "" };
        let tooltip = xml_text(&hop.message, MAX_TOOLTIP);
        let _ = writeln!(
            out,
            r##"<g class="hop hop-{}{deciding_class}" data-component="{}" data-verdict="{}"{}>"##,
            label.to_ascii_lowercase(),
            xml_text(hop.component, 40),
            hop.verdict,
            hop.address
                .as_deref()
                .map(|a| format!(r#" data-address="{}""#, xml_text(a, MAX_LINE)))
                .unwrap_or_default(),
        );
        let _ = writeln!(out, "<title>{tooltip}</title>");
        let _ = writeln!(
            out,
            r##"<circle cx="{AXIS_X}" cy="{}" r="4" fill="{stroke}"/><text x="{}" y="{}" text-anchor="end" font-size="11" fill="#333">{}</text>"##,
            l.y + 14,
            AXIS_X - 8,
            l.y + 18,
            seconds(hop.at_ms)
        );
        let _ = writeln!(
            out,
            r##"<rect x="{BOX_X}" y="{}" width="{}" height="{}" rx="6" fill="{fill}" stroke="{stroke}" stroke-width="{}"/>"##,
            l.y,
            WIDTH - BOX_X - 10,
            l.h,
            if red { 2.5 } else { 1.2 }
        );
        let _ = writeln!(
            out,
            r##"<text x="{}" y="{}" font-weight="bold" font-size="13">{}</text><text x="{}" y="{}" font-weight="bold" fill="{stroke}">{}</text>"##,
            BOX_X + 8,
            l.y + 17,
            xml_text(hop.component, 40),
            BOX_X + 8 + 9 * hop.component.chars().count().min(40) as u32 + 12,
            l.y + 17,
            label
        );
        if let Some(state) = &hop.state {
            let _ = writeln!(
                out,
                r##"<text x="{}" y="{}" text-anchor="end" font-size="11" fill="#555">state {}</text>"##,
                WIDTH - 18,
                l.y + 17,
                xml_text(state, 60)
            );
        }
        for (j, (line, kind)) in l.lines.iter().enumerate() {
            let (colour, weight) = match *kind {
                "addr" => ("#1f4e8c", "normal"),
                "rule" => (if red { "#8e0000" } else { "#2b2b2b" }, "bold"),
                _ => (if red { "#8e0000" } else { "#333" }, "normal"),
            };
            let _ = writeln!(
                out,
                r##"<text class="{kind}" x="{}" y="{}" fill="{colour}" font-weight="{weight}">{}</text>"##,
                BOX_X + 8,
                l.y + 34 + LINE_H * j as u32,
                xml_text(line, MAX_LINE)
            );
        }
        out.push_str("</g>\n");
    }
    if hops.len() > shown.len() {
        let _ = writeln!(
            out,
            r##"<text x="{BOX_X}" y="{}" fill="#555">… {} more hops not drawn</text>"##,
            height - 12,
            hops.len() - shown.len()
        );
    }
    out.push_str("</svg>\n");
    out
}

/// The bar across the top: the whole virtual time, cut into the stretches between hops that
/// took any; each stretch is labelled with the hops it lies between.
fn time_bar(out: &mut String, hops: &[Hop], total_ms: u64) {
    let (x0, x1, y) = (AXIS_X, WIDTH - 20, 44u32);
    let span = (x1 - x0) as f64;
    let _ = writeln!(
        out,
        r##"<g class="time-axis"><text x="12" y="{}" font-size="11" fill="#333">virtual time</text><rect x="{x0}" y="{y}" width="{}" height="16" fill="#eef1f5" stroke="#b0b7c0"/>"##,
        y + 12,
        x1 - x0
    );
    if total_ms == 0 {
        let _ = writeln!(
            out,
            r##"<text x="{}" y="{}" font-size="11" fill="#333">every hop at 0.000 s: no time went anywhere</text></g>"##,
            x0 + 6,
            y + 12
        );
        return;
    }
    for pair in hops.windows(2) {
        let (a, b) = (&pair[0], &pair[1]);
        if b.at_ms <= a.at_ms {
            continue;
        }
        let left = x0 as f64 + span * a.at_ms as f64 / total_ms as f64;
        let width = (span * (b.at_ms - a.at_ms) as f64 / total_ms as f64).max(2.0);
        let colour = if stops(a.verdict) {
            "#c62828"
        } else {
            "#e08a00"
        };
        let label = format!(
            "{} after {} {}",
            seconds(b.at_ms - a.at_ms),
            a.component,
            palette(a.verdict).2
        );
        let _ = writeln!(
            out,
            r##"<rect class="spent" x="{left:.1}" y="{y}" width="{width:.1}" height="16" fill="{colour}" opacity="0.85"><title>{}</title></rect>"##,
            xml_text(&label, MAX_LINE)
        );
        if width > 90.0 {
            let _ = writeln!(
                out,
                r##"<text x="{:.1}" y="{}" font-size="11" fill="#fff" font-weight="bold">{}</text>"##,
                left + 6.0,
                y + 12,
                xml_text(&label, (width / 6.0) as usize)
            );
        }
    }
    let _ = writeln!(
        out,
        r##"<text x="{x0}" y="{}" font-size="11" fill="#333">0 s</text><text x="{x1}" y="{}" font-size="11" text-anchor="end" fill="#333">{}</text></g>"##,
        y + 30,
        y + 30,
        seconds(total_ms)
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hop(at_ms: u64, component: &'static str, verdict: Verdict, message: &str) -> Hop {
        Hop {
            at_ms,
            component,
            verdict,
            message: message.into(),
            address: None,
            rule: None,
            state: None,
        }
    }

    #[test]
    fn the_dropping_hop_is_red_with_its_rule_and_the_wait_is_on_the_axis() {
        let mut drop = hop(0, "sg", Verdict::Drop, "dropped, the SYN goes unanswered");
        drop.address = Some("192.168.0.5:443".into());
        drop.rule = Some("no ingress rule of [sg-0abc] allows tcp/443".into());
        let hops = vec![
            hop(0, "lattice", Verdict::Pass, "resource configuration"),
            drop,
            hop(60_000, "sfn", Verdict::Fail, "no response within 60 s"),
        ];
        let svg = render(&hops, "gotcha");
        assert!(svg.starts_with("<svg"), "{svg}");
        let red = svg
            .split("<g class=\"hop hop-dropped deciding\"")
            .nth(1)
            .expect("the dropping hop is marked deciding");
        let red = &red[..red.find("</g>").unwrap()];
        assert!(red.contains("sg-0abc"), "{red}");
        assert!(red.contains("#c62828"), "{red}");
        assert!(red.contains("at 192.168.0.5:443"), "{red}");
        assert!(
            svg.contains("+60.000 s of virtual time: no answer came"),
            "{svg}"
        );
        assert!(svg.contains("60.000 s after sg DROPPED"), "{svg}");
    }

    #[test]
    fn hostile_text_is_escaped_and_bounded() {
        let nasty = format!(
            "</text><script>alert(1)</script>\u{1}&{}",
            "x".repeat(50_000)
        );
        let hops: Vec<Hop> = (0..(MAX_HOPS + 5) as u64)
            .map(|i| hop(i, "sfn", Verdict::Info, &nasty))
            .collect();
        let svg = render(&hops, &nasty);
        assert!(!svg.contains("<script>"));
        assert!(!svg.contains('\u{1}'));
        assert!(svg.contains("&lt;script&gt;"));
        assert!(svg.contains("5 more hops not drawn"));
        assert!(svg.len() < 4_000_000, "{}", svg.len());
    }

    #[test]
    fn wrapping_breaks_long_words_and_bounds_lines() {
        let lines = wrap(&format!("short {}", "a".repeat(30)), 10, 3);
        assert_eq!(lines.len(), 3);
        assert!(lines.iter().all(|l| l.chars().count() <= 10), "{lines:?}");
        // The long word starts on the short word's line.
        assert_eq!(lines[0], "short aaaa");
        assert!(lines[2].ends_with('…'));
        assert_eq!(wrap("at arn:aws:x", 8, 1), vec!["at arn:…".to_string()]);
    }
}
