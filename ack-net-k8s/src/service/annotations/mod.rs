//! The Service annotations ACK users already write, parsed strictly into types.
//!
//! Every annotation is read as `service.beta.kubernetes.io/alibaba-cloud-loadbalancer-NAME`
//! and, for Services written before the 2019 rename, as
//! `service.beta.kubernetes.io/alicloud-loadbalancer-NAME`; both with different values are an
//! error. The backend type is `service.beta.kubernetes.io/backend-type`. Value formats follow
//! the Alibaba Cloud controller manager (CCM) and its documentation, with two deliberate
//! differences:
//!
//! - an invalid value is an [`Error`] that names the annotation and the value, never a silent
//!   fallback to a default;
//! - switches accept `on`/`off` and `true`/`false` in any case (CCM takes `on` for most and
//!   `true` for `force-override-listeners` and `preserve-lb-on-delete`; here each accepts
//!   both, and anything else is an error: CCM reads *any* non-empty
//!   `preserve-lb-on-delete`, even `"false"`, as on).
//!
//! A blank value is the same as no annotation. Annotations with either prefix that this
//! module does not know (CCM has NLB and ALB ones, too) are listed in
//! [`ServiceAnnotations::unrecognized`] so that a controller can report them.
//!
//! ```
//! use std::collections::BTreeMap;
//! use ack_net_k8s::service::annotations::{self, ServiceAnnotations};
//! use ack_net_slb::{AddressType, ListenerProtocol};
//!
//! let mut map = BTreeMap::new();
//! map.insert(annotations::ADDRESS_TYPE.to_owned(), "intranet".to_owned());
//! map.insert(annotations::VSWITCH_ID.to_owned(), "vsw-bp1abc".to_owned());
//! map.insert(annotations::PROTOCOL_PORT.to_owned(), "https:443,http:80".to_owned());
//! map.insert(annotations::CERT_ID.to_owned(), "1231579085529123_166f8204689_1714763408_709341".to_owned());
//! // The legacy prefix works too.
//! map.insert("service.beta.kubernetes.io/alicloud-loadbalancer-scheduler".to_owned(), "wlc".to_owned());
//!
//! let parsed = ServiceAnnotations::parse(&map).unwrap();
//! assert_eq!(parsed.load_balancer.address_type, Some(AddressType::Intranet));
//! assert_eq!(parsed.listener.protocol_port.get(&443), Some(&ListenerProtocol::Https));
//!
//! map.insert(annotations::BANDWIDTH.to_owned(), "lots".to_owned());
//! let err = ServiceAnnotations::parse(&map).unwrap_err();
//! assert_eq!(err.annotation(), Some(annotations::BANDWIDTH));
//! ```

mod parse;
mod values;

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use ack_net_core::ZoneId;
use ack_net_slb::{
    AclId, AclType, AddressIpVersion, AddressType, HealthCheckMethod, HttpCodeClass, InstanceChargeType,
    InternetChargeType, ListenerProtocol, LoadBalancerId, Scheduler, ServerCertificateId, Tag, TlsCipherPolicy,
    VServerGroupId, VSwitchId,
};
use k8s_openapi::api::core::v1::Service;

use self::parse::{backend, health_check, listener, load_balancer};
use self::values::Reader;
use super::Error;

/// The current annotation prefix.
pub const PREFIX: &str = "service.beta.kubernetes.io/alibaba-cloud-loadbalancer-";
/// The legacy annotation prefix (before September 2019), still accepted.
pub const LEGACY_PREFIX: &str = "service.beta.kubernetes.io/alicloud-loadbalancer-";
/// `service.beta.kubernetes.io/backend-type`: `ecs` (nodes) or `eni` (pods).
pub const BACKEND_TYPE: &str = "service.beta.kubernetes.io/backend-type";
/// `service.beta.kubernetes.io/class`: a Service with any value is not CCM's (nor, by
/// default, ack-net's): another controller serves it.
pub const CLASS_ANNOTATION: &str = "service.beta.kubernetes.io/class";

macro_rules! keys {
    ($( $(#[$m:meta])* $name:ident => $suffix:literal ),+ $(,)?) => {
        $(
            $(#[$m])*
            pub const $name: &str = concat!("service.beta.kubernetes.io/alibaba-cloud-loadbalancer-", $suffix);
        )+
        /// The name (after the prefix) of every prefixed annotation this module reads.
        pub const KNOWN: &[&str] = &[$($suffix),+];
    };
}

keys! {
    /// `internet` or `intranet`.
    ADDRESS_TYPE => "address-type",
    /// An existing load balancer to reuse (`lb-...`).
    ID => "id",
    /// `true`: take over listeners on a reused load balancer (not supported by the binding).
    FORCE_OVERRIDE_LISTENERS => "force-override-listeners",
    /// `slb.s1.small`...
    SPEC => "spec",
    /// `PayBySpec` or `PayByCLCU`.
    INSTANCE_CHARGE_TYPE => "instance-charge-type",
    /// `paybytraffic` or `paybybandwidth`.
    CHARGE_TYPE => "charge-type",
    /// Mbit/s, 1-5120.
    BANDWIDTH => "bandwidth",
    /// The VSwitch of an intranet load balancer (`vsw-...`).
    VSWITCH_ID => "vswitch-id",
    /// A fixed intranet address.
    IP => "ip",
    /// `ipv4` or `ipv6`.
    IP_VERSION => "ip-version",
    /// The master zone (`cn-hangzhou-k`).
    MASTER_ZONE_ID => "master-zoneid",
    /// The slave zone.
    SLAVE_ZONE_ID => "slave-zoneid",
    /// The resource group (`rg-...`).
    RESOURCE_GROUP_ID => "resource-group-id",
    /// `on` or `off`.
    DELETE_PROTECTION => "delete-protection",
    /// `ConsoleProtection` or `NonProtection`.
    MODIFICATION_PROTECTION => "modification-protection",
    /// `k1=v1,k2=v2` (a key alone has an empty value).
    ADDITIONAL_RESOURCE_TAGS => "additional-resource-tags",
    /// The load balancer's name.
    NAME => "name",
    /// `true`: keep the load balancer when the Service is deleted.
    PRESERVE_LB_ON_DELETE => "preserve-lb-on-delete",
    /// `https:443,http:80`: the listener protocol of Service ports.
    PROTOCOL_PORT => "protocol-port",
    /// The server certificate of HTTPS listeners.
    CERT_ID => "cert-id",
    /// `80:443`: HTTP ports that redirect to an HTTPS port.
    FORWARD_PORT => "forward-port",
    /// `wrr`, `wlc`, `rr`, `sch`, `tch` or `qch`.
    SCHEDULER => "scheduler",
    /// TCP session persistence in seconds, 0-3600.
    PERSISTENCE_TIMEOUT => "persistence-timeout",
    /// TCP idle connection timeout in seconds, 10-900.
    ESTABLISHED_TIMEOUT => "established-timeout",
    /// `on` or `off`.
    CONNECTION_DRAIN => "connection-drain",
    /// Seconds, 10-900.
    CONNECTION_DRAIN_TIMEOUT => "connection-drain-timeout",
    /// `on` or `off`: Proxy Protocol v2 on TCP and UDP listeners.
    PROXY_PROTOCOL => "proxy-protocol",
    /// `on` or `off`.
    ACL_STATUS => "acl-status",
    /// `acl-...`.
    ACL_ID => "acl-id",
    /// `white` or `black`.
    ACL_TYPE => "acl-type",
    /// HTTP/HTTPS idle timeout in seconds, 1-60.
    IDLE_TIMEOUT => "idle-timeout",
    /// HTTP/HTTPS request timeout in seconds, 1-180.
    REQUEST_TIMEOUT => "request-timeout",
    /// `on` or `off`: HTTP/2 on HTTPS listeners.
    HTTP2_ENABLED => "http2-enabled",
    /// `tls_cipher_policy_1_0`...
    TLS_CIPHER_POLICY => "tls-cipher-policy",
    /// `on` or `off`: HTTP/HTTPS session persistence.
    STICKY_SESSION => "sticky-session",
    /// `insert` or `server`.
    STICKY_SESSION_TYPE => "sticky-session-type",
    /// Seconds, 1-86400 (`insert`).
    COOKIE_TIMEOUT => "cookie-timeout",
    /// The backend's cookie name (`server`).
    COOKIE => "cookie",
    /// `on` or `off`: the `X-Forwarded-Proto` header.
    XFORWARDEDFOR_PROTO => "xforwardedfor-proto",
    /// `on` or `off`: the `XForwardedFor_SLBPORT` header.
    XFORWARDEDFOR_SLBPORT => "xforwardedfor-slbport",
    /// `on` or `off`: the `XForwardedFor_ClientSrcPort` header.
    XFORWARDEDFOR_CLIENTSRCPORT => "xforwardedfor-clientsrcport",
    /// `on` or `off`: health checks of TCP and UDP listeners.
    HEALTH_CHECK_SWITCH => "health-check-switch",
    /// `on` or `off`: health checks of HTTP and HTTPS listeners.
    HEALTH_CHECK_FLAG => "health-check-flag",
    /// `tcp` or `http`: how a TCP listener checks.
    HEALTH_CHECK_TYPE => "health-check-type",
    /// The port health checks connect to.
    HEALTH_CHECK_CONNECT_PORT => "health-check-connect-port",
    /// TCP/UDP health check timeout in seconds, 1-300.
    HEALTH_CHECK_CONNECT_TIMEOUT => "health-check-connect-timeout",
    /// HTTP health check timeout in seconds, 1-300.
    HEALTH_CHECK_TIMEOUT => "health-check-timeout",
    /// 2-10.
    HEALTHY_THRESHOLD => "healthy-threshold",
    /// 2-10.
    UNHEALTHY_THRESHOLD => "unhealthy-threshold",
    /// Seconds, 1-50.
    HEALTH_CHECK_INTERVAL => "health-check-interval",
    /// The path of HTTP health checks, starting with `/`.
    HEALTH_CHECK_URI => "health-check-uri",
    /// The `Host` of HTTP health checks; `$_ip` is the backend's address.
    HEALTH_CHECK_DOMAIN => "health-check-domain",
    /// `http_2xx,http_3xx`: the answers that count as healthy.
    HEALTH_CHECK_HTTPCODE => "health-check-httpcode",
    /// `head` or `get`.
    HEALTH_CHECK_METHOD => "health-check-method",
    /// `rsp-a:80,rsp-b:443`: existing VServer groups for ports (not supported by the binding).
    VGROUP_PORT => "vgroup-port",
    /// 0-100: the Service's share of the traffic, spread over its backends.
    WEIGHT => "weight",
    /// `k1=v1,k2=v2`: only nodes with all these labels are backends.
    BACKEND_LABEL => "backend-label",
    /// `on` or `off`: leave unschedulable (cordoned) nodes out of the backends.
    REMOVE_UNSCHEDULED_BACKEND => "remove-unscheduled-backend",
    /// `on` or `off`: leave the weights of backends already in a group as they are.
    IGNORE_WEIGHT_UPDATE => "ignore-weight-update",
    /// `ipv4` or `ipv6`: the address family of ENI (pod) backends.
    BACKEND_IP_VERSION => "backend-ip-version",
    /// A host name for `status.loadBalancer.ingress[].hostname` instead of the address.
    HOSTNAME => "hostname",
    /// `vpc` or `classic`: the network of an intranet load balancer.
    SLB_NETWORK_TYPE => "slb-network-type",
}

/// Every annotation of a Service, parsed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ServiceAnnotations {
    /// The load balancer's identity and attributes.
    pub load_balancer: LoadBalancerAnnotations,
    /// Listener settings (all ports).
    pub listener: ListenerAnnotations,
    /// Health checks (all ports).
    pub health_check: HealthCheckAnnotations,
    /// Which backends, and their weights.
    pub backend: BackendAnnotations,
    /// Keys with either prefix that this module does not read (sorted).
    pub unrecognized: Vec<String>,
}

/// The load balancer's annotations.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct LoadBalancerAnnotations {
    /// `id`: reuse this load balancer.
    pub id: Option<LoadBalancerId>,
    /// `force-override-listeners`.
    pub force_override_listeners: Option<bool>,
    /// `address-type`.
    pub address_type: Option<AddressType>,
    /// `ip-version`.
    pub ip_version: Option<AddressIpVersion>,
    /// `vswitch-id`.
    pub vswitch_id: Option<VSwitchId>,
    /// `ip`.
    pub ip: Option<IpAddr>,
    /// `spec`.
    pub spec: Option<ack_net_slb::InstanceSpec>,
    /// `instance-charge-type`.
    pub instance_charge_type: Option<InstanceChargeType>,
    /// `charge-type`.
    pub charge_type: Option<InternetChargeType>,
    /// `bandwidth`.
    pub bandwidth: Option<u32>,
    /// `master-zoneid`.
    pub master_zone_id: Option<ZoneId>,
    /// `slave-zoneid`.
    pub slave_zone_id: Option<ZoneId>,
    /// `resource-group-id`.
    pub resource_group_id: Option<String>,
    /// `delete-protection`.
    pub delete_protection: Option<bool>,
    /// `modification-protection`: `Some(true)` for `ConsoleProtection`.
    pub modification_protection: Option<bool>,
    /// `additional-resource-tags`, in the order written.
    pub additional_tags: Vec<Tag>,
    /// `name`.
    pub name: Option<String>,
    /// `preserve-lb-on-delete`.
    pub preserve_on_delete: bool,
    /// `hostname`.
    pub hostname: Option<String>,
    /// `slb-network-type`: `Some(true)` for `classic`, `Some(false)` for `vpc`.
    pub classic_network: Option<bool>,
}

/// How HTTP/HTTPS session persistence works.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum StickySessionType {
    /// `insert`: the load balancer sets a cookie.
    Insert,
    /// `server`: the backend's cookie.
    Server,
}

/// Listener annotations; they apply to every port of the Service they fit.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ListenerAnnotations {
    /// `protocol-port`: Service port to listener protocol.
    pub protocol_port: BTreeMap<u16, ListenerProtocol>,
    /// `cert-id`.
    pub cert_id: Option<ServerCertificateId>,
    /// `forward-port`: HTTP port to the HTTPS port it redirects to.
    pub forward_port: BTreeMap<u16, u16>,
    /// `scheduler`.
    pub scheduler: Option<Scheduler>,
    /// `persistence-timeout`.
    pub persistence_timeout: Option<u32>,
    /// `established-timeout`.
    pub established_timeout: Option<u32>,
    /// `connection-drain`.
    pub connection_drain: Option<bool>,
    /// `connection-drain-timeout`.
    pub connection_drain_timeout: Option<u32>,
    /// `proxy-protocol`.
    pub proxy_protocol: Option<bool>,
    /// `acl-status`.
    pub acl_status: Option<bool>,
    /// `acl-id`.
    pub acl_id: Option<AclId>,
    /// `acl-type`.
    pub acl_type: Option<AclType>,
    /// `idle-timeout`.
    pub idle_timeout: Option<u32>,
    /// `request-timeout`.
    pub request_timeout: Option<u32>,
    /// `http2-enabled`.
    pub http2: Option<bool>,
    /// `tls-cipher-policy`.
    pub tls_cipher_policy: Option<TlsCipherPolicy>,
    /// `sticky-session`.
    pub sticky_session: Option<bool>,
    /// `sticky-session-type`.
    pub sticky_session_type: Option<StickySessionType>,
    /// `cookie-timeout`.
    pub cookie_timeout: Option<u32>,
    /// `cookie`.
    pub cookie: Option<String>,
    /// `xforwardedfor-proto`.
    pub x_forwarded_proto: Option<bool>,
    /// `xforwardedfor-slbport`.
    pub x_forwarded_slb_port: Option<bool>,
    /// `xforwardedfor-clientsrcport`.
    pub x_forwarded_client_src_port: Option<bool>,
}

/// How a TCP listener checks its backends.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum HealthCheckType {
    /// `tcp`: a TCP connect.
    Tcp,
    /// `http`: an HTTP request.
    Http,
}

/// Health check annotations.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct HealthCheckAnnotations {
    /// `health-check-switch` (TCP and UDP listeners; on by default).
    pub switch: Option<bool>,
    /// `health-check-flag` (HTTP and HTTPS listeners; off by default, as in CCM).
    pub flag: Option<bool>,
    /// `health-check-type` (TCP listeners).
    pub kind: Option<HealthCheckType>,
    /// `health-check-connect-port`.
    pub connect_port: Option<u16>,
    /// `health-check-connect-timeout` (TCP and UDP).
    pub connect_timeout: Option<u32>,
    /// `health-check-timeout` (HTTP checks).
    pub timeout: Option<u32>,
    /// `healthy-threshold`.
    pub healthy_threshold: Option<u32>,
    /// `unhealthy-threshold`.
    pub unhealthy_threshold: Option<u32>,
    /// `health-check-interval`.
    pub interval: Option<u32>,
    /// `health-check-uri`.
    pub uri: Option<String>,
    /// `health-check-domain`; `$_ip` (the backend's address) is `None`.
    pub domain: Option<String>,
    /// `health-check-httpcode`.
    pub http_codes: Option<BTreeSet<HttpCodeClass>>,
    /// `health-check-method`.
    pub method: Option<HealthCheckMethod>,
}

/// What kind of backends serve the Service.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum BackendKind {
    /// `ecs`: nodes (ECS instances) on the Service's node ports.
    Ecs,
    /// `eni`: pods, by their address on an ENI, on the target port.
    Eni,
}

/// Backend annotations.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct BackendAnnotations {
    /// `service.beta.kubernetes.io/backend-type`.
    pub backend_type: Option<BackendKind>,
    /// `vgroup-port`: Service port to an existing VServer group.
    pub vgroup_port: BTreeMap<u16, VServerGroupId>,
    /// `weight`.
    pub weight: Option<u8>,
    /// `backend-label`.
    pub backend_label: BTreeMap<String, String>,
    /// `remove-unscheduled-backend`.
    pub remove_unscheduled: Option<bool>,
    /// `ignore-weight-update`.
    pub ignore_weight_update: Option<bool>,
    /// `backend-ip-version`.
    pub ip_version: Option<AddressIpVersion>,
}

impl ServiceAnnotations {
    /// Parses the annotations of `service` (none is the empty set).
    pub fn from_service(service: &Service) -> Result<Self, Error> {
        match &service.metadata.annotations {
            Some(map) => Self::parse(map),
            None => Ok(Self::default()),
        }
    }

    /// Parses an annotation map. The first invalid annotation (in the order of the fields
    /// here) is the error.
    pub fn parse(map: &BTreeMap<String, String>) -> Result<Self, Error> {
        let r = Reader::new(map);
        let out = Self {
            load_balancer: load_balancer(&r)?,
            listener: listener(&r)?,
            health_check: health_check(&r)?,
            backend: backend(&r)?,
            unrecognized: map
                .keys()
                .filter(|k| {
                    let suffix = k.strip_prefix(PREFIX).or_else(|| k.strip_prefix(LEGACY_PREFIX));
                    suffix.is_some_and(|s| !KNOWN.contains(&s))
                })
                .cloned()
                .collect(),
        };
        out.check_combinations()?;
        Ok(out)
    }

    /// Checks what no single annotation can: companions that must come together and values
    /// that exclude each other.
    fn check_combinations(&self) -> Result<(), Error> {
        let lb = &self.load_balancer;
        if lb.instance_charge_type == Some(InstanceChargeType::PayByClcu) && lb.spec.is_some() {
            return Err(Error::combination(SPEC, "a PayByCLCU load balancer has no spec (instance-charge-type)"));
        }
        if lb.master_zone_id.is_some() && lb.master_zone_id == lb.slave_zone_id {
            return Err(Error::combination(SLAVE_ZONE_ID, "must differ from master-zoneid"));
        }
        let l = &self.listener;
        if l.acl_status == Some(true) {
            if l.acl_id.is_none() {
                return Err(Error::combination(ACL_ID, "acl-status is on: an ACL id is required"));
            }
            if l.acl_type.is_none() {
                return Err(Error::combination(ACL_TYPE, "acl-status is on: white or black is required"));
            }
        }
        if l.connection_drain == Some(true) && l.connection_drain_timeout.is_none() {
            return Err(Error::combination(CONNECTION_DRAIN_TIMEOUT, "connection-drain is on: a timeout is required"));
        }
        if l.sticky_session == Some(true) {
            match l.sticky_session_type {
                None => return Err(Error::combination(STICKY_SESSION_TYPE, "sticky-session is on: insert or server")),
                Some(StickySessionType::Insert) if l.cookie_timeout.is_none() => {
                    return Err(Error::combination(COOKIE_TIMEOUT, "sticky-session-type insert needs a cookie timeout"))
                }
                Some(StickySessionType::Server) if l.cookie.is_none() => {
                    return Err(Error::combination(COOKIE, "sticky-session-type server needs the cookie name"))
                }
                _ => {}
            }
        }
        for (http, https) in &l.forward_port {
            if l.protocol_port.get(http).is_some_and(|p| *p != ListenerProtocol::Http) {
                return Err(Error::combination(FORWARD_PORT, format!("port {http} redirects, so it must be http")));
            }
            if l.protocol_port.get(https) != Some(&ListenerProtocol::Https) {
                return Err(Error::combination(
                    FORWARD_PORT,
                    format!("port {http} redirects to {https}, which protocol-port must make https"),
                ));
            }
        }
        if l.protocol_port.values().any(|p| *p == ListenerProtocol::Https) && l.cert_id.is_none() {
            return Err(Error::combination(CERT_ID, "protocol-port has an https port: a certificate is required"));
        }
        let b = &self.backend;
        if b.backend_type == Some(BackendKind::Eni) && !b.backend_label.is_empty() {
            return Err(Error::combination(BACKEND_LABEL, "selects nodes, but backend-type eni serves pods"));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
