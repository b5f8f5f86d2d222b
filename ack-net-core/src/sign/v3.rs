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
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret.as_bytes()).expect("HMAC takes a key of any length");
    mac.update(string_to_sign.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// A V3-signed call: the headers to send (with `Authorization`) and the query parameters.
#[derive(Clone, Debug)]
pub struct SignedV3 {
    /// Headers to send, `Authorization` included.
    pub headers: Vec<(String, String)>,
    /// The query parameters (the operation's parameters), unencoded.
    pub query: Vec<(String, String)>,
}

/// Signs one call with V3. The operation parameters travel in the query string; the body
/// is empty.
pub fn sign(input: &SigningInput<'_>, credentials: &Credentials, time: DateTime<Utc>, nonce: &str) -> SignedV3 {
    let mut headers: Vec<(String, String)> = vec![
        ("host".into(), input.host.to_owned()),
        ("x-acs-action".into(), input.action.to_owned()),
        ("x-acs-version".into(), input.version.to_owned()),
        ("x-acs-date".into(), format_timestamp(time)),
        ("x-acs-signature-nonce".into(), nonce.to_owned()),
        ("x-acs-content-sha256".into(), EMPTY_PAYLOAD_SHA256.to_owned()),
    ];
    if let Some(token) = credentials.security_token() {
        headers.push(("x-acs-security-token".into(), token.expose_secret().to_owned()));
    }
    let query: Vec<(String, String)> = input.params.iter().map(|(n, v)| (n.to_owned(), v.to_owned())).collect();
    let (creq, signed) = canonical_request(
        input.method.as_str(),
        query.iter().map(|(n, v)| (n.as_str(), v.as_str())),
        headers.iter().map(|(n, v)| (n.as_str(), v.as_str())),
        EMPTY_PAYLOAD_SHA256,
    );
    let sig = signature(&string_to_sign(&creq), credentials.access_key_secret().expose_secret());
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
