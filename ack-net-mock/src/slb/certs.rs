//! Server and CA certificates: upload (checked as the cloud checks them: X.509 PEM, and for a
//! server certificate an unencrypted private key that belongs to it), describe, rename,
//! delete (refused while a listener or a domain extension uses the certificate).

use serde_json::{json, Value};

use super::listener_attrs::text;
use super::pem::{certificate, key_matches, CertInfo};
use super::{now_time, region_matches, CaCertificate, Certificate};
use crate::error::{HandlerResult, MockError};
use crate::handler::Req;
use crate::state::State;

pub(super) const ACTIONS: &[&str] = &[
    "UploadServerCertificate",
    "DescribeServerCertificates",
    "DeleteServerCertificate",
    "SetServerCertificateName",
    "UploadCACertificate",
    "DescribeCACertificates",
    "DeleteCACertificate",
    "SetCACertificateName",
];

pub(super) fn handle(state: &mut State, req: &Req) -> Option<HandlerResult> {
    Some(match req.action.as_str() {
        "UploadServerCertificate" => upload(state, req),
        "DescribeServerCertificates" => describe(state, req),
        "DeleteServerCertificate" => delete(state, req),
        "SetServerCertificateName" => rename(state, req),
        "UploadCACertificate" => upload_ca(state, req),
        "DescribeCACertificates" => describe_ca(state, req),
        "DeleteCACertificate" => delete_ca(state, req),
        "SetCACertificateName" => rename_ca(state, req),
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

/// `CACertificateId.NotFound`.
pub(crate) fn ca_not_found(id: &str) -> MockError {
    MockError::not_found("CACertificateId.NotFound", format!("The specified CACertificateId does not exist: {id}."))
}

fn in_use() -> MockError {
    MockError::bad_request("CertificateAndPrivateKeyIsRefered", "Certificate and PrivateKey Is Refered.")
}

/// A certificate name: at most 80 characters.
fn name_param(req: &Req, param: &str) -> Result<String, MockError> {
    let name = req.opt_str(param).unwrap_or_default().to_owned();
    if name.chars().count() > 80 {
        return Err(MockError::invalid_param(param, "must be at most 80 characters"));
    }
    Ok(name)
}

/// A new certificate id in the cloud's form (`<account>_<hex>_<digits>_<digits>`).
fn new_id(state: &mut State) -> String {
    let raw = state.ids.id("");
    format!("1231579085529123_{}", raw.trim_start_matches("bp1"))
}

fn parse(req: &Req, param: &str) -> Result<CertInfo, MockError> {
    certificate(req.str(param)?).map_err(|why| MockError::invalid_param(param, why))
}

fn upload(state: &mut State, req: &Req) -> HandlerResult {
    let region = req.str("RegionId")?.to_owned();
    let ali_id = req.opt_str("AliCloudCertificateId").unwrap_or_default().to_owned();
    let info = if ali_id.is_empty() {
        let info = parse(req, "ServerCertificate")?;
        key_matches(&info, req.str("PrivateKey")?).map_err(|why| MockError::invalid_param("PrivateKey", why))?;
        Some(info)
    } else {
        None
    };
    let name = name_param(req, "ServerCertificateName")?;
    let id = new_id(state);
    let (create_time, create_timestamp) = now_time();
    // A certificate from the certificate service is not shown to the mock: it stands in.
    let info = info.unwrap_or_else(|| CertInfo::stand_in(&ali_id));
    let cert = Certificate {
        seq: state.slb.next_seq(),
        id: id.clone(),
        region,
        name,
        info,
        create_time,
        create_timestamp,
        ali_cloud_certificate_id: ali_id,
        ali_cloud_certificate_name: req.opt_str("AliCloudCertificateName").unwrap_or_default().to_owned(),
    };
    let out = to_json(&cert);
    state.slb.certs.insert(id, cert);
    Ok(out)
}

fn info_json(i: &CertInfo) -> Value {
    json!({
        "Fingerprint": i.fingerprint,
        "CommonName": i.common_name,
        "ExpireTime": i.expire_time,
        "ExpireTimeStamp": i.expire_timestamp,
    })
}

fn to_json(c: &Certificate) -> Value {
    let mut v = info_json(&c.info);
    let extra = json!({
        "ServerCertificateId": c.id,
        "ServerCertificateName": c.name,
        "SubjectAlternativeNames": { "SubjectAlternativeName": c.info.alt_names },
        "CreateTime": c.create_time,
        "CreateTimeStamp": c.create_timestamp,
        "IsAliCloudCertificate": i32::from(!c.ali_cloud_certificate_id.is_empty()),
        "AliCloudCertificateId": c.ali_cloud_certificate_id,
        "AliCloudCertificateName": c.ali_cloud_certificate_name,
        "RegionId": c.region,
        "ResourceGroupId": "rg-acfmxazb4ph6aiy",
    });
    merge(&mut v, extra);
    v
}

fn merge(into: &mut Value, from: Value) {
    if let (Value::Object(a), Value::Object(b)) = (into, from) {
        a.extend(b);
    }
}

fn describe(state: &mut State, req: &Req) -> HandlerResult {
    let want = req.opt_str("ServerCertificateId");
    let mut certs: Vec<&Certificate> =
        state.slb.certs.values().filter(|c| region_matches(req, &c.region) && want.is_none_or(|w| w == c.id)).collect();
    certs.sort_by_key(|c| c.seq);
    Ok(json!({ "ServerCertificates": { "ServerCertificate": certs.into_iter().map(to_json).collect::<Vec<_>>() } }))
}

fn visible_cert<'a>(state: &'a mut State, req: &Req, id: &str) -> Result<&'a mut Certificate, MockError> {
    match state.slb.certs.get_mut(id) {
        Some(c) if region_matches(req, &c.region) => Ok(c),
        _ => Err(cert_not_found(id)),
    }
}

fn delete(state: &mut State, req: &Req) -> HandlerResult {
    let id = req.str("ServerCertificateId")?.to_owned();
    visible_cert(state, req, &id)?;
    let by_listener =
        state.slb.lbs.values().flat_map(|lb| lb.listeners.iter()).any(|l| text(&l.attrs, "ServerCertificateId") == id);
    let by_extension = state.slb.domain_exts.values().any(|d| d.cert_id == id);
    if by_listener || by_extension {
        return Err(in_use());
    }
    state.slb.certs.remove(&id);
    Ok(json!({}))
}

fn rename(state: &mut State, req: &Req) -> HandlerResult {
    let id = req.str("ServerCertificateId")?.to_owned();
    req.str("ServerCertificateName")?;
    let name = name_param(req, "ServerCertificateName")?;
    visible_cert(state, req, &id)?.name = name;
    Ok(json!({}))
}

fn ca_json(c: &CaCertificate) -> Value {
    let mut v = info_json(&c.info);
    merge(
        &mut v,
        json!({
            "CACertificateId": c.id,
            "CACertificateName": c.name,
            "CreateTime": c.create_time,
            "CreateTimeStamp": c.create_timestamp,
            "RegionId": c.region,
            "ResourceGroupId": "rg-acfmxazb4ph6aiy",
        }),
    );
    v
}

fn upload_ca(state: &mut State, req: &Req) -> HandlerResult {
    let region = req.str("RegionId")?.to_owned();
    let info = parse(req, "CACertificate")?;
    let name = name_param(req, "CACertificateName")?;
    let id = new_id(state);
    let (create_time, create_timestamp) = now_time();
    let ca =
        CaCertificate { seq: state.slb.next_seq(), id: id.clone(), region, name, info, create_time, create_timestamp };
    let out = ca_json(&ca);
    state.slb.ca_certs.insert(id, ca);
    Ok(out)
}

fn describe_ca(state: &mut State, req: &Req) -> HandlerResult {
    let want = req.opt_str("CACertificateId");
    let mut certs: Vec<&CaCertificate> = state
        .slb
        .ca_certs
        .values()
        .filter(|c| region_matches(req, &c.region) && want.is_none_or(|w| w == c.id))
        .collect();
    certs.sort_by_key(|c| c.seq);
    Ok(json!({ "CACertificates": { "CACertificate": certs.into_iter().map(ca_json).collect::<Vec<_>>() } }))
}

fn visible_ca<'a>(state: &'a mut State, req: &Req, id: &str) -> Result<&'a mut CaCertificate, MockError> {
    match state.slb.ca_certs.get_mut(id) {
        Some(c) if region_matches(req, &c.region) => Ok(c),
        _ => Err(ca_not_found(id)),
    }
}

fn delete_ca(state: &mut State, req: &Req) -> HandlerResult {
    let id = req.str("CACertificateId")?.to_owned();
    visible_ca(state, req, &id)?;
    if state.slb.lbs.values().flat_map(|lb| lb.listeners.iter()).any(|l| text(&l.attrs, "CACertificateId") == id) {
        return Err(in_use());
    }
    state.slb.ca_certs.remove(&id);
    Ok(json!({}))
}

fn rename_ca(state: &mut State, req: &Req) -> HandlerResult {
    let id = req.str("CACertificateId")?.to_owned();
    req.str("CACertificateName")?;
    let name = name_param(req, "CACertificateName")?;
    visible_ca(state, req, &id)?.name = name;
    Ok(json!({}))
}

#[cfg(test)]
mod tests {
    use super::super::samples::{renewed_sample_certificate, sample_certificate};
    use super::super::testutil::*;
    use crate::state::State;

    #[test]
    fn upload_describe_rename_delete() {
        let mut s = State::new(1);
        let www = sample_certificate("www.example.com").unwrap();
        let p = [
            ("RegionId", "cn-hangzhou"),
            ("ServerCertificate", www.certificate),
            ("PrivateKey", www.private_key),
            ("ServerCertificateName", "web"),
        ];
        let v = ok(&mut s, "UploadServerCertificate", &p);
        let id = v["ServerCertificateId"].as_str().unwrap().to_owned();
        assert_eq!(v["Fingerprint"].as_str().unwrap().len(), 59);
        assert_eq!(v["CommonName"], "www.example.com");
        assert_eq!(v["SubjectAlternativeNames"]["SubjectAlternativeName"][0], "www.example.com");
        ok(&mut s, "SetServerCertificateName", &[("ServerCertificateId", &id), ("ServerCertificateName", "web-2")]);
        let v = ok(&mut s, "DescribeServerCertificates", &[("RegionId", "cn-hangzhou"), ("ServerCertificateId", &id)]);
        assert_eq!(v["ServerCertificates"]["ServerCertificate"][0]["ServerCertificateName"], "web-2");
        let v = ok(&mut s, "DescribeServerCertificates", &[("RegionId", "cn-beijing")]);
        assert!(v["ServerCertificates"]["ServerCertificate"].as_array().unwrap().is_empty());
        ok(&mut s, "DeleteServerCertificate", &[("RegionId", "cn-hangzhou"), ("ServerCertificateId", &id)]);
        assert_eq!(
            err(&mut s, "DeleteServerCertificate", &[("RegionId", "cn-hangzhou"), ("ServerCertificateId", &id)]),
            "ServerCertificateId.NotFound"
        );
        assert_eq!(
            err(&mut s, "SetServerCertificateName", &[("ServerCertificateId", &id), ("ServerCertificateName", "x")]),
            "ServerCertificateId.NotFound"
        );
    }

    #[test]
    fn refuses_bodies_that_are_not_certificates_and_keys_that_do_not_match() {
        let mut s = State::new(1);
        let www = sample_certificate("www.example.com").unwrap();
        let other = renewed_sample_certificate();
        let upload = |s: &mut State, cert: &str, key: &str| {
            err(
                s,
                "UploadServerCertificate",
                &[("RegionId", "cn-hangzhou"), ("ServerCertificate", cert), ("PrivateKey", key)],
            )
        };
        assert_eq!(upload(&mut s, "x", www.private_key), "InvalidParameter");
        assert_eq!(
            upload(&mut s, "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----", www.private_key),
            "InvalidParameter"
        );
        assert_eq!(upload(&mut s, www.certificate, other.private_key), "InvalidParameter");
        assert_eq!(upload(&mut s, www.certificate, "y"), "InvalidParameter");
        assert_eq!(
            err(
                &mut s,
                "UploadServerCertificate",
                &[("RegionId", "cn-hangzhou"), ("ServerCertificate", www.certificate)]
            ),
            "MissingParameter.PrivateKey"
        );
        assert!(s.slb.certs.is_empty());
    }

    #[test]
    fn ca_certificates() {
        let mut s = State::new(1);
        let ca = sample_certificate("*.example.org").unwrap();
        let v = ok(
            &mut s,
            "UploadCACertificate",
            &[("RegionId", "cn-hangzhou"), ("CACertificate", ca.certificate), ("CACertificateName", "clients")],
        );
        let id = v["CACertificateId"].as_str().unwrap().to_owned();
        assert_eq!(v["CommonName"], "*.example.org");
        assert_eq!(
            err(&mut s, "UploadCACertificate", &[("RegionId", "cn-hangzhou"), ("CACertificate", "nope")]),
            "InvalidParameter"
        );
        ok(&mut s, "SetCACertificateName", &[("CACertificateId", &id), ("CACertificateName", "mtls")]);
        let v = ok(&mut s, "DescribeCACertificates", &[("RegionId", "cn-hangzhou")]);
        assert_eq!(v["CACertificates"]["CACertificate"][0]["CACertificateName"], "mtls");
        ok(&mut s, "DeleteCACertificate", &[("RegionId", "cn-hangzhou"), ("CACertificateId", &id)]);
        assert_eq!(
            err(&mut s, "DeleteCACertificate", &[("RegionId", "cn-hangzhou"), ("CACertificateId", &id)]),
            "CACertificateId.NotFound"
        );
    }
}
