//! Reading each group of annotations into its typed struct.

use std::collections::BTreeMap;

use ack_net_slb::{
    AclType, AddressIpVersion, AddressType, HealthCheckMethod, HttpCodeClass, InstanceChargeType, InternetChargeType,
    ListenerProtocol, Scheduler, Tag, TlsCipherPolicy,
};

use super::values::{one_of, parse_port, Reader, Value};
use super::{
    BackendAnnotations, BackendKind, HealthCheckAnnotations, HealthCheckType, ListenerAnnotations,
    LoadBalancerAnnotations, StickySessionType,
};
use crate::service::Error;

fn opt<'a, T>(
    r: &Reader<'a>,
    suffix: &str,
    parse: impl FnOnce(&Value<'a>) -> Result<T, Error>,
) -> Result<Option<T>, Error> {
    r.get(suffix)?.map(|v| parse(&v)).transpose()
}

fn switch(r: &Reader<'_>, suffix: &str) -> Result<Option<bool>, Error> {
    opt(r, suffix, Value::switch)
}

fn int(r: &Reader<'_>, suffix: &str, lo: u32, hi: u32) -> Result<Option<u32>, Error> {
    opt(r, suffix, |v| v.int_in(lo, hi))
}

pub(super) fn load_balancer(r: &Reader<'_>) -> Result<LoadBalancerAnnotations, Error> {
    Ok(LoadBalancerAnnotations {
        id: opt(r, "id", Value::id)?,
        force_override_listeners: switch(r, "force-override-listeners")?,
        address_type: opt(r, "address-type", |v| {
            v.known(AddressType::from_wire, AddressType::is_known, &one_of(AddressType::KNOWN))
        })?,
        ip_version: opt(r, "ip-version", |v| {
            v.known(AddressIpVersion::from_wire, AddressIpVersion::is_known, &one_of(AddressIpVersion::KNOWN))
        })?,
        vswitch_id: opt(r, "vswitch-id", Value::id)?,
        ip: opt(r, "ip", |v| v.value.parse().map_err(|_| v.invalid("expected an IP address")))?,
        spec: opt(r, "spec", |v| {
            use ack_net_slb::InstanceSpec as S;
            v.known(S::from_wire, S::is_known, &one_of(S::KNOWN))
        })?,
        instance_charge_type: opt(r, "instance-charge-type", |v| {
            v.known(InstanceChargeType::from_wire, InstanceChargeType::is_known, &one_of(InstanceChargeType::KNOWN))
        })?,
        charge_type: opt(r, "charge-type", |v| {
            v.known(InternetChargeType::from_wire, InternetChargeType::is_known, &one_of(InternetChargeType::KNOWN))
        })?,
        bandwidth: int(r, "bandwidth", 1, 5120)?,
        master_zone_id: opt(r, "master-zoneid", Value::id)?,
        slave_zone_id: opt(r, "slave-zoneid", Value::id)?,
        resource_group_id: opt(r, "resource-group-id", |v| {
            let ok = v.value.starts_with("rg-")
                && v.value.len() > 3
                && v.value.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
            if ok {
                Ok(v.value.to_owned())
            } else {
                Err(v.invalid("expected a resource group id (rg-...)"))
            }
        })?,
        delete_protection: switch(r, "delete-protection")?,
        modification_protection: opt(r, "modification-protection", |v| match v.value {
            s if s.eq_ignore_ascii_case("ConsoleProtection") => Ok(true),
            s if s.eq_ignore_ascii_case("NonProtection") => Ok(false),
            _ => Err(v.invalid("expected ConsoleProtection or NonProtection")),
        })?,
        additional_tags: opt(r, "additional-resource-tags", tags)?.unwrap_or_default(),
        name: opt(r, "name", |v| v.text(80))?,
        preserve_on_delete: switch(r, "preserve-lb-on-delete")?.unwrap_or(false),
        hostname: opt(r, "hostname", |v| {
            let ok = v.value.len() <= 253
                && v.value.split('.').all(|l| {
                    !l.is_empty()
                        && l.len() <= 63
                        && !l.starts_with('-')
                        && !l.ends_with('-')
                        && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                });
            if ok {
                Ok(v.value.to_ascii_lowercase())
            } else {
                Err(v.invalid("expected a DNS name (labels of letters, digits and -, joined by .)"))
            }
        })?,
        classic_network: opt(r, "slb-network-type", |v| match v.value.to_ascii_lowercase().as_str() {
            "classic" => Ok(true),
            "vpc" => Ok(false),
            _ => Err(v.invalid("expected vpc or classic")),
        })?,
    })
}

/// `k1=v1,k2=v2,k3=,k4`: keys unique and not empty.
fn tags(v: &Value<'_>) -> Result<Vec<Tag>, Error> {
    let mut out: Vec<Tag> = Vec::new();
    for item in v.items()? {
        let (key, value) = item.split_once('=').unwrap_or((item, ""));
        let (key, value) = (key.trim(), value.trim());
        if key.is_empty() {
            return Err(v.invalid(format!("{item:?} has no key")));
        }
        let reserved = |s: &str| {
            let l = s.to_ascii_lowercase();
            l.starts_with("aliyun") || l.starts_with("acs:")
        };
        if key.chars().count() > 128 || value.chars().count() > 128 || reserved(key) || reserved(value) {
            return Err(v.invalid(format!(
                "{item:?}: keys and values have at most 128 characters and do not start with aliyun or acs:"
            )));
        }
        if out.iter().any(|t| t.key == key) {
            return Err(v.invalid(format!("the key {key:?} is given twice")));
        }
        out.push(Tag::new(key, value));
    }
    Ok(out)
}

/// `k1=v1,k2=v2`: every pair with a key and a value.
fn labels(v: &Value<'_>) -> Result<BTreeMap<String, String>, Error> {
    let mut out = BTreeMap::new();
    for item in v.items()? {
        let Some((key, value)) = item.split_once('=').filter(|(k, _)| !k.trim().is_empty()) else {
            return Err(v.invalid(format!("{item:?} is not key=value")));
        };
        if out.insert(key.trim().to_owned(), value.trim().to_owned()).is_some() {
            return Err(v.invalid(format!("the label {key:?} is given twice")));
        }
    }
    Ok(out)
}

/// `a:b,c:d` pairs, each parsed by `pair`, keyed by port and unique.
fn port_map<T>(
    v: &Value<'_>,
    pair: impl Fn(&str, &str) -> Option<(u16, T)>,
    form: &str,
) -> Result<BTreeMap<u16, T>, Error> {
    let mut out = BTreeMap::new();
    for item in v.items()? {
        let parsed = item.split_once(':').and_then(|(a, b)| pair(a.trim(), b.trim()));
        let Some((port, value)) = parsed else {
            return Err(v.invalid(format!("{item:?} is not {form}")));
        };
        if out.insert(port, value).is_some() {
            return Err(v.invalid(format!("port {port} is given twice")));
        }
    }
    Ok(out)
}

pub(super) fn listener(r: &Reader<'_>) -> Result<ListenerAnnotations, Error> {
    Ok(ListenerAnnotations {
        protocol_port: opt(r, "protocol-port", |v| {
            port_map(
                v,
                |proto, port| {
                    let p = ListenerProtocol::from_wire(proto);
                    p.is_known().then_some(())?;
                    Some((parse_port(port)?, p))
                },
                "protocol:port with protocol tcp, udp, http or https",
            )
        })?
        .unwrap_or_default(),
        cert_id: opt(r, "cert-id", Value::id)?,
        forward_port: opt(r, "forward-port", |v| {
            port_map(v, |from, to| Some((parse_port(from)?, parse_port(to)?)), "httpPort:httpsPort")
        })?
        .unwrap_or_default(),
        scheduler: opt(r, "scheduler", |v| {
            v.known(Scheduler::from_wire, Scheduler::is_known, &one_of(Scheduler::KNOWN))
        })?,
        persistence_timeout: int(r, "persistence-timeout", 0, 3600)?,
        established_timeout: int(r, "established-timeout", 10, 900)?,
        connection_drain: switch(r, "connection-drain")?,
        connection_drain_timeout: int(r, "connection-drain-timeout", 10, 900)?,
        proxy_protocol: switch(r, "proxy-protocol")?,
        acl_status: switch(r, "acl-status")?,
        acl_id: opt(r, "acl-id", Value::id)?,
        acl_type: opt(r, "acl-type", |v| v.known(AclType::from_wire, AclType::is_known, &one_of(AclType::KNOWN)))?,
        idle_timeout: int(r, "idle-timeout", 1, 60)?,
        request_timeout: int(r, "request-timeout", 1, 180)?,
        http2: switch(r, "http2-enabled")?,
        tls_cipher_policy: opt(r, "tls-cipher-policy", |v| {
            v.known(TlsCipherPolicy::from_wire, TlsCipherPolicy::is_known, &one_of(TlsCipherPolicy::KNOWN))
        })?,
        sticky_session: switch(r, "sticky-session")?,
        sticky_session_type: opt(r, "sticky-session-type", |v| match v.value.to_ascii_lowercase().as_str() {
            "insert" => Ok(StickySessionType::Insert),
            "server" => Ok(StickySessionType::Server),
            _ => Err(v.invalid("expected insert or server")),
        })?,
        cookie_timeout: int(r, "cookie-timeout", 1, 86400)?,
        cookie: opt(r, "cookie", |v| {
            let ok = v.value.len() <= 200
                && !v.value.starts_with('$')
                && v.value.bytes().all(|b| b.is_ascii_graphic() && b != b',' && b != b';');
            if ok {
                Ok(v.value.to_owned())
            } else {
                Err(v.invalid("expected 1-200 printable ASCII characters without , ; or spaces, not starting with $"))
            }
        })?,
        x_forwarded_proto: switch(r, "xforwardedfor-proto")?,
        x_forwarded_slb_port: switch(r, "xforwardedfor-slbport")?,
        x_forwarded_client_src_port: switch(r, "xforwardedfor-clientsrcport")?,
    })
}

pub(super) fn health_check(r: &Reader<'_>) -> Result<HealthCheckAnnotations, Error> {
    Ok(HealthCheckAnnotations {
        switch: switch(r, "health-check-switch")?,
        flag: switch(r, "health-check-flag")?,
        kind: opt(r, "health-check-type", |v| match v.value.to_ascii_lowercase().as_str() {
            "tcp" => Ok(HealthCheckType::Tcp),
            "http" => Ok(HealthCheckType::Http),
            _ => Err(v.invalid("expected tcp or http")),
        })?,
        connect_port: opt(r, "health-check-connect-port", Value::port)?,
        connect_timeout: int(r, "health-check-connect-timeout", 1, 300)?,
        timeout: int(r, "health-check-timeout", 1, 300)?,
        healthy_threshold: int(r, "healthy-threshold", 2, 10)?,
        unhealthy_threshold: int(r, "unhealthy-threshold", 2, 10)?,
        interval: int(r, "health-check-interval", 1, 50)?,
        uri: opt(r, "health-check-uri", |v| {
            let ok = v.value.starts_with('/') && v.value.len() <= 80 && v.value.bytes().all(|b| b.is_ascii_graphic());
            if ok {
                Ok(v.value.to_owned())
            } else {
                Err(v.invalid("expected a path starting with / (at most 80 printable ASCII characters)"))
            }
        })?,
        domain: opt(r, "health-check-domain", |v| {
            if v.value == "$_ip" {
                return Ok(None);
            }
            let ok =
                v.value.len() <= 80 && v.value.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-');
            if ok {
                Ok(Some(v.value.to_owned()))
            } else {
                Err(v.invalid("expected $_ip or a domain of at most 80 letters, digits, . and -"))
            }
        })?
        .flatten(),
        http_codes: opt(r, "health-check-httpcode", |v| {
            v.items()?
                .into_iter()
                .map(|c| {
                    let code = HttpCodeClass::from_wire(c);
                    if code.is_known() {
                        Ok(code)
                    } else {
                        Err(v.invalid(format!("{c:?}: expected {}", one_of(HttpCodeClass::KNOWN))))
                    }
                })
                .collect()
        })?,
        method: opt(r, "health-check-method", |v| {
            v.known(HealthCheckMethod::from_wire, HealthCheckMethod::is_known, &one_of(HealthCheckMethod::KNOWN))
        })?,
    })
}

pub(super) fn backend(r: &Reader<'_>) -> Result<BackendAnnotations, Error> {
    let backend_type = r
        .backend_type()
        .map(|v| match v.value.to_ascii_lowercase().as_str() {
            "ecs" => Ok(BackendKind::Ecs),
            "eni" => Ok(BackendKind::Eni),
            _ => Err(v.invalid("expected ecs or eni")),
        })
        .transpose()?;
    Ok(BackendAnnotations {
        backend_type,
        vgroup_port: opt(r, "vgroup-port", |v| {
            port_map(v, |group, port| Some((parse_port(port)?, group.parse().ok()?)), "rsp-id:port")
        })?
        .unwrap_or_default(),
        weight: opt(r, "weight", |v| v.int_in(0, 100).map(|w| w as u8))?,
        backend_label: opt(r, "backend-label", labels)?.unwrap_or_default(),
        remove_unscheduled: switch(r, "remove-unscheduled-backend")?,
        ignore_weight_update: switch(r, "ignore-weight-update")?,
        ip_version: opt(r, "backend-ip-version", |v| {
            v.known(AddressIpVersion::from_wire, AddressIpVersion::is_known, &one_of(AddressIpVersion::KNOWN))
        })?,
    })
}
