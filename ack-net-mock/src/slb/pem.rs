//! Just enough PEM and DER to check what UploadServerCertificate and UploadCACertificate are
//! given as the cloud does: the certificate parses as X.509, the private key parses (PKCS#8,
//! PKCS#1 RSA or SEC1 EC, unencrypted) and belongs to the certificate's public key. From the
//! certificate come the fingerprint (SHA-1 of the DER, as the API shows it), the common name,
//! the subject alternative names and the expiry.

use base64::Engine as _;
use sha1::{Digest, Sha1};

/// What a certificate says about itself.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub(crate) struct CertInfo {
    /// SHA-1 of the DER, lowercase hex bytes joined by `:`.
    pub fingerprint: String,
    /// The subject's common name (empty when it has none).
    pub common_name: String,
    /// The DNS subject alternative names.
    pub alt_names: Vec<String>,
    /// `notAfter` as `YYYY-MM-DDThh:mmZ`.
    pub expire_time: String,
    /// `notAfter` in milliseconds since the epoch.
    pub expire_timestamp: i64,
    /// The subject public key.
    #[serde(skip)]
    key: PublicKey,
}

impl CertInfo {
    /// What the mock shows for a certificate it was not given, only named (one of the
    /// certificate service's, by `AliCloudCertificateId`): a fingerprint of the name.
    pub(crate) fn stand_in(name: &str) -> Self {
        Self {
            fingerprint: hex_colons(&Sha1::digest(name.as_bytes())),
            common_name: String::new(),
            alt_names: Vec::new(),
            expire_time: "2099-12-31T23:59Z".into(),
            expire_timestamp: 4_102_444_740_000,
            key: PublicKey::Other { oid: Vec::new(), bits: Vec::new() },
        }
    }
}

fn hex_colons(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect::<Vec<_>>().join(":")
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum PublicKey {
    /// An RSA key: modulus and exponent, without leading zero bytes.
    Rsa { n: Vec<u8>, e: Vec<u8> },
    /// Any other key: its algorithm OID and its encoded point or bytes.
    Other { oid: Vec<u8>, bits: Vec<u8> },
}

const OID_RSA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];
const OID_EC: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
const OID_COMMON_NAME: &[u8] = &[0x55, 0x04, 0x03];
const OID_ALT_NAME: &[u8] = &[0x55, 0x1d, 0x11];

/// One DER element: its tag and its contents.
struct Tlv<'a> {
    tag: u8,
    body: &'a [u8],
}

/// Reads one element off the front of `input`.
fn next<'a>(input: &mut &'a [u8]) -> Result<Tlv<'a>, String> {
    let bad = || "truncated or malformed DER".to_owned();
    let (&tag, rest) = input.split_first().ok_or_else(bad)?;
    let (&first, mut rest) = rest.split_first().ok_or_else(bad)?;
    let len = if first < 0x80 {
        usize::from(first)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 || rest.len() < n {
            return Err(bad());
        }
        let len = rest[..n].iter().fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
        rest = &rest[n..];
        len
    };
    if rest.len() < len {
        return Err(bad());
    }
    let (body, rest) = rest.split_at(len);
    *input = rest;
    Ok(Tlv { tag, body })
}

/// Reads one element of the given tag.
fn expect<'a>(input: &mut &'a [u8], tag: u8, what: &str) -> Result<&'a [u8], String> {
    let t = next(input)?;
    if t.tag == tag {
        Ok(t.body)
    } else {
        Err(format!("{what}: expected DER tag {tag:#04x}, found {:#04x}", t.tag))
    }
}

/// The contents of an INTEGER without its sign padding.
fn unsigned(bytes: &[u8]) -> Vec<u8> {
    let start = bytes.iter().position(|b| *b != 0).unwrap_or(bytes.len());
    bytes[start..].to_vec()
}

/// The bits of a BIT STRING (whole bytes only, as keys are).
fn bits(body: &[u8]) -> Result<Vec<u8>, String> {
    match body.split_first() {
        Some((0, rest)) => Ok(rest.to_vec()),
        _ => Err("a key's BIT STRING must hold whole bytes".into()),
    }
}

/// The PEM blocks of `text` with the given label, decoded.
fn blocks(text: &str, label: &str) -> Result<Vec<Vec<u8>>, String> {
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find(&begin) {
        let after = &rest[start + begin.len()..];
        let stop = after.find(&end).ok_or_else(|| format!("a {label} block has no END line"))?;
        let b64: String = after[..stop].chars().filter(|c| !c.is_ascii_whitespace()).collect();
        let der = base64::engine::general_purpose::STANDARD
            .decode(b64)
            .map_err(|e| format!("a {label} block is not base64: {e}"))?;
        out.push(der);
        rest = &after[stop + end.len()..];
    }
    Ok(out)
}

/// Parses the first certificate of a PEM text (a chain may follow it; each must parse).
pub(crate) fn certificate(pem: &str) -> Result<CertInfo, String> {
    let ders = blocks(pem, "CERTIFICATE")?;
    let first = ders.first().ok_or("no -----BEGIN CERTIFICATE----- block")?;
    for der in &ders[1..] {
        parse_certificate(der)?;
    }
    parse_certificate(first)
}

fn parse_certificate(der: &[u8]) -> Result<CertInfo, String> {
    let mut input = der;
    let mut cert = expect(&mut input, 0x30, "Certificate")?;
    let mut tbs = expect(&mut cert, 0x30, "TBSCertificate")?;
    let mut t = next(&mut tbs)?;
    if t.tag == 0xa0 {
        t = next(&mut tbs)?; // the version was explicit; this is the serial number
    }
    if t.tag != 0x02 {
        return Err("TBSCertificate: no serial number".into());
    }
    expect(&mut tbs, 0x30, "signature algorithm")?;
    expect(&mut tbs, 0x30, "issuer")?;
    let mut validity = expect(&mut tbs, 0x30, "validity")?;
    next(&mut validity)?;
    let not_after = next(&mut validity)?;
    let (expire_time, expire_timestamp) = time(&not_after)?;
    let subject = expect(&mut tbs, 0x30, "subject")?;
    let common_name = common_name(subject)?;
    let key = public_key(expect(&mut tbs, 0x30, "subjectPublicKeyInfo")?)?;
    let mut alt_names = Vec::new();
    while !tbs.is_empty() {
        let t = next(&mut tbs)?;
        if t.tag == 0xa3 {
            alt_names = extensions_alt_names(t.body)?;
        }
    }
    let fingerprint = hex_colons(&Sha1::digest(der));
    Ok(CertInfo { fingerprint, common_name, alt_names, expire_time, expire_timestamp, key })
}

/// A UTCTime or GeneralizedTime as the API's `ExpireTime` and milliseconds.
fn time(t: &Tlv<'_>) -> Result<(String, i64), String> {
    let s = std::str::from_utf8(t.body).map_err(|_| "a time is not ASCII")?;
    let full = match t.tag {
        0x17 => {
            let yy: u32 = s.get(..2).and_then(|y| y.parse().ok()).ok_or("a malformed UTCTime")?;
            format!("{}{s}", if yy >= 50 { "19" } else { "20" })
        }
        0x18 => s.to_owned(),
        _ => return Err("validity: not a time".into()),
    };
    let when = chrono::NaiveDateTime::parse_from_str(full.trim_end_matches('Z'), "%Y%m%d%H%M%S")
        .map_err(|e| format!("a malformed certificate time {s:?}: {e}"))?
        .and_utc();
    Ok((when.format("%Y-%m-%dT%H:%MZ").to_string(), when.timestamp_millis()))
}

fn common_name(mut subject: &[u8]) -> Result<String, String> {
    while !subject.is_empty() {
        let mut set = expect(&mut subject, 0x31, "RelativeDistinguishedName")?;
        while !set.is_empty() {
            let mut pair = expect(&mut set, 0x30, "AttributeTypeAndValue")?;
            let oid = expect(&mut pair, 0x06, "attribute type")?;
            let value = next(&mut pair)?;
            if oid == OID_COMMON_NAME {
                return Ok(String::from_utf8_lossy(value.body).into_owned());
            }
        }
    }
    Ok(String::new())
}

fn extensions_alt_names(explicit: &[u8]) -> Result<Vec<String>, String> {
    let mut input = explicit;
    let mut list = expect(&mut input, 0x30, "extensions")?;
    while !list.is_empty() {
        let mut ext = expect(&mut list, 0x30, "extension")?;
        let oid = expect(&mut ext, 0x06, "extension id")?;
        let mut value = next(&mut ext)?;
        if value.tag == 0x01 {
            value = next(&mut ext)?; // `critical` came first
        }
        if oid == OID_ALT_NAME {
            let mut inner = value.body;
            let mut names = expect(&mut inner, 0x30, "subjectAltName")?;
            let mut out = Vec::new();
            while !names.is_empty() {
                let n = next(&mut names)?;
                if n.tag == 0x82 {
                    out.push(String::from_utf8_lossy(n.body).into_owned());
                }
            }
            return Ok(out);
        }
    }
    Ok(Vec::new())
}

fn public_key(mut spki: &[u8]) -> Result<PublicKey, String> {
    let mut alg = expect(&mut spki, 0x30, "public key algorithm")?;
    let oid = expect(&mut alg, 0x06, "public key algorithm id")?;
    let key = bits(expect(&mut spki, 0x03, "public key")?)?;
    if oid == OID_RSA {
        let mut input = key.as_slice();
        let mut seq = expect(&mut input, 0x30, "RSAPublicKey")?;
        let n = unsigned(expect(&mut seq, 0x02, "modulus")?);
        let e = unsigned(expect(&mut seq, 0x02, "exponent")?);
        Ok(PublicKey::Rsa { n, e })
    } else {
        Ok(PublicKey::Other { oid: oid.to_vec(), bits: key })
    }
}

/// The public key that a PEM private key belongs to.
fn private_key(pem: &str) -> Result<PublicKey, String> {
    if pem.contains("ENCRYPTED PRIVATE KEY") || pem.contains("Proc-Type: 4,ENCRYPTED") {
        return Err("the private key is encrypted; upload it without a passphrase".into());
    }
    if let Some(der) = blocks(pem, "RSA PRIVATE KEY")?.into_iter().next() {
        return rsa_private(&der);
    }
    if let Some(der) = blocks(pem, "EC PRIVATE KEY")?.into_iter().next() {
        return ec_private(&der);
    }
    let der = blocks(pem, "PRIVATE KEY")?.into_iter().next().ok_or("no PEM private key block")?;
    let mut input = der.as_slice();
    let mut info = expect(&mut input, 0x30, "PrivateKeyInfo")?;
    expect(&mut info, 0x02, "version")?;
    let mut alg = expect(&mut info, 0x30, "private key algorithm")?;
    let oid = expect(&mut alg, 0x06, "private key algorithm id")?;
    let inner = expect(&mut info, 0x04, "private key")?;
    if oid == OID_RSA {
        return rsa_private(inner);
    }
    if oid == OID_EC {
        return ec_private(inner);
    }
    // Other algorithms (Ed25519) carry their public key only in a version 2 PrivateKeyInfo.
    while !info.is_empty() {
        let t = next(&mut info)?;
        if t.tag == 0x81 {
            return Ok(PublicKey::Other { oid: oid.to_vec(), bits: bits(t.body)? });
        }
    }
    Err("the private key does not carry its public key".into())
}

fn rsa_private(der: &[u8]) -> Result<PublicKey, String> {
    let mut input = der;
    let mut seq = expect(&mut input, 0x30, "RSAPrivateKey")?;
    expect(&mut seq, 0x02, "version")?;
    let n = unsigned(expect(&mut seq, 0x02, "modulus")?);
    let e = unsigned(expect(&mut seq, 0x02, "exponent")?);
    Ok(PublicKey::Rsa { n, e })
}

fn ec_private(der: &[u8]) -> Result<PublicKey, String> {
    let mut input = der;
    let mut seq = expect(&mut input, 0x30, "ECPrivateKey")?;
    expect(&mut seq, 0x02, "version")?;
    expect(&mut seq, 0x04, "private key")?;
    while !seq.is_empty() {
        let t = next(&mut seq)?;
        if t.tag == 0xa1 {
            let mut inner = t.body;
            return Ok(PublicKey::Other { oid: OID_EC.to_vec(), bits: bits(expect(&mut inner, 0x03, "public key")?)? });
        }
    }
    Err("the EC private key does not carry its public key".into())
}

/// Checks that `key_pem` is the private key of `cert`.
pub(crate) fn key_matches(cert: &CertInfo, key_pem: &str) -> Result<(), String> {
    let key = private_key(key_pem)?;
    if key == cert.key {
        Ok(())
    } else {
        Err("the private key does not belong to the certificate".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::slb::samples::{sample_certificate, SAMPLES};

    #[test]
    fn samples_parse_and_match_their_keys_only() {
        for (i, s) in SAMPLES.iter().enumerate() {
            let info = certificate(s.certificate).unwrap_or_else(|e| panic!("{}: {e}", s.host));
            assert_eq!(info.fingerprint.len(), 59);
            assert!(info.alt_names.iter().any(|n| n == s.host), "{}: {:?}", s.host, info.alt_names);
            assert!(info.expire_time.starts_with("21"), "{}", info.expire_time);
            key_matches(&info, s.private_key).unwrap_or_else(|e| panic!("{}: {e}", s.host));
            let other = &SAMPLES[(i + 1) % SAMPLES.len()];
            assert!(key_matches(&info, other.private_key).is_err(), "{} with {}'s key", s.host, other.host);
        }
        let www = sample_certificate("www.example.com").expect("sample");
        assert_eq!(certificate(www.certificate).unwrap().common_name, "www.example.com");
    }

    #[test]
    fn rejects_what_is_not_a_certificate_or_key() {
        let www = sample_certificate("www.example.com").expect("sample");
        let info = certificate(www.certificate).unwrap();
        assert!(certificate("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----").is_err());
        assert!(certificate("hello").is_err());
        assert!(key_matches(&info, "-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----").is_err());
        assert!(key_matches(&info, "-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIE\n-----END ENCRYPTED PRIVATE KEY-----")
            .is_err());
        // A truncated certificate fails cleanly, whatever the cut.
        let der = &blocks(www.certificate, "CERTIFICATE").unwrap()[0];
        for cut in 0..der.len() {
            assert!(parse_certificate(&der[..cut]).is_err(), "cut at {cut}");
        }
    }
}
