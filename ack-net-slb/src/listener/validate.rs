//! [`ListenerSpec::validate`]: everything the API would refuse, checked before any call.

use super::spec::*;
use crate::common::{check_port, check_range, validate_text};
use crate::types::ListenerProtocol;
use crate::Error;

impl ListenerSpec {
    /// Checks everything the API would refuse, before any call: ports, ranges, lengths, a
    /// master/slave group on an HTTP listener, an HTTPS listener without a certificate.
    pub fn validate(&self) -> Result<(), Error> {
        check_port("ListenerPort", self.port)?;
        let protocol = self.listener_protocol();
        match &self.backend {
            Some(ListenerBackend::DefaultServerGroup { port }) => {
                check_port("BackendServerPort", *port)?;
            }
            Some(ListenerBackend::MasterSlaveGroup(_))
                if !matches!(protocol, ListenerProtocol::Tcp | ListenerProtocol::Udp) =>
            {
                return Err(Error::invalid_input(
                    "MasterSlaveServerGroupId",
                    "only TCP and UDP listeners can use a master/slave group",
                ));
            }
            Some(_) => {}
            None => {
                let redirects = matches!(&self.protocol, ProtocolConfig::Http(h) if h.forward_to_https_port.is_some());
                if !redirects {
                    return Err(Error::invalid_input(
                        "VServerGroupId",
                        "a listener needs a backend unless it redirects HTTP to HTTPS",
                    ));
                }
            }
        }
        if self.bandwidth != -1 && self.bandwidth < 1 {
            return Err(Error::invalid_input("Bandwidth", format!("{} must be -1 or at least 1", self.bandwidth)));
        }
        if let Some(d) = &self.description {
            validate_text("Description", d, 80)?;
        }
        if let Some(acl) = &self.acl {
            if !acl.kind.is_known() {
                return Err(Error::invalid_input("AclType", format!("{} is not white or black", acl.kind)));
            }
        }
        if !self.scheduler.is_known() {
            return Err(Error::invalid_input("Scheduler", format!("{} is not a known scheduler", self.scheduler)));
        }
        match &self.protocol {
            ProtocolConfig::Tcp(t) => {
                match &t.health_check {
                    TcpHealthCheck::Off => {}
                    TcpHealthCheck::Tcp { connect_port, timing } => {
                        check_timing(timing)?;
                        if let Some(p) = connect_port {
                            check_port("HealthCheckConnectPort", *p)?;
                        }
                    }
                    TcpHealthCheck::Http(h) => check_http(h)?,
                }
                check_range("PersistenceTimeout", i64::from(t.persistence_timeout), 0, 3600)?;
                check_range("EstablishedTimeout", i64::from(t.established_timeout), 10, 900)?;
                if let Some(d) = t.connection_drain {
                    check_range("ConnectionDrainTimeout", i64::from(d), 10, 900)?;
                }
            }
            ProtocolConfig::Udp(u) => {
                if let UdpHealthCheck::On { connect_port, timing, request, expect } = &u.health_check {
                    check_timing(timing)?;
                    if let Some(p) = connect_port {
                        check_port("HealthCheckConnectPort", *p)?;
                    }
                    for (what, v) in [("healthCheckReq", request), ("healthCheckExp", expect)] {
                        if v.as_deref().is_some_and(|s| s.chars().count() > 500) {
                            return Err(Error::invalid_input(what, "at most 500 characters"));
                        }
                    }
                }
            }
            ProtocolConfig::Http(h) => {
                check_l7(&h.l7)?;
                if let Some(p) = h.forward_to_https_port {
                    check_port("ForwardPort", p)?;
                }
            }
            ProtocolConfig::Https(h) => {
                check_l7(&h.l7)?;
                if h.server_certificate_id.is_none() {
                    return Err(Error::HttpsWithoutCertificate { port: self.port });
                }
                if !h.tls_cipher_policy.is_known() {
                    return Err(Error::invalid_input(
                        "TLSCipherPolicy",
                        format!("{} is not known", h.tls_cipher_policy),
                    ));
                }
            }
        }
        Ok(())
    }
}

fn check_timing(t: &HealthCheckTiming) -> Result<(), Error> {
    check_range("HealthCheckInterval", i64::from(t.interval), 1, 50)?;
    check_range("HealthCheckTimeout", i64::from(t.timeout), 1, 300)?;
    check_range("HealthyThreshold", i64::from(t.healthy_threshold), 2, 10)?;
    check_range("UnhealthyThreshold", i64::from(t.unhealthy_threshold), 2, 10)
}

fn check_http(h: &HttpHealthCheck) -> Result<(), Error> {
    check_timing(&h.timing)?;
    if !h.uri.starts_with('/') || h.uri.chars().count() > 80 {
        return Err(Error::invalid_input(
            "HealthCheckURI",
            format!("{:?} must start with / (at most 80 characters)", h.uri),
        ));
    }
    if let Some(d) = &h.domain {
        validate_text("HealthCheckDomain", d, 80)?;
    }
    if h.http_codes.is_empty() || h.http_codes.iter().any(|c| !c.is_known()) {
        return Err(Error::invalid_input(
            "HealthCheckHttpCode",
            "one or more of http_2xx, http_3xx, http_4xx, http_5xx",
        ));
    }
    if !h.method.is_known() {
        return Err(Error::invalid_input("HealthCheckMethod", format!("{} is not head or get", h.method)));
    }
    if let Some(p) = h.connect_port {
        check_port("HealthCheckConnectPort", p)?;
    }
    Ok(())
}

fn check_l7(l7: &Layer7Config) -> Result<(), Error> {
    if let Some(h) = &l7.health_check {
        check_http(h)?;
    }
    match &l7.sticky_session {
        StickySession::Off => {}
        StickySession::Insert { cookie_timeout } => check_range("CookieTimeout", i64::from(*cookie_timeout), 1, 86400)?,
        StickySession::Server { cookie } => {
            if cookie.is_empty() || cookie.chars().count() > 200 {
                return Err(Error::invalid_input("Cookie", "1-200 characters"));
            }
        }
    }
    check_range("IdleTimeout", i64::from(l7.idle_timeout), 1, 60)?;
    check_range("RequestTimeout", i64::from(l7.request_timeout), 1, 180)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn group() -> ListenerBackend {
        ListenerBackend::VServerGroup("rsp-bp1a".parse().unwrap())
    }

    #[test]
    fn validation() {
        assert!(ListenerSpec::tcp(80, group()).validate().is_ok());
        let e = ListenerSpec::tcp(0, group()).validate().unwrap_err();
        assert!(matches!(e, Error::InvalidPort { what: "ListenerPort", port: 0 }), "{e:?}");
        let e = ListenerSpec::tcp(80, ListenerBackend::DefaultServerGroup { port: 0 }).validate().unwrap_err();
        assert!(matches!(e, Error::InvalidPort { what: "BackendServerPort", .. }), "{e:?}");
        let mut https = ListenerSpec::https(443, group(), "1234_abc".parse().unwrap());
        assert!(https.validate().is_ok());
        if let ProtocolConfig::Https(h) = &mut https.protocol {
            h.server_certificate_id = None;
        }
        assert!(matches!(https.validate().unwrap_err(), Error::HttpsWithoutCertificate { port: 443 }));
        let ms = ListenerBackend::MasterSlaveGroup("rsp-bp1b".parse().unwrap());
        assert!(ListenerSpec::http(80, ms.clone()).validate().is_err());
        assert!(ListenerSpec::udp(53, ms).validate().is_ok());
        assert!(ListenerSpec::http_redirect(80, 443).validate().is_ok());
        assert!(ListenerSpec::new(80, None, ProtocolConfig::Http(HttpConfig::default())).validate().is_err());
        assert!(ListenerSpec::tcp(80, group()).with_bandwidth(0).validate().is_err());
        let mut t = ListenerSpec::tcp(80, group());
        if let ProtocolConfig::Tcp(c) = &mut t.protocol {
            c.established_timeout = 5;
        }
        assert!(t.validate().is_err());
        let mut h = ListenerSpec::http(80, group());
        if let ProtocolConfig::Http(c) = &mut h.protocol {
            c.l7.health_check = Some(HttpHealthCheck { uri: "healthz".into(), ..HttpHealthCheck::default() });
        }
        assert!(h.validate().is_err());
        if let ProtocolConfig::Http(c) = &mut h.protocol {
            c.l7.health_check = None;
            c.l7.sticky_session = StickySession::Insert { cookie_timeout: 0 };
        }
        assert!(h.validate().is_err());
    }
}
