//! Signature V3: `ACS3-HMAC-SHA256` in the `Authorization` header.

use chrono::{DateTime, Utc};
use hmac::{Hmac, KeyInit, Mac};
use secrecy::ExposeSecret;
use sha2::{Digest, Sha256};

use super::{canonical_query, format_timestamp, SigningInput};
use crate::Credentials;

/// The algorithm name that starts the `Authorization` header and the string to sign.
pub const ALGORITHM: &str = "ACS3-HMAC-SHA256";

/// Lowercase hex SHA-256 of an empty payload.
pub const EMPTY_PAYLOAD_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/// Lowercase hex SHA-256 of `payload`.
pub fn payload_hash(payload: &[u8]) -> String {
    hex::encode(Sha256::digest(payload))
}

/// Whether a header takes part in the signature: `host`, `content-type` and every `x-acs-*`.
pub fn is_signed_header(lowercase_name: &str) -> bool {
    lowercase_name == "host" || lowercase_name == "content-type" || lowercase_name.starts_with("x-acs-")
}

/// The canonical request: METHOD, `/`, canonical query, canonical headers, signed header
/// list and payload hash, joined with `\n`. `headers` must hold exactly the signed headers;
/// names are lowercased and sorted here, values trimmed. Returns it with the signed header
/// list.
pub fn canonical_request<'a, Q, H>(method: &str, query: Q, headers: H, payload_hash: &str) -> (String, String)
where
    Q: IntoIterator<Item = (&'a str, &'a str)>,
    H: IntoIterator<Item = (&'a str, &'a str)>,
{
    let mut hs: Vec<(String, &str)> = headers.into_iter().map(|(n, v)| (n.to_ascii_lowercase(), v.trim())).collect();
    hs.sort_by(|a, b| a.0.cmp(&b.0));
    let mut canonical_headers = String::new();
    for (n, v) in &hs {
        canonical_headers.push_str(n);
        canonical_headers.push(':');
        canonical_headers.push_str(v);
        canonical_headers.push('\n');
    }
    let signed: Vec<&str> = hs.iter().map(|(n, _)| n.as_str()).collect();
    let signed = signed.join(";");
    let req = format!("{method}\n/\n{}\n{canonical_headers}\n{signed}\n{payload_hash}", canonical_query(query));
    (req, signed)
}

/// `ACS3-HMAC-SHA256\n` + hex(SHA-256(canonical request)).
pub fn string_to_sign(canonical_request: &str) -> String {
    format!("{ALGORITHM}\n{}", hex::encode(Sha256::digest(canonical_request.as_bytes())))
}

/// hex(HMAC-SHA256(secret, string_to_sign)); the key has no `&` appended.
pub fn signature(string_to_sign: &str, secret: &str) -> String {
    let mut mac = keyed(secret);
    mac.update(string_to_sign.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// HMAC-SHA256 keyed with the V3 key, the secret itself.
pub(crate) fn keyed(secret: &str) -> Hmac<Sha256> {
    <Hmac<Sha256> as KeyInit>::new_from_slice(secret.as_bytes()).expect("HMAC takes a key of any length")
}

/// A V3-signed call: the headers to send (with `Authorization`) and the query string.
#[derive(Clone, Debug)]
pub struct SignedV3 {
    /// Headers to send, `Authorization` included.
    pub headers: Vec<(String, String)>,
    /// The operation's parameters as the canonical query string (sorted, percent-encoded),
    /// ready to follow the `?` of the URL.
    pub query: String,
}

/// Signs one call with V3. The operation parameters travel in the query string; the body
/// is empty.
///
/// It computes what [`canonical_request`], [`string_to_sign`] and [`signature`] describe
/// step by step, without building the canonical request: its parts go straight into the
/// SHA-256, the signed headers are written in their known canonical order, and the HMAC key state
/// is kept with the credentials.
///
/// ```
/// use ack_net_core::{sign::{v3, HttpMethod, SigningInput}, Credentials, Params};
/// use chrono::TimeZone;
/// let creds = Credentials::new("testid", "testsecret");
/// let params = Params::new().with("RegionId", "cn-hangzhou");
/// let input = SigningInput { method: HttpMethod::Post, host: "vpc.cn-hangzhou.aliyuncs.com",
///     action: "DescribeVpcs", version: "2016-04-28", params: &params };
/// let t = chrono::Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0).unwrap();
/// let signed = v3::sign(&input, &creds, t, "nonce-1");
/// assert_eq!(signed.query, "RegionId=cn-hangzhou");
/// let auth = signed.headers.iter().find(|(n, _)| n == "Authorization").unwrap();
/// assert!(auth.1.starts_with("ACS3-HMAC-SHA256 Credential=testid,SignedHeaders=host;x-acs-action;"));
/// ```
pub fn sign(input: &SigningInput<'_>, credentials: &Credentials, time: DateTime<Utc>, nonce: &str) -> SignedV3 {
    let date = format_timestamp(time);
    let token = credentials.security_token().map(|t| t.expose_secret());
    let query = canonical_query(input.params.iter());
    // The signed headers in canonical order, the token's in its place.
    let canonical: [(&str, Option<&str>); 7] = [
        ("host", Some(input.host)),
        ("x-acs-action", Some(input.action)),
        ("x-acs-content-sha256", Some(EMPTY_PAYLOAD_SHA256)),
        ("x-acs-date", Some(&date)),
        ("x-acs-security-token", token),
        ("x-acs-signature-nonce", Some(nonce)),
        ("x-acs-version", Some(input.version)),
    ];
    let sent = || canonical.iter().filter_map(|&(n, v)| Some((n, v?)));
    let signed = sent().map(|(n, _)| n).collect::<Vec<_>>().join(";");
    let mut request = Sha256::new();
    for part in [input.method.as_str(), "\n/\n", &query, "\n"] {
        request.update(part.as_bytes());
    }
    for (name, value) in sent() {
        for part in [name, ":", value.trim(), "\n"] {
            request.update(part.as_bytes());
        }
    }
    for part in ["\n", &signed, "\n", EMPTY_PAYLOAD_SHA256] {
        request.update(part.as_bytes());
    }
    let mut request_hex = [0u8; 64];
    hex::encode_to_slice(request.finalize(), &mut request_hex).expect("64 hex digits for 32 bytes");
    let mut mac = credentials.v3_key().clone();
    mac.update(ALGORITHM.as_bytes());
    mac.update(b"\n");
    mac.update(&request_hex);
    let sig = hex::encode(mac.finalize().into_bytes());
    let mut headers: Vec<(String, String)> = Vec::with_capacity(8);
    headers.extend(sent().map(|(n, v)| (n.to_owned(), v.to_owned())));
    headers.push((
        "Authorization".into(),
        format!("{ALGORITHM} Credential={},SignedHeaders={signed},Signature={sig}", credentials.access_key_id()),
    ));
    SignedV3 { headers, query }
}

/// The parts of an `Authorization: ACS3-HMAC-SHA256 ...` header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Authorization {
    /// The AccessKeyId after `Credential=`.
    pub credential: String,
    /// The signed header names, lowercase.
    pub signed_headers: Vec<String>,
    /// The hex signature.
    pub signature: String,
}

/// Parses an `Authorization` header value; `None` when it is not a well-formed V3 header.
pub fn parse_authorization(value: &str) -> Option<Authorization> {
    let rest = value.strip_prefix(ALGORITHM)?.trim_start();
    let (mut credential, mut signed, mut sig) = (None, None, None);
    for part in rest.split(',') {
        let (k, v) = part.trim().split_once('=')?;
        match k {
            "Credential" => credential = Some(v.to_owned()),
            "SignedHeaders" => signed = Some(v.split(';').map(str::to_owned).collect()),
            "Signature" => sig = Some(v.to_owned()),
            _ => return None,
        }
    }
    Some(Authorization { credential: credential?, signed_headers: signed?, signature: sig? })
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use proptest::prelude::*;

    use super::*;
    use crate::sign::{decode_form, HttpMethod};
    use crate::Params;

    /// The `Authorization` header `sign` should send, computed step by step through the
    /// canonical request, as the mock verifies it.
    fn reference(input: &SigningInput<'_>, creds: &Credentials, signed: &SignedV3) -> String {
        let sent: Vec<(&str, &str)> = signed
            .headers
            .iter()
            .filter(|(n, _)| n != "Authorization")
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect();
        let query = decode_form(&signed.query);
        let (creq, names) = canonical_request(
            input.method.as_str(),
            query.iter().map(|(n, v)| (n.as_str(), v.as_str())),
            sent.iter().copied(),
            EMPTY_PAYLOAD_SHA256,
        );
        let sig = signature(&string_to_sign(&creq), creds.access_key_secret().expose_secret());
        format!("{ALGORITHM} Credential={},SignedHeaders={names},Signature={sig}", creds.access_key_id())
    }

    proptest! {
        /// The streaming signer agrees with the canonical request for any parameters, hosts,
        /// nonces and tokens (values with spaces to trim included), and its query carries
        /// exactly the parameters.
        #[test]
        fn sign_matches_the_canonical_request(
            params in proptest::collection::btree_map("[A-Za-z][A-Za-z0-9._-]{0,20}", "\\PC{0,30}", 0..20),
            secret in "[ -~]{1,80}",
            token in proptest::option::of("[ -~]{1,40}"),
            host in "[a-z0-9.-]{1,40}",
            nonce in "[0-9a-f]{0,40}",
            secs in 0i64..4_102_444_800,
            get in any::<bool>(),
        ) {
            let mut p = Params::new();
            for (n, v) in &params {
                p.insert(n.as_str(), v);
            }
            let mut creds = Credentials::new("LTAI5tExample", secret);
            if let Some(t) = token.clone() {
                creds = creds.with_security_token(t);
            }
            let input = SigningInput {
                method: if get { HttpMethod::Get } else { HttpMethod::Post },
                host: &host,
                action: "DescribeVpcs",
                version: "2016-04-28",
                params: &p,
            };
            let signed = sign(&input, &creds, Utc.timestamp_opt(secs, 0).unwrap(), &nonce);
            let auth = &signed.headers.iter().find(|(n, _)| n == "Authorization").unwrap().1;
            prop_assert_eq!(auth, &reference(&input, &creds, &signed));
            let sent: Vec<(String, String)> = params.into_iter().collect();
            prop_assert_eq!(decode_form(&signed.query), sent);
            prop_assert_eq!(signed.headers.iter().any(|(n, _)| n == "x-acs-security-token"), token.is_some());
        }
    }
}
