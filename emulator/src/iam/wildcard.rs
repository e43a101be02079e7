//! Glob matching for `*` and `?`, and the policy-variable templates that feed it.
//!
//! IAM uses the same two wildcards in actions, resources, `StringLike` and the ARN operators:
//! `*` matches any run of characters (including none, and including `/` and, within one ARN
//! segment, anything but the segment boundary) and `?` matches exactly one character.
//! <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_resource.html#reference_policies_elements_resource_wildcards>,
//! <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html#Conditions_String>.
//!
//! Matching is the iterative two-pointer algorithm that backtracks only to the most recent `*`,
//! so a hostile pattern such as `*a*a*a*a*b` costs O(pattern × text) rather than the exponential
//! time a naive recursive matcher (or a backtracking regex) would take.

use std::borrow::Cow;

use super::context::{Keys, RequestContext};

/// One element of a compiled pattern.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Tok {
    /// A character that must appear as is (after case folding, if the match folds case).
    Lit(char),
    /// `*`: any run of characters, possibly empty.
    Star,
    /// `?`: exactly one character.
    One,
}

/// Whether `text` matches the token sequence `pat`; `fold` compares literals case-insensitively.
///
/// Without folding, nothing is allocated: the text is walked by byte offsets of its characters
/// (policy evaluation matches actions and resources on every request: collecting the text into
/// characters first was a tenth of an API Gateway request's instructions).
pub(super) fn glob_match(pat: &[Tok], text: &str, fold: bool) -> bool {
    if let [Tok::Star] = pat {
        // `*` alone (`"Resource": "*"`): anything, without walking the text.
        return true;
    }
    let ascii = || {
        text.is_ascii()
            && pat
                .iter()
                .all(|t| !matches!(t, Tok::Lit(c) if !c.is_ascii()))
    };
    if fold && ascii() {
        // Every action name: ASCII folding is Unicode folding there, compared on the fly.
        return glob_match_by(pat, text, |l, c| l.eq_ignore_ascii_case(&c));
    }
    if fold {
        let text: String = text.chars().flat_map(char::to_lowercase).collect();
        let folded: Vec<Tok> = pat
            .iter()
            .flat_map(|t| match t {
                Tok::Lit(c) => c.to_lowercase().map(Tok::Lit).collect::<Vec<_>>(),
                other => vec![*other],
            })
            .collect();
        return glob_match_exact(&folded, &text);
    }
    glob_match_exact(pat, text)
}

/// [`glob_match`] comparing literals as they are.
fn glob_match_exact(pat: &[Tok], text: &str) -> bool {
    glob_match_by(pat, text, |l, c| l == c)
}

/// [`glob_match`] with `same(literal, character)` deciding whether a literal matches.
fn glob_match_by(pat: &[Tok], text: &str, same: impl Fn(char, char) -> bool) -> bool {
    if text.is_ascii() {
        // One byte per character: no decoding (ARNs and action names are ASCII).
        return glob_match_ascii(pat, text.as_bytes(), |l, b| same(l, char::from(b)));
    }
    // The character at byte offset `t` of `text`, and its length.
    let at = |t: usize| {
        text.get(t..)
            .and_then(|rest| rest.chars().next())
            .map(|c| (c, c.len_utf8()))
    };
    let (mut p, mut t) = (0usize, 0usize);
    // Position of the last `*` seen and the text offset it is currently assumed to cover up to.
    let mut star: Option<(usize, usize)> = None;
    while let Some((c, len)) = at(t) {
        match pat.get(p) {
            Some(Tok::Lit(l)) if same(*l, c) => {
                p += 1;
                t += len;
            }
            Some(Tok::One) => {
                p += 1;
                t += len;
            }
            Some(Tok::Star) => {
                star = Some((p, t));
                p += 1;
            }
            _ => match star {
                // Let the last `*` swallow one more character and retry from just after it.
                Some((sp, st)) => {
                    let swallowed = at(st).map_or(1, |(_, n)| n);
                    p = sp + 1;
                    t = st + swallowed;
                    star = Some((sp, t));
                }
                None => return false,
            },
        }
    }
    pat[p..].iter().all(|t| *t == Tok::Star)
}

/// [`glob_match_by`] for an ASCII text, walked byte by byte (the same algorithm).
fn glob_match_ascii(pat: &[Tok], text: &[u8], same: impl Fn(char, u8) -> bool) -> bool {
    let (mut p, mut t) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while let Some(&c) = text.get(t) {
        match pat.get(p) {
            Some(Tok::Lit(l)) if same(*l, c) => {
                p += 1;
                t += 1;
            }
            Some(Tok::One) => {
                p += 1;
                t += 1;
            }
            Some(Tok::Star) => {
                star = Some((p, t));
                p += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    p = sp + 1;
                    t = st + 1;
                    star = Some((sp, t));
                }
                None => return false,
            },
        }
    }
    pat[p..].iter().all(|t| *t == Tok::Star)
}

/// Compiles a pattern in which `*` and `?` are wildcards and every other character is literal.
pub(super) fn compile_glob(pattern: &str) -> Vec<Tok> {
    pattern
        .chars()
        .map(|c| match c {
            '*' => Tok::Star,
            '?' => Tok::One,
            c => Tok::Lit(c),
        })
        .collect()
}

/// A piece of a policy string that may contain policy variables.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Piece {
    /// Text written in the policy; wildcards in it keep their meaning.
    Text(String),
    /// `${key}` or `${key, 'default'}`.
    Var {
        key: String,
        default: Option<String>,
    },
    /// `${*}`, `${?}` or `${$}`: the character itself, never a wildcard.
    Escaped(char),
}

/// A policy string with its policy variables parsed out.
///
/// Variables are recognised only in policies whose `Version` is `2012-10-17`; in older (or
/// absent) versions `${aws:username}` is literal text.
/// <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html>
/// ("If you don't include the Version element ... variables ... are treated as literal
/// strings"; "Special characters": `${*}`, `${?}`, `${$}`; "Specifying default values":
/// `${aws:PrincipalTag/team, 'company-wide'}`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Template {
    pieces: Vec<Piece>,
    /// The compiled glob when no piece is a variable (the usual case), made once at parse:
    /// `Resource` and `StringLike` values are matched on every request.
    fixed: Option<Vec<Tok>>,
    /// The text itself when it is one piece of text without wildcards (a resource ARN written
    /// out, most `StringEquals` values): matching it is comparing strings.
    literal: Option<String>,
}

impl Template {
    /// Parses `raw`; with `variables` false the whole string is one text piece.
    pub(super) fn parse(raw: &str, variables: bool) -> Self {
        let mut pieces = Vec::new();
        if !variables {
            pieces.push(Piece::Text(raw.to_owned()));
            return Self::with_pieces(pieces);
        }
        let mut text = String::new();
        let mut rest = raw;
        while let Some(start) = rest.find("${") {
            let after = &rest[start + 2..];
            let Some(end) = after.find('}') else { break };
            text.push_str(&rest[..start]);
            let inner = &after[..end];
            let piece = match inner {
                "*" => Piece::Escaped('*'),
                "?" => Piece::Escaped('?'),
                "$" => Piece::Escaped('$'),
                _ => parse_variable(inner),
            };
            if !text.is_empty() {
                pieces.push(Piece::Text(std::mem::take(&mut text)));
            }
            pieces.push(piece);
            rest = &after[end + 1..];
        }
        // An unterminated `${` is kept as text: AWS documents no error for it.
        text.push_str(rest);
        if !text.is_empty() {
            pieces.push(Piece::Text(text));
        }
        Self::with_pieces(pieces)
    }

    fn with_pieces(pieces: Vec<Piece>) -> Self {
        let mut me = Self {
            pieces,
            fixed: None,
            literal: None,
        };
        if !me.pieces.iter().any(|p| matches!(p, Piece::Var { .. })) {
            me.fixed = me.compile(&RequestContext::new());
        }
        if me
            .fixed
            .as_deref()
            .is_some_and(|t| t.iter().all(|t| matches!(t, Tok::Lit(_))))
        {
            me.literal = me
                .resolve_literal(&RequestContext::new())
                .map(Cow::into_owned);
        }
        me
    }

    /// The template's text when it has no variable and no wildcard: a glob of it matches
    /// exactly that text (case-sensitively), so callers may compare strings instead.
    pub(super) fn literal(&self) -> Option<&str> {
        self.literal.as_deref()
    }

    /// Substitutes variables from `ctx` and returns the plain string (wildcards not interpreted),
    /// or `None` when a variable has no value and no default: AWS then treats the value as
    /// null, which nothing equals (reference_policies_variables.html, "No value").
    pub(super) fn resolve_literal(&self, ctx: &impl Keys) -> Option<Cow<'_, str>> {
        // One piece of text (the usual value): itself, without a copy.
        if let [Piece::Text(t)] = self.pieces.as_slice() {
            return Some(Cow::Borrowed(t));
        }
        let mut out = String::new();
        for piece in &self.pieces {
            match piece {
                Piece::Text(t) => out.push_str(t),
                Piece::Escaped(c) => out.push(*c),
                Piece::Var { key, default } => out.push_str(&lookup(ctx, key, default.as_deref())?),
            }
        }
        Some(Cow::Owned(out))
    }

    /// Substitutes variables and compiles the result for glob matching: wildcards written in
    /// the policy stay wildcards, while substituted values and `${*}`/`${?}` are literal (that
    /// is what the escapes are for).
    pub(super) fn resolve_glob(&self, ctx: &impl Keys) -> Option<Cow<'_, [Tok]>> {
        match self.fixed() {
            Some(tokens) => Some(Cow::Borrowed(tokens)),
            None => self.compile(ctx).map(Cow::Owned),
        }
    }

    /// The compiled glob when the template has no policy variable (no context needed).
    pub(super) fn fixed(&self) -> Option<&[Tok]> {
        self.fixed.as_deref()
    }

    fn compile(&self, ctx: &impl Keys) -> Option<Vec<Tok>> {
        let mut out = Vec::new();
        for piece in &self.pieces {
            match piece {
                Piece::Text(t) => out.extend(compile_glob(t)),
                Piece::Escaped(c) => out.push(Tok::Lit(*c)),
                Piece::Var { key, default } => {
                    out.extend(lookup(ctx, key, default.as_deref())?.chars().map(Tok::Lit))
                }
            }
        }
        Some(out)
    }
}

fn parse_variable(inner: &str) -> Piece {
    // `${key, 'default'}`: the documented form is a comma, a space and a quoted default.
    if let Some((key, default)) = inner.split_once(',') {
        let default = default.trim();
        if default.len() >= 2 && default.starts_with('\'') && default.ends_with('\'') {
            return Piece::Var {
                key: key.trim().to_owned(),
                default: Some(default[1..default.len() - 1].to_owned()),
            };
        }
    }
    Piece::Var {
        key: inner.trim().to_owned(),
        default: None,
    }
}

fn lookup(ctx: &impl Keys, key: &str, default: Option<&str>) -> Option<String> {
    // Only single-valued keys can be variables (reference_policies_variables.html: "You can't
    // use a multivalued condition key as a variable"), so several values count as no value.
    match ctx.values(key) {
        Some([one]) => Some(one.clone()),
        _ => default.map(str::to_owned),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(p: &str, t: &str) -> bool {
        glob_match(&compile_glob(p), t, false)
    }

    /// The matcher as it was before it walked byte offsets (characters collected, both sides
    /// folded with `char::to_lowercase`): the reference the faster paths must agree with.
    fn reference(pat: &[Tok], text: &str, fold: bool) -> bool {
        let text: Vec<char> = if fold {
            text.chars().flat_map(char::to_lowercase).collect()
        } else {
            text.chars().collect()
        };
        let pat: Vec<Tok> = if fold {
            pat.iter()
                .flat_map(|t| match t {
                    Tok::Lit(c) => c.to_lowercase().map(Tok::Lit).collect::<Vec<_>>(),
                    other => vec![*other],
                })
                .collect()
        } else {
            pat.to_vec()
        };
        let (mut p, mut t) = (0usize, 0usize);
        let mut star: Option<(usize, usize)> = None;
        while t < text.len() {
            match pat.get(p) {
                Some(Tok::Lit(c)) if *c == text[t] => {
                    p += 1;
                    t += 1;
                }
                Some(Tok::One) => {
                    p += 1;
                    t += 1;
                }
                Some(Tok::Star) => {
                    star = Some((p, t));
                    p += 1;
                }
                _ => match star {
                    Some((sp, st)) => {
                        p = sp + 1;
                        t = st + 1;
                        star = Some((sp, st + 1));
                    }
                    None => return false,
                },
            }
        }
        pat[p..].iter().all(|t| *t == Tok::Star)
    }

    proptest::proptest! {
        #[test]
        fn fast_paths_agree_with_the_reference_matcher(
            pat in "[aAbB:/*?ßéİ]{0,8}",
            text in "[aAbB:/ßéİi̇]{0,10}",
            fold: bool,
        ) {
            let tokens = compile_glob(&pat);
            proptest::prop_assert_eq!(glob_match(&tokens, &text, fold), reference(&tokens, &text, fold));
        }
    }

    #[test]
    fn star_and_question_mark() {
        assert!(m("*", ""));
        assert!(m("*", "anything/at:all"));
        assert!(m("a*c", "ac"));
        assert!(m("a*c", "abbbc"));
        assert!(!m("a*c", "abbbcd"));
        assert!(m("a?c", "abc"));
        assert!(!m("a?c", "ac"));
        assert!(!m("a?c", "abbc"));
        assert!(m("??", "ab"));
        assert!(!m("??", "a"));
        assert!(m("*?", "a"));
        assert!(!m("*?", ""));
        assert!(m("a**b", "ab"));
        assert!(!m("", "a"));
        assert!(m("", ""));
    }

    #[test]
    fn case_folding_is_opt_in() {
        assert!(!m("S3:Get*", "s3:getobject"));
        assert!(glob_match(&compile_glob("S3:Get*"), "s3:getobject", true));
    }

    #[test]
    fn documented_s3_examples() {
        // reference_policies_elements_resource.html#reference_policies_elements_resource_wildcards
        let p = "DOC-EXAMPLE-BUCKET/*/test/*";
        for ok in [
            "DOC-EXAMPLE-BUCKET/1/test/object.jpg",
            "DOC-EXAMPLE-BUCKET/1/2/test/object.jpg",
            "DOC-EXAMPLE-BUCKET/1/2/test/3/object.jpg",
            "DOC-EXAMPLE-BUCKET/1/2/3/test/4/object.jpg",
            "DOC-EXAMPLE-BUCKET/1///test///object.jpg",
            "DOC-EXAMPLE-BUCKET/1/test/.jpg",
            "DOC-EXAMPLE-BUCKET//test/object.jpg",
            "DOC-EXAMPLE-BUCKET/1/test/",
        ] {
            assert!(m(p, ok), "{ok}");
        }
        for no in [
            "DOC-EXAMPLE-BUCKET/1-test/object.jpg",
            "DOC-EXAMPLE-BUCKET/test/object.jpg",
            "DOC-EXAMPLE-BUCKET/1/2/test.jpg",
        ] {
            assert!(!m(p, no), "{no}");
        }
    }

    #[test]
    fn pathological_pattern_is_fast() {
        let pattern = "*a".repeat(30) + "b";
        let text = "a".repeat(5000);
        // A backtracking matcher would not finish; this one is quadratic at worst (no timing
        // assertion: the emulator's rules forbid reading the host clock, even in tests).
        assert!(!m(&pattern, &text));
    }

    #[test]
    fn template_escapes_and_defaults() {
        let ctx = RequestContext::new().with("aws:username", "bob*");
        let t = Template::parse("home/${aws:username}/${*}${?}${$}", true);
        assert_eq!(t.resolve_literal(&ctx).as_deref(), Some("home/bob*/*?$"));
        // The substituted `*` is literal, so it does not match "bobby".
        let g = t.resolve_glob(&ctx).unwrap();
        assert!(glob_match(&g, "home/bob*/*?$", false));
        assert!(!glob_match(&g, "home/bobby/x?$", false));
        let d = Template::parse("${aws:PrincipalTag/team, 'company-wide'}", true);
        assert_eq!(d.resolve_literal(&ctx).as_deref(), Some("company-wide"));
        let missing = Template::parse("${aws:PrincipalTag/team}", true);
        assert_eq!(missing.resolve_literal(&ctx), None);
        assert_eq!(missing.literal(), None);
        assert_eq!(
            Template::parse("arn:aws:s3:::b/k", true).literal(),
            Some("arn:aws:s3:::b/k")
        );
        assert_eq!(Template::parse("arn:aws:s3:::b/*", true).literal(), None);
        assert_eq!(Template::parse("${*}", true).literal(), Some("*"));
        let old = Template::parse("${aws:username}", false);
        assert_eq!(
            old.resolve_literal(&ctx).as_deref(),
            Some("${aws:username}")
        );
        let open = Template::parse("a${b", true);
        assert_eq!(open.resolve_literal(&ctx).as_deref(), Some("a${b"));
    }
}
