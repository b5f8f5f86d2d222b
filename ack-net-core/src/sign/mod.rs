//! Request signing: V1 (HMAC-SHA1) and V3 (ACS3-HMAC-SHA256).
//!
//! Everything here is a pure function of the request, the credentials, the time and a nonce:
//! no clock, no randomness, no I/O. That makes every case a test vector (see
//! `tests/vectors/`), and lets the mock server verify signatures with the same code.

use std::fmt;

use chrono::{DateTime, Utc};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC};

pub mod v1;
pub mod v3;

/// Bytes that stay literal in the API's percent-encoding: `A-Z a-z 0-9 - _ . ~`.
const API_ENCODE_SET: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~');

/// Percent-encodes a name or value the way the API canonicalizes it: UTF-8, uppercase hex,
/// only `A-Z a-z 0-9 - _ . ~` literal (so a space is `%20`, `*` is `%2A`, `~` stays `~`).
///
/// ```
/// assert_eq!(ack_net_core::sign::percent_encode("a b*~+/"), "a%20b%2A~%2B%2F");
/// ```
pub fn percent_encode(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, API_ENCODE_SET).to_string()
}

/// Appends the percent-encoding of `s` to `out` without an intermediate allocation.
fn percent_encode_into(out: &mut String, s: &str) {
    for part in percent_encoding::utf8_percent_encode(s, API_ENCODE_SET) {
        out.push_str(part);
    }
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
    pairs.sort_unstable_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()).then(a.1.cmp(b.1)));
    let cap = pairs.iter().map(|(n, v)| n.len() + v.len() + 2).sum::<usize>() * 3 / 2;
    let mut out = String::with_capacity(cap);
    for (i, (n, v)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        percent_encode_into(&mut out, n);
        out.push('=');
        percent_encode_into(&mut out, v);
    }
    out
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
    time.format("%Y-%m-%dT%H:%M:%SZ").to_string()
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
    fn timestamps_round_trip() {
        let t = parse_timestamp("2023-10-26T10:22:32Z").unwrap();
        assert_eq!(format_timestamp(t), "2023-10-26T10:22:32Z");
        assert!(parse_timestamp("2023-10-26 10:22:32").is_none());
    }
}
