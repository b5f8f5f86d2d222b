//! Reading a request's parameters and checking its signature (V1 and V3), timestamp, nonce
//! and security token with the same code the client signs with (`ack_net_core::sign`).

use std::collections::{BTreeMap, HashMap, HashSet};

use ack_net_core::sign::{self, v1, v3};
use chrono::{DateTime, Utc};

use crate::error::MockError;

/// Parameters the gateway consumes; handlers never see them and the call log never keeps them.
pub const COMMON_PARAMS: [&str; 11] = [
    "Action",
    "Version",
    "Format",
    "AccessKeyId",
    "SignatureMethod",
    "SignatureVersion",
    "SignatureNonce",
    "Timestamp",
    "Signature",
    "SecurityToken",
    "SignatureType",
];

/// The largest clock skew accepted, as on the real gateway.
pub const MAX_SKEW_SECONDS: i64 = 15 * 60;

/// One accepted AccessKey.
#[derive(Clone)]
struct Secret {
    secret: String,
    /// An STS pair only works with its token.
    token: Option<String>,
}

/// The credentials the mock accepts.
#[derive(Clone, Default)]
pub struct Credentials {
    keys: HashMap<String, Secret>,
    tokens: HashSet<String>,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ids: Vec<&String> = self.keys.keys().collect();
        f.debug_struct("Credentials").field("access_key_ids", &ids).field("sts_tokens", &self.tokens.len()).finish()
    }
}

impl Credentials {
    /// Accepts `id`/`secret` (with or without any accepted STS token).
    pub fn add(&mut self, id: &str, secret: &str) {
        self.keys.insert(id.to_owned(), Secret { secret: secret.to_owned(), token: None });
    }

    /// Accepts `id`/`secret` only together with `token` (an STS triple).
    pub fn add_sts(&mut self, id: &str, secret: &str, token: &str) {
        self.keys.insert(id.to_owned(), Secret { secret: secret.to_owned(), token: Some(token.to_owned()) });
    }

    /// Accepts `token` as a SecurityToken with any plain key.
    pub fn add_token(&mut self, token: &str) {
        self.tokens.insert(token.to_owned());
    }

    /// Whether no key is configured.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}

/// Nonces seen recently. A nonce is kept until its request's timestamp leaves the skew
/// window, after which the timestamp check refuses a replay anyway.
#[derive(Debug, Default)]
pub struct NonceStore {
    seen: HashSet<String>,
    by_expiry: BTreeMap<i64, Vec<String>>,
}

/// At most this many nonces are remembered; beyond it the earliest to expire are forgotten.
const MAX_NONCES: usize = 2_000_000;

impl NonceStore {
    /// Records `nonce`; `false` when it was already used.
    pub fn check_and_insert(&mut self, nonce: &str, expires: i64, now: i64) -> bool {
        while let Some(entry) = self.by_expiry.first_entry() {
            if *entry.key() >= now && self.seen.len() < MAX_NONCES {
                break;
            }
            for n in entry.remove() {
                self.seen.remove(&n);
            }
        }
        if !self.seen.insert(nonce.to_owned()) {
            return false;
        }
        self.by_expiry.entry(expires).or_default().push(nonce.to_owned());
        true
    }
}

/// Which signature scheme a request used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Style {
    /// `Signature` parameter, HMAC-SHA1.
    V1,
    /// `Authorization: ACS3-HMAC-SHA256 ...`.
    V3,
}

impl Style {
    /// `V1` or `V3`.
    pub fn as_str(self) -> &'static str {
        match self {
            Style::V1 => "V1",
            Style::V3 => "V3",
        }
    }
}

/// A request as it came off the wire.
#[derive(Debug)]
pub struct Incoming<'a> {
    /// `GET`, `POST`, ...
    pub method: &'a str,
    /// The raw query string (without `?`).
    pub query: &'a str,
    /// Headers, names lowercase, values as sent.
    pub headers: &'a [(String, String)],
    /// The body.
    pub body: &'a [u8],
}

impl Incoming<'_> {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }
}

/// A request's parameters, read but not yet checked.
#[derive(Debug)]
pub struct Parsed {
    /// The scheme.
    pub style: Style,
    /// Every query parameter, decoded, in wire order.
    pub query: Vec<(String, String)>,
    /// Every form body parameter, decoded.
    pub form: Vec<(String, String)>,
    /// The action, from `Action` (V1) or `x-acs-action` (V3).
    pub action: Option<String>,
    /// The version, from `Version` or `x-acs-version`.
    pub version: Option<String>,
    /// The operation parameters (common parameters removed; a later duplicate wins).
    pub params: BTreeMap<String, String>,
}

fn is_form(incoming: &Incoming<'_>) -> bool {
    match incoming.header("content-type") {
        Some(ct) => ct.to_ascii_lowercase().starts_with("application/x-www-form-urlencoded"),
        // Some clients post a form without saying so.
        None => !incoming.body.is_empty(),
    }
}

/// Reads the parameters of a request.
pub fn parse(incoming: &Incoming<'_>) -> Parsed {
    let auth = incoming.header("authorization").unwrap_or("");
    let style = if auth.trim_start().starts_with(v3::ALGORITHM) { Style::V3 } else { Style::V1 };
    let query = sign::decode_form(incoming.query);
    let form = if is_form(incoming) {
        std::str::from_utf8(incoming.body).map(sign::decode_form).unwrap_or_default()
    } else {
        Vec::new()
    };
    let mut params = BTreeMap::new();
    let mut action = None;
    let mut version = None;
    for (k, v) in query.iter().chain(form.iter()) {
        match k.as_str() {
            "Action" => action = Some(v.clone()),
            "Version" => version = Some(v.clone()),
            _ if COMMON_PARAMS.contains(&k.as_str()) => {}
            _ => {
                params.insert(k.clone(), v.clone());
            }
        }
    }
    if style == Style::V3 {
        if let Some(a) = incoming.header("x-acs-action") {
            action = Some(a.to_owned());
        }
        if let Some(v) = incoming.header("x-acs-version") {
            version = Some(v.to_owned());
        }
    }
    Parsed {
        style,
        query,
        form,
        action: action.filter(|a| !a.is_empty()),
        version: version.filter(|v| !v.is_empty()),
        params,
    }
}

fn missing(name: &str) -> MockError {
    MockError::bad_request(
        "MissingParameter",
        format!("The input parameter \"{name}\" that is mandatory for processing this request is not supplied."),
    )
}

fn incomplete() -> MockError {
    MockError::bad_request("IncompleteSignature", "The request signature does not conform to Aliyun standards.")
}

fn mismatch(string_to_sign: &str) -> MockError {
    MockError::bad_request(
        "SignatureDoesNotMatch",
        format!("Specified signature is not matched with our calculation. server string to sign is:{string_to_sign}"),
    )
}

fn not_found_key() -> MockError {
    MockError::not_found("InvalidAccessKeyId.NotFound", "Specified access key is not found.")
}

/// Parses a request timestamp. The API documents `YYYY-MM-DDThh:mm:ssZ`, but the live
/// gateway also accepts fractional seconds (some SDKs send nanoseconds), so the mock does too.
fn parse_request_time(value: &str) -> Option<DateTime<Utc>> {
    sign::parse_timestamp(value)
        .or_else(|| chrono::NaiveDateTime::parse_from_str(value, "%Y-%m-%dT%H:%M:%S%.fZ").ok().map(|t| t.and_utc()))
}

fn check_time(value: &str, now: DateTime<Utc>) -> Result<i64, MockError> {
    let t = parse_request_time(value.trim()).ok_or_else(|| {
        MockError::bad_request("InvalidTimeStamp.Format", "Specified time stamp or date value is not well formatted.")
    })?;
    let skew = (now - t).num_seconds().abs();
    if skew > MAX_SKEW_SECONDS {
        return Err(MockError::bad_request(
            "InvalidTimeStamp.Expired",
            "Specified time stamp or date value is expired.",
        ));
    }
    Ok(t.timestamp())
}

fn eq_ct(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Checks the signature, timestamp, nonce and security token. Returns the AccessKeyId.
pub fn authenticate(
    creds: &Credentials,
    nonces: &std::sync::Mutex<NonceStore>,
    incoming: &Incoming<'_>,
    parsed: &Parsed,
    now: DateTime<Utc>,
) -> Result<String, MockError> {
    let (key_id, nonce, ts, token) = match parsed.style {
        Style::V1 => {
            let all: Vec<(&str, &str)> =
                parsed.query.iter().chain(parsed.form.iter()).map(|(k, v)| (k.as_str(), v.as_str())).collect();
            let first = |name: &str| all.iter().find(|(k, _)| *k == name).map(|(_, v)| *v);
            let key_id = first("AccessKeyId").filter(|s| !s.is_empty()).ok_or_else(|| missing("AccessKeyId"))?;
            let sig = first("Signature").filter(|s| !s.is_empty()).ok_or_else(incomplete)?;
            if let Some(m) = first("SignatureMethod") {
                if m != "HMAC-SHA1" {
                    return Err(MockError::bad_request(
                        "InvalidSignatureMethod",
                        format!("Specified signature method \"{m}\" is not supported."),
                    ));
                }
            }
            let ts_raw = first("Timestamp").ok_or_else(|| missing("Timestamp"))?;
            let ts = check_time(ts_raw, now)?;
            let nonce = first("SignatureNonce").filter(|s| !s.is_empty()).ok_or_else(|| missing("SignatureNonce"))?;
            let secret = creds.keys.get(key_id).ok_or_else(not_found_key)?;
            let sts = v1::string_to_sign(incoming.method, all.iter().filter(|(k, _)| *k != "Signature").copied());
            if !eq_ct(&v1::signature(&sts, &secret.secret), sig) {
                return Err(mismatch(&sts));
            }
            (key_id.to_owned(), nonce.to_owned(), ts, first("SecurityToken").map(str::to_owned))
        }
        Style::V3 => {
            let auth = incoming.header("authorization").and_then(v3::parse_authorization).ok_or_else(incomplete)?;
            for required in ["x-acs-action", "x-acs-date", "x-acs-signature-nonce"] {
                if !auth.signed_headers.iter().any(|h| h == required) {
                    return Err(incomplete());
                }
            }
            let ts_raw = incoming.header("x-acs-date").ok_or_else(|| missing("x-acs-date"))?;
            let ts = check_time(ts_raw, now)?;
            let nonce = incoming
                .header("x-acs-signature-nonce")
                .filter(|s| !s.is_empty())
                .ok_or_else(|| missing("x-acs-signature-nonce"))?;
            let secret = creds.keys.get(&auth.credential).ok_or_else(not_found_key)?;
            let body_hash = v3::payload_hash(incoming.body);
            let claimed = incoming.header("x-acs-content-sha256").unwrap_or(&body_hash);
            let mut headers: Vec<(&str, &str)> = Vec::with_capacity(auth.signed_headers.len());
            for h in &auth.signed_headers {
                let v = incoming.header(h).ok_or_else(incomplete)?;
                headers.push((h.as_str(), v));
            }
            let (creq, _) = v3::canonical_request(
                incoming.method,
                parsed.query.iter().map(|(k, v)| (k.as_str(), v.as_str())),
                headers,
                claimed,
            );
            let sts = v3::string_to_sign(&creq);
            if !eq_ct(&v3::signature(&sts, &secret.secret), &auth.signature.to_ascii_lowercase()) {
                return Err(mismatch(&sts));
            }
            if claimed != body_hash {
                return Err(MockError::bad_request(
                    "SignatureDoesNotMatch",
                    "The x-acs-content-sha256 header does not match the request body.",
                ));
            }
            (auth.credential.clone(), nonce.to_owned(), ts, incoming.header("x-acs-security-token").map(str::to_owned))
        }
    };
    let secret = creds.keys.get(&key_id).ok_or_else(not_found_key)?;
    match (&secret.token, token.as_deref().filter(|t| !t.is_empty())) {
        (Some(want), Some(got)) if eq_ct(want, got) => {}
        (Some(_), _) => {
            return Err(MockError::bad_request(
                "InvalidSecurityToken.MismatchWithAccessKey",
                "The SecurityToken does not match the AccessKeyId.",
            ))
        }
        (None, Some(got)) if !creds.tokens.contains(got) => {
            return Err(MockError::bad_request(
                "InvalidSecurityToken.Malformed",
                "Specified SecurityToken is malformed.",
            ))
        }
        _ => {}
    }
    let fresh = nonces
        .lock()
        .map_err(|_| MockError::new(500, "InternalError", "nonce store poisoned"))?
        .check_and_insert(&nonce, ts + MAX_SKEW_SECONDS, now.timestamp());
    if !fresh {
        return Err(MockError::bad_request("SignatureNonceUsed", "Specified signature nonce was used already."));
    }
    Ok(key_id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nonces_expire() {
        let mut s = NonceStore::default();
        assert!(s.check_and_insert("a", 100, 0));
        assert!(!s.check_and_insert("a", 100, 50));
        assert!(s.check_and_insert("a", 300, 101));
    }

    #[test]
    fn official_v1_example_verifies() {
        let mut creds = Credentials::default();
        creds.add("testid", "testsecret");
        let q = "AccessKeyId=testid&Action=DescribeRegions&Format=XML&SignatureMethod=HMAC-SHA1\
                 &SignatureNonce=3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf&SignatureVersion=1.0\
                 &Timestamp=2016-02-23T12%3A46%3A24Z&Version=2014-05-26&Signature=OLeaidS1JvxuMvnyHOwuJ%2BuX5qY%3D";
        let inc = Incoming { method: "GET", query: q, headers: &[], body: b"" };
        let parsed = parse(&inc);
        assert_eq!(parsed.action.as_deref(), Some("DescribeRegions"));
        assert!(parsed.params.is_empty());
        let now = sign::parse_timestamp("2016-02-23T12:50:00Z").unwrap();
        let nonces = std::sync::Mutex::new(NonceStore::default());
        assert_eq!(authenticate(&creds, &nonces, &inc, &parsed, now).unwrap(), "testid");
        assert_eq!(authenticate(&creds, &nonces, &inc, &parsed, now).unwrap_err().code, "SignatureNonceUsed");
        let late = sign::parse_timestamp("2016-02-23T13:10:00Z").unwrap();
        assert_eq!(authenticate(&creds, &nonces, &inc, &parsed, late).unwrap_err().code, "InvalidTimeStamp.Expired");
        let bad = q.replace("OLeaid", "XLeaid");
        let inc = Incoming { method: "GET", query: &bad, headers: &[], body: b"" };
        let e = authenticate(&creds, &nonces, &inc, &parse(&inc), now).unwrap_err();
        assert_eq!(e.code, "SignatureDoesNotMatch");
        assert!(e.message.contains("GET&%2F&AccessKeyId%3Dtestid"));
    }

    #[test]
    fn fractional_seconds_are_accepted_and_garbage_is_not() {
        let now = sign::parse_timestamp("2026-11-25T16:02:30Z").unwrap();
        assert!(check_time("2026-11-25T16:02:30.823595496Z", now).is_ok());
        assert!(check_time("2026-11-25T16:02:30Z", now).is_ok());
        assert_eq!(check_time("2026-11-25 16:02:30", now).unwrap_err().code, "InvalidTimeStamp.Format");
        assert_eq!(check_time("2026-11-25T16:02:30.5", now).unwrap_err().code, "InvalidTimeStamp.Format");
    }

    #[test]
    fn official_v3_example_verifies() {
        let mut creds = Credentials::default();
        creds.add("YourAccessKeyId", "YourAccessKeySecret");
        let headers: Vec<(String, String)> = [
            ("host", "ecs.cn-shanghai.aliyuncs.com"),
            ("x-acs-action", "RunInstances"),
            ("x-acs-version", "2014-05-26"),
            ("x-acs-date", "2023-10-26T10:22:32Z"),
            ("x-acs-signature-nonce", "3156853299f313e23d1673dc12e1703d"),
            ("x-acs-content-sha256", v3::EMPTY_PAYLOAD_SHA256),
            (
                "authorization",
                "ACS3-HMAC-SHA256 Credential=YourAccessKeyId,SignedHeaders=host;x-acs-action;x-acs-content-sha256;\
                 x-acs-date;x-acs-signature-nonce;x-acs-version,\
                 Signature=06563a9e1b43f5dfe96b81484da74bceab24a1d853912eee15083a6f0f3283c0",
            ),
        ]
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
        let q = "ImageId=win2019_1809_x64_dtc_zh-cn_40G_alibase_20230811.vhd&RegionId=cn-shanghai";
        let inc = Incoming { method: "POST", query: q, headers: &headers, body: b"" };
        let parsed = parse(&inc);
        assert_eq!(parsed.style, Style::V3);
        assert_eq!(parsed.action.as_deref(), Some("RunInstances"));
        let now = sign::parse_timestamp("2023-10-26T10:22:40Z").unwrap();
        let nonces = std::sync::Mutex::new(NonceStore::default());
        assert_eq!(authenticate(&creds, &nonces, &inc, &parsed, now).unwrap(), "YourAccessKeyId");
    }
}
