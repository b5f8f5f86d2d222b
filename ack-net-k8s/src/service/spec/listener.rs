//! One Service port's listener, from its protocol and the listener annotations.

use ack_net_slb::{
    HealthCheckMethod, HealthCheckTiming, HttpConfig, HttpHealthCheck, HttpsConfig, Layer7Config, ListenerProtocol,
    ListenerSpec, ProtocolConfig, Scheduler, StickySession, TcpConfig, TcpHealthCheck, UdpConfig, UdpHealthCheck,
    XForwardedFor,
};

use crate::service::annotations::{
    self as keys, HealthCheckAnnotations, HealthCheckType, ListenerAnnotations, ServiceAnnotations, StickySessionType,
};
use crate::service::Error;

/// The listener protocol of a Service port: the `protocol-port` annotation, else the port's
/// own protocol (TCP or UDP). Refuses combinations the load balancer cannot serve.
pub(super) fn protocol_of(
    service: &str,
    port: u16,
    k8s_protocol: &str,
    listener: &ListenerAnnotations,
) -> Result<ListenerProtocol, Error> {
    let native = match k8s_protocol {
        "TCP" => ListenerProtocol::Tcp,
        "UDP" => ListenerProtocol::Udp,
        other => {
            return Err(Error::service(service, format!("port {port}/{other}: a CLB listens on TCP and UDP only")));
        }
    };
    let Some(wanted) = listener.protocol_port.get(&port) else {
        return Ok(native);
    };
    let fits = match wanted {
        ListenerProtocol::Udp => native == ListenerProtocol::Udp,
        _ => native == ListenerProtocol::Tcp,
    };
    if !fits {
        return Err(Error::combination(
            keys::PROTOCOL_PORT,
            format!("port {port} is {k8s_protocol} in the Service, so it cannot be a {wanted} listener"),
        ));
    }
    Ok(wanted.clone())
}

fn timing(h: &HealthCheckAnnotations, timeout: Option<u32>) -> HealthCheckTiming {
    let d = HealthCheckTiming::default();
    HealthCheckTiming {
        interval: h.interval.unwrap_or(d.interval),
        timeout: timeout.unwrap_or(d.timeout),
        healthy_threshold: h.healthy_threshold.unwrap_or(d.healthy_threshold),
        unhealthy_threshold: h.unhealthy_threshold.unwrap_or(d.unhealthy_threshold),
    }
}

fn http_check(h: &HealthCheckAnnotations, timeout: Option<u32>, method: HealthCheckMethod) -> HttpHealthCheck {
    let d = HttpHealthCheck::default();
    HttpHealthCheck {
        uri: h.uri.clone().unwrap_or(d.uri),
        domain: h.domain.clone(),
        http_codes: h.http_codes.clone().unwrap_or(d.http_codes),
        method,
        connect_port: h.connect_port,
        timing: timing(h, timeout),
    }
}

fn layer7(a: &ServiceAnnotations) -> Layer7Config {
    let (l, h) = (&a.listener, &a.health_check);
    let d = Layer7Config::default();
    // As in the Alibaba Cloud controller manager, HTTP and HTTPS listeners check health
    // only when health-check-flag is on.
    let health_check =
        (h.flag == Some(true)).then(|| http_check(h, h.timeout, h.method.clone().unwrap_or(HealthCheckMethod::Head)));
    let sticky_session = match (l.sticky_session, l.sticky_session_type) {
        (Some(true), Some(StickySessionType::Insert)) => {
            StickySession::Insert { cookie_timeout: l.cookie_timeout.unwrap_or_default() }
        }
        (Some(true), Some(StickySessionType::Server)) => {
            StickySession::Server { cookie: l.cookie.clone().unwrap_or_default() }
        }
        _ => StickySession::Off,
    };
    let xd = XForwardedFor::default();
    Layer7Config {
        health_check,
        sticky_session,
        gzip: d.gzip,
        idle_timeout: l.idle_timeout.unwrap_or(d.idle_timeout),
        request_timeout: l.request_timeout.unwrap_or(d.request_timeout),
        x_forwarded_for: XForwardedFor {
            proto: l.x_forwarded_proto.unwrap_or(xd.proto),
            slb_port: l.x_forwarded_slb_port.unwrap_or(xd.slb_port),
            client_src_port: l.x_forwarded_client_src_port.unwrap_or(xd.client_src_port),
            ..xd
        },
    }
}

/// The listener of `port` (its backend and description left to the binding). `notes`
/// collects annotations that do not apply to this protocol but matter to the user.
pub(super) fn listener(
    service: &str,
    port: u16,
    protocol: &ListenerProtocol,
    a: &ServiceAnnotations,
    notes: &mut Vec<String>,
) -> Result<ListenerSpec, Error> {
    let (l, h) = (&a.listener, &a.health_check);
    let config = match protocol {
        ListenerProtocol::Tcp => {
            let health_check = match (h.switch, h.kind) {
                (Some(false), _) => TcpHealthCheck::Off,
                (_, Some(HealthCheckType::Http)) => {
                    TcpHealthCheck::Http(http_check(h, h.connect_timeout, HealthCheckMethod::Head))
                }
                _ => TcpHealthCheck::Tcp { connect_port: h.connect_port, timing: timing(h, h.connect_timeout) },
            };
            let d = TcpConfig::default();
            ProtocolConfig::Tcp(TcpConfig {
                health_check,
                persistence_timeout: l.persistence_timeout.unwrap_or(d.persistence_timeout),
                established_timeout: l.established_timeout.unwrap_or(d.established_timeout),
                connection_drain: (l.connection_drain == Some(true)).then_some(l.connection_drain_timeout).flatten(),
                proxy_protocol_v2: l.proxy_protocol.unwrap_or(d.proxy_protocol_v2),
            })
        }
        ListenerProtocol::Udp => {
            if l.connection_drain == Some(true) {
                notes.push(format!(
                    "{}: not applied to UDP port {port} (the listener has no such setting)",
                    keys::CONNECTION_DRAIN
                ));
            }
            let health_check = match h.switch {
                Some(false) => UdpHealthCheck::Off,
                _ => UdpHealthCheck::On {
                    connect_port: h.connect_port,
                    timing: timing(h, h.connect_timeout),
                    request: None,
                    expect: None,
                },
            };
            ProtocolConfig::Udp(UdpConfig { health_check, proxy_protocol_v2: l.proxy_protocol.unwrap_or(false) })
        }
        ListenerProtocol::Http => {
            if let Some(https) = l.forward_port.get(&port) {
                return Ok(ListenerSpec::http_redirect(port, *https));
            }
            ProtocolConfig::Http(HttpConfig { l7: layer7(a), forward_to_https_port: None })
        }
        ListenerProtocol::Https => {
            let Some(cert) = l.cert_id.clone() else {
                return Err(Error::combination(
                    keys::CERT_ID,
                    format!("port {port} is https: a certificate is required"),
                ));
            };
            let d = HttpsConfig::new(cert);
            ProtocolConfig::Https(HttpsConfig {
                l7: layer7(a),
                http2: l.http2.unwrap_or(d.http2),
                tls_cipher_policy: l.tls_cipher_policy.clone().unwrap_or(d.tls_cipher_policy.clone()),
                ..d
            })
        }
        other => {
            return Err(Error::service(service, format!("port {port}: listener protocol {other} is not supported")))
        }
    };
    // CCM's default: with equal weights round robin spreads better than weighted round robin.
    let mut spec = ListenerSpec::new(port, None, config).with_scheduler(l.scheduler.clone().unwrap_or(Scheduler::Rr));
    if l.acl_status == Some(true) {
        if let (Some(id), Some(kind)) = (&l.acl_id, &l.acl_type) {
            spec = spec.with_acl(id.clone(), kind.clone());
        }
    }
    Ok(spec)
}
