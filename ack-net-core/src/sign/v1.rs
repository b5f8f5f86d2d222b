//! Signature V1: HMAC-SHA1 over the canonicalized query (`SignatureVersion=1.0`).

use base64::Engine as _;
use chrono::{DateTime, Utc};
use hmac::{Hmac, KeyInit, Mac};
use secrecy::ExposeSecret;
use sha1::Sha1;

use super::{ascii_string, canonical_query, encode_dual, encode_into, reencode_canonical_into, SigningInput};
use crate::Credentials;

/// `METHOD & %2F & percentEncode(canonicalized query)`.
pub fn string_to_sign<'a, I>(method: &str, params: I) -> String
where
    I: IntoIterator<Item = (&'a str, &'a str)>,
{
    string_to_sign_of_canonical(method, &canonical_query(params))
}

fn string_to_sign_of_canonical(method: &str, canonical: &str) -> String {
    let mut out = String::with_capacity(method.len() + 5 + canonical.len() * 5 / 4);
    out.push_str(method);
    out.push_str("&%2F&");
    reencode_canonical_into(&mut out, canonical);
    out
}

/// `base64(HMAC-SHA1(secret + "&", string_to_sign))`.
pub fn signature(string_to_sign: &str, secret: &str) -> String {
    hmac_base64(string_to_sign.as_bytes(), secret)
}

fn hmac_base64(string_to_sign: &[u8], secret: &str) -> String {
    // The key is `secret + "&"`: build it on the stack for the usual short secret.
    let mut stack = [0u8; 64];
    let heap: Vec<u8>;
    let key: &[u8] = if secret.len() < stack.len() {
        stack[..secret.len()].copy_from_slice(secret.as_bytes());
        stack[secret.len()] = b'&';
        &stack[..=secret.len()]
    } else {
        heap = [secret.as_bytes(), b"&"].concat();
        &heap
    };
    let mut mac = <Hmac<Sha1> as KeyInit>::new_from_slice(key).expect("HMAC takes a key of any length");
    mac.update(string_to_sign);
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// Byte-order comparison of short parameter names, inlined: names usually differ in their
/// first bytes, where a `memcmp` call costs more than the comparison.
#[inline]
fn name_cmp(a: &[u8], b: &[u8]) -> std::cmp::Ordering {
    for (x, y) in a.iter().zip(b) {
        if x != y {
            return x.cmp(y);
        }
    }
    a.len().cmp(&b.len())
}

/// A V1-signed call: the percent-encoded parameters, ready for the query string (GET) or
/// the form body (POST), and the signature alone.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedV1 {
    /// `name=value&...` in canonical order with `Signature` last, percent-encoded.
    pub encoded: String,
    /// The base64 signature.
    pub signature: String,
}

/// Signs one call: adds the common parameters (`Action`, `Version`, `Format=JSON`,
/// `AccessKeyId`, `SignatureMethod`, `SignatureVersion`, `SignatureNonce`, `Timestamp`,
/// `SecurityToken` with STS credentials; an operation parameter of the same name wins),
/// and returns every parameter encoded for the wire with `Signature` last.
///
/// ```
/// use ack_net_core::{sign::{v1, HttpMethod, SigningInput}, Credentials, Params};
/// use chrono::TimeZone;
/// let creds = Credentials::new("testid", "testsecret");
/// let params = Params::new().with("RegionId", "cn-hangzhou");
/// let input = SigningInput { method: HttpMethod::Get, host: "vpc.aliyuncs.com",
///     action: "DescribeVpcs", version: "2016-04-28", params: &params };
/// let t = chrono::Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0).unwrap();
/// let signed = v1::sign(&input, &creds, t, "nonce-1");
/// assert!(signed.encoded.starts_with("AccessKeyId=testid&Action=DescribeVpcs&"));
/// assert!(signed.encoded.contains("&Timestamp=2024-01-01T00%3A00%3A00Z&"));
/// ```
pub fn sign(input: &SigningInput<'_>, credentials: &Credentials, time: DateTime<Utc>, nonce: &str) -> SignedV1 {
    let timestamp = super::format_timestamp(time);
    let token = credentials.security_token().map(|t| t.expose_secret());
    // The common parameters, already in canonical (byte) order.
    let common: [(&str, Option<&str>); 9] = [
        ("AccessKeyId", Some(credentials.access_key_id())),
        ("Action", Some(input.action)),
        ("Format", Some("JSON")),
        ("SecurityToken", token),
        ("SignatureMethod", Some("HMAC-SHA1")),
        ("SignatureNonce", Some(nonce)),
        ("SignatureVersion", Some("1.0")),
        ("Timestamp", Some(timestamp.as_str())),
        ("Version", Some(input.version)),
    ];
    // Sort only the operation's parameters (names are unique in `Params`), then merge:
    // much cheaper than sorting everything together.
    let mut own: Vec<(&str, &str)> = input.params.iter().collect();
    own.sort_unstable_by(|a, b| name_cmp(a.0.as_bytes(), b.0.as_bytes()));
    let mut pairs: Vec<(&str, &str)> = Vec::with_capacity(own.len() + common.len());
    let mut rest = own.as_slice();
    for (name, value) in common {
        while let Some((first, tail)) = rest.split_first() {
            if name_cmp(first.0.as_bytes(), name.as_bytes()).is_lt() {
                pairs.push(*first);
                rest = tail;
            } else {
                break;
            }
        }
        // An operation parameter of the same name wins over the common one.
        if rest.first().is_some_and(|p| p.0 == name) {
            continue;
        }
        if let Some(v) = value {
            pairs.push((name, v));
        }
    }
    pairs.extend_from_slice(rest);
    // One pass writes the wire form and the string to sign (which encodes it again).
    let cap = pairs.iter().map(|(n, v)| n.len() + v.len() + 2).sum::<usize>() * 5 / 4 + 48;
    let mut wire = Vec::with_capacity(cap);
    let mut sts = Vec::with_capacity(cap * 5 / 4);
    sts.extend_from_slice(input.method.as_str().as_bytes());
    sts.extend_from_slice(b"&%2F&");
    for (i, (n, v)) in pairs.iter().enumerate() {
        if i > 0 {
            wire.push(b'&');
            sts.extend_from_slice(b"%26");
        }
        encode_dual(&mut wire, &mut sts, n.as_bytes());
        wire.push(b'=');
        sts.extend_from_slice(b"%3D");
        encode_dual(&mut wire, &mut sts, v.as_bytes());
    }
    let sig = hmac_base64(&sts, credentials.access_key_secret().expose_secret());
    wire.extend_from_slice(b"&Signature=");
    encode_into(&mut wire, sig.as_bytes());
    let encoded = ascii_string(wire);
    SignedV1 { encoded, signature: sig }
}
