//! Signature V1: HMAC-SHA1 over the canonicalized query (`SignatureVersion=1.0`).

use base64::Engine as _;
use chrono::{DateTime, Utc};
use hmac::{Hmac, KeyInit, Mac};
use secrecy::ExposeSecret;
use sha1::Sha1;

use super::{canonical_query, format_timestamp, percent_encode, SigningInput};
use crate::Credentials;

/// `METHOD & %2F & percentEncode(canonicalized query)`.
pub fn string_to_sign<'a, I>(method: &str, params: I) -> String
where
    I: IntoIterator<Item = (&'a str, &'a str)>,
{
    let query = canonical_query(params);
    let mut out = String::with_capacity(method.len() + 4 + query.len() * 3 / 2);
    out.push_str(method);
    out.push_str("&%2F&");
    out.push_str(&percent_encode(&query));
    out
}

/// `base64(HMAC-SHA1(secret + "&", string_to_sign))`.
pub fn signature(string_to_sign: &str, secret: &str) -> String {
    let mut key = Vec::with_capacity(secret.len() + 1);
    key.extend_from_slice(secret.as_bytes());
    key.push(b'&');
    let mut mac = <Hmac<Sha1> as KeyInit>::new_from_slice(&key).expect("HMAC takes a key of any length");
    mac.update(string_to_sign.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// Signs one call: returns every parameter to send (the operation's, the common ones and
/// `Signature`), unencoded, in canonical order with `Signature` last.
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
/// assert_eq!(signed.last().unwrap().0, "Signature");
/// ```
pub fn sign(
    input: &SigningInput<'_>,
    credentials: &Credentials,
    time: DateTime<Utc>,
    nonce: &str,
) -> Vec<(String, String)> {
    let mut all: Vec<(String, String)> = Vec::with_capacity(input.params.len() + 10);
    all.extend(input.params.iter().map(|(n, v)| (n.to_owned(), v.to_owned())));
    let mut common = |n: &str, v: &str| {
        if !all.iter().any(|(k, _)| k == n) {
            all.push((n.to_owned(), v.to_owned()));
        }
    };
    common("Action", input.action);
    common("Version", input.version);
    common("Format", "JSON");
    common("AccessKeyId", credentials.access_key_id());
    common("SignatureMethod", "HMAC-SHA1");
    common("SignatureVersion", "1.0");
    common("SignatureNonce", nonce);
    common("Timestamp", &format_timestamp(time));
    if let Some(token) = credentials.security_token() {
        common("SecurityToken", token.expose_secret());
    }
    all.sort_unstable_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    let sts = string_to_sign(input.method.as_str(), all.iter().map(|(n, v)| (n.as_str(), v.as_str())));
    let sig = signature(&sts, credentials.access_key_secret().expose_secret());
    all.push(("Signature".to_owned(), sig));
    all
}
