//! Request signing: V1 (HMAC-SHA1) and V3 (ACS3-HMAC-SHA256).
//!
//! Everything here is a pure function of the request, the credentials, the time and a nonce:
//! no clock, no randomness, no I/O. That makes every case a test vector (see
//! `tests/vectors/`), and lets the mock server verify signatures with the same code.

use std::fmt;

use chrono::{DateTime, Utc};

pub mod v1;
pub mod v3;

/// Which bytes stay literal in the API's percent-encoding: `A-Z a-z 0-9 - _ . ~`.
static UNRESERVED: [bool; 256] = {
    let mut table = [false; 256];
    let mut i = 0;
    while i < 256 {
        let b = i as u8;
        table[i] = b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.' || b == b'~';
        i += 1;
    }
    table
};

const HEX_UPPER: &[u8; 16] = b"0123456789ABCDEF";

/// Appends the API percent-encoding of `s` to `out`.
pub(crate) fn encode_into(out: &mut Vec<u8>, s: &[u8]) {
    let mut start = 0;
    for (i, &b) in s.iter().enumerate() {
        if !UNRESERVED[b as usize] {
            out.extend_from_slice(&s[start..i]);
            out.extend_from_slice(&[b'%', HEX_UPPER[(b >> 4) as usize], HEX_UPPER[(b & 0xf) as usize]]);
            start = i + 1;
        }
    }
    out.extend_from_slice(&s[start..]);
}

/// Appends the encoding of `s` to `wire` and its double encoding (as the V1 string to sign
/// holds it) to `sts`, in one pass.
pub(crate) fn encode_dual(wire: &mut Vec<u8>, sts: &mut Vec<u8>, s: &[u8]) {
    // Most names and values need no encoding at all: check with a branch-free pass (which
    // the compiler can vectorize), then copy them whole.
    if all_unreserved(s) {
        wire.extend_from_slice(s);
        sts.extend_from_slice(s);
        return;
    }
    let mut start = 0;
    for (i, &b) in s.iter().enumerate() {
        if !UNRESERVED[b as usize] {
            let run = &s[start..i];
            wire.extend_from_slice(run);
            sts.extend_from_slice(run);
            let (hi, lo) = (HEX_UPPER[(b >> 4) as usize], HEX_UPPER[(b & 0xf) as usize]);
            wire.extend_from_slice(&[b'%', hi, lo]);
            sts.extend_from_slice(&[b'%', b'2', b'5', hi, lo]);
            start = i + 1;
        }
    }
    wire.extend_from_slice(&s[start..]);
    sts.extend_from_slice(&s[start..]);
}

/// Whether every byte of `s` stays literal, without an early exit so that it vectorizes.
#[inline]
fn all_unreserved(s: &[u8]) -> bool {
    s.iter()
        .fold(true, |ok, &b| ok & (b.is_ascii_alphanumeric() | (b == b'-') | (b == b'_') | (b == b'.') | (b == b'~')))
}

/// Percent-encoded output is ASCII by construction.
pub(crate) fn ascii_string(bytes: Vec<u8>) -> String {
    String::from_utf8(bytes).expect("percent-encoding yields ASCII")
}

/// Percent-encodes a name or value the way the API canonicalizes it: UTF-8, uppercase hex,
/// only `A-Z a-z 0-9 - _ . ~` literal (so a space is `%20`, `*` is `%2A`, `~` stays `~`).
///
/// ```
/// assert_eq!(ack_net_core::sign::percent_encode("a b*~+/"), "a%20b%2A~%2B%2F");
/// ```
pub fn percent_encode(s: &str) -> String {
    let mut out = Vec::with_capacity(s.len() + s.len() / 2);
    encode_into(&mut out, s.as_bytes());
    ascii_string(out)
}

/// Encodes an already canonical query a second time, as the V1 string to sign wants it.
/// A canonical query holds only unreserved bytes, `%`, `=` and `&`, so only those three change.
pub(crate) fn reencode_canonical_into(out: &mut String, canonical: &str) {
    let mut start = 0;
    for (i, b) in canonical.bytes().enumerate() {
        let rep = match b {
            b'%' => "%25",
            b'=' => "%3D",
            b'&' => "%26",
            _ => continue,
        };
        out.push_str(&canonical[start..i]);
        out.push_str(rep);
        start = i + 1;
    }
    out.push_str(&canonical[start..]);
}

/// The canonicalized query: parameters sorted by name (byte order), each name and value
/// percent-encoded, joined as `name=value` with `&`. Blank values are kept.
///
/// ```
/// let q = ack_net_core::sign::canonical_query([("b", "2"), ("a", "x y"), ("c", "")]);
/// assert_eq!(q, "a=x%20y&b=2&c=");
/// ```
pub fn canonical_query<'a, I>(params: I) -> String
where
    I: IntoIterator<Item = (&'a str, &'a str)>,
{
    let mut pairs: Vec<(&str, &str)> = params.into_iter().collect();
    sort_pairs(&mut pairs);
    encode_sorted(&pairs)
}

/// Sorts parameters by name in byte order (then value, for a total order).
pub(crate) fn sort_pairs(pairs: &mut [(&str, &str)]) {
    pairs.sort_unstable_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()).then(a.1.cmp(b.1)));
}

/// `name=value&...`, percent-encoded, in the given order.
pub fn encode_sorted(pairs: &[(&str, &str)]) -> String {
    let cap = pairs.iter().map(|(n, v)| n.len() + v.len() + 2).sum::<usize>() * 5 / 4;
    let mut out = Vec::with_capacity(cap);
    for (i, (n, v)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push(b'&');
        }
        encode_into(&mut out, n.as_bytes());
        out.push(b'=');
        encode_into(&mut out, v.as_bytes());
    }
    ascii_string(out)
}

/// Formats a time as `YYYY-MM-DDThh:mm:ssZ` into `out` without a format-string parser.
fn push_timestamp(out: &mut String, time: DateTime<Utc>) {
    use chrono::{Datelike, Timelike};
    fn digits(out: &mut String, n: u32, width: u32) {
        for i in (0..width).rev() {
            out.push(char::from(b'0' + (n / 10u32.pow(i) % 10) as u8));
        }
    }
    digits(out, time.year().clamp(0, 9999) as u32, 4);
    for (sep, n) in
        [('-', time.month()), ('-', time.day()), ('T', time.hour()), (':', time.minute()), (':', time.second())]
    {
        out.push(sep);
        digits(out, n, 2);
    }
    out.push('Z');
}

/// Decodes an `application/x-www-form-urlencoded` string or a raw query into pairs, accepting
/// both `+` and `%20` for a space (clients differ), as a verifying server must.
pub fn decode_form(s: &str) -> Vec<(String, String)> {
    url::form_urlencoded::parse(s.as_bytes()).map(|(k, v)| (k.into_owned(), v.into_owned())).collect()
}

/// The HTTP method of a call; it is part of what gets signed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum HttpMethod {
    /// Parameters in the query string.
    Get,
    /// Parameters in a form-encoded body (V1) or the query string (V3).
    #[default]
    Post,
}

impl HttpMethod {
    /// `GET` or `POST`.
    pub fn as_str(self) -> &'static str {
        match self {
            HttpMethod::Get => "GET",
            HttpMethod::Post => "POST",
        }
    }
}

impl fmt::Display for HttpMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which signature scheme a client uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum SignatureVersion {
    /// HMAC-SHA1 over the canonicalized query, `SignatureVersion=1.0` (the default).
    #[default]
    V1,
    /// `ACS3-HMAC-SHA256` in the `Authorization` header.
    V3,
}

/// Formats a time as the API wants it: UTC `YYYY-MM-DDThh:mm:ssZ`, no fractional seconds.
///
/// ```
/// use chrono::TimeZone;
/// let t = chrono::Utc.with_ymd_and_hms(2016, 2, 23, 12, 46, 24).unwrap();
/// assert_eq!(ack_net_core::sign::format_timestamp(t), "2016-02-23T12:46:24Z");
/// ```
pub fn format_timestamp(time: DateTime<Utc>) -> String {
    let mut out = String::with_capacity(20);
    push_timestamp(&mut out, time);
    out
}

/// Parses a timestamp in the API's format (`YYYY-MM-DDThh:mm:ssZ`).
pub fn parse_timestamp(s: &str) -> Option<DateTime<Utc>> {
    chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%SZ").ok().map(|t| t.and_utc())
}

/// What a signer needs to know of one call besides its credentials, time and nonce.
#[derive(Clone, Copy, Debug)]
pub struct SigningInput<'a> {
    /// The HTTP method.
    pub method: HttpMethod,
    /// The host the request goes to (part of the V3 signature).
    pub host: &'a str,
    /// The API action, e.g. `DescribeVpcs`.
    pub action: &'a str,
    /// The API version, e.g. `2016-04-28`.
    pub version: &'a str,
    /// The operation parameters (without any common parameter).
    pub params: &'a crate::Params,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoding_rules() {
        assert_eq!(percent_encode("AZaz09-_.~"), "AZaz09-_.~");
        assert_eq!(percent_encode(" "), "%20");
        assert_eq!(percent_encode("*"), "%2A");
        assert_eq!(percent_encode("+"), "%2B");
        assert_eq!(percent_encode("%"), "%25");
        assert_eq!(percent_encode("é"), "%C3%A9");
        assert_eq!(percent_encode(":"), "%3A");
    }

    #[test]
    fn decode_accepts_plus_and_percent20() {
        assert_eq!(decode_form("a=x+y&b=x%20y"), vec![("a".into(), "x y".into()), ("b".into(), "x y".into())]);
    }

    #[test]
    fn timestamp_formatting_matches_chrono() {
        use chrono::TimeZone;
        for (y, mo, d, h, mi, se) in [(2016, 2, 23, 12, 46, 24), (2001, 1, 1, 0, 0, 0), (1999, 12, 31, 23, 59, 59)] {
            let t = Utc.with_ymd_and_hms(y, mo, d, h, mi, se).unwrap();
            assert_eq!(format_timestamp(t), t.format("%Y-%m-%dT%H:%M:%SZ").to_string());
        }
    }

    #[test]
    fn timestamps_round_trip() {
        let t = parse_timestamp("2023-10-26T10:22:32Z").unwrap();
        assert_eq!(format_timestamp(t), "2023-10-26T10:22:32Z");
        assert!(parse_timestamp("2023-10-26 10:22:32").is_none());
    }
}
