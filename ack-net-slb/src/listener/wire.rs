//! [`ListenerSpec`] on the wire: the parameters of the Create and Set calls of each protocol
//! (which spell some names differently), and the decoding of the Describe answers and the
//! listing into the same type.

use std::collections::BTreeSet;

use ack_net_core::RpcRequest;
use serde::Deserialize;
use serde_json::{Map, Value};

use super::spec::*;
use crate::common::{on_off, opt_string};
use crate::types::{
    AclType, HealthCheckMethod, HttpCodeClass, ListenerProtocol, ListenerStatus, Scheduler, TlsCipherPolicy,
};
use crate::{AclId, Error, LoadBalancerId, MasterSlaveServerGroupId, ServerCertificateId, Tag, VServerGroupId};

/// Which call the parameters are for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Mode {
    /// `CreateLoadBalancer<P>Listener`.
    Create,
    /// `SetLoadBalancer<P>ListenerAttribute`.
    Set,
}

fn http_codes(codes: &BTreeSet<HttpCodeClass>) -> String {
    codes.iter().map(HttpCodeClass::as_str).collect::<Vec<_>>().join(",")
}

/// Adds the spec's parameters (after [`ListenerSpec::validate`]).
pub(crate) fn add_params(mut r: RpcRequest, spec: &ListenerSpec, mode: Mode) -> Result<RpcRequest, Error> {
    spec.validate()?;
    let protocol = spec.listener_protocol();
    let l4 = matches!(protocol, ListenerProtocol::Tcp | ListenerProtocol::Udp);
    r = r.param("ListenerPort", spec.port).param("Bandwidth", spec.bandwidth).param("Scheduler", &spec.scheduler);
    r = r.opt_param("Description", spec.description.as_deref());
    match &spec.acl {
        None => r = r.param("AclStatus", "off"),
        Some(acl) => r = r.param("AclStatus", "on").param("AclId", &acl.acl_id).param("AclType", &acl.kind),
    }
    r = match (mode, &spec.backend) {
        (Mode::Create, Some(ListenerBackend::VServerGroup(g))) => r.param("VServerGroupId", g),
        (Mode::Create, Some(ListenerBackend::MasterSlaveGroup(g))) => r.param("MasterSlaveServerGroupId", g),
        (Mode::Create, Some(ListenerBackend::DefaultServerGroup { port })) => r.param("BackendServerPort", port),
        (Mode::Set, Some(ListenerBackend::VServerGroup(g))) => {
            let r = r.param("VServerGroup", "on").param("VServerGroupId", g);
            if l4 {
                r.param("MasterSlaveServerGroup", "off")
            } else {
                r
            }
        }
        (Mode::Set, Some(ListenerBackend::MasterSlaveGroup(g))) => {
            r.param("MasterSlaveServerGroup", "on").param("MasterSlaveServerGroupId", g).param("VServerGroup", "off")
        }
        (Mode::Set, Some(ListenerBackend::DefaultServerGroup { .. })) => {
            let r = r.param("VServerGroup", "off");
            if l4 {
                r.param("MasterSlaveServerGroup", "off")
            } else {
                r
            }
        }
        (_, None) => r,
    };
    // CreateLoadBalancerTCPListener and both UDP calls spell the interval in lower camel case.
    let interval = if mode == Mode::Create && l4 { "healthCheckInterval" } else { "HealthCheckInterval" };
    let l4_timing = |r: RpcRequest, t: &HealthCheckTiming, port: Option<u16>| {
        r.param("HealthCheckConnectTimeout", t.timeout)
            .param(interval, t.interval)
            .param("HealthyThreshold", t.healthy_threshold)
            .param("UnhealthyThreshold", t.unhealthy_threshold)
            .opt_param("HealthCheckConnectPort", port)
    };
    match &spec.protocol {
        ProtocolConfig::Tcp(t) => {
            r = match &t.health_check {
                TcpHealthCheck::Off => r.param("HealthCheckSwitch", "off"),
                TcpHealthCheck::Tcp { connect_port, timing } => {
                    l4_timing(r.param("HealthCheckSwitch", "on").param("HealthCheckType", "tcp"), timing, *connect_port)
                }
                TcpHealthCheck::Http(h) => l4_timing(
                    r.param("HealthCheckSwitch", "on")
                        .param("HealthCheckType", "http")
                        .param("HealthCheckURI", &h.uri)
                        .opt_param("HealthCheckDomain", h.domain.as_deref())
                        .param("HealthCheckHttpCode", http_codes(&h.http_codes)),
                    &h.timing,
                    h.connect_port,
                ),
            };
            r = r
                .param("PersistenceTimeout", t.persistence_timeout)
                .param("EstablishedTimeout", t.established_timeout)
                .param("ConnectionDrain", on_off(t.connection_drain.is_some()))
                .opt_param("ConnectionDrainTimeout", t.connection_drain)
                .param("ProxyProtocolV2Enabled", t.proxy_protocol_v2);
        }
        ProtocolConfig::Udp(u) => {
            r = match &u.health_check {
                UdpHealthCheck::Off => r.param("HealthCheckSwitch", "off"),
                UdpHealthCheck::On { connect_port, timing, request, expect } => {
                    l4_timing(r.param("HealthCheckSwitch", "on"), timing, *connect_port)
                        .opt_param("healthCheckReq", request.as_deref())
                        .opt_param("healthCheckExp", expect.as_deref())
                }
            };
            r = r.param("ProxyProtocolV2Enabled", u.proxy_protocol_v2);
        }
        ProtocolConfig::Http(h) => {
            r = add_l7(r, &h.l7);
            if mode == Mode::Create {
                r = r
                    .param("ListenerForward", on_off(h.forward_to_https_port.is_some()))
                    .opt_param("ForwardPort", h.forward_to_https_port);
            }
        }
        ProtocolConfig::Https(h) => {
            r = add_l7(r, &h.l7);
            let cert = h.server_certificate_id.as_ref().ok_or(Error::HttpsWithoutCertificate { port: spec.port })?;
            r = r
                .param("ServerCertificateId", cert)
                .opt_param("CACertificateId", h.ca_certificate_id.as_deref())
                .param("EnableHttp2", on_off(h.http2))
                .param("TLSCipherPolicy", &h.tls_cipher_policy);
        }
    }
    Ok(r)
}

fn add_l7(mut r: RpcRequest, l7: &Layer7Config) -> RpcRequest {
    r = match &l7.health_check {
        None => r.param("HealthCheck", "off"),
        Some(h) => r
            .param("HealthCheck", "on")
            .param("HealthCheckURI", &h.uri)
            .opt_param("HealthCheckDomain", h.domain.as_deref())
            .param("HealthCheckHttpCode", http_codes(&h.http_codes))
            .param("HealthCheckMethod", &h.method)
            .param("HealthCheckInterval", h.timing.interval)
            .param("HealthCheckTimeout", h.timing.timeout)
            .param("HealthyThreshold", h.timing.healthy_threshold)
            .param("UnhealthyThreshold", h.timing.unhealthy_threshold)
            .opt_param("HealthCheckConnectPort", h.connect_port),
    };
    r = match &l7.sticky_session {
        StickySession::Off => r.param("StickySession", "off"),
        StickySession::Insert { cookie_timeout } => {
            r.param("StickySession", "on").param("StickySessionType", "insert").param("CookieTimeout", cookie_timeout)
        }
        StickySession::Server { cookie } => {
            r.param("StickySession", "on").param("StickySessionType", "server").param("Cookie", cookie)
        }
    };
    let x = &l7.x_forwarded_for;
    r.param("Gzip", on_off(l7.gzip))
        .param("IdleTimeout", l7.idle_timeout)
        .param("RequestTimeout", l7.request_timeout)
        .param("XForwardedFor", on_off(x.client_ip))
        .param("XForwardedFor_SLBIP", on_off(x.slb_ip))
        .param("XForwardedFor_SLBID", on_off(x.slb_id))
        .param("XForwardedFor_proto", on_off(x.proto))
        .param("XForwardedFor_SLBPORT", on_off(x.slb_port))
        .param("XForwardedFor_ClientSrcPort", on_off(x.client_src_port))
}

/// A listener as `Describe<P>ListenerAttribute` answers it, or a listing entry with its
/// `<P>ListenerConfig` merged in: every field any protocol has, all optional.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
#[allow(non_snake_case)]
pub(crate) struct WireListener {
    #[serde(deserialize_with = "ack_net_core::de::opt_number")]
    ListenerPort: Option<u16>,
    #[serde(deserialize_with = "opt_string")]
    ListenerProtocol: Option<String>,
    #[serde(deserialize_with = "opt_string")]
    LoadBalancerId: Option<String>,
    #[serde(deserialize_with = "opt_string")]
    Status: Option<String>,
    #[serde(deserialize_with = "crate::common::wire_tags")]
    Tags: Vec<Tag>,
    #[serde(deserialize_with = "ack_net_core::de::opt_number")]
    BackendServerPort: Option<i64>,
    #[serde(deserialize_with = "ack_net_core::de::opt_number")]
    Bandwidth: Option<i64>,
    #[serde(deserialize_with = "opt_string")]
    Scheduler: Option<String>,
    #[serde(deserialize_with = "opt_string")]
    Description: Option<String>,
    #[serde(deserialize_with = "opt_string")]
    VServerGroupId: Option<String>,
    #[serde(deserialize_with = "opt_string")]
    MasterSlaveServerGroupId: Option<String>,
    #[serde(deserialize_with = "opt_string")]
    AclId: Option<String>,
    #[serde(deserialize_with = "opt_string")]
    AclStatus: Option<String>,
    #[serde(deserialize_with = "opt_string")]
    AclType: Option<String>,
    #[serde(deserialize_with = "opt_string")]
    HealthCheck: Option<String>,
    #[serde(deserialize_with = "opt_string")]
    HealthCheckType: Option<String>,
    #[serde(deserialize_with = "ack_net_core::de::opt_number")]
    HealthCheckConnectTimeout: Option<i64>,
    #[serde(deserialize_with = "ack_net_core::de::opt_number")]
    HealthCheckTimeout: Option<i64>,
    #[serde(deserialize_with = "ack_net_core::de::opt_number", alias = "healthCheckInterval")]
    HealthCheckInterval: Option<i64>,
    #[serde(deserialize_with = "ack_net_core::de::opt_number")]
    HealthyThreshold: Option<i64>,
    #[serde(deserialize_with = "ack_net_core::de::opt_number")]
    UnhealthyThreshold: Option<i64>,
    #[serde(deserialize_with = "ack_net_core::de::opt_number")]
    HealthCheckConnectPort: Option<i64>,
    #[serde(deserialize_with = "opt_string")]
    HealthCheckURI: Option<String>,
    #[serde(deserialize_with = "opt_string")]
    HealthCheckDomain: Option<String>,
    #[serde(deserialize_with = "opt_string")]
    HealthCheckHttpCode: Option<String>,
    #[serde(deserialize_with = "opt_string")]
    HealthCheckMethod: Option<String>,
    #[serde(deserialize_with = "opt_string", alias = "healthCheckReq")]
    HealthCheckReq: Option<String>,
    #[serde(deserialize_with = "opt_string", alias = "healthCheckExp")]
    HealthCheckExp: Option<String>,
    #[serde(deserialize_with = "ack_net_core::de::opt_number")]
    PersistenceTimeout: Option<i64>,
    #[serde(deserialize_with = "ack_net_core::de::opt_number")]
    EstablishedTimeout: Option<i64>,
    #[serde(deserialize_with = "opt_string")]
    ConnectionDrain: Option<String>,
    #[serde(deserialize_with = "ack_net_core::de::opt_number")]
    ConnectionDrainTimeout: Option<i64>,
    #[serde(deserialize_with = "ack_net_core::de::boolean")]
    ProxyProtocolV2Enabled: bool,
    #[serde(deserialize_with = "opt_string")]
    StickySession: Option<String>,
    #[serde(deserialize_with = "opt_string")]
    StickySessionType: Option<String>,
    #[serde(deserialize_with = "ack_net_core::de::opt_number")]
    CookieTimeout: Option<i64>,
    #[serde(deserialize_with = "opt_string")]
    Cookie: Option<String>,
    #[serde(deserialize_with = "opt_string")]
    Gzip: Option<String>,
    #[serde(deserialize_with = "ack_net_core::de::opt_number")]
    IdleTimeout: Option<i64>,
    #[serde(deserialize_with = "ack_net_core::de::opt_number")]
    RequestTimeout: Option<i64>,
    #[serde(deserialize_with = "opt_string")]
    XForwardedFor: Option<String>,
    #[serde(deserialize_with = "opt_string")]
    XForwardedFor_SLBIP: Option<String>,
    #[serde(deserialize_with = "opt_string")]
    XForwardedFor_SLBID: Option<String>,
    #[serde(deserialize_with = "opt_string")]
    XForwardedFor_proto: Option<String>,
    #[serde(deserialize_with = "opt_string")]
    XForwardedFor_SLBPORT: Option<String>,
    #[serde(deserialize_with = "opt_string")]
    XForwardedFor_ClientSrcPort: Option<String>,
    #[serde(deserialize_with = "opt_string")]
    ListenerForward: Option<String>,
    #[serde(deserialize_with = "ack_net_core::de::opt_number")]
    ForwardPort: Option<i64>,
    #[serde(deserialize_with = "opt_string")]
    ServerCertificateId: Option<String>,
    #[serde(deserialize_with = "opt_string")]
    CACertificateId: Option<String>,
    #[serde(deserialize_with = "opt_string")]
    EnableHttp2: Option<String>,
    #[serde(deserialize_with = "opt_string")]
    TLSCipherPolicy: Option<String>,
}

/// Merges a listing entry's `<P>ListenerConfig` object into the entry, so that the listing
/// decodes like a `Describe<P>ListenerAttribute` answer.
pub(crate) fn flatten_listing(item: Value) -> Value {
    let Value::Object(mut top) = item else { return item };
    let configs: Vec<String> = top.keys().filter(|k| k.ends_with("ListenerConfig")).cloned().collect();
    let mut merged = Map::new();
    for k in configs {
        if let Some(Value::Object(cfg)) = top.remove(&k) {
            merged.extend(cfg);
        }
    }
    for (k, v) in merged {
        top.entry(k).or_insert(v);
    }
    Value::Object(top)
}

fn decode_error(action: &str, message: String) -> Error {
    Error::Api(ack_net_core::Error::Decode { action: action.to_owned(), status: 200, message })
}

fn flag(v: &Option<String>, default: bool) -> bool {
    match v.as_deref() {
        Some(s) => s.eq_ignore_ascii_case("on"),
        None => default,
    }
}

fn uint(v: Option<i64>, default: u32) -> u32 {
    v.and_then(|n| u32::try_from(n).ok()).unwrap_or(default)
}

fn port(v: Option<i64>) -> Option<u16> {
    v.and_then(|n| u16::try_from(n).ok()).filter(|p| *p != 0)
}

/// What `get` and the listing return for a listener.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Decoded {
    pub(crate) load_balancer_id: Option<LoadBalancerId>,
    pub(crate) spec: ListenerSpec,
    pub(crate) status: ListenerStatus,
    pub(crate) tags: Vec<Tag>,
}

impl WireListener {
    fn timing(&self, timeout: Option<i64>) -> HealthCheckTiming {
        let d = HealthCheckTiming::default();
        HealthCheckTiming {
            interval: uint(self.HealthCheckInterval, d.interval),
            timeout: uint(timeout, d.timeout),
            healthy_threshold: uint(self.HealthyThreshold, d.healthy_threshold),
            unhealthy_threshold: uint(self.UnhealthyThreshold, d.unhealthy_threshold),
        }
    }

    fn http_check(&self, timeout: Option<i64>) -> HttpHealthCheck {
        let codes: BTreeSet<HttpCodeClass> = self
            .HealthCheckHttpCode
            .as_deref()
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(HttpCodeClass::from_wire)
            .collect();
        let d = HttpHealthCheck::default();
        HttpHealthCheck {
            uri: self.HealthCheckURI.clone().unwrap_or(d.uri),
            domain: self.HealthCheckDomain.clone(),
            http_codes: if codes.is_empty() { d.http_codes } else { codes },
            method: self.HealthCheckMethod.as_deref().map_or(HealthCheckMethod::Head, HealthCheckMethod::from_wire),
            connect_port: port(self.HealthCheckConnectPort),
            timing: self.timing(timeout),
        }
    }

    fn l7(&self) -> Layer7Config {
        let d = Layer7Config::default();
        let sticky = if flag(&self.StickySession, false) {
            match self.StickySessionType.as_deref() {
                Some("server") => StickySession::Server { cookie: self.Cookie.clone().unwrap_or_default() },
                _ => StickySession::Insert { cookie_timeout: uint(self.CookieTimeout, 0) },
            }
        } else {
            StickySession::Off
        };
        let dx = d.x_forwarded_for;
        Layer7Config {
            health_check: flag(&self.HealthCheck, true).then(|| self.http_check(self.HealthCheckTimeout)),
            sticky_session: sticky,
            gzip: flag(&self.Gzip, d.gzip),
            idle_timeout: uint(self.IdleTimeout, d.idle_timeout),
            request_timeout: uint(self.RequestTimeout, d.request_timeout),
            x_forwarded_for: XForwardedFor {
                client_ip: flag(&self.XForwardedFor, dx.client_ip),
                slb_ip: flag(&self.XForwardedFor_SLBIP, dx.slb_ip),
                slb_id: flag(&self.XForwardedFor_SLBID, dx.slb_id),
                proto: flag(&self.XForwardedFor_proto, dx.proto),
                slb_port: flag(&self.XForwardedFor_SLBPORT, dx.slb_port),
                client_src_port: flag(&self.XForwardedFor_ClientSrcPort, dx.client_src_port),
            },
        }
    }

    /// The listener as a normalized [`ListenerSpec`]; `protocol` is the one asked for (the
    /// attribute answers do not repeat it) unless the answer names one.
    pub(crate) fn decode(self, action: &str, protocol: Option<&ListenerProtocol>) -> Result<Decoded, Error> {
        let protocol = match (&self.ListenerProtocol, protocol) {
            (Some(p), _) => ListenerProtocol::from_wire(p),
            (None, Some(p)) => p.clone(),
            (None, None) => return Err(decode_error(action, "a listener without ListenerProtocol".into())),
        };
        let listener_port = port(self.ListenerPort.map(i64::from))
            .ok_or_else(|| decode_error(action, "a listener without ListenerPort".into()))?;
        let bad_id = |what: &str, e: ack_net_core::Error| decode_error(action, format!("{what}: {e}"));
        let backend = if let Some(g) = &self.VServerGroupId {
            Some(ListenerBackend::VServerGroup(
                VServerGroupId::new(g.clone()).map_err(|e| bad_id("VServerGroupId", e))?,
            ))
        } else if let Some(g) = &self.MasterSlaveServerGroupId {
            Some(ListenerBackend::MasterSlaveGroup(
                MasterSlaveServerGroupId::new(g.clone()).map_err(|e| bad_id("MasterSlaveServerGroupId", e))?,
            ))
        } else {
            port(self.BackendServerPort).map(|p| ListenerBackend::DefaultServerGroup { port: p })
        };
        let acl = match (&self.AclId, flag(&self.AclStatus, false)) {
            (Some(id), true) => Some(ListenerAcl {
                acl_id: AclId::new(id.clone()).map_err(|e| bad_id("AclId", e))?,
                kind: AclType::from_wire(self.AclType.as_deref().unwrap_or("white")),
            }),
            _ => None,
        };
        let config = match &protocol {
            ListenerProtocol::Tcp => {
                let health_check = if !flag(&self.HealthCheck, true) {
                    TcpHealthCheck::Off
                } else if self.HealthCheckType.as_deref() == Some("http") {
                    TcpHealthCheck::Http(self.http_check(self.HealthCheckConnectTimeout))
                } else {
                    TcpHealthCheck::Tcp {
                        connect_port: port(self.HealthCheckConnectPort),
                        timing: self.timing(self.HealthCheckConnectTimeout),
                    }
                };
                let d = TcpConfig::default();
                ProtocolConfig::Tcp(TcpConfig {
                    health_check,
                    persistence_timeout: uint(self.PersistenceTimeout, d.persistence_timeout),
                    established_timeout: uint(self.EstablishedTimeout, d.established_timeout),
                    connection_drain: flag(&self.ConnectionDrain, false)
                        .then(|| uint(self.ConnectionDrainTimeout, 300)),
                    proxy_protocol_v2: self.ProxyProtocolV2Enabled,
                })
            }
            ListenerProtocol::Udp => {
                let health_check = if flag(&self.HealthCheck, true) {
                    UdpHealthCheck::On {
                        connect_port: port(self.HealthCheckConnectPort),
                        timing: self.timing(self.HealthCheckConnectTimeout),
                        request: self.HealthCheckReq.clone(),
                        expect: self.HealthCheckExp.clone(),
                    }
                } else {
                    UdpHealthCheck::Off
                };
                ProtocolConfig::Udp(UdpConfig { health_check, proxy_protocol_v2: self.ProxyProtocolV2Enabled })
            }
            ListenerProtocol::Http => ProtocolConfig::Http(HttpConfig {
                l7: self.l7(),
                forward_to_https_port: if flag(&self.ListenerForward, false) { port(self.ForwardPort) } else { None },
            }),
            ListenerProtocol::Https => ProtocolConfig::Https(HttpsConfig {
                l7: self.l7(),
                server_certificate_id: match &self.ServerCertificateId {
                    Some(c) => Some(ServerCertificateId::new(c.clone()).map_err(|e| bad_id("ServerCertificateId", e))?),
                    None => None,
                },
                ca_certificate_id: self.CACertificateId.clone(),
                http2: flag(&self.EnableHttp2, true),
                tls_cipher_policy: self
                    .TLSCipherPolicy
                    .as_deref()
                    .map_or(TlsCipherPolicy::Tls10, TlsCipherPolicy::from_wire),
            }),
            ListenerProtocol::Unknown(p) => {
                return Err(decode_error(action, format!("unknown listener protocol {p:?}")))
            }
        };
        let spec = ListenerSpec {
            port: listener_port,
            backend,
            scheduler: self.Scheduler.as_deref().map_or(Scheduler::Wrr, Scheduler::from_wire),
            bandwidth: self.Bandwidth.and_then(|b| i32::try_from(b).ok()).unwrap_or(-1),
            description: self.Description.clone(),
            acl,
            protocol: config,
        }
        .normalized();
        let load_balancer_id = match &self.LoadBalancerId {
            Some(id) => Some(LoadBalancerId::new(id.clone()).map_err(|e| bad_id("LoadBalancerId", e))?),
            None => None,
        };
        Ok(Decoded {
            load_balancer_id,
            spec,
            status: ListenerStatus::from_wire(self.Status.as_deref().unwrap_or_default()),
            tags: self.Tags,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::test_support::params;

    fn req(action: &str) -> RpcRequest {
        RpcRequest::write(crate::SLB, action.to_owned())
    }

    fn group() -> ListenerBackend {
        ListenerBackend::VServerGroup("rsp-bp1a".parse().unwrap())
    }

    /// Encodes, turns the parameters into the answer the API would give (same names for
    /// the settable fields), decodes, and compares.
    fn round_trip(spec: &ListenerSpec) -> ListenerSpec {
        let p = params(&add_params(req("X"), spec, Mode::Create).unwrap());
        let mut m = Map::new();
        for (k, v) in p {
            let k = match k.as_str() {
                "HealthCheckSwitch" => "HealthCheck".to_owned(),
                "healthCheckInterval" => "HealthCheckInterval".to_owned(),
                _ => k,
            };
            m.insert(k, Value::String(v));
        }
        let w: WireListener = serde_json::from_value(Value::Object(m)).unwrap();
        w.decode("X", Some(&spec.listener_protocol())).unwrap().spec
    }

    #[test]
    fn every_protocol_round_trips() {
        let mut tcp = ListenerSpec::tcp(80, group()).with_description("web").with_bandwidth(50);
        if let ProtocolConfig::Tcp(c) = &mut tcp.protocol {
            c.health_check = TcpHealthCheck::Http(HttpHealthCheck {
                uri: "/healthz".into(),
                domain: Some("example.com".into()),
                http_codes: BTreeSet::from([HttpCodeClass::Http2xx, HttpCodeClass::Http3xx]),
                connect_port: Some(8081),
                ..HttpHealthCheck::default()
            });
            c.connection_drain = Some(30);
            c.proxy_protocol_v2 = true;
            c.persistence_timeout = 10;
        }
        let mut udp = ListenerSpec::udp(53, ListenerBackend::MasterSlaveGroup("rsp-bp1m".parse().unwrap()));
        if let ProtocolConfig::Udp(c) = &mut udp.protocol {
            c.health_check = UdpHealthCheck::On {
                connect_port: None,
                timing: HealthCheckTiming { interval: 5, timeout: 10, healthy_threshold: 2, unhealthy_threshold: 4 },
                request: Some("ping".into()),
                expect: Some("pong".into()),
            };
        }
        let mut http = ListenerSpec::http(8080, ListenerBackend::DefaultServerGroup { port: 80 })
            .with_scheduler(Scheduler::Wlc)
            .with_acl("acl-bp1x".parse().unwrap(), AclType::Black);
        if let ProtocolConfig::Http(c) = &mut http.protocol {
            c.l7.sticky_session = StickySession::Server { cookie: "sid".into() };
            c.l7.x_forwarded_for.proto = true;
            c.l7.gzip = false;
        }
        let mut https = ListenerSpec::https(443, group(), "1234_abc".parse().unwrap());
        if let ProtocolConfig::Https(c) = &mut https.protocol {
            c.l7.health_check = None;
            c.l7.sticky_session = StickySession::Insert { cookie_timeout: 600 };
            c.http2 = false;
            c.tls_cipher_policy = TlsCipherPolicy::Tls12;
        }
        for spec in [tcp, udp, http, https, ListenerSpec::http_redirect(80, 443)] {
            assert_eq!(round_trip(&spec), spec);
        }
    }

    #[test]
    fn create_and_set_spell_names_differently() {
        let spec = ListenerSpec::tcp(80, group());
        let c = params(&add_params(req("X"), &spec, Mode::Create).unwrap());
        assert!(c.contains_key("healthCheckInterval") && !c.contains_key("HealthCheckInterval"));
        assert_eq!(c.get("VServerGroupId").map(String::as_str), Some("rsp-bp1a"));
        assert!(!c.contains_key("VServerGroup"));
        let s = params(&add_params(req("X"), &spec, Mode::Set).unwrap());
        assert!(s.contains_key("HealthCheckInterval") && !s.contains_key("healthCheckInterval"));
        assert_eq!(s.get("VServerGroup").map(String::as_str), Some("on"));
        assert_eq!(s.get("MasterSlaveServerGroup").map(String::as_str), Some("off"));
        let redirect = params(&add_params(req("X"), &ListenerSpec::http_redirect(80, 443), Mode::Create).unwrap());
        assert_eq!(redirect.get("ListenerForward").map(String::as_str), Some("on"));
        assert_eq!(redirect.get("ForwardPort").map(String::as_str), Some("443"));
        let set = params(&add_params(req("X"), &ListenerSpec::http_redirect(80, 443), Mode::Set).unwrap());
        assert!(!set.contains_key("ListenerForward"), "not settable");
    }

    #[test]
    fn listing_entries_flatten() {
        let item = serde_json::json!({
            "ListenerPort": 80, "ListenerProtocol": "tcp", "LoadBalancerId": "lb-bp1a", "Status": "running",
            "VServerGroupId": "rsp-bp1a", "Scheduler": "wrr", "Bandwidth": -1, "AclIds": [],
            "Tags": [{"TagKey": "k", "TagValue": "v"}],
            "TCPListenerConfig": {"HealthCheck": "off", "ProxyProtocolV2Enabled": "true", "EstablishedTimeout": 900}
        });
        let w: WireListener = serde_json::from_value(flatten_listing(item)).unwrap();
        let d = w.decode("DescribeLoadBalancerListeners", None).unwrap();
        assert_eq!(d.status, ListenerStatus::Running);
        assert_eq!(d.tags, vec![Tag::new("k", "v")]);
        assert_eq!(d.load_balancer_id.unwrap().as_str(), "lb-bp1a");
        let ProtocolConfig::Tcp(c) = &d.spec.protocol else { panic!("not tcp") };
        assert_eq!(c.health_check, TcpHealthCheck::Off);
        assert!(c.proxy_protocol_v2);
    }
}
