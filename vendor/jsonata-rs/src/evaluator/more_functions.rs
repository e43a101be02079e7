//! vpcgate: JSONata functions missing from jsonata-rs 0.3.4.
//!
//! Semantics follow the JSONata 2.0 function library (<https://docs.jsonata.org/string-functions>,
//! <https://docs.jsonata.org/numeric-functions>, <https://docs.jsonata.org/object-functions>,
//! <https://docs.jsonata.org/array-functions>, <https://docs.jsonata.org/aggregation-functions>)
//! and the reference implementation's error codes. Every function's output is bounded by its
//! input and picture sizes (no width or repeat count taken from a number), and every value is
//! allocated in the evaluation's arena.

use bumpalo::collections::Vec as BumpVec;
use rand::seq::SliceRandom;

use super::functions::FunctionContext;
use super::value::{ArrayFlags, Value};
use crate::{Error, Result};

type Out<'a> = Result<&'a Value<'a>>;

fn coded(code: &'static str, msg: String) -> Error {
    Error::Coded(code, msg)
}

fn arg<'a>(args: &[&'a Value<'a>], i: usize) -> &'a Value<'a> {
    args.get(i).copied().unwrap_or_else(Value::undefined)
}

fn bad_arg(ctx: &FunctionContext<'_, '_>, index: usize) -> Error {
    Error::T0410ArgumentNotValid(ctx.char_index, index, ctx.name.to_string())
}

/// A single-value input given as a one-member wrapped array (the context value).
fn unwrap_context<'a>(v: &'a Value<'a>) -> &'a Value<'a> {
    if v.is_array() && v.has_flags(ArrayFlags::WRAPPED) && v.len() == 1 {
        v.get_member(0)
    } else {
        v
    }
}

/// `$type(value)`: <https://docs.jsonata.org/object-functions#type>.
pub fn fn_type<'a>(ctx: FunctionContext<'a, '_>, args: &[&'a Value<'a>]) -> Out<'a> {
    let v = arg(args, 0);
    let name = match v {
        Value::Undefined => return Ok(Value::undefined()),
        Value::Null => "null",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Bool(_) => "boolean",
        Value::Array(..) | Value::Range(_) => "array",
        Value::Object(_) => "object",
        Value::Regex(_)
        | Value::Lambda { .. }
        | Value::NativeFn { .. }
        | Value::Transformer { .. } => "function",
    };
    Ok(Value::string(ctx.arena, name))
}

/// `$average(array)`: <https://docs.jsonata.org/aggregation-functions#average>.
pub fn fn_average<'a>(ctx: FunctionContext<'a, '_>, args: &[&'a Value<'a>]) -> Out<'a> {
    let v = arg(args, 0);
    if v.is_undefined() || (v.is_array() && v.is_empty()) {
        return Ok(Value::undefined());
    }
    let arr = Value::wrap_in_array_if_needed(ctx.arena, v, ArrayFlags::empty());
    let mut sum = 0.0;
    for m in arr.members() {
        if !m.is_number() {
            return Err(Error::T0412ArgumentMustBeArrayOfType(
                ctx.char_index,
                1,
                ctx.name.to_string(),
                "number".to_string(),
            ));
        }
        sum += m.as_f64();
    }
    Ok(Value::number(ctx.arena, sum / arr.len() as f64))
}

/// `$spread(object)`: <https://docs.jsonata.org/object-functions#spread>.
pub fn fn_spread<'a>(ctx: FunctionContext<'a, '_>, args: &[&'a Value<'a>]) -> Out<'a> {
    let v = arg(args, 0);
    let out = Value::array(ctx.arena, ArrayFlags::SEQUENCE);
    if v.is_array() {
        for m in v.members() {
            spread_into(ctx.arena, m, out);
        }
        return Ok(out);
    }
    if !v.is_object() {
        return Ok(v);
    }
    spread_into(ctx.arena, v, out);
    Ok(out)
}

fn spread_into<'a>(arena: &'a bumpalo::Bump, v: &'a Value<'a>, out: &mut Value<'a>) {
    if v.is_object() {
        for (k, x) in v.entries() {
            let o = Value::object_with_capacity(arena, 1);
            o.insert(k, x);
            out.push(o);
        }
    } else {
        out.push(v);
    }
}

/// Calls `func` with as many of `args` as it takes (JSONata passes higher-order callbacks only
/// the arguments their signature asks for).
fn call<'a>(ctx: &FunctionContext<'a, '_>, func: &'a Value<'a>, args: &[&'a Value<'a>]) -> Out<'a> {
    let n = func.arity().min(args.len());
    let r = ctx.evaluate_function(func, &args[..n])?;
    ctx.trampoline_evaluate_value(r)
}

/// `$sift(object, function)`: <https://docs.jsonata.org/object-functions#sift>.
pub fn fn_sift<'a>(ctx: FunctionContext<'a, '_>, args: &[&'a Value<'a>]) -> Out<'a> {
    let (obj, func) = if args.len() == 1 {
        (unwrap_context(ctx.input), args[0])
    } else {
        (arg(args, 0), arg(args, 1))
    };
    if obj.is_undefined() {
        return Ok(Value::undefined());
    }
    if !obj.is_object() {
        return Err(bad_arg(&ctx, 1));
    }
    if !func.is_function() {
        return Err(bad_arg(&ctx, 2));
    }
    let out = Value::object(ctx.arena);
    let mut any = false;
    for (k, v) in obj.entries() {
        let key = Value::string(ctx.arena, k);
        if call(&ctx, func, &[v, key, obj])?.is_truthy() {
            out.insert(k, v);
            any = true;
        }
    }
    Ok(if any { out } else { Value::undefined() })
}

/// `$shuffle(array)`: <https://docs.jsonata.org/array-functions#shuffle>.
pub fn fn_shuffle<'a>(ctx: FunctionContext<'a, '_>, args: &[&'a Value<'a>]) -> Out<'a> {
    let v = arg(args, 0);
    if v.is_undefined() {
        return Ok(Value::undefined());
    }
    if !v.is_array() {
        return Ok(v);
    }
    let mut items: BumpVec<'a, &'a Value<'a>> = BumpVec::with_capacity_in(v.len(), ctx.arena);
    items.extend(v.members());
    items.shuffle(&mut rand::thread_rng());
    Ok(Value::array_from(ctx.arena, items, ArrayFlags::empty()))
}

// ---------------------------------------------------------------------------------------------
// URL encoding: JavaScript's encodeURIComponent / encodeURI / decodeURIComponent / decodeURI,
// which JSONata calls (<https://docs.jsonata.org/string-functions#encodeurlcomponent>).

/// Characters encodeURIComponent leaves alone (ECMA-262 "uriUnreserved").
fn unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-_.!~*'()".contains(&b)
}

/// What encodeURI leaves alone on top of that ("uriReserved" and `#`).
fn reserved(b: u8) -> bool {
    b";/?:@&=+$,#".contains(&b)
}

fn encode(s: &str, keep_reserved: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for &b in s.as_bytes() {
        if unreserved(b) || (keep_reserved && reserved(b)) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn decode(s: &str, keep_reserved: bool) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'%' {
            out.push(b[i]);
            i += 1;
            continue;
        }
        let hex = s.get(i + 1..i + 3)?;
        let byte = u8::from_str_radix(hex, 16).ok()?;
        if keep_reserved && byte.is_ascii() && reserved(byte) {
            // decodeURI keeps escapes of reserved characters as they are.
            out.extend_from_slice(&b[i..i + 3]);
        } else {
            out.push(byte);
        }
        i += 3;
    }
    String::from_utf8(out).ok()
}

fn url_fn<'a>(
    ctx: FunctionContext<'a, '_>,
    args: &[&'a Value<'a>],
    f: impl Fn(&str) -> Option<String>,
) -> Out<'a> {
    let v = arg(args, 0);
    if v.is_undefined() {
        return Ok(Value::undefined());
    }
    if !v.is_string() {
        return Err(bad_arg(&ctx, 1));
    }
    let s = v.as_str();
    match f(&s) {
        Some(out) => Ok(Value::string(ctx.arena, &out)),
        None => Err(coded(
            "D3140",
            format!("Malformed URL passed to ${}(): \"{s}\"", ctx.name),
        )),
    }
}

/// `$encodeUrlComponent(str)`.
pub fn fn_encode_url_component<'a>(ctx: FunctionContext<'a, '_>, args: &[&'a Value<'a>]) -> Out<'a> {
    url_fn(ctx, args, |s| Some(encode(s, false)))
}

/// `$encodeUrl(str)`.
pub fn fn_encode_url<'a>(ctx: FunctionContext<'a, '_>, args: &[&'a Value<'a>]) -> Out<'a> {
    url_fn(ctx, args, |s| Some(encode(s, true)))
}

/// `$decodeUrlComponent(str)`.
pub fn fn_decode_url_component<'a>(ctx: FunctionContext<'a, '_>, args: &[&'a Value<'a>]) -> Out<'a> {
    url_fn(ctx, args, |s| decode(s, false))
}

/// `$decodeUrl(str)`.
pub fn fn_decode_url<'a>(ctx: FunctionContext<'a, '_>, args: &[&'a Value<'a>]) -> Out<'a> {
    url_fn(ctx, args, |s| decode(s, true))
}

// ---------------------------------------------------------------------------------------------
// Numbers.

/// JSONata's `$round`: half to even at `precision` decimal places, shifting through the decimal
/// string so that 34.555 at 2 places is 34.56 as in the reference implementation.
pub(crate) fn round_half_even(value: f64, precision: i32) -> f64 {
    let shifted: f64 = format!("{value}e{precision}").parse().unwrap_or(value);
    let mut r = shifted.round();
    if (shifted - shifted.trunc()).abs() == 0.5 && r % 2.0 != 0.0 {
        r -= shifted.signum();
    }
    format!("{r}e{}", -precision).parse().unwrap_or(r)
}

/// `$formatBase(number [, radix])`: <https://docs.jsonata.org/numeric-functions#formatbase>.
pub fn fn_format_base<'a>(ctx: FunctionContext<'a, '_>, args: &[&'a Value<'a>]) -> Out<'a> {
    let v = arg(args, 0);
    if v.is_undefined() {
        return Ok(Value::undefined());
    }
    if !v.is_number() {
        return Err(bad_arg(&ctx, 1));
    }
    let radix = match arg(args, 1) {
        Value::Undefined => 10.0,
        Value::Number(r) => r.trunc(),
        _ => return Err(bad_arg(&ctx, 2)),
    };
    if !(2.0..=36.0).contains(&radix) {
        return Err(coded(
            "D3100",
            format!("The radix of the formatBase function must be between 2 and 36.  It was given {radix}"),
        ));
    }
    let n = round_half_even(v.as_f64(), 0);
    if !n.is_finite() || n.abs() >= 2f64.powi(127) {
        return Err(Error::D1001NumberOfOutRange(n));
    }
    let mut m = n.abs() as u128;
    let radix = radix as u128;
    let mut digits = Vec::new();
    loop {
        digits.push(std::char::from_digit((m % radix) as u32, radix as u32).unwrap_or('0'));
        m /= radix;
        if m == 0 {
            break;
        }
    }
    if n < 0.0 {
        digits.push('-');
    }
    let s: String = digits.into_iter().rev().collect();
    Ok(Value::string(ctx.arena, &s))
}

// --- format-integer (XPath F&O 3.1 §4.6.1), as JSONata implements it ------------------------

const FEW: [&str; 20] = [
    "Zero", "One", "Two", "Three", "Four", "Five", "Six", "Seven", "Eight", "Nine", "Ten",
    "Eleven", "Twelve", "Thirteen", "Fourteen", "Fifteen", "Sixteen", "Seventeen", "Eighteen",
    "Nineteen",
];
const ORDINALS: [&str; 20] = [
    "Zeroth", "First", "Second", "Third", "Fourth", "Fifth", "Sixth", "Seventh", "Eighth",
    "Ninth", "Tenth", "Eleventh", "Twelfth", "Thirteenth", "Fourteenth", "Fifteenth",
    "Sixteenth", "Seventeenth", "Eighteenth", "Nineteenth",
];
const DECADES: [&str; 9] = [
    "Twenty", "Thirty", "Forty", "Fifty", "Sixty", "Seventy", "Eighty", "Ninety", "Hundred",
];
const MAGNITUDES: [&str; 4] = ["Thousand", "Million", "Billion", "Trillion"];

/// JSONata's `numberToWords`.
fn number_to_words(num: u128, prev: bool, ord: bool) -> String {
    if num <= 19 {
        let w = if ord { ORDINALS } else { FEW }[num as usize];
        return format!("{}{w}", if prev { " and " } else { "" });
    }
    if num < 100 {
        let tens = (num / 10) as usize;
        let rem = num % 10;
        let mut words = format!("{}{}", if prev { " and " } else { "" }, DECADES[tens - 2]);
        if rem > 0 {
            words.push('-');
            words.push_str(&number_to_words(rem, false, ord));
        } else if ord {
            words.pop();
            words.push_str("ieth");
        }
        return words;
    }
    if num < 1000 {
        let mut words = format!(
            "{}{} Hundred",
            if prev { ", " } else { "" },
            FEW[(num / 100) as usize]
        );
        let rem = num % 100;
        if rem > 0 {
            words.push_str(&number_to_words(rem, true, ord));
        } else if ord {
            words.push_str("th");
        }
        return words;
    }
    let mut mag = 0;
    let mut factor = 1u128;
    while mag < MAGNITUDES.len() && factor * 1000 <= num {
        factor *= 1000;
        mag += 1;
    }
    let mant = num / factor;
    let rem = num - mant * factor;
    let mut words = format!(
        "{}{} {}",
        if prev { ", " } else { "" },
        number_to_words(mant, false, false),
        MAGNITUDES[mag - 1]
    );
    if rem > 0 {
        words.push_str(&number_to_words(rem, true, ord));
    } else if ord {
        words.push_str("th");
    }
    words
}

/// JSONata's `wordsToNumber`: the inverse of [`number_to_words`] (case-insensitive).
fn words_to_number(text: &str) -> Option<u128> {
    let text = text.to_lowercase();
    let parts: Vec<&str> = text
        .split([',', ' ', '-'])
        .filter(|w| !w.is_empty() && *w != "and")
        .collect();
    if parts.is_empty() {
        return None;
    }
    let value_of = |w: &str| -> Option<(u128, bool)> {
        for (i, f) in FEW.iter().enumerate() {
            if f.eq_ignore_ascii_case(w) || ORDINALS[i].eq_ignore_ascii_case(w) {
                return Some((i as u128, false));
            }
        }
        for (i, d) in DECADES[..8].iter().enumerate() {
            let ord = format!("{}ieth", &d[..d.len() - 1]);
            if d.eq_ignore_ascii_case(w) || ord.eq_ignore_ascii_case(w) {
                return Some(((i as u128 + 2) * 10, false));
            }
        }
        match w {
            "hundred" | "hundredth" => Some((100, true)),
            "thousand" | "thousandth" => Some((1_000, true)),
            "million" | "millionth" => Some((1_000_000, true)),
            "billion" | "billionth" => Some((1_000_000_000, true)),
            "trillion" | "trillionth" => Some((1_000_000_000_000, true)),
            _ => None,
        }
    };
    let (mut total, mut current) = (0u128, 0u128);
    for w in parts {
        let (v, is_mult) = value_of(w)?;
        if is_mult {
            if v == 100 {
                current = current.max(1) * 100;
            } else {
                total = total.checked_add(current.max(1).checked_mul(v)?)?;
                current = 0;
            }
        } else {
            current += v;
        }
    }
    total.checked_add(current)
}

const ROMAN: [(u128, &str); 13] = [
    (1000, "m"),
    (900, "cm"),
    (500, "d"),
    (400, "cd"),
    (100, "c"),
    (90, "xc"),
    (50, "l"),
    (40, "xl"),
    (10, "x"),
    (9, "ix"),
    (5, "v"),
    (4, "iv"),
    (1, "i"),
];

/// Most characters a roman numeral or letter sequence may have (vpcgate's bound: `M` repeats
/// once per thousand).
const MAX_ROMAN_THOUSANDS: u128 = 10_000;

fn to_roman(mut n: u128) -> Option<String> {
    if n / 1000 > MAX_ROMAN_THOUSANDS {
        return None;
    }
    let mut out = String::new();
    for (v, s) in ROMAN {
        while n >= v {
            out.push_str(s);
            n -= v;
        }
    }
    Some(out)
}

fn from_roman(s: &str) -> Option<u128> {
    let val = |c: char| {
        ROMAN
            .iter()
            .find(|(_, r)| r.len() == 1 && r.starts_with(c.to_ascii_lowercase()))
            .map(|(v, _)| *v as i128)
    };
    let values: Vec<i128> = s.chars().map(val).collect::<Option<_>>()?;
    let mut total: i128 = 0;
    for (i, v) in values.iter().enumerate() {
        if values.get(i + 1).is_some_and(|next| next > v) {
            total -= v;
        } else {
            total += v;
        }
    }
    u128::try_from(total).ok()
}

/// Bijective base-26 letters: 1 = a, 26 = z, 27 = aa.
fn to_letters(mut n: u128) -> String {
    let mut out = Vec::new();
    while n > 0 {
        n -= 1;
        out.push((b'a' + (n % 26) as u8) as char);
        n /= 26;
    }
    out.into_iter().rev().collect()
}

fn from_letters(s: &str) -> Option<u128> {
    let mut n: u128 = 0;
    for c in s.chars() {
        let c = c.to_ascii_lowercase();
        if !c.is_ascii_lowercase() {
            return None;
        }
        n = n.checked_mul(26)?.checked_add((c as u8 - b'a') as u128 + 1)?;
    }
    Some(n)
}

fn ordinal_suffix(n: u128) -> &'static str {
    match (n % 10, n % 100) {
        (_, 11..=13) => "th",
        (1, _) => "st",
        (2, _) => "nd",
        (3, _) => "rd",
        _ => "th",
    }
}

/// The primary format of an integer picture.
enum IntFormat {
    Letters { upper: bool },
    Roman { upper: bool },
    Words { case: WordCase },
    /// A decimal digit pattern: its mandatory digit count, the grouping separators with their
    /// positions (digits to their right), and whether they repeat regularly.
    Decimal {
        mandatory: usize,
        separators: Vec<(usize, char)>,
        regular: Option<(usize, char)>,
    },
}

#[derive(Clone, Copy)]
enum WordCase {
    Lower,
    Upper,
    Title,
}

struct IntPicture {
    format: IntFormat,
    ordinal: bool,
}

fn int_picture(picture: &str) -> Result<IntPicture> {
    // The format modifier follows the last ';' ("o" = ordinal, "c" = cardinal).
    let (primary, modifier) = match picture.rfind(';') {
        Some(i) => (&picture[..i], &picture[i + 1..]),
        None => (picture, ""),
    };
    let ordinal = modifier.starts_with('o');
    let format = match primary {
        "A" => IntFormat::Letters { upper: true },
        "a" => IntFormat::Letters { upper: false },
        "I" => IntFormat::Roman { upper: true },
        "i" => IntFormat::Roman { upper: false },
        "W" => IntFormat::Words { case: WordCase::Upper },
        "w" => IntFormat::Words { case: WordCase::Lower },
        "Ww" => IntFormat::Words { case: WordCase::Title },
        _ => {
            let chars: Vec<char> = primary.chars().collect();
            if !chars.iter().any(|c| c.is_ascii_digit()) {
                return Err(coded(
                    "D3130",
                    format!("Formatting or parsing an integer as a sequence starting with {primary} is not supported by this implementation"),
                ));
            }
            let mut mandatory = 0;
            let mut separators = Vec::new();
            let mut digits_right = 0;
            for &c in chars.iter().rev() {
                if c.is_ascii_digit() {
                    mandatory += 1;
                    digits_right += 1;
                } else if c == '#' {
                    digits_right += 1;
                } else if c.is_alphanumeric() {
                    return Err(coded(
                        "D3130",
                        format!("Formatting or parsing an integer as a sequence starting with {primary} is not supported by this implementation"),
                    ));
                } else {
                    separators.push((digits_right, c));
                }
            }
            let regular = separators.first().and_then(|&(n, c)| {
                (n > 0
                    && separators
                        .iter()
                        .enumerate()
                        .all(|(i, &(p, s))| s == c && p == n * (i + 1)))
                .then_some((n, c))
            });
            IntFormat::Decimal {
                mandatory,
                separators,
                regular,
            }
        }
    };
    Ok(IntPicture { format, ordinal })
}

/// Inserts grouping separators into a digit string (positions counted from the right).
fn group_digits(digits: &str, separators: &[(usize, char)], regular: Option<(usize, char)>) -> String {
    let chars: Vec<char> = digits.chars().collect();
    let mut out = Vec::with_capacity(chars.len() * 2);
    for (i, c) in chars.iter().rev().enumerate() {
        if i > 0 {
            match regular {
                Some((n, s)) if i % n == 0 => out.push(s),
                Some(_) => {}
                None => {
                    if let Some(&(_, s)) = separators.iter().find(|(p, _)| *p == i) {
                        out.push(s);
                    }
                }
            }
        }
        out.push(*c);
    }
    out.into_iter().rev().collect()
}

/// `$formatInteger(number, picture)`: <https://docs.jsonata.org/numeric-functions#formatinteger>.
pub fn fn_format_integer<'a>(ctx: FunctionContext<'a, '_>, args: &[&'a Value<'a>]) -> Out<'a> {
    let v = arg(args, 0);
    if v.is_undefined() {
        return Ok(Value::undefined());
    }
    let p = arg(args, 1);
    if !v.is_number() {
        return Err(bad_arg(&ctx, 1));
    }
    if !p.is_string() {
        return Err(bad_arg(&ctx, 2));
    }
    let n = v.as_f64().trunc();
    if !n.is_finite() || n.abs() >= 1e30 {
        return Err(Error::D1001NumberOfOutRange(n));
    }
    let negative = n < 0.0;
    let abs = n.abs() as u128;
    let picture = int_picture(&p.as_str())?;
    let mut out = match picture.format {
        IntFormat::Letters { upper } => {
            let s = to_letters(abs);
            if upper {
                s.to_uppercase()
            } else {
                s
            }
        }
        IntFormat::Roman { upper } => {
            let s = to_roman(abs).ok_or(Error::D1001NumberOfOutRange(n))?;
            if upper {
                s.to_uppercase()
            } else {
                s
            }
        }
        IntFormat::Words { case } => {
            let s = number_to_words(abs, false, picture.ordinal);
            match case {
                WordCase::Lower => s.to_lowercase(),
                WordCase::Upper => s.to_uppercase(),
                WordCase::Title => s,
            }
        }
        IntFormat::Decimal {
            mandatory,
            ref separators,
            regular,
        } => {
            let digits = abs.to_string();
            let padded = format!("{digits:0>mandatory$}");
            let mut s = group_digits(&padded, separators, regular);
            if picture.ordinal {
                s.push_str(ordinal_suffix(abs));
            }
            s
        }
    };
    if negative {
        out.insert(0, '-');
    }
    Ok(Value::string(ctx.arena, &out))
}

/// `$parseInteger(string, picture)`: <https://docs.jsonata.org/numeric-functions#parseinteger>.
pub fn fn_parse_integer<'a>(ctx: FunctionContext<'a, '_>, args: &[&'a Value<'a>]) -> Out<'a> {
    let v = arg(args, 0);
    if v.is_undefined() {
        return Ok(Value::undefined());
    }
    let p = arg(args, 1);
    if !v.is_string() {
        return Err(bad_arg(&ctx, 1));
    }
    if !p.is_string() {
        return Err(bad_arg(&ctx, 2));
    }
    let text = v.as_str();
    let picture = int_picture(&p.as_str())?;
    let (negative, body) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, &*text),
    };
    let n = match picture.format {
        IntFormat::Letters { .. } => from_letters(body),
        IntFormat::Roman { .. } => from_roman(body),
        IntFormat::Words { .. } => words_to_number(body),
        IntFormat::Decimal { .. } => {
            let digits: String = body.chars().filter(|c| c.is_ascii_digit()).collect();
            let rest = body.trim_start_matches(|c: char| !c.is_alphabetic());
            let suffix_ok = rest.is_empty()
                || (picture.ordinal && ["st", "nd", "rd", "th"].contains(&rest));
            if digits.is_empty() || !suffix_ok {
                None
            } else {
                digits.parse::<u128>().ok()
            }
        }
    };
    match n {
        Some(n) => {
            let f = n as f64;
            Ok(Value::number(ctx.arena, if negative { -f } else { f }))
        }
        None => Ok(Value::undefined()),
    }
}

// --- format-number (XPath F&O 3.1 §4.7), as JSONata implements it ---------------------------

/// The decimal format properties (`$formatNumber`'s third argument overrides them).
struct DecimalFormat {
    decimal: char,
    grouping: char,
    exponent: char,
    minus: String,
    infinity: String,
    nan: String,
    percent: String,
    per_mille: String,
    zero: char,
    digit: char,
    pattern: char,
}

impl Default for DecimalFormat {
    fn default() -> Self {
        DecimalFormat {
            decimal: '.',
            grouping: ',',
            exponent: 'e',
            minus: "-".into(),
            infinity: "Infinity".into(),
            nan: "NaN".into(),
            percent: "%".into(),
            per_mille: "\u{2030}".into(),
            zero: '0',
            digit: '#',
            pattern: ';',
        }
    }
}

impl DecimalFormat {
    fn from_options<'a>(opts: &'a Value<'a>) -> Result<Self> {
        let mut f = DecimalFormat::default();
        if !opts.is_object() {
            return Ok(f);
        }
        for (k, v) in opts.entries() {
            if !v.is_string() {
                continue;
            }
            let s = v.as_str().into_owned();
            let ch = s.chars().next().unwrap_or(' ');
            match &k[..] {
                "decimal-separator" => f.decimal = ch,
                "grouping-separator" => f.grouping = ch,
                "exponent-separator" => f.exponent = ch,
                "minus-sign" => f.minus = s,
                "infinity" => f.infinity = s,
                "NaN" => f.nan = s,
                "percent" => f.percent = s,
                "per-mille" => f.per_mille = s,
                "zero-digit" => f.zero = ch,
                "digit" => f.digit = ch,
                "pattern-separator" => f.pattern = ch,
                _ => {}
            }
        }
        Ok(f)
    }

    /// The value of `c` if it is one of the ten digits starting at the zero digit.
    fn digit_value(&self, c: char) -> Option<u32> {
        let d = (c as u32).checked_sub(self.zero as u32)?;
        (d < 10).then_some(d)
    }

    fn is_digit_char(&self, c: char) -> bool {
        c == self.digit || self.digit_value(c).is_some()
    }

    fn is_mantissa_char(&self, c: char) -> bool {
        self.is_digit_char(c) || c == self.decimal || c == self.grouping
    }

    fn render_digit(&self, d: u32) -> char {
        char::from_u32(self.zero as u32 + d).unwrap_or('?')
    }
}

/// One analysed sub-picture.
struct SubPicture {
    prefix: String,
    suffix: String,
    min_int: usize,
    int_groups: Vec<usize>,
    regular_group: Option<usize>,
    min_frac: usize,
    max_frac: usize,
    frac_groups: Vec<usize>,
    min_exp: Option<usize>,
    percent: bool,
    per_mille: bool,
}

fn d(code: &'static str, msg: &str) -> Error {
    coded(code, msg.to_string())
}

fn analyse(sub: &str, f: &DecimalFormat) -> Result<SubPicture> {
    let chars: Vec<char> = sub.chars().collect();
    let first = chars.iter().position(|&c| f.is_mantissa_char(c));
    let Some(first) = first else {
        return Err(d("D3085", "The picture string must contain at least one digit"));
    };
    // The exponent: an exponent separator after the mantissa followed only by digits.
    let mut last = chars.iter().rposition(|&c| f.is_mantissa_char(c)).unwrap_or(first);
    let mut exp_digits = None;
    // The mantissa ends at the last mantissa character before an exponent separator whose
    // remainder is digits only.
    let mut mantissa_end = last;
    for i in first..chars.len() {
        if chars[i] == f.exponent && i > first {
            let rest: Vec<char> = chars[i + 1..]
                .iter()
                .take_while(|&&c| f.digit_value(c).is_some())
                .copied()
                .collect();
            if !rest.is_empty() {
                mantissa_end = i - 1;
                exp_digits = Some(rest.len());
                last = i + rest.len();
                break;
            }
        }
    }
    let prefix: String = chars[..first].iter().collect();
    let suffix: String = chars[last + 1..].iter().collect();
    let mantissa: Vec<char> = chars[first..=mantissa_end].to_vec();
    if mantissa.iter().any(|&c| !f.is_mantissa_char(c)) {
        return Err(d(
            "D3086",
            "A sub-picture must not contain a passive character that is preceded by an active character and that is followed by another active character",
        ));
    }
    if !mantissa.iter().any(|&c| f.is_digit_char(c)) {
        return Err(d("D3085", "The mantissa part of a sub-picture must contain at least one character that is either an optional digit character or a member of the decimal digit family"));
    }
    let percent = !f.percent.is_empty() && sub.matches(&f.percent).count() > 0;
    let per_mille = !f.per_mille.is_empty() && sub.matches(&f.per_mille).count() > 0;
    if !f.percent.is_empty() && sub.matches(&f.percent).count() > 1 {
        return Err(d("D3082", "A sub-picture must not contain more than one instance of the 'percent' character"));
    }
    if !f.per_mille.is_empty() && sub.matches(&f.per_mille).count() > 1 {
        return Err(d("D3083", "A sub-picture must not contain more than one instance of the 'per-mille' character"));
    }
    if percent && per_mille {
        return Err(d("D3084", "A sub-picture must not contain both a 'percent' and a 'per-mille' character"));
    }
    if exp_digits.is_some() && (percent || per_mille) {
        return Err(d("D3092", "A sub-picture that contains a 'percent' or 'per-mille' character must not contain a character treated as an 'exponent-separator'"));
    }
    let decimals = mantissa.iter().filter(|&&c| c == f.decimal).count();
    if decimals > 1 {
        return Err(d("D3081", "A sub-picture must not contain more than one instance of the 'decimal-separator' character"));
    }
    for w in mantissa.windows(2) {
        if (w[0] == f.grouping && w[1] == f.decimal) || (w[0] == f.decimal && w[1] == f.grouping) {
            return Err(d("D3087", "A sub-picture must not contain a grouping-separator character that appears adjacent to a decimal-separator character"));
        }
        if w[0] == f.grouping && w[1] == f.grouping {
            return Err(d("D3089", "A sub-picture must not contain two adjacent instances of the 'grouping-separator' character"));
        }
    }
    let split = mantissa.iter().position(|&c| c == f.decimal);
    let (int_part, frac_part) = match split {
        Some(i) => (&mantissa[..i], &mantissa[i + 1..]),
        None => (&mantissa[..], &[][..]),
    };
    if int_part.last() == Some(&f.grouping) {
        return Err(d("D3088", "The integer part of a sub-picture must not end with a 'grouping-separator' character"));
    }
    let int_digits: Vec<char> = int_part.iter().filter(|&&c| f.is_digit_char(c)).copied().collect();
    if let Some(first_mandatory) = int_digits.iter().position(|&c| c != f.digit) {
        if int_digits[first_mandatory..].contains(&f.digit) {
            return Err(d("D3090", "The integer part of a sub-picture must not contain a member of the 'decimal digit family' that is followed by an instance of the 'optional digit' character"));
        }
    }
    let frac_digits: Vec<char> = frac_part.iter().filter(|&&c| f.is_digit_char(c)).copied().collect();
    if let Some(first_optional) = frac_digits.iter().position(|&c| c == f.digit) {
        if frac_digits[first_optional..].iter().any(|&c| c != f.digit) {
            return Err(d("D3091", "The fractional part of a sub-picture must not contain an instance of the 'optional digit' character that is followed by a member of the 'decimal digit family'"));
        }
    }
    let mut min_int = int_digits.iter().filter(|&&c| c != f.digit).count();
    let mut min_frac = frac_digits.iter().filter(|&&c| c != f.digit).count();
    let mut max_frac = frac_digits.len();
    // Grouping positions: digits to the right of each separator in the integer part, to the
    // left of each in the fraction part.
    let mut int_groups = Vec::new();
    let mut n = 0;
    for &c in int_part.iter().rev() {
        if c == f.grouping {
            int_groups.push(n);
        } else {
            n += 1;
        }
    }
    let regular_group = int_groups.first().and_then(|&g| {
        (g > 0
            && int_groups.iter().enumerate().all(|(i, &p)| p == g * (i + 1))
            && int_digits.len() <= g * (int_groups.len() + 1))
        .then_some(g)
    });
    let mut frac_groups = Vec::new();
    let mut n = 0;
    for &c in frac_part {
        if c == f.grouping {
            frac_groups.push(n);
        } else {
            n += 1;
        }
    }
    if min_int == 0 && max_frac == 0 {
        if exp_digits.is_some() {
            min_frac = 1;
            max_frac = 1;
        } else {
            min_int = 1;
        }
    }
    if exp_digits.is_some() && min_int == 0 && int_digits.contains(&f.digit) {
        min_int = 1;
    }
    if min_int == 0 && min_frac == 0 {
        min_frac = 1;
    }
    Ok(SubPicture {
        prefix,
        suffix,
        min_int,
        int_groups,
        regular_group,
        min_frac,
        max_frac,
        frac_groups,
        min_exp: exp_digits,
        percent,
        per_mille,
    })
}

/// The largest exponent or digit count accepted (a float has at most ~330 significant places).
const MAX_FRACTION_DIGITS: usize = 100;

/// `$formatNumber(number, picture [, options])`:
/// <https://docs.jsonata.org/numeric-functions#formatnumber>.
pub fn fn_format_number<'a>(ctx: FunctionContext<'a, '_>, args: &[&'a Value<'a>]) -> Out<'a> {
    let v = arg(args, 0);
    if v.is_undefined() {
        return Ok(Value::undefined());
    }
    let p = arg(args, 1);
    if !v.is_number() {
        return Err(bad_arg(&ctx, 1));
    }
    if !p.is_string() {
        return Err(bad_arg(&ctx, 2));
    }
    let f = DecimalFormat::from_options(arg(args, 2))?;
    let picture = p.as_str();
    let subs: Vec<&str> = picture.split(f.pattern).collect();
    if subs.len() > 2 {
        return Err(d("D3080", "The picture string must not contain more than one instance of the 'pattern-separator' character"));
    }
    let pics = subs
        .iter()
        .map(|s| analyse(s, &f))
        .collect::<Result<Vec<_>>>()?;
    let value = v.as_f64();
    let negative = value < 0.0;
    let (pic, minus) = if negative && pics.len() == 2 {
        (&pics[1], "")
    } else if negative {
        (&pics[0], f.minus.as_str())
    } else {
        (&pics[0], "")
    };
    let out = format_with(value.abs(), pic, &f)?;
    // The minus sign goes before the prefix.
    let s = format!("{minus}{}{out}{}", pic.prefix, pic.suffix);
    Ok(Value::string(ctx.arena, &s))
}

fn format_with(value: f64, pic: &SubPicture, f: &DecimalFormat) -> Result<String> {
    if value.is_nan() {
        return Ok(f.nan.clone());
    }
    if value.is_infinite() {
        return Ok(f.infinity.clone());
    }
    let mut value = value;
    if pic.percent {
        value *= 100.0;
    } else if pic.per_mille {
        value *= 1000.0;
    }
    let max_frac = pic.max_frac.min(MAX_FRACTION_DIGITS);
    let mut exponent: i32 = 0;
    if pic.min_exp.is_some() && value != 0.0 {
        // Scale so the mantissa has `min_int` integer digits (below 1 when there are none).
        let mag = value.log10().floor() as i32 + 1;
        exponent = mag - pic.min_int as i32;
        value = format!("{value}e{}", -exponent).parse().unwrap_or(value);
        let rounded = round_half_even(value, max_frac as i32);
        let limit = 10f64.powi(pic.min_int.max(0) as i32);
        if pic.min_int > 0 && rounded >= limit {
            value /= 10.0;
            exponent += 1;
        }
    }
    let rounded = round_half_even(value, max_frac as i32);
    let text = format!("{rounded:.max_frac$}");
    let (int_str, frac_str) = match text.split_once('.') {
        Some((i, fr)) => (i.to_string(), fr.to_string()),
        None => (text.clone(), String::new()),
    };
    let int_str = if int_str == "0" { String::new() } else { int_str };
    let int_str = format!("{int_str:0>width$}", width = pic.min_int);
    let mut frac_str = frac_str;
    while frac_str.len() > pic.min_frac && frac_str.ends_with('0') {
        frac_str.pop();
    }
    let render = |s: &str| -> String {
        s.chars()
            .map(|c| c.to_digit(10).map_or(c, |d| f.render_digit(d)))
            .collect()
    };
    let int_sep: Vec<(usize, char)> = pic.int_groups.iter().map(|&g| (g, f.grouping)).collect();
    let grouped_int = group_digits(
        &render(&int_str),
        &int_sep,
        pic.regular_group.map(|g| (g, f.grouping)),
    );
    let mut grouped_frac = String::new();
    for (i, c) in render(&frac_str).chars().enumerate() {
        if i > 0 && pic.frac_groups.contains(&i) {
            grouped_frac.push(f.grouping);
        }
        grouped_frac.push(c);
    }
    let mut out = grouped_int;
    if !grouped_frac.is_empty() {
        out.push(f.decimal);
        out.push_str(&grouped_frac);
    }
    if let Some(min_exp) = pic.min_exp {
        out.push(f.exponent);
        if exponent < 0 {
            out.push_str(&f.minus);
        }
        let e = format!("{:0>min_exp$}", exponent.unsigned_abs());
        out.push_str(&render(&e));
    }
    Ok(out)
}
