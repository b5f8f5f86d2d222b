//! Domain extensions (SNI): more certificates on an HTTPS listener, each for a domain. Only
//! performance-guaranteed instances have them (not shared-performance ones), at most
//! [`SlbState::domain_extension_quota`](super::SlbState::domain_extension_quota) per listener,
//! one per domain.

use serde_json::{json, Value};

use super::listener::find;
use super::rules::check_domain;
use super::{port_param, region_matches, DomainExtension};
use crate::error::{HandlerResult, MockError};
use crate::handler::Req;
use crate::state::State;

pub(super) const ACTIONS: &[&str] =
    &["CreateDomainExtension", "DescribeDomainExtensions", "SetDomainExtensionAttribute", "DeleteDomainExtension"];

pub(super) fn handle(state: &mut State, req: &Req) -> Option<HandlerResult> {
    Some(match req.action.as_str() {
        "CreateDomainExtension" => create(state, req),
        "DescribeDomainExtensions" => describe(state, req),
        "SetDomainExtensionAttribute" => set(state, req),
        "DeleteDomainExtension" => delete(state, req),
        _ => return None,
    })
}

fn not_found(id: &str) -> MockError {
    MockError::not_found(
        "InvalidParameter.DomainExtensionId",
        format!("The specified DomainExtensionId does not exist: {id}."),
    )
}

/// A server certificate of the load balancer's region.
fn check_cert(state: &State, region: &str, id: &str) -> Result<(), MockError> {
    if state.slb.certs.get(id).is_some_and(|c| c.region == region) {
        Ok(())
    } else {
        Err(super::certs::cert_not_found(id))
    }
}

fn create(state: &mut State, req: &Req) -> HandlerResult {
    let lb_id = req.str("LoadBalancerId")?.to_owned();
    let port = port_param(req, "ListenerPort")?;
    let domain = req.str("Domain")?.to_owned();
    let cert_id = req.str("ServerCertificateId")?.to_owned();
    check_domain("Domain", &domain)?;
    let lb = state.slb.lb(req, &lb_id)?;
    let listener = &lb.listeners[find(lb, port, Some("https"))?];
    let region = lb.region.clone();
    if !lb.is_high_performance() {
        return Err(MockError::bad_request(
            "OperationUnsupported.DomainExtension",
            "Shared-performance instances have no domain extensions.",
        ));
    }
    let port = listener.port;
    check_cert(state, &region, &cert_id)?;
    let on_listener: Vec<&DomainExtension> =
        state.slb.domain_exts.values().filter(|d| d.lb_id == lb_id && d.port == port).collect();
    if on_listener.iter().any(|d| d.domain.eq_ignore_ascii_case(&domain)) {
        return Err(MockError::bad_request(
            "DomainExtensionExist",
            format!("The domain {domain} already has an extension."),
        ));
    }
    let quota = state.slb.domain_extension_quota;
    if on_listener.len() >= quota {
        return Err(MockError::forbidden(
            "QuotaExceeded.DomainExtension",
            format!("An HTTPS listener can have at most {quota} domain extensions."),
        ));
    }
    let id = state.ids.id("de-");
    let seq = state.slb.next_seq();
    state.slb.domain_exts.insert(id.clone(), DomainExtension { seq, id: id.clone(), lb_id, port, domain, cert_id });
    Ok(json!({ "DomainExtensionId": id, "ListenerPort": port }))
}

fn to_json(d: &DomainExtension) -> Value {
    json!({ "DomainExtensionId": d.id, "Domain": d.domain, "ServerCertificateId": d.cert_id })
}

fn describe(state: &mut State, req: &Req) -> HandlerResult {
    let lb_id = req.str("LoadBalancerId")?;
    let port = port_param(req, "ListenerPort")?;
    let want = req.opt_str("DomainExtensionId");
    state.slb.lb(req, lb_id)?;
    let mut found: Vec<&DomainExtension> = state
        .slb
        .domain_exts
        .values()
        .filter(|d| d.lb_id == lb_id && d.port == port && want.is_none_or(|w| w == d.id))
        .collect();
    found.sort_by_key(|d| d.seq);
    Ok(json!({ "DomainExtensions": { "DomainExtension": found.into_iter().map(to_json).collect::<Vec<_>>() } }))
}

/// The extension `id`, if the request's region sees its load balancer; and that region.
fn visible(state: &State, req: &Req, id: &str) -> Result<String, MockError> {
    let d = state.slb.domain_exts.get(id).ok_or_else(|| not_found(id))?;
    match state.slb.lbs.get(&d.lb_id) {
        Some(lb) if region_matches(req, &lb.region) => Ok(lb.region.clone()),
        _ => Err(not_found(id)),
    }
}

fn set(state: &mut State, req: &Req) -> HandlerResult {
    let id = req.str("DomainExtensionId")?.to_owned();
    let cert_id = req.str("ServerCertificateId")?.to_owned();
    let region = visible(state, req, &id)?;
    check_cert(state, &region, &cert_id)?;
    if let Some(d) = state.slb.domain_exts.get_mut(&id) {
        d.cert_id = cert_id;
    }
    Ok(json!({}))
}

fn delete(state: &mut State, req: &Req) -> HandlerResult {
    let id = req.str("DomainExtensionId")?.to_owned();
    visible(state, req, &id)?;
    state.slb.domain_exts.remove(&id);
    Ok(json!({}))
}

#[cfg(test)]
mod tests {
    use super::super::samples::SAMPLES;
    use super::super::testutil::*;
    use crate::state::State;

    fn upload(s: &mut State, i: usize) -> String {
        let c = &SAMPLES[i];
        let p = [("RegionId", "cn-hangzhou"), ("ServerCertificate", c.certificate), ("PrivateKey", c.private_key)];
        ok(s, "UploadServerCertificate", &p)["ServerCertificateId"].as_str().unwrap().to_owned()
    }

    #[test]
    fn extensions_on_an_https_listener() {
        let mut s = State::new(1);
        let lb = internet_lb(&mut s);
        let g = group(&mut s, &lb, None);
        let certs: Vec<String> = (0..SAMPLES.len()).map(|i| upload(&mut s, i)).collect();
        ok(
            &mut s,
            "CreateLoadBalancerHTTPSListener",
            &[
                ("LoadBalancerId", &lb),
                ("ListenerPort", "443"),
                ("Bandwidth", "-1"),
                ("HealthCheck", "off"),
                ("VServerGroupId", &g),
                ("ServerCertificateId", &certs[0]),
            ],
        );
        let create = |s: &mut State, domain: &str, cert: &str| {
            super::super::testutil::call(
                s,
                "CreateDomainExtension",
                &[("LoadBalancerId", &lb), ("ListenerPort", "443"), ("Domain", domain), ("ServerCertificateId", cert)],
            )
        };
        let first = create(&mut s, "api.example.com", &certs[2]).unwrap();
        let id = first["DomainExtensionId"].as_str().unwrap().to_owned();
        assert!(id.starts_with("de-"));
        assert_eq!(create(&mut s, "API.example.com", &certs[2]).unwrap_err().code, "DomainExtensionExist");
        assert_eq!(create(&mut s, "bad_domain", &certs[2]).unwrap_err().code, "InvalidParameter");
        assert_eq!(create(&mut s, "x.example.com", "nope").unwrap_err().code, "ServerCertificateId.NotFound");
        create(&mut s, "shop.example.com", &certs[3]).unwrap();
        create(&mut s, "*.example.org", &certs[4]).unwrap();
        assert_eq!(create(&mut s, "more.example.com", &certs[0]).unwrap_err().code, "QuotaExceeded.DomainExtension");
        s.slb.set_domain_extension_quota(4);
        create(&mut s, "more.example.com", &certs[0]).unwrap();

        ok(&mut s, "SetDomainExtensionAttribute", &[("DomainExtensionId", &id), ("ServerCertificateId", &certs[1])]);
        let v = ok(&mut s, "DescribeDomainExtensions", &[("LoadBalancerId", &lb), ("ListenerPort", "443")]);
        let list = v["DomainExtensions"]["DomainExtension"].as_array().unwrap();
        assert_eq!(list.len(), 4);
        assert_eq!(list[0]["ServerCertificateId"], certs[1].as_str());
        assert_eq!(
            err(&mut s, "DeleteServerCertificate", &[("ServerCertificateId", &certs[1])]),
            "CertificateAndPrivateKeyIsRefered"
        );
        ok(&mut s, "DeleteDomainExtension", &[("DomainExtensionId", &id)]);
        assert_eq!(
            err(&mut s, "DeleteDomainExtension", &[("DomainExtensionId", &id)]),
            "InvalidParameter.DomainExtensionId"
        );
        ok(&mut s, "DeleteServerCertificate", &[("ServerCertificateId", &certs[1])]);
        // Deleting the listener deletes its extensions.
        ok(&mut s, "DeleteLoadBalancerListener", &[("LoadBalancerId", &lb), ("ListenerPort", "443")]);
        assert!(s.slb.domain_exts.is_empty());
    }

    #[test]
    fn only_on_https_listeners_of_guaranteed_instances() {
        let mut s = State::new(1);
        let lb = internet_lb(&mut s);
        let g = group(&mut s, &lb, None);
        let cert = upload(&mut s, 0);
        ok(
            &mut s,
            "CreateLoadBalancerHTTPListener",
            &[("LoadBalancerId", &lb), ("ListenerPort", "80"), ("HealthCheck", "off"), ("VServerGroupId", &g)],
        );
        let p = [
            ("LoadBalancerId", lb.as_str()),
            ("ListenerPort", "80"),
            ("Domain", "a.example.com"),
            ("ServerCertificateId", &cert),
        ];
        assert_eq!(err(&mut s, "CreateDomainExtension", &p), "ListenerNotFound");
        // Shared performance: pay by spec, no spec (without a charge type the instance is pay-by-CLCU).
        let shared = ok(
            &mut s,
            "CreateLoadBalancer",
            &[("RegionId", "cn-hangzhou"), ("AddressType", "internet"), ("InstanceChargeType", "PayBySpec")],
        );
        let shared = shared["LoadBalancerId"].as_str().unwrap().to_owned();
        let g2 = group(&mut s, &shared, None);
        ok(
            &mut s,
            "CreateLoadBalancerHTTPSListener",
            &[
                ("LoadBalancerId", &shared),
                ("ListenerPort", "443"),
                ("Bandwidth", "-1"),
                ("HealthCheck", "off"),
                ("VServerGroupId", &g2),
                ("ServerCertificateId", &cert),
            ],
        );
        let p = [
            ("LoadBalancerId", shared.as_str()),
            ("ListenerPort", "443"),
            ("Domain", "a.example.com"),
            ("ServerCertificateId", &cert),
        ];
        assert_eq!(err(&mut s, "CreateDomainExtension", &p), "OperationUnsupported.DomainExtension");
    }
}
