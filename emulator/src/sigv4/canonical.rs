//! The parts of SigV4 that signer and verifier share: canonical request, string to sign, signing
//! key and signature.
//!
//! Everything here follows the IAM user guide, "Create a signed AWS API request"
//! (<https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html>),
//! for services other than S3, and is checked against AWS's own test suite
//! (`fixtures/aws-signing-test-suite/v4`) and against the `aws-sigv4` crate.
//!
//! The canonical request is kept as bytes: header values on the wire may be any octets, and
//! turning them into text lossily would let two different requests canonicalise alike.

use std::borrow::Cow;
use std::time::{Duration, SystemTime};

use chrono::{DateTime, NaiveDate, Utc};
use hmac::{Hmac, Mac};
use http::HeaderMap;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode, percent_encode};
use sha2::{Digest, Sha256};

/// The only algorithm SigV4 defines.
pub(super) const ALGORITHM: &str = "AWS4-HMAC-SHA256";
/// Last element of every credential scope.
pub(super) const TERMINATOR: &str = "aws4_request";
/// Payload hash a signer may announce instead of hashing the body.
pub(super) const UNSIGNED_PAYLOAD: &str = "UNSIGNED-PAYLOAD";

/// RFC 3986 unreserved characters are the only ones SigV4 leaves unencoded.
const UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');
/// Same, keeping `/` so that path segments stay apart.
const UNRESERVED_AND_SLASH: &AsciiSet = &UNRESERVED.remove(b'/');

type HmacSha256 = Hmac<Sha256>;

/// Lower-case hex SHA-256, the digest format used throughout SigV4.
#[cfg(test)]
pub(super) fn sha256_hex(data: &[u8]) -> String {
    hex32(&Sha256::digest(data).into())
}

/// Lower-case hex of a 32-byte digest, through a table: `hex::encode` goes a `char` at a time
/// through an iterator, which was an eighth of a verification in the `sigv4` bench's profile.
#[cfg(test)]
pub(super) fn hex32(bytes: &[u8; 32]) -> String {
    Hex64::of(bytes).as_str().to_owned()
}

/// The 64 lower-case hex digits of a 32-byte digest, kept on the stack: a verification compares
/// and concatenates its three digests (payload, canonical request, signature) without a
/// string of its own for each.
#[derive(Clone, Copy)]
pub(super) struct Hex64([u8; 64]);

impl Hex64 {
    /// The digits of `bytes`, through a table.
    pub(super) fn of(bytes: &[u8; 32]) -> Self {
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        let mut out = [0u8; 64];
        for (i, b) in bytes.iter().enumerate() {
            out[2 * i] = DIGITS[usize::from(b >> 4)];
            out[2 * i + 1] = DIGITS[usize::from(b & 0x0f)];
        }
        Self(out)
    }

    /// Lower-case hex SHA-256 of `data`.
    pub(super) fn sha256(data: &[u8]) -> Self {
        Self::of(&Sha256::digest(data).into())
    }

    /// The digits as text (only ASCII hex digits are ever written, so this never falls back).
    pub(super) fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).unwrap_or_default()
    }
}

fn hmac(key: &[u8], data: &[u8]) -> [u8; 32] {
    // HMAC-SHA256 accepts keys of any length, so this cannot fail.
    let mut mac = HmacSha256::new_from_slice(key).expect("HMAC takes keys of any length");
    mac.update(data);
    mac.finalize().into_bytes().into()
}

/// The derived key: `HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service), "aws4_request")`.
///
/// It changes once a day per secret, Region and service, so it is kept, as AWS's SDKs keep it:
/// four HMACs per request were the largest part of verifying one (scripts/bench.sh's profile).
/// Each thread keeps [`KEY_MEMO`] keys, direct-mapped by a hash of their four parts (a new key
/// takes its slot's place), so a lookup takes no lock and, once the slots have grown to the
/// usual ids, allocates nothing. A signer and the verifier of the same request run on the same
/// thread (Step Functions' signed call to API Gateway is served in its task). The memo's id is
/// the four parts, each prefixed by its length, so no two different tuples give the same id.
pub(super) fn signing_key(secret: &str, date: &str, region: &str, service: &str) -> [u8; 32] {
    use std::cell::RefCell;
    struct Memo {
        id: String,
        slots: Vec<(String, [u8; 32])>,
    }
    thread_local! {
        static MEMO: RefCell<Memo> = const {
            RefCell::new(Memo {
                id: String::new(),
                slots: Vec::new(),
            })
        };
    }
    // FxHash's mixing over 8-byte words; the slot is the top byte (only keys of the store's
    // own keys reach here: a verifier looks the key up first).
    let slot_of = |id: &str| {
        let mut h = 0u64;
        for chunk in id.as_bytes().chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            h = (h.rotate_left(5) ^ u64::from_le_bytes(word)).wrapping_mul(0x517c_c1b7_2722_0a95);
        }
        (h >> 56) as usize % KEY_MEMO
    };
    MEMO.with(|cell| {
        let Ok(mut memo) = cell.try_borrow_mut() else {
            return derive_signing_key(secret, date, region, service);
        };
        let Memo { id, slots } = &mut *memo;
        id.clear();
        for part in [secret, date, region, service] {
            // Length-prefixed, so that no two different tuples give the same id.
            id.push_str(itoa::Buffer::new().format(part.len()));
            id.push(':');
            id.push_str(part);
        }
        if slots.is_empty() {
            slots.resize_with(KEY_MEMO, || (String::new(), [0; 32]));
        }
        let slot = &mut slots[slot_of(id)];
        if !slot.0.is_empty() && slot.0 == *id {
            return slot.1;
        }
        let key = derive_signing_key(secret, date, region, service);
        slot.0.clear();
        slot.0.push_str(id);
        slot.1 = key;
        key
    })
}

/// How many derived keys [`signing_key`] keeps per thread.
const KEY_MEMO: usize = 256;

fn derive_signing_key(secret: &str, date: &str, region: &str, service: &str) -> [u8; 32] {
    // "AWS4" + secret, on the stack for any usual secret (40 characters).
    let mut buf = [0u8; 132];
    let k_secret: std::borrow::Cow<'_, [u8]> = match buf.get_mut(..4 + secret.len()) {
        Some(dst) => {
            dst[..4].copy_from_slice(b"AWS4");
            dst[4..].copy_from_slice(secret.as_bytes());
            std::borrow::Cow::Borrowed(dst)
        }
        None => std::borrow::Cow::Owned([b"AWS4", secret.as_bytes()].concat()),
    };
    let k_date = hmac(&k_secret, date.as_bytes());
    let k_region = hmac(&k_date, region.as_bytes());
    let k_service = hmac(&k_region, service.as_bytes());
    hmac(&k_service, TERMINATOR.as_bytes())
}

/// Hex HMAC of the string to sign under the derived key.
#[cfg(test)]
pub(super) fn signature(key: &[u8; 32], string_to_sign: &str) -> String {
    signature_hex(key, string_to_sign).as_str().to_owned()
}

/// The signature of the string to sign given as its pieces, fed to the HMAC one by one (no
/// string of its own).
pub(super) fn signature_of(key: &[u8; 32], string_to_sign: &[&str]) -> Hex64 {
    let mut mac = HmacSha256::new_from_slice(key).expect("HMAC takes keys of any length");
    for piece in string_to_sign {
        mac.update(piece.as_bytes());
    }
    Hex64::of(&mac.finalize().into_bytes().into())
}

/// One signature the signer made: its inputs and the result.
struct Signed {
    key: [u8; 32],
    amz_date: String,
    scope: String,
    canonical_request: Vec<u8>,
    signature: Hex64,
    /// Not recalled yet (a signature is recalled once: by the verifier of the request signed).
    live: bool,
    /// When it was kept (a count of the thread's signatures): the oldest goes first.
    stamp: u64,
}

/// How many of its last signatures each thread keeps ([`remember_signature`]).
const SIGNED_MEMO: usize = 4;
/// Longest canonical request kept (a usual one is under 1 KiB).
const SIGNED_MEMO_MAX: usize = 4096;

thread_local! {
    /// The signatures this thread's signer made last, oldest replaced first.
    static SIGNED: std::cell::RefCell<(u64, Vec<Signed>)> =
        const { std::cell::RefCell::new((0, Vec::new())) };
}

/// Keeps a signature the signer just made, for [`recall_signature`]. A signature is a pure
/// function of the signing key, the request time, the scope and the canonical request; the
/// verifier of a request signed in process (Step Functions' `apigateway:invoke` call to API
/// Gateway, verified in the same task, on the thread that signed it) builds the same canonical
/// request from what arrived, and with it and the same key, time and scope it gets the same
/// signature from here instead of hashing the canonical request and running the HMAC again
/// (about 12 SHA-256 blocks of a Pattern B execution). Only the signer adds entries, and an
/// entry is recalled once: a request replayed (a load generator's, a bench's) is hashed again
/// as any other from its second verification on.
pub(super) fn remember_signature(
    key: &[u8; 32],
    amz_date: &str,
    scope: &str,
    canonical_request: &[u8],
    signature: Hex64,
) {
    if canonical_request.len() > SIGNED_MEMO_MAX {
        return;
    }
    SIGNED.with(|cell| {
        let Ok(mut memo) = cell.try_borrow_mut() else {
            return;
        };
        let (count, slots) = &mut *memo;
        *count += 1;
        let stamp = *count;
        if slots.len() < SIGNED_MEMO {
            slots.push(Signed {
                key: *key,
                amz_date: amz_date.to_owned(),
                scope: scope.to_owned(),
                canonical_request: canonical_request.to_vec(),
                signature,
                live: true,
                stamp,
            });
            return;
        }
        // A recalled slot, else the oldest; its strings and buffer are reused (no allocation
        // once they have grown).
        let Some(slot) = slots.iter_mut().min_by_key(|s| (s.live, s.stamp)) else {
            return;
        };
        slot.live = true;
        slot.stamp = stamp;
        slot.key = *key;
        slot.amz_date.clear();
        slot.amz_date.push_str(amz_date);
        slot.scope.clear();
        slot.scope.push_str(scope);
        slot.canonical_request.clear();
        slot.canonical_request.extend_from_slice(canonical_request);
        slot.signature = signature;
    })
}

/// The signature this thread's signer made for exactly these inputs, if it is among the last
/// [`SIGNED_MEMO`] and not recalled yet ([`remember_signature`]); recalled once.
pub(super) fn recall_signature(
    key: &[u8; 32],
    amz_date: &str,
    scope: &str,
    canonical_request: &[u8],
) -> Option<Hex64> {
    SIGNED.with(|cell| {
        let mut memo = cell.try_borrow_mut().ok()?;
        let slot = memo.1.iter_mut().find(|s| {
            s.live
                && s.key == *key
                && s.amz_date == amz_date
                && s.scope == scope
                && s.canonical_request == canonical_request
        })?;
        slot.live = false;
        Some(slot.signature)
    })
}

/// Runs `f` with this thread's scratch buffer, emptied: canonical requests are written there
/// rather than into a new vector each time. A buffer grown past 16 KiB (huge headers) is not
/// kept.
pub(super) fn with_scratch<R>(f: impl FnOnce(&mut Vec<u8>) -> R) -> R {
    use std::cell::RefCell;
    thread_local! {
        static SCRATCH: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
    }
    SCRATCH.with(|cell| match cell.try_borrow_mut() {
        Ok(mut buf) => {
            buf.clear();
            let out = f(&mut buf);
            if buf.capacity() > 16 * 1024 {
                *buf = Vec::new();
            }
            out
        }
        // Only if `f` itself asked for the buffer again.
        Err(_) => f(&mut Vec::new()),
    })
}

/// [`signature`] on the stack (a verifier only compares it).
#[cfg(test)]
pub(super) fn signature_hex(key: &[u8; 32], string_to_sign: &str) -> Hex64 {
    Hex64::of(&hmac(key, string_to_sign.as_bytes()))
}

/// `AWS4-HMAC-SHA256\n<amz-date>\n<scope>\n<hex sha256 of canonical request>`.
pub(super) fn string_to_sign(amz_date: &str, scope: &str, canonical_request: &[u8]) -> String {
    let digest = Hex64::sha256(canonical_request);
    concat(&string_to_sign_parts(amz_date, scope, digest.as_str()))
}

/// The string to sign's parts, for [`signature_of`] (which hashes them without joining them):
/// the algorithm, the request time, the scope and the canonical request's digest, one per line.
pub(super) fn string_to_sign_parts<'a>(
    amz_date: &'a str,
    scope: &'a str,
    digest: &'a str,
) -> [&'a str; 7] {
    [ALGORITHM, "\n", amz_date, "\n", scope, "\n", digest]
}

/// The parts one after the other, in one allocation (`format!` goes through `fmt::Write`).
fn concat(parts: &[&str]) -> String {
    let mut out = String::with_capacity(parts.iter().map(|p| p.len()).sum());
    for part in parts {
        out.push_str(part);
    }
    out
}

/// `<yyyymmdd>/<region>/<service>/aws4_request`.
pub(super) fn credential_scope(date: &str, region: &str, service: &str) -> String {
    concat(&[date, "/", region, "/", service, "/", TERMINATOR])
}

/// `20150830T123600Z` for a time, dropping sub-second precision as every SigV4 timestamp does.
/// Written digit by digit (chrono's `format` parses its pattern at every call).
pub(super) fn format_amz_date(time: SystemTime) -> String {
    use chrono::{Datelike, Timelike};
    let t = DateTime::<Utc>::from(time);
    let year = t.year();
    if !(0..=9999).contains(&year) {
        // Outside four digits: chrono's own rendering (never on a real clock).
        return t.format("%Y%m%dT%H%M%SZ").to_string();
    }
    let mut out = String::with_capacity(16);
    let mut two = |n: u32| {
        out.push(char::from(b'0' + (n / 10 % 10) as u8));
        out.push(char::from(b'0' + (n % 10) as u8));
    };
    let year = year.unsigned_abs();
    two(year / 100);
    two(year % 100);
    two(t.month());
    two(t.day());
    out.push('T');
    let mut two = |n: u32| {
        out.push(char::from(b'0' + (n / 10 % 10) as u8));
        out.push(char::from(b'0' + (n % 10) as u8));
    };
    two(t.hour());
    two(t.minute());
    two(t.second());
    out.push('Z');
    out
}

/// Parses the ISO 8601 basic format SigV4 uses (`20150830T123600Z`) and nothing else: AWS
/// rejects any other shape with "Date must be in ISO-8601 'basic format'".
pub(super) fn parse_amz_date(value: &str) -> Option<SystemTime> {
    let b = value.as_bytes();
    let digits = |r: std::ops::Range<usize>| -> Option<u32> {
        let s = value.get(r)?;
        if s.bytes().all(|c| c.is_ascii_digit()) {
            s.parse().ok()
        } else {
            None
        }
    };
    if b.len() != 16 || b[8] != b'T' || b[15] != b'Z' {
        return None;
    }
    let year = i32::try_from(digits(0..4)?).ok()?;
    let date = NaiveDate::from_ymd_opt(year, digits(4..6)?, digits(6..8)?)?;
    let naive = date.and_hms_opt(digits(9..11)?, digits(11..13)?, digits(13..15)?)?;
    let secs = u64::try_from(naive.and_utc().timestamp()).ok()?;
    Some(SystemTime::UNIX_EPOCH + Duration::from_secs(secs))
}

/// Parses an RFC 1123 `Date` header, which AWS accepts when `X-Amz-Date` is absent.
pub(super) fn parse_http_date(value: &str) -> Option<SystemTime> {
    let parsed = DateTime::parse_from_rfc2822(value).ok()?;
    let secs = u64::try_from(parsed.timestamp()).ok()?;
    Some(SystemTime::UNIX_EPOCH + Duration::from_secs(secs))
}

/// An RFC 7231 IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`), the `Date` header API Gateway,
/// ALBs and Lattice send. The text changes once a second, so each thread keeps the last one it
/// wrote (chrono's `format` parsed its pattern at every response: about 1 % of a REST request's
/// time on the world thread).
pub fn format_http_date(time: SystemTime) -> String {
    use std::cell::RefCell;
    thread_local! {
        static LAST: RefCell<Option<(u64, String)>> = const { RefCell::new(None) };
    }
    let Ok(since) = time.duration_since(SystemTime::UNIX_EPOCH) else {
        return DateTime::<Utc>::from(time)
            .format("%a, %d %b %Y %H:%M:%S GMT")
            .to_string();
    };
    let secs = since.as_secs();
    LAST.with_borrow_mut(|last| {
        if let Some((at, text)) = last.as_ref()
            && *at == secs
        {
            return text.clone();
        }
        // httpdate covers the years 1970 to 9999; chrono writes the rest the same way.
        let text = if secs < 253_402_300_800 {
            httpdate::fmt_http_date(SystemTime::UNIX_EPOCH + Duration::from_secs(secs))
        } else {
            DateTime::<Utc>::from(time)
                .format("%a, %d %b %Y %H:%M:%S GMT")
                .to_string()
        };
        *last = Some((secs, text.clone()));
        text
    })
}

/// Splits a request target (`/path?query`) into path and optional query.
pub(super) fn split_target(target: &str) -> (&str, Option<&str>) {
    match target.split_once('?') {
        Some((path, query)) => (path, Some(query)),
        None => (target, None),
    }
}

/// Removes `.` and empty segments and resolves `..`, keeping a trailing slash, as RFC 3986
/// §5.2.4 and the non-S3 SigV4 rules ask (`//example//` becomes `/example/`). Works on the path
/// as sent, so an encoded dot (`%2E`) is a name, not a dot segment.
pub(super) fn normalize_path(path: &str) -> String {
    let mut kept: Vec<&str> = Vec::new();
    for segment in path.split('/') {
        match segment {
            "" | "." => {}
            ".." => {
                kept.pop();
            }
            name => kept.push(name),
        }
    }
    let mut out = String::with_capacity(path.len() + 1);
    for segment in &kept {
        out.push('/');
        out.push_str(segment);
    }
    let trailing = ["/", "/.", "/..", "/./", "/../"]
        .iter()
        .any(|end| path.ends_with(end));
    if out.is_empty() || trailing {
        out.push('/');
    }
    out
}

/// The canonical URI: the path as sent (already percent-encoded once by the client), normalised
/// unless `normalize` is off, then URI-encoded again. That second pass is the "encode each path
/// segment twice" rule for every service but S3 (`%20` in the URL becomes `%2520`).
pub(super) fn canonical_uri(path: &str, normalize: bool) -> Cow<'_, str> {
    let path = if path.is_empty() { "/" } else { path };
    let normalized = if normalize && !is_normal_path(path) {
        Cow::Owned(normalize_path(path))
    } else {
        Cow::Borrowed(path)
    };
    // Most paths need no encoding: the path itself, without a copy.
    match percent_encode(normalized.as_bytes(), UNRESERVED_AND_SLASH).into() {
        Cow::Borrowed(_) => normalized,
        Cow::Owned(encoded) => Cow::Owned(encoded),
    }
}

/// Whether [`normalize_path`] would give `path` back unchanged: it starts with `/` and has no
/// empty, `.` or `..` segment (a trailing `/` is kept by normalisation and allowed here).
fn is_normal_path(path: &str) -> bool {
    let Some(rest) = path.strip_prefix('/') else {
        return false;
    };
    if rest.is_empty() {
        return true;
    }
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    rest.split('/').all(|s| !matches!(s, "" | "." | ".."))
}

/// URI-encodes everything but the unreserved set, as SigV4 wants for query names and values.
pub(super) fn encode_component(bytes: &[u8]) -> String {
    percent_encode(bytes, UNRESERVED).to_string()
}

/// Decodes one query component the way a form decoder does: `+` is a space, `%XY` a byte, and a
/// stray `%` stays a literal `%` (re-encoded as `%25`). This matches the `aws-sigv4` crate.
fn decode_component(raw: &str) -> Vec<u8> {
    let plus_as_space: Vec<u8> = raw
        .bytes()
        .map(|b| if b == b'+' { b' ' } else { b })
        .collect();
    percent_decode(&plus_as_space).collect()
}

/// Parses a raw query string into decoded `(name, value)` pairs, skipping empty pieces.
pub(super) fn parse_query(query: &str) -> Vec<(Vec<u8>, Vec<u8>)> {
    query
        .split('&')
        .filter(|piece| !piece.is_empty())
        .map(|piece| {
            let (name, value) = piece.split_once('=').unwrap_or((piece, ""));
            (decode_component(name), decode_component(value))
        })
        .collect()
}

/// The canonical query string: each name and value URI-encoded, pairs sorted by encoded name
/// then value (byte order, i.e. by code point), joined with `&`.
pub(super) fn canonical_query<'a, I>(pairs: I) -> String
where
    I: IntoIterator<Item = (&'a [u8], &'a [u8])>,
{
    let mut encoded: Vec<(String, String)> = pairs
        .into_iter()
        .map(|(name, value)| (encode_component(name), encode_component(value)))
        .collect();
    encoded.sort();
    let mut out = String::new();
    for (i, (name, value)) in encoded.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        out.push_str(name);
        out.push('=');
        out.push_str(value);
    }
    out
}

/// Trims leading and trailing spaces and collapses runs of spaces into one, per the SigV4 rules
/// (only the space character, as AWS and `aws-sigv4` do; tabs are kept).
#[cfg(test)]
pub(super) fn trim_header_value(value: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    push_trimmed(&mut out, value);
    out
}

/// [`trim_header_value`] appended to `out`.
pub(super) fn push_trimmed(out: &mut Vec<u8>, value: &[u8]) {
    let start = value.iter().position(|&b| b != b' ').unwrap_or(value.len());
    let end = value
        .iter()
        .rposition(|&b| b != b' ')
        .map_or(start, |i| i + 1);
    out.reserve(end - start);
    // Runs between spaces copied whole, each run of spaces as one (a value has few spaces: a
    // session token none).
    let mut rest = &value[start..end];
    while let Some(i) = rest.iter().position(|&b| b == b' ') {
        out.extend_from_slice(&rest[..=i]);
        let spaces = rest[i..].iter().take_while(|&&b| b == b' ').count();
        rest = &rest[i + spaces..];
    }
    out.extend_from_slice(rest);
}

/// The canonical value of one header appended to `out`: every occurrence trimmed, joined with
/// `,` in the order received; `false` (nothing appended) when the request carries no such
/// header.
pub(super) fn push_canonical_header_value(
    out: &mut Vec<u8>,
    headers: &HeaderMap,
    name: &str,
) -> bool {
    let mut present = false;
    for (i, value) in headers.get_all(name).iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        push_trimmed(out, value.as_bytes());
        present = true;
    }
    present
}

/// Standard base64 with padding. AWS uses it for the SHA-256 digest of a malformed
/// `Authorization` header that it quotes back; the crate has no base64 dependency for 20 lines.
pub(super) fn base64(data: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |acc, (i, &b)| acc | (u32::from(b) << (16 - 8 * i)));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_like_rfc3986_and_keeps_trailing_slash() {
        assert_eq!(normalize_path("//example//"), "/example/");
        assert_eq!(normalize_path("/example1/example2/../.."), "/");
        assert_eq!(normalize_path("/./"), "/");
        assert_eq!(normalize_path("/./example"), "/example");
        assert_eq!(normalize_path("/a/b/."), "/a/b/");
        assert_eq!(normalize_path("/../x"), "/x");
        assert_eq!(normalize_path("/%2E%2E/x"), "/%2E%2E/x");
    }

    #[test]
    fn paths_taken_as_already_normal_are_the_ones_normalisation_keeps() {
        for path in [
            "/", "//", "/a", "/a/", "/a//", "//a", "/a/b", "/a/b/", "/.", "/..", "/./", "/../",
            "/a/.", "/a/..", "/a/./b", "/a/../b", "/.a", "/a.", "/..a/", "/%2E/", "a", "a/",
            "/a/b//", "///",
        ] {
            assert_eq!(
                is_normal_path(path),
                normalize_path(path) == path,
                "{path:?}"
            );
            assert_eq!(
                canonical_uri(path, true),
                canonical_uri(&normalize_path(path), false)
            );
        }
    }

    #[test]
    fn canonical_uri_encodes_the_sent_path_again() {
        assert_eq!(canonical_uri("/example space/", true), "/example%20space/");
        assert_eq!(canonical_uri("/a%20b", true), "/a%2520b");
        assert_eq!(canonical_uri("", true), "/");
        assert_eq!(canonical_uri("/ሴ", true), "/%E1%88%B4");
    }

    #[test]
    fn query_is_decoded_then_reencoded_and_sorted() {
        let pairs = parse_query("b=2&a=%7e&a=1&c&d=x+y&&e=%zz");
        let q = canonical_query(pairs.iter().map(|(k, v)| (k.as_slice(), v.as_slice())));
        assert_eq!(q, "a=1&a=~&b=2&c=&d=x%20y&e=%25zz");
    }

    #[test]
    fn header_values_trim_and_collapse_spaces_only() {
        assert_eq!(trim_header_value(b"  a   b  c "), b"a b c");
        assert_eq!(trim_header_value(b"\ta\t"), b"\ta\t");
        assert_eq!(trim_header_value(b"   "), b"");
        assert_eq!(trim_header_value(b"a"), b"a");
        assert_eq!(trim_header_value(b" a  b   c d  "), b"a b c d");
        assert_eq!(trim_header_value(b"token+/=="), b"token+/==");
    }

    #[test]
    fn amz_date_is_strict() {
        assert!(parse_amz_date("20150830T123600Z").is_some());
        for bad in [
            "2015083T123600Z",
            "20150830 123600Z",
            "20150830T123600",
            "20150230T123600Z",
            "20150830T246000Z",
            "+0150830T123600Z",
            "2015-08-30T12:36:00Z",
        ] {
            assert!(parse_amz_date(bad).is_none(), "{bad}");
        }
        let t = parse_amz_date("20150830T123600Z").unwrap();
        assert_eq!(format_amz_date(t), "20150830T123600Z");
        assert_eq!(
            parse_http_date("Sun, 30 Aug 2015 12:36:00 GMT"),
            Some(t),
            "RFC 1123 Date header"
        );
    }

    #[test]
    fn http_dates_are_imf_fixdates_like_chronos() {
        for secs in [
            0u64,
            784_111_777,
            1_765_000_000,
            1_765_000_000,
            253_402_300_799,
        ] {
            let t = SystemTime::UNIX_EPOCH + Duration::from_secs(secs);
            let want = DateTime::<Utc>::from(t)
                .format("%a, %d %b %Y %H:%M:%S GMT")
                .to_string();
            assert_eq!(format_http_date(t), want, "{secs}");
        }
        assert_eq!(
            format_http_date(SystemTime::UNIX_EPOCH + Duration::from_secs(784_111_777)),
            "Sun, 06 Nov 1994 08:49:37 GMT"
        );
    }

    #[test]
    fn amz_dates_match_chronos_rendering() {
        for secs in [0u64, 1_440_938_160, 1_765_000_000, 253_402_300_799] {
            let t = SystemTime::UNIX_EPOCH + Duration::from_secs(secs) + Duration::from_millis(999);
            let want = DateTime::<Utc>::from(t)
                .format("%Y%m%dT%H%M%SZ")
                .to_string();
            assert_eq!(format_amz_date(t), want, "{secs}");
        }
    }

    #[test]
    fn hex32_is_lower_case_hex() {
        let mut bytes = [0u8; 32];
        for (i, b) in bytes.iter_mut().enumerate() {
            *b = (i * 37 % 256) as u8;
        }
        assert_eq!(hex32(&bytes), hex::encode(bytes));
    }

    #[test]
    fn base64_matches_rfc4648_vectors() {
        for (input, want) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(input.as_bytes()), want);
        }
    }

    #[test]
    fn a_remembered_signature_is_recalled_only_for_the_same_inputs() {
        let key = derive_signing_key("secret", "20150830", "us-east-1", "execute-api");
        let other_key = derive_signing_key("other", "20150830", "us-east-1", "execute-api");
        let scope = "20150830/us-east-1/execute-api/aws4_request";
        let date = "20150830T123600Z";
        let creq = b"GET\n/\n\nhost:h\n\nhost\ne3b0";
        let sts = string_to_sign(date, scope, creq);
        let signature = signature_hex(&key, &sts);
        remember_signature(&key, date, scope, creq, signature);
        // Any other input is not this signature's.
        assert!(recall_signature(&other_key, date, scope, creq).is_none());
        assert!(recall_signature(&key, "20150830T123601Z", scope, creq).is_none());
        assert!(
            recall_signature(
                &key,
                date,
                "20150830/us-west-2/execute-api/aws4_request",
                creq
            )
            .is_none()
        );
        assert!(recall_signature(&key, date, scope, b"GET\n/x\n\nhost:h\n\nhost\ne3b0").is_none());
        assert_eq!(
            recall_signature(&key, date, scope, creq).map(|s| s.as_str().to_owned()),
            Some(signature.as_str().to_owned())
        );
        // Once: a replay is hashed again.
        assert!(recall_signature(&key, date, scope, creq).is_none());
        remember_signature(&key, date, scope, creq, signature);
        // Bounded: the oldest goes once SIGNED_MEMO newer ones are kept.
        for i in 0..SIGNED_MEMO {
            let creq = format!("GET\n/{i}\n");
            remember_signature(&key, date, scope, creq.as_bytes(), signature);
        }
        assert!(recall_signature(&key, date, scope, creq).is_none());
        // A canonical request longer than the memo keeps is not kept.
        let long = vec![b'a'; SIGNED_MEMO_MAX + 1];
        remember_signature(&key, date, scope, &long, signature);
        assert!(recall_signature(&key, date, scope, &long).is_none());
    }

    #[test]
    fn derives_the_documented_signing_key() {
        // Key-derivation example from the IAM user guide ("Create a signed AWS API request").
        const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
        const WANT: &str = "c4afb1cc5771d871763a393e44b703571b55cc28424d1a5e86da6ed3c154a4b9";
        // Derived, then from the memo.
        for _ in 0..2 {
            let key = signing_key(SECRET, "20150830", "us-east-1", "iam");
            assert_eq!(hex::encode(key), WANT);
        }
        let derived = derive_signing_key(SECRET, "20150830", "us-east-1", "iam");
        assert_eq!(hex::encode(derived), WANT);
    }
}
