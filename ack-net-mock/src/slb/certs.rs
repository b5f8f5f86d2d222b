//! Server certificates, as far as HTTPS listeners need them: upload, describe, delete.

use serde_json::{json, Value};

use super::listener_attrs::text;
use super::{now_time, region_matches, Certificate};
use crate::error::{HandlerResult, MockError};
use crate::handler::Req;
use crate::state::State;

pub(super) const ACTIONS: &[&str] =
    &["UploadServerCertificate", "DescribeServerCertificates", "DeleteServerCertificate"];

pub(super) fn handle(state: &mut State, req: &Req) -> Option<HandlerResult> {
    Some(match req.action.as_str() {
        "UploadServerCertificate" => upload(state, req),
        "DescribeServerCertificates" => describe(state, req),
        "DeleteServerCertificate" => delete(state, req),
        _ => return None,
    })
}

/// `ServerCertificateId.NotFound`.
pub(crate) fn cert_not_found(id: &str) -> MockError {
    MockError::not_found(
        "ServerCertificateId.NotFound",
        format!("The specified ServerCertificateId does not exist: {id}."),
    )
}

/// A stable, fingerprint-looking digest of the certificate text (FNV-1a, 20 bytes).
fn fingerprint(pem: &str) -> String {
    let mut out = Vec::with_capacity(20);
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for round in 0..20u8 {
        for b in pem.bytes().chain([round]) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
        out.push(format!("{:02x}", (h >> 24) as u8));
    }
    out.join(":")
}

fn upload(state: &mut State, req: &Req) -> HandlerResult {
    let region = req.str("RegionId")?.to_owned();
    let ali_id = req.opt_str("AliCloudCertificateId").unwrap_or_default().to_owned();
    let pem = req.opt_str("ServerCertificate").unwrap_or_default().to_owned();
    if ali_id.is_empty() {
        if pem.is_empty() {
            return Err(MockError::missing("ServerCertificate"));
        }
        let key = req.str("PrivateKey")?;
        if !pem.contains("-----BEGIN CERTIFICATE-----") {
            return Err(MockError::invalid_param("ServerCertificate", "not a PEM certificate"));
        }
        if !key.contains("PRIVATE KEY-----") {
            return Err(MockError::invalid_param("PrivateKey", "not a PEM private key"));
        }
    }
    let name = req.opt_str("ServerCertificateName").unwrap_or_default().to_owned();
    if name.chars().count() > 80 {
        return Err(MockError::invalid_param("ServerCertificateName", "must be at most 80 characters"));
    }
    let raw = state.ids.id("");
    let id = format!("1231579085529123_{}", raw.trim_start_matches("bp1"));
    let (create_time, create_timestamp) = now_time();
    let cert = Certificate {
        seq: state.slb.next_seq(),
        id: id.clone(),
        region,
        name,
        fingerprint: fingerprint(if pem.is_empty() { &ali_id } else { &pem }),
        common_name: "www.example.com".into(),
        create_time,
        create_timestamp,
        ali_cloud_certificate_id: ali_id,
        ali_cloud_certificate_name: req.opt_str("AliCloudCertificateName").unwrap_or_default().to_owned(),
    };
    let out = to_json(&cert);
    state.slb.certs.insert(id, cert);
    Ok(out)
}

fn to_json(c: &Certificate) -> Value {
    json!({
        "ServerCertificateId": c.id,
        "ServerCertificateName": c.name,
        "Fingerprint": c.fingerprint,
        "CommonName": c.common_name,
        "SubjectAlternativeNames": { "SubjectAlternativeName": [c.common_name] },
        "CreateTime": c.create_time,
        "CreateTimeStamp": c.create_timestamp,
        "ExpireTime": "2099-12-31T23:59Z",
        "ExpireTimeStamp": 4102444740000i64,
        "IsAliCloudCertificate": i32::from(!c.ali_cloud_certificate_id.is_empty()),
        "AliCloudCertificateId": c.ali_cloud_certificate_id,
        "AliCloudCertificateName": c.ali_cloud_certificate_name,
        "RegionId": c.region,
        "ResourceGroupId": "rg-acfmxazb4ph6aiy",
    })
}

fn describe(state: &mut State, req: &Req) -> HandlerResult {
    let want = req.opt_str("ServerCertificateId");
    let mut certs: Vec<&Certificate> =
        state.slb.certs.values().filter(|c| region_matches(req, &c.region) && want.is_none_or(|w| w == c.id)).collect();
    certs.sort_by_key(|c| c.seq);
    Ok(json!({ "ServerCertificates": { "ServerCertificate": certs.into_iter().map(to_json).collect::<Vec<_>>() } }))
}

fn delete(state: &mut State, req: &Req) -> HandlerResult {
    let id = req.str("ServerCertificateId")?.to_owned();
    if !state.slb.certs.get(&id).is_some_and(|c| region_matches(req, &c.region)) {
        return Err(cert_not_found(&id));
    }
    let used =
        state.slb.lbs.values().flat_map(|lb| lb.listeners.iter()).any(|l| text(&l.attrs, "ServerCertificateId") == id);
    if used {
        return Err(MockError::bad_request(
            "CertificateAndPrivateKeyIsRefered",
            "Certificate and PrivateKey Is Refered.",
        ));
    }
    state.slb.certs.remove(&id);
    Ok(json!({}))
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use crate::state::State;

    #[test]
    fn upload_describe_delete() {
        let mut s = State::new(1);
        let p = [
            ("RegionId", "cn-hangzhou"),
            ("ServerCertificate", "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----"),
            ("PrivateKey", "-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----"),
            ("ServerCertificateName", "web"),
        ];
        let v = ok(&mut s, "UploadServerCertificate", &p);
        let id = v["ServerCertificateId"].as_str().unwrap().to_owned();
        assert_eq!(v["Fingerprint"].as_str().unwrap().len(), 59);
        let v = ok(&mut s, "DescribeServerCertificates", &[("RegionId", "cn-hangzhou"), ("ServerCertificateId", &id)]);
        assert_eq!(v["ServerCertificates"]["ServerCertificate"][0]["ServerCertificateName"], "web");
        let v = ok(&mut s, "DescribeServerCertificates", &[("RegionId", "cn-beijing")]);
        assert!(v["ServerCertificates"]["ServerCertificate"].as_array().unwrap().is_empty());
        ok(&mut s, "DeleteServerCertificate", &[("RegionId", "cn-hangzhou"), ("ServerCertificateId", &id)]);
        assert_eq!(
            err(&mut s, "DeleteServerCertificate", &[("RegionId", "cn-hangzhou"), ("ServerCertificateId", &id)]),
            "ServerCertificateId.NotFound"
        );
        assert_eq!(
            err(
                &mut s,
                "UploadServerCertificate",
                &[("RegionId", "cn-hangzhou"), ("ServerCertificate", "x"), ("PrivateKey", "y")]
            ),
            "InvalidParameter"
        );
    }
}
