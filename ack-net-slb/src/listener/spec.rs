//! [`ListenerSpec`]: one listener of any protocol, as wanted and as observed.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::types::{AclType, HealthCheckMethod, HttpCodeClass, ListenerProtocol, Scheduler, TlsCipherPolicy};
use crate::{AclId, MasterSlaveServerGroupId, ServerCertificateId, VServerGroupId};

/// One listener: the port, where its traffic goes, the settings every protocol shares, and a
/// per-protocol part. The same type is sent by `create` and `set` and read back by `get`
/// and the listing, with every default spelled out, so that a wanted listener and the one
/// the cloud has compare with `==` (after [`ListenerSpec::normalized`] on the wanted one).
///
/// ```
/// use ack_net_slb::{ListenerBackend, ListenerSpec, Scheduler, VServerGroupId};
/// let group: VServerGroupId = "rsp-bp1abc".parse().unwrap();
/// let web = ListenerSpec::tcp(80, ListenerBackend::VServerGroup(group)).with_scheduler(Scheduler::Wlc);
/// assert!(web.validate().is_ok());
/// let mut changed = web.clone();
/// changed.bandwidth = 100;
/// assert_ne!(web, changed);
/// assert!(!web.needs_recreate(&changed), "bandwidth can be set in place");
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ListenerSpec {
    /// `ListenerPort`, 1-65535.
    pub port: u16,
    /// Where the traffic goes; `None` only for an HTTP listener that redirects to HTTPS.
    pub backend: Option<ListenerBackend>,
    /// `Scheduler` (default `wrr`).
    pub scheduler: Scheduler,
    /// `Bandwidth` in Mbit/s; `-1` (the default) for no per-listener cap.
    pub bandwidth: i32,
    /// `Description` (at most 80 characters).
    pub description: Option<String>,
    /// Access control (`AclStatus`, `AclId`, `AclType`); `None` is off.
    pub acl: Option<ListenerAcl>,
    /// The protocol and its settings.
    pub protocol: ProtocolConfig,
}

/// Where a listener sends its traffic.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ListenerBackend {
    /// `VServerGroupId`: a VServer group (the usual choice).
    VServerGroup(VServerGroupId),
    /// `MasterSlaveServerGroupId`: a master/slave group (TCP and UDP only).
    MasterSlaveGroup(MasterSlaveServerGroupId),
    /// The load balancer's default server group on `BackendServerPort`.
    DefaultServerGroup {
        /// `BackendServerPort`.
        port: u16,
    },
}

/// A listener's access control list.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ListenerAcl {
    /// `AclId`.
    pub acl_id: AclId,
    /// `AclType`: allow or deny the listed addresses.
    pub kind: AclType,
}

/// The per-protocol part of a [`ListenerSpec`].
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ProtocolConfig {
    /// A TCP listener.
    Tcp(TcpConfig),
    /// A UDP listener.
    Udp(UdpConfig),
    /// An HTTP listener.
    Http(HttpConfig),
    /// An HTTPS listener.
    Https(HttpsConfig),
}

impl ProtocolConfig {
    /// The protocol.
    pub fn protocol(&self) -> ListenerProtocol {
        match self {
            ProtocolConfig::Tcp(_) => ListenerProtocol::Tcp,
            ProtocolConfig::Udp(_) => ListenerProtocol::Udp,
            ProtocolConfig::Http(_) => ListenerProtocol::Http,
            ProtocolConfig::Https(_) => ListenerProtocol::Https,
        }
    }
}

/// How often and how strictly a health check runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct HealthCheckTiming {
    /// `HealthCheckInterval` in seconds, 1-50 (default 2).
    pub interval: u32,
    /// `HealthCheckConnectTimeout` (TCP, UDP) or `HealthCheckTimeout` (HTTP, HTTPS) in
    /// seconds, 1-300 (default 5).
    pub timeout: u32,
    /// `HealthyThreshold`, 2-10 (default 3).
    pub healthy_threshold: u32,
    /// `UnhealthyThreshold`, 2-10 (default 3).
    pub unhealthy_threshold: u32,
}

impl Default for HealthCheckTiming {
    fn default() -> Self {
        Self { interval: 2, timeout: 5, healthy_threshold: 3, unhealthy_threshold: 3 }
    }
}

/// An HTTP health check (of an HTTP or HTTPS listener, or a TCP listener checking over HTTP).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct HttpHealthCheck {
    /// `HealthCheckURI`, starting with `/` (default `/`).
    pub uri: String,
    /// `HealthCheckDomain`; `None` checks with the backend's address.
    pub domain: Option<String>,
    /// `HealthCheckHttpCode`: the answers that count as healthy (default `http_2xx`).
    pub http_codes: BTreeSet<HttpCodeClass>,
    /// `HealthCheckMethod` (HTTP and HTTPS listeners only; default `head`).
    pub method: HealthCheckMethod,
    /// `HealthCheckConnectPort`; `None` checks the backend port.
    pub connect_port: Option<u16>,
    /// Interval, timeout and thresholds.
    pub timing: HealthCheckTiming,
}

impl Default for HttpHealthCheck {
    fn default() -> Self {
        Self {
            uri: "/".into(),
            domain: None,
            http_codes: BTreeSet::from([HttpCodeClass::Http2xx]),
            method: HealthCheckMethod::Head,
            connect_port: None,
            timing: HealthCheckTiming::default(),
        }
    }
}

/// The health check of a TCP listener.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum TcpHealthCheck {
    /// `HealthCheckSwitch=off`.
    Off,
    /// `HealthCheckType=tcp`: a TCP connect.
    Tcp {
        /// `HealthCheckConnectPort`; `None` checks the backend port.
        connect_port: Option<u16>,
        /// Interval, timeout and thresholds.
        timing: HealthCheckTiming,
    },
    /// `HealthCheckType=http`: an HTTP request (its `method` is not settable on TCP
    /// listeners and is always `head` here).
    Http(HttpHealthCheck),
}

impl Default for TcpHealthCheck {
    fn default() -> Self {
        TcpHealthCheck::Tcp { connect_port: None, timing: HealthCheckTiming::default() }
    }
}

/// The settings of a TCP listener.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct TcpConfig {
    /// The health check.
    pub health_check: TcpHealthCheck,
    /// `PersistenceTimeout`: session persistence in seconds, 0 (off, the default) to 3600.
    pub persistence_timeout: u32,
    /// `EstablishedTimeout`: idle connection timeout in seconds, 10-900 (default 900).
    pub established_timeout: u32,
    /// `ConnectionDrain` with its `ConnectionDrainTimeout` (10-900 s); `None` is off.
    pub connection_drain: Option<u32>,
    /// `ProxyProtocolV2Enabled`.
    pub proxy_protocol_v2: bool,
}

impl Default for TcpConfig {
    fn default() -> Self {
        Self {
            health_check: TcpHealthCheck::default(),
            persistence_timeout: 0,
            established_timeout: 900,
            connection_drain: None,
            proxy_protocol_v2: false,
        }
    }
}

/// The health check of a UDP listener.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum UdpHealthCheck {
    /// `HealthCheckSwitch=off`.
    Off,
    /// On.
    On {
        /// `HealthCheckConnectPort`; `None` checks the backend port.
        connect_port: Option<u16>,
        /// Interval, timeout and thresholds.
        timing: HealthCheckTiming,
        /// `healthCheckReq`: the request payload.
        request: Option<String>,
        /// `healthCheckExp`: the expected answer.
        expect: Option<String>,
    },
}

impl Default for UdpHealthCheck {
    fn default() -> Self {
        UdpHealthCheck::On { connect_port: None, timing: HealthCheckTiming::default(), request: None, expect: None }
    }
}

/// The settings of a UDP listener.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct UdpConfig {
    /// The health check.
    pub health_check: UdpHealthCheck,
    /// `ProxyProtocolV2Enabled`.
    pub proxy_protocol_v2: bool,
}

/// Session persistence of an HTTP or HTTPS listener.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum StickySession {
    /// `StickySession=off` (the default).
    #[default]
    Off,
    /// `StickySessionType=insert`: the load balancer sets a cookie.
    Insert {
        /// `CookieTimeout` in seconds, 1-86400.
        cookie_timeout: u32,
    },
    /// `StickySessionType=server`: the backend's cookie.
    Server {
        /// `Cookie`: the cookie name (1-200 characters).
        cookie: String,
    },
}

/// The `X-Forwarded-*` headers an HTTP or HTTPS listener adds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct XForwardedFor {
    /// `XForwardedFor`: the client address (default on).
    pub client_ip: bool,
    /// `XForwardedFor_SLBIP`.
    pub slb_ip: bool,
    /// `XForwardedFor_SLBID`.
    pub slb_id: bool,
    /// `XForwardedFor_proto`.
    pub proto: bool,
    /// `XForwardedFor_SLBPORT`.
    pub slb_port: bool,
    /// `XForwardedFor_ClientSrcPort`.
    pub client_src_port: bool,
}

impl Default for XForwardedFor {
    fn default() -> Self {
        Self { client_ip: true, slb_ip: false, slb_id: false, proto: false, slb_port: false, client_src_port: false }
    }
}

/// What HTTP and HTTPS listeners share.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Layer7Config {
    /// `HealthCheck`: `None` is off.
    pub health_check: Option<HttpHealthCheck>,
    /// Session persistence.
    pub sticky_session: StickySession,
    /// `Gzip` (default on).
    pub gzip: bool,
    /// `IdleTimeout` in seconds, 1-60 (default 15).
    pub idle_timeout: u32,
    /// `RequestTimeout` in seconds, 1-180 (default 60).
    pub request_timeout: u32,
    /// The `X-Forwarded-*` headers.
    pub x_forwarded_for: XForwardedFor,
}

impl Default for Layer7Config {
    fn default() -> Self {
        Self {
            health_check: Some(HttpHealthCheck::default()),
            sticky_session: StickySession::Off,
            gzip: true,
            idle_timeout: 15,
            request_timeout: 60,
            x_forwarded_for: XForwardedFor::default(),
        }
    }
}

/// The settings of an HTTP listener.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct HttpConfig {
    /// The layer-7 settings.
    pub l7: Layer7Config,
    /// `ListenerForward=on` with `ForwardPort`: redirect to the HTTPS listener on this port.
    /// Only settable when the listener is created.
    pub forward_to_https_port: Option<u16>,
}

/// The settings of an HTTPS listener.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct HttpsConfig {
    /// The layer-7 settings.
    pub l7: Layer7Config,
    /// `ServerCertificateId`: required.
    pub server_certificate_id: Option<ServerCertificateId>,
    /// `CACertificateId`: a CA certificate for mutual TLS.
    pub ca_certificate_id: Option<String>,
    /// `EnableHttp2` (default on).
    pub http2: bool,
    /// `TLSCipherPolicy` (default `tls_cipher_policy_1_0`).
    pub tls_cipher_policy: TlsCipherPolicy,
}

impl HttpsConfig {
    /// The defaults with this certificate.
    pub fn new(server_certificate_id: ServerCertificateId) -> Self {
        Self {
            l7: Layer7Config::default(),
            server_certificate_id: Some(server_certificate_id),
            ca_certificate_id: None,
            http2: true,
            tls_cipher_policy: TlsCipherPolicy::Tls10,
        }
    }
}

impl ListenerSpec {
    /// A listener with the defaults of everything but the port, backend and protocol.
    pub fn new(port: u16, backend: Option<ListenerBackend>, protocol: ProtocolConfig) -> Self {
        Self { port, backend, scheduler: Scheduler::Wrr, bandwidth: -1, description: None, acl: None, protocol }
    }

    /// A TCP listener with the default settings.
    pub fn tcp(port: u16, backend: ListenerBackend) -> Self {
        Self::new(port, Some(backend), ProtocolConfig::Tcp(TcpConfig::default()))
    }

    /// A UDP listener with the default settings.
    pub fn udp(port: u16, backend: ListenerBackend) -> Self {
        Self::new(port, Some(backend), ProtocolConfig::Udp(UdpConfig::default()))
    }

    /// An HTTP listener with the default settings.
    pub fn http(port: u16, backend: ListenerBackend) -> Self {
        Self::new(port, Some(backend), ProtocolConfig::Http(HttpConfig::default()))
    }

    /// An HTTP listener that redirects to the HTTPS listener on `https_port`.
    pub fn http_redirect(port: u16, https_port: u16) -> Self {
        let config = HttpConfig { forward_to_https_port: Some(https_port), ..HttpConfig::default() };
        Self::new(port, None, ProtocolConfig::Http(config))
    }

    /// An HTTPS listener with the default settings and this certificate.
    pub fn https(port: u16, backend: ListenerBackend, certificate: ServerCertificateId) -> Self {
        Self::new(port, Some(backend), ProtocolConfig::Https(HttpsConfig::new(certificate)))
    }

    /// Sets the scheduler.
    pub fn with_scheduler(mut self, scheduler: Scheduler) -> Self {
        self.scheduler = scheduler;
        self
    }

    /// Sets the bandwidth cap (`-1` for none).
    pub fn with_bandwidth(mut self, bandwidth: i32) -> Self {
        self.bandwidth = bandwidth;
        self
    }

    /// Sets the description.
    pub fn with_description(mut self, description: impl Into<String>) -> Self {
        self.description = Some(description.into());
        self
    }

    /// Sets the access control list.
    pub fn with_acl(mut self, acl_id: AclId, kind: AclType) -> Self {
        self.acl = Some(ListenerAcl { acl_id, kind });
        self
    }

    /// The protocol.
    pub fn listener_protocol(&self) -> ListenerProtocol {
        self.protocol.protocol()
    }

    /// The layer-7 settings of an HTTP or HTTPS listener.
    pub fn l7(&self) -> Option<&Layer7Config> {
        match &self.protocol {
            ProtocolConfig::Http(h) => Some(&h.l7),
            ProtocolConfig::Https(h) => Some(&h.l7),
            _ => None,
        }
    }

    /// The same listener with the API's equivalent spellings made one: empty strings are
    /// `None`, and a TCP listener's HTTP health-check method is `head` (it cannot be set).
    /// What `get` and the listing return is already normalized.
    pub fn normalized(mut self) -> Self {
        fn none_if_empty(s: &mut Option<String>) {
            if s.as_deref().is_some_and(str::is_empty) {
                *s = None;
            }
        }
        none_if_empty(&mut self.description);
        let http_check = |h: &mut HttpHealthCheck| none_if_empty(&mut h.domain);
        match &mut self.protocol {
            ProtocolConfig::Tcp(t) => {
                if let TcpHealthCheck::Http(h) = &mut t.health_check {
                    http_check(h);
                    h.method = HealthCheckMethod::Head;
                }
            }
            ProtocolConfig::Udp(u) => {
                if let UdpHealthCheck::On { request, expect, .. } = &mut u.health_check {
                    none_if_empty(request);
                    none_if_empty(expect);
                }
            }
            ProtocolConfig::Http(h) => {
                if let Some(c) = &mut h.l7.health_check {
                    http_check(c);
                }
            }
            ProtocolConfig::Https(h) => {
                if let Some(c) = &mut h.l7.health_check {
                    http_check(c);
                }
                none_if_empty(&mut h.ca_certificate_id);
            }
        }
        self
    }

    /// Whether turning `observed` into `self` needs the listener deleted and created again
    /// rather than a `Set...Attribute` call: another port or protocol, another default-group
    /// backend port, or another HTTP-to-HTTPS redirect (none of these can be set in place).
    pub fn needs_recreate(&self, observed: &ListenerSpec) -> bool {
        if self.port != observed.port || self.listener_protocol() != observed.listener_protocol() {
            return true;
        }
        if let Some(ListenerBackend::DefaultServerGroup { port }) = &self.backend {
            if observed.backend != Some(ListenerBackend::DefaultServerGroup { port: *port }) {
                return true;
            }
        }
        match (&self.protocol, &observed.protocol) {
            (ProtocolConfig::Http(a), ProtocolConfig::Http(b)) => a.forward_to_https_port != b.forward_to_https_port,
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn group() -> ListenerBackend {
        ListenerBackend::VServerGroup("rsp-bp1a".parse().unwrap())
    }

    #[test]
    fn recreate_or_set() {
        let a = ListenerSpec::tcp(80, group());
        assert!(!a.needs_recreate(&a.clone().with_scheduler(Scheduler::Rr)));
        assert!(a.needs_recreate(&ListenerSpec::udp(80, group())));
        assert!(a.needs_recreate(&ListenerSpec::tcp(81, group())));
        let d = ListenerSpec::tcp(80, ListenerBackend::DefaultServerGroup { port: 8080 });
        assert!(d.needs_recreate(&a));
        assert!(!a.needs_recreate(&d), "switching to a VServer group is a set");
        assert!(ListenerSpec::http_redirect(80, 443).needs_recreate(&ListenerSpec::http(80, group())));
    }

    #[test]
    fn normalization() {
        let a = ListenerSpec::tcp(80, group()).with_description("");
        assert_eq!(a.normalized(), ListenerSpec::tcp(80, group()));
        let mut t = ListenerSpec::tcp(80, group());
        if let ProtocolConfig::Tcp(c) = &mut t.protocol {
            c.health_check = TcpHealthCheck::Http(HttpHealthCheck {
                method: HealthCheckMethod::Get,
                domain: Some(String::new()),
                ..HttpHealthCheck::default()
            });
        }
        let n = t.normalized();
        let ProtocolConfig::Tcp(c) = &n.protocol else { unreachable!() };
        assert_eq!(c.health_check, TcpHealthCheck::Http(HttpHealthCheck::default()));
    }
}
