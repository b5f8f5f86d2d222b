//! Signature V1: HMAC-SHA1 over the canonicalized query (`SignatureVersion=1.0`).

use chrono::{DateTime, Utc};
use hmac::{Hmac, KeyInit, Mac};
use secrecy::ExposeSecret;
use sha1::Sha1;

use super::{ascii_string, canonical_query, reencode_canonical_into, DualWriter, SigningInput};
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
    let mut mac = keyed(secret);
    mac.update(string_to_sign.as_bytes());
    ascii_string(base64_digest(&mac.finalize().into_bytes().into()).to_vec())
}

/// HMAC-SHA1 keyed with the V1 key, `secret + "&"` (built on the stack for the usual short
/// secret, and wiped after keying).
pub(crate) fn keyed(secret: &str) -> Hmac<Sha1> {
    let mut stack = [0u8; 64];
    let mut heap = Vec::new();
    let key: &mut [u8] = if secret.len() < stack.len() {
        &mut stack[..=secret.len()]
    } else {
        heap.resize(secret.len() + 1, 0);
        &mut heap
    };
    key[..secret.len()].copy_from_slice(secret.as_bytes());
    key[secret.len()] = b'&';
    let mac = <Hmac<Sha1> as KeyInit>::new_from_slice(key).expect("HMAC takes a key of any length");
    key.fill(0);
    mac
}

/// A parameter name with a sort key: its first 8 bytes as a big-endian number (zero-padded),
/// so that most comparisons of names are one integer comparison.
#[derive(Clone, Copy)]
struct Name<'a> {
    key: u64,
    name: &'a [u8],
}

/// The sort key of a name, at compile time.
const fn name_key(name: &[u8]) -> u64 {
    let mut key = 0u64;
    let mut i = 0;
    while i < 8 {
        key <<= 8;
        if i < name.len() {
            key |= name[i] as u64;
        }
        i += 1;
    }
    key
}

impl<'a> Name<'a> {
    #[inline(always)]
    fn new(name: &'a str) -> Self {
        let name = name.as_bytes();
        let key = if name.len() >= 8 {
            u64::from_be_bytes(name[..8].try_into().expect("8 bytes"))
        } else {
            super::short_word(name).swap_bytes()
        };
        Name { key, name }
    }

    /// A constant name, its key computed at compile time.
    const fn constant(name: &'static str) -> Name<'static> {
        Name { key: name_key(name.as_bytes()), name: name.as_bytes() }
    }

    /// Byte order of the names.
    #[inline(always)]
    fn cmp(&self, other: &Name<'_>) -> std::cmp::Ordering {
        self.key.cmp(&other.key).then_with(|| self.name.cmp(other.name))
    }
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
/// [`sign_to`] does the same without allocating the two strings.
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
    let mut encoded = Vec::new();
    let signature = sign_to(input, credentials, time, nonce, &mut encoded);
    SignedV1 { encoded: ascii_string(encoded), signature: signature.as_str().to_owned() }
}

/// A V1 signature: 28 base64 characters, held inline. It is public on the wire, so it is
/// no secret.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Signature([u8; 28]);

impl Signature {
    /// The base64 text.
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).expect("base64 is ASCII")
    }
}

impl std::fmt::Display for Signature {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::fmt::Debug for Signature {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Signature").field(&self.as_str()).finish()
    }
}

/// Signs one call as [`sign`] does, appending the encoded parameters (`Signature` last) to
/// `dest`, which may already hold a prefix such as `https://host/?`. The client sends the
/// bytes as they are: a form body needs no `String`, and so no UTF-8 check, and the
/// signature needs no allocation.
///
/// ```
/// use ack_net_core::{sign::{v1, HttpMethod, SigningInput}, Credentials, Params};
/// use chrono::TimeZone;
/// let creds = Credentials::new("testid", "testsecret");
/// let params = Params::new().with("RegionId", "cn-hangzhou");
/// let input = SigningInput { method: HttpMethod::Post, host: "vpc.aliyuncs.com",
///     action: "DescribeVpcs", version: "2016-04-28", params: &params };
/// let t = chrono::Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0).unwrap();
/// let mut body = Vec::new();
/// let signature = v1::sign_to(&input, &creds, t, "nonce-1", &mut body);
/// assert_eq!(v1::sign(&input, &creds, t, "nonce-1").encoded.as_bytes(), body);
/// assert_eq!(signature.as_str().len(), 28);
/// ```
pub fn sign_to(
    input: &SigningInput<'_>,
    credentials: &Credentials,
    time: DateTime<Utc>,
    nonce: &str,
    dest: &mut Vec<u8>,
) -> Signature {
    // The timestamp's only reserved bytes are its two colons: write both encodings at once.
    let mut ts = [0u8; 20];
    super::write_timestamp(&mut ts, time);
    let mut ts_wire = *b"YYYY-MM-DDThh%3Amm%3AssZ";
    let mut ts_sts = *b"YYYY-MM-DDThh%253Amm%253AssZ";
    ts_wire[..13].copy_from_slice(&ts[..13]);
    ts_wire[16..18].copy_from_slice(&ts[14..16]);
    ts_wire[21..].copy_from_slice(&ts[17..]);
    ts_sts[..13].copy_from_slice(&ts[..13]);
    ts_sts[18..20].copy_from_slice(&ts[14..16]);
    ts_sts[25..].copy_from_slice(&ts[17..]);
    let token = credentials.security_token().map(|t| t.expose_secret().as_bytes());
    // The common parameters in canonical (byte) order, each with its name (and value, when
    // constant) pre-encoded both ways.
    let common: [Common<'_>; 9] = [
        Common::encoded(
            const { Name::constant("AccessKeyId") },
            b"AccessKeyId=",
            b"AccessKeyId%3D",
            Some(credentials.access_key_id().as_bytes()),
        ),
        Common::encoded(const { Name::constant("Action") }, b"Action=", b"Action%3D", Some(input.action.as_bytes())),
        Common::constant(const { Name::constant("Format") }, b"Format=JSON", b"Format%3DJSON"),
        Common::encoded(const { Name::constant("SecurityToken") }, b"SecurityToken=", b"SecurityToken%3D", token),
        Common::constant(
            const { Name::constant("SignatureMethod") },
            b"SignatureMethod=HMAC-SHA1",
            b"SignatureMethod%3DHMAC-SHA1",
        ),
        Common::encoded(
            const { Name::constant("SignatureNonce") },
            b"SignatureNonce=",
            b"SignatureNonce%3D",
            Some(nonce.as_bytes()),
        ),
        Common::constant(
            const { Name::constant("SignatureVersion") },
            b"SignatureVersion=1.0",
            b"SignatureVersion%3D1.0",
        ),
        Common {
            name: const { Name::constant("Timestamp") },
            head: (b"Timestamp=", b"Timestamp%3D"),
            value: Value::Raw(&ts_wire, &ts_sts),
        },
        Common::encoded(
            const { Name::constant("Version") },
            b"Version=",
            b"Version%3D",
            Some(input.version.as_bytes()),
        ),
    ];
    // Sort only the operation's parameters (names are unique in `Params`), on the stack for
    // the usual handful, then merge them with the common ones while encoding.
    let mut stack = [(Name { key: 0, name: b"" }, ""); 16];
    let mut heap = Vec::new();
    let own: &mut [(Name<'_>, &str)] = if input.params.len() <= stack.len() {
        for (slot, (n, v)) in stack.iter_mut().zip(input.params.iter()) {
            *slot = (Name::new(n), v);
        }
        &mut stack[..input.params.len()]
    } else {
        heap.extend(input.params.iter().map(|(n, v)| (Name::new(n), v)));
        &mut heap
    };
    own.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    let size = own.iter().map(|(n, v)| n.name.len() + v.len() + 2).sum::<usize>()
        + common.iter().map(|c| c.head.0.len() + c.value.len() + 1).sum::<usize>();
    SCRATCH.with_borrow_mut(|(wire_buf, sts_buf)| {
        // Worst cases: every byte escaped (3 bytes on the wire, 5 in the string to sign),
        // plus the method, the signature and the writer's slack.
        let wire_need = size * 3 + 11 + 3 * 28 + DualWriter::SLACK;
        let sts_need = size * 5 + 16 + DualWriter::SLACK;
        if wire_buf.len() < wire_need {
            wire_buf.resize(wire_need, 0);
        }
        if sts_buf.len() < sts_need {
            sts_buf.resize(sts_need, 0);
        }
        let mut out = DualWriter::new(wire_buf, sts_buf);
        out.raw(b"", input.method.as_str().as_bytes());
        out.raw(b"", b"&%2F&");
        let mut rest = &*own;
        for c in &common {
            let name = c.name;
            while let Some((first, tail)) = rest.split_first() {
                if first.0.cmp(&name).is_lt() {
                    out.param(first.0.name, first.1.as_bytes());
                    rest = tail;
                } else {
                    break;
                }
            }
            // An operation parameter of the same name wins over the common one.
            if rest.first().is_some_and(|p| p.0.cmp(&name).is_eq()) {
                continue;
            }
            c.write(&mut out);
        }
        for p in rest {
            out.param(p.0.name, p.1.as_bytes());
        }
        let mut mac = credentials.v1_key().clone();
        mac.update(out.written().1);
        let digest = mac.finalize().into_bytes();
        let sig = base64_digest(&digest.into());
        out.raw(b"&Signature=", b"");
        out.encode_wire_only(&sig);
        dest.extend_from_slice(out.written().0);
        Signature(sig)
    })
}

/// Standard base64 (with padding) of a SHA-1 digest: 28 characters, written directly.
fn base64_digest(digest: &[u8; 20]) -> [u8; 28] {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = [b'='; 28];
    for (group, chars) in digest.chunks(3).zip(out.chunks_mut(4)) {
        let n = group.iter().enumerate().fold(0u32, |n, (i, &b)| n | u32::from(b) << (16 - 8 * i));
        for (i, c) in chars.iter_mut().enumerate().take(group.len() + 1) {
            *c = ALPHABET[(n >> (18 - 6 * i) & 63) as usize];
        }
    }
    out
}

/// A common parameter's value, as `sign` writes it.
enum Value<'a> {
    /// Not sent (no security token).
    Absent,
    /// To encode.
    Encoded(&'a [u8]),
    /// Already encoded: wire form and string-to-sign form.
    Raw(&'a [u8], &'a [u8]),
    /// Constant, part of the head.
    Constant,
}

impl Value<'_> {
    fn len(&self) -> usize {
        match self {
            Value::Absent | Value::Constant => 0,
            Value::Encoded(v) => v.len(),
            Value::Raw(w, _) => w.len(),
        }
    }
}

/// A common parameter: its name, its `name=` (or constant `name=value`) pre-encoded for the
/// wire and for the string to sign, and its value.
struct Common<'a> {
    name: Name<'static>,
    head: (&'static [u8], &'static [u8]),
    value: Value<'a>,
}

impl<'a> Common<'a> {
    /// Appends the parameter, unless it is absent. Kept out of line: `sign_to` unrolls its
    /// loop over the commons, and one call per parameter keeps that code small.
    #[inline(never)]
    fn write(&self, out: &mut DualWriter<'_>) {
        if let Value::Absent = self.value {
            return;
        }
        out.separate();
        out.raw(self.head.0, self.head.1);
        match self.value {
            Value::Absent | Value::Constant => {}
            Value::Encoded(v) => out.encode(v),
            Value::Raw(wire, sts) => out.raw(wire, sts),
        }
    }

    fn encoded(name: Name<'static>, wire: &'static [u8], sts: &'static [u8], value: Option<&'a [u8]>) -> Self {
        Common { name, head: (wire, sts), value: value.map_or(Value::Absent, Value::Encoded) }
    }

    fn constant(name: Name<'static>, wire: &'static [u8], sts: &'static [u8]) -> Self {
        Common { name, head: (wire, sts), value: Value::Constant }
    }
}

thread_local! {
    /// Scratch for the wire form and the string to sign: sized for the worst case once per
    /// thread rather than allocated and grown per call.
    static SCRATCH: std::cell::RefCell<(Vec<u8>, Vec<u8>)> = const { std::cell::RefCell::new((Vec::new(), Vec::new())) };
}

#[cfg(test)]
mod tests {
    use base64::Engine as _;
    use chrono::TimeZone;
    use proptest::prelude::*;
    use secrecy::ExposeSecret;

    use super::*;
    use crate::sign::{percent_encode, HttpMethod};
    use crate::Params;

    /// `sign` as the protocol describes it, step by step, with none of its shortcuts.
    fn reference(input: &SigningInput<'_>, creds: &Credentials, time: DateTime<Utc>, nonce: &str) -> SignedV1 {
        let timestamp = crate::sign::format_timestamp(time);
        let token = creds.security_token().map(|t| t.expose_secret().to_owned());
        let mut pairs: Vec<(String, String)> = input.params.iter().map(|(n, v)| (n.to_owned(), v.to_owned())).collect();
        let common = [
            ("AccessKeyId", Some(creds.access_key_id().to_owned())),
            ("Action", Some(input.action.to_owned())),
            ("Format", Some("JSON".to_owned())),
            ("SecurityToken", token),
            ("SignatureMethod", Some("HMAC-SHA1".to_owned())),
            ("SignatureNonce", Some(nonce.to_owned())),
            ("SignatureVersion", Some("1.0".to_owned())),
            ("Timestamp", Some(timestamp)),
            ("Version", Some(input.version.to_owned())),
        ];
        for (name, value) in common {
            if let Some(v) = value.filter(|_| !input.params.contains(name)) {
                pairs.push((name.to_owned(), v));
            }
        }
        let refs = || pairs.iter().map(|(n, v)| (n.as_str(), v.as_str()));
        let sts = string_to_sign(input.method.as_str(), refs());
        let sig = signature(&sts, creds.access_key_secret().expose_secret());
        let encoded = format!("{}&Signature={}", canonical_query(refs()), percent_encode(&sig));
        SignedV1 { encoded, signature: sig }
    }

    proptest! {
        /// The one-pass signer agrees with the protocol's steps for any parameters: names
        /// sorting before, among and after the common ones or equal to one of them, values
        /// with any characters, more parameters than fit on the stack, STS tokens.
        #[test]
        fn sign_matches_the_reference(
            params in proptest::collection::btree_map(
                prop_oneof![
                    "[A-Za-z][A-Za-z0-9._-]{0,24}",
                    Just("Action".to_owned()),
                    Just("RegionId".to_owned()),
                    Just("Timestamp".to_owned()),
                    Just("AccessKeyId".to_owned()),
                    Just("AAA".to_owned()),
                    Just("Zz".to_owned()),
                ],
                "\\PC{0,40}",
                0..40,
            ),
            secret in "[ -~]{1,80}",
            id in "[A-Za-z0-9._-]{1,30}",
            token in proptest::option::of("[ -~]{0,60}"),
            action in "[A-Za-z]{1,30}",
            nonce in "[0-9a-f-]{0,40}",
            secs in 0i64..4_102_444_800,
            get in any::<bool>(),
        ) {
            let mut p = Params::new();
            for (n, v) in &params {
                p.insert(n.as_str(), v);
            }
            let mut creds = Credentials::new(id, secret);
            if let Some(t) = token {
                creds = creds.with_security_token(t);
            }
            let input = SigningInput {
                method: if get { HttpMethod::Get } else { HttpMethod::Post },
                host: "ecs.aliyuncs.com",
                action: &action,
                version: "2014-05-26",
                params: &p,
            };
            let time = Utc.timestamp_opt(secs, 0).unwrap();
            prop_assert_eq!(sign(&input, &creds, time, &nonce), reference(&input, &creds, time, &nonce));
        }
    }

    #[test]
    fn sign_to_appends_after_a_prefix_and_agrees_with_sign() {
        let creds = Credentials::new("id", "secret").with_security_token("tok en");
        let params = Params::new().with("RegionId", "cn-hangzhou").with("Name", "a b*~");
        let input = SigningInput {
            method: HttpMethod::Get,
            host: "vpc.aliyuncs.com",
            action: "DescribeVpcs",
            version: "2016-04-28",
            params: &params,
        };
        let t = Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0).unwrap();
        let mut url = b"https://vpc.aliyuncs.com/?".to_vec();
        let signature = sign_to(&input, &creds, t, "n", &mut url);
        let signed = sign(&input, &creds, t, "n");
        assert_eq!(String::from_utf8(url).unwrap(), format!("https://vpc.aliyuncs.com/?{}", signed.encoded));
        assert_eq!(signature.as_str(), signed.signature);
        assert_eq!(signature.to_string(), signed.signature);
        assert_eq!(format!("{signature:?}"), format!("Signature({:?})", signed.signature));
    }

    #[test]
    fn timestamps_match_chrono_formatting() {
        for secs in [0i64, 951_782_400, 1_456_231_584, 4_102_444_799] {
            let t = Utc.timestamp_opt(secs, 0).unwrap();
            assert_eq!(crate::sign::format_timestamp(t), t.format("%Y-%m-%dT%H:%M:%SZ").to_string());
        }
    }

    #[test]
    fn signatures_key_with_the_secret_and_an_ampersand_whatever_its_length() {
        for len in [0, 1, 30, 62, 63, 64, 65, 200] {
            let secret = "k".repeat(len);
            let mut mac = <Hmac<Sha1> as KeyInit>::new_from_slice(format!("{secret}&").as_bytes()).unwrap();
            mac.update(b"GET&%2F&A%3D1");
            let expected = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
            assert_eq!(signature("GET&%2F&A%3D1", &secret), expected, "secret of {len} bytes");
        }
    }

    #[test]
    fn base64_of_digests_matches_the_engine() {
        for seed in 0..=255u8 {
            let digest: [u8; 20] =
                std::array::from_fn(|i| seed.wrapping_mul(37).wrapping_add((i as u8).wrapping_mul(91)));
            let expected = base64::engine::general_purpose::STANDARD.encode(digest);
            assert_eq!(std::str::from_utf8(&base64_digest(&digest)).unwrap(), expected);
        }
    }
}
