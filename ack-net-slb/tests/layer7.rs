//! Layer-7 API against the mock: rules (limits, attributes, settings, where a request goes),
//! server and CA certificates, domain extensions.

mod common;

use ack_net_core::ErrorInfo;
use ack_net_mock::{renewed_sample_certificate, sample_certificate, SAMPLES};
use ack_net_slb::{
    ListenerBackend, ListenerProtocol, ListenerSpec, LoadBalancerId, OnOff, Removed, RuleSpec, ServerCertificateId,
    SlbClient, VServerGroupId,
};
use common::{env, internet_lb, Env};

async fn group(slb: &SlbClient, lb: &LoadBalancerId, name: &str) -> VServerGroupId {
    slb.vserver_groups().create(lb, name).send().await.expect("group").vserver_group_id
}

async fn upload(slb: &SlbClient, i: usize) -> ServerCertificateId {
    let s = &SAMPLES[i];
    slb.certificates()
        .upload(s.host.replace('*', "wild"), s.certificate, s.private_key)
        .send()
        .await
        .expect("upload")
        .id
}

#[tokio::test]
async fn rules_have_the_api_limits_and_route_as_documented() {
    let Env { mock, slb, stats } = env().await;
    let lb = internet_lb(&slb).await;
    let (default, api, www) = (group(&slb, &lb, "d").await, group(&slb, &lb, "api").await, group(&slb, &lb, "w").await);
    slb.listeners()
        .create(&lb, ListenerSpec::http(80, ListenerBackend::VServerGroup(default.clone())))
        .send()
        .await
        .unwrap();

    let rules = [
        RuleSpec::new("www", Some("www.example.com"), Some("/"), www.clone()),
        RuleSpec::new("www-api", Some("www.example.com"), Some("/api"), api.clone()),
        RuleSpec::new("any-api", Some("*.example.com"), Some("/api"), api.clone()),
    ];
    let made = slb.rules().create_all(&lb, 80, ListenerProtocol::Http, &rules).await.unwrap();
    let to = |host: &str, path: &str| {
        mock.with_state(|s| s.slb.route(lb.as_str(), 80, host, path))
            .and_then(|r| r.vserver_group_id().map(str::to_owned))
            .unwrap_or_default()
    };
    assert_eq!(to("www.example.com", "/api/users"), api.as_str());
    assert_eq!(to("www.example.com", "/home"), www.as_str());
    assert_eq!(to("shop.example.com", "/api"), api.as_str());
    assert_eq!(to("shop.example.com", "/home"), default.as_str());

    // The same Domain+Url again, or the same name: refused by the cloud.
    let dup = RuleSpec::new("other", Some("www.example.com"), Some("/api"), www.clone());
    let e = slb.rules().create(&lb, 80, ListenerProtocol::Http).rule(dup).send().await.unwrap_err();
    assert!(e.is_code("DomainExist"), "{e}");
    let e = slb
        .rules()
        .create(&lb, 80, ListenerProtocol::Http)
        .rule(RuleSpec::new("www", None, Some("/x"), www.clone()))
        .send()
        .await
        .unwrap_err();
    assert!(e.is_code("RuleNameExist"), "{e}");

    // The per-listener quota (40 by default): 37 more fit, the 38th does not.
    let more: Vec<RuleSpec> = (0..38)
        .map(|i| RuleSpec::new(format!("r{i}"), Some("m.example.com"), Some(&format!("/p{i}")), www.clone()))
        .collect();
    slb.rules().create_all(&lb, 80, ListenerProtocol::Http, &more[..37]).await.unwrap();
    let e = slb.rules().create(&lb, 80, ListenerProtocol::Http).rule(more[37].clone()).send().await.unwrap_err();
    assert!(e.is_code("QuotaExceeded.RulesPerListener"), "{e}");
    mock.with_state(|s| s.slb.set_rule_quota(200));
    slb.rules().create(&lb, 80, ListenerProtocol::Http).rule(more[37].clone()).send().await.unwrap();

    // Bad input never reaches the cloud.
    stats.reset();
    let bad = RuleSpec::new("bad name", None, Some("/"), www.clone());
    let many = [rules[0].clone(), bad];
    assert!(slb.rules().create_all(&lb, 80, ListenerProtocol::Http, &many).await.unwrap_err().is_invalid_input());
    assert_eq!(stats.calls("CreateRules"), 0);

    // One rule's own settings.
    let id = &made[1].rule_id;
    slb.rules()
        .set(id)
        .listener_sync(OnOff::Off)
        .health_check(OnOff::On)
        .health_check_uri("/healthz")
        .send()
        .await
        .unwrap();
    let got = slb.rules().get(id).send().await.unwrap();
    assert_eq!(got.load_balancer_id.as_ref(), Some(&lb));
    assert_eq!(got.listener_port, Some(80));
    assert_eq!(got.rule.name, "www-api");
    assert_eq!(got.rule.settings.listener_sync, Some(OnOff::Off));
    assert_eq!(got.rule.settings.health_check_uri.as_deref(), Some("/healthz"));

    let ids: Vec<_> = made.iter().map(|r| r.rule_id.clone()).collect();
    assert_eq!(slb.rules().delete(&ids).await.unwrap(), Removed::Now);
    assert_eq!(slb.rules().delete(&ids).await.unwrap(), Removed::Already);
    assert_eq!(to("www.example.com", "/api"), default.as_str());
}

#[tokio::test]
async fn certificates_are_checked_renamed_and_kept_while_used() {
    let Env { mock: _mock, slb, .. } = env().await;
    let www = sample_certificate("www.example.com").unwrap();
    let e = slb.certificates().upload("web", www.certificate, renewed_sample_certificate().private_key).send().await;
    assert!(e.unwrap_err().is_invalid_input(), "a key of another certificate");
    let cert = slb.certificates().upload("web", www.certificate, www.private_key).send().await.unwrap();
    assert_eq!(cert.facts.common_name.as_deref(), Some("www.example.com"));
    assert_eq!(cert.subject_alternative_names, ["www.example.com"]);
    assert_eq!(cert.facts.fingerprint.len(), 59);
    let again = slb.certificates().upload("web-again", www.certificate, www.private_key).send().await.unwrap();
    assert_eq!(again.facts.fingerprint, cert.facts.fingerprint, "the fingerprint is the content's");
    slb.certificates().rename(&cert.id, "web-2024").send().await.unwrap();
    let listed = slb.certificates().describe().server_certificate_id(&cert.id).send().await.unwrap();
    assert_eq!(listed[0].name, "web-2024");

    let ca_pem = sample_certificate("*.example.org").unwrap().certificate;
    let ca = slb.certificates().upload_ca("clients", ca_pem).send().await.unwrap();
    slb.certificates().rename_ca(&ca.id, "client-ca").send().await.unwrap();
    let cas = slb.certificates().describe_ca().ca_certificate_id(&ca.id).send().await.unwrap();
    assert_eq!(cas[0].name, "client-ca");
    assert_eq!(slb.certificates().delete_ca(&ca.id).send().await.unwrap(), Removed::Now);
    assert_eq!(slb.certificates().delete_ca(&ca.id).send().await.unwrap(), Removed::Already);
    assert_eq!(slb.certificates().delete(&again.id).send().await.unwrap(), Removed::Now);
}

#[tokio::test]
async fn domain_extensions_give_hosts_their_own_certificates() {
    let Env { mock, slb, .. } = env().await;
    let lb = internet_lb(&slb).await;
    let g = group(&slb, &lb, "g").await;
    let certs: Vec<ServerCertificateId> = {
        let mut v = Vec::new();
        for i in 0..SAMPLES.len() {
            v.push(upload(&slb, i).await);
        }
        v
    };
    slb.listeners()
        .create(&lb, ListenerSpec::https(443, ListenerBackend::VServerGroup(g), certs[0].clone()))
        .send()
        .await
        .unwrap();
    let api = slb.domain_extensions().create(&lb, 443, "api.example.com", &certs[2]).send().await.unwrap();
    slb.domain_extensions().create(&lb, 443, "shop.example.com", &certs[3]).send().await.unwrap();
    slb.domain_extensions().create(&lb, 443, "*.example.org", &certs[4]).send().await.unwrap();
    let e = slb.domain_extensions().create(&lb, 443, "more.example.com", &certs[1]).send().await.unwrap_err();
    assert!(e.is_code("QuotaExceeded.DomainExtension"), "{e}");
    mock.with_state(|s| s.slb.set_domain_extension_quota(10));
    slb.domain_extensions().create(&lb, 443, "more.example.com", &certs[1]).send().await.unwrap();

    // Rotation: the new certificate, switch, then delete the old one.
    let renewed =
        slb.certificates().upload("api-2", SAMPLES[2].certificate, SAMPLES[2].private_key).send().await.unwrap().id;
    slb.domain_extensions().set_certificate(&api, &renewed).send().await.unwrap();
    assert_eq!(slb.certificates().delete(&certs[2]).send().await.unwrap(), Removed::Now);
    let listed = slb.domain_extensions().describe(&lb, 443).send().await.unwrap();
    assert_eq!(listed.len(), 4);
    assert_eq!((listed[0].domain.as_str(), &listed[0].server_certificate_id), ("api.example.com", &renewed));
    let e = slb.certificates().delete(&renewed).send().await.unwrap_err();
    assert!(e.is_code("CertificateAndPrivateKeyIsRefered"), "{e}");
    assert_eq!(slb.domain_extensions().delete(&api).send().await.unwrap(), Removed::Now);
    assert_eq!(slb.domain_extensions().delete(&api).send().await.unwrap(), Removed::Already);
    assert_eq!(slb.certificates().delete(&renewed).send().await.unwrap(), Removed::Now);
}
