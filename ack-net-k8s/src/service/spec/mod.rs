//! A Service, its Nodes and EndpointSlices as an ack-net-slb [`LoadBalancerSpec`].

mod listener;

use std::collections::BTreeSet;

use ack_net_slb::binding::{Billing, InstanceSpec, LoadBalancerAttributes, LoadBalancerSpec, Naming, Owner, PortSpec};
use ack_net_slb::{AddressIpVersion, AddressType, InstanceChargeType, VSwitchId};
use k8s_openapi::api::core::v1::{Node, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;

use super::annotations::{self as keys, ServiceAnnotations};
use super::backends::{service_backends, service_key, BackendMode, EniMap, NodeFilter, ServiceBackends};
use super::Error;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

/// How Services become load balancers in one cluster: the owner's cluster id and the
/// defaults for what a Service's annotations leave open.
///
/// The defaults follow the Alibaba Cloud controller manager (CCM): internet, billed by
/// capacity units (pay-by-CLCU, no spec) unless `spec` or `instance-charge-type` says
/// otherwise, delete protection on, console (modification) protection on. Two settings
/// keep deliberate differences from CCM (see the crate README's CCM table):
/// [`drain_terminating`](Self::drain_terminating) and
/// [`weight_everywhere`](Self::weight_everywhere).
///
/// ```
/// use ack_net_k8s::service::ServiceConfig;
/// let cfg = ServiceConfig::new("c-1234").with_vswitch("vsw-bp1abc".parse().unwrap());
/// assert_eq!(cfg.cluster_id, "c-1234");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ServiceConfig {
    /// The cluster id: with the Service's `namespace/name` it identifies what the binding
    /// owns (its ownership tags).
    pub cluster_id: String,
    /// Which nodes may serve (Cluster and Local modes).
    pub node_filter: NodeFilter,
    /// `address-type` when the Service does not say.
    pub address_type: AddressType,
    /// The VSwitch of intranet load balancers when `vswitch-id` is not given.
    pub vswitch_id: Option<VSwitchId>,
    /// The billing when neither `spec` nor `instance-charge-type` says.
    pub billing: Billing,
    /// `delete-protection` when not given.
    pub delete_protection: bool,
    /// `modification-protection` when not given.
    pub modification_protection: bool,
    /// Serve only Services with this `spec.loadBalancerClass`; `None` serves those without
    /// a class (the default provider's).
    pub load_balancer_class: Option<String>,
    /// Keep terminating endpoints as backends at weight 0 until they leave the
    /// EndpointSlice, so that their connections drain (on by default). CCM removes them at
    /// once, which resets the connections they still carry; off does the same.
    pub drain_terminating: bool,
    /// Apply the `weight` annotation to every Service (on by default). CCM reads it only
    /// together with `id` and `vgroup-port` and silently ignores it otherwise; off does
    /// the same (with a note).
    pub weight_everywhere: bool,
    /// The names and tags that mark a Service's load balancer, listeners, groups and
    /// backends: ack-net's own (the default), or [`Naming::Ccm`] to adopt what ACK's cloud
    /// controller manager made for the Service in place, and to write what it would.
    pub naming: Naming,
    /// ENI mode: how long a terminating endpoint stays a backend at weight 0 (counted from
    /// when the reconciler first saw it terminating) before it is removed. Shorter than the
    /// pods' termination grace period, the backend leaves before the pod is gone, so the load
    /// balancer never sends to an address the pod no longer holds (see [`gate`](super::gate)).
    /// `None` (the default) keeps it until it leaves the EndpointSlice.
    pub terminating_drain: Option<std::time::Duration>,
}

impl ServiceConfig {
    /// The defaults for cluster `cluster_id`.
    pub fn new(cluster_id: impl Into<String>) -> Self {
        Self {
            cluster_id: cluster_id.into(),
            node_filter: NodeFilter::default(),
            address_type: AddressType::Internet,
            vswitch_id: None,
            billing: Billing::PayByClcu,
            delete_protection: true,
            modification_protection: true,
            load_balancer_class: None,
            drain_terminating: true,
            weight_everywhere: true,
            naming: Naming::AckNet,
            terminating_drain: None,
        }
    }

    /// Sets [`terminating_drain`](Self::terminating_drain).
    ///
    /// ```
    /// use ack_net_k8s::service::ServiceConfig;
    /// use std::time::Duration;
    /// let cfg = ServiceConfig::new("c-1").with_terminating_drain(Duration::from_secs(20));
    /// assert_eq!(cfg.terminating_drain, Some(Duration::from_secs(20)));
    /// ```
    pub fn with_terminating_drain(mut self, period: std::time::Duration) -> Self {
        self.terminating_drain = Some(period);
        self
    }

    /// Sets the naming (see [`naming`](Self::naming)).
    ///
    /// ```
    /// use ack_net_k8s::service::ServiceConfig;
    /// use ack_net_slb::binding::Naming;
    /// let cfg = ServiceConfig::new("c-1").with_naming(Naming::Ccm);
    /// assert_eq!(cfg.naming, Naming::Ccm);
    /// ```
    pub fn with_naming(mut self, naming: Naming) -> Self {
        self.naming = naming;
        self
    }

    /// The owner of `service`'s binding: this cluster, `namespace/name`, the UID, the naming.
    pub fn owner(&self, service: &Service) -> Owner {
        let o = Owner::new(&self.cluster_id, service_key(service)).with_naming(self.naming);
        match service.metadata.uid.as_deref().filter(|u| !u.is_empty()) {
            Some(uid) => o.with_uid(uid),
            None => o,
        }
    }

    /// Behaves as CCM where ack-net differs on purpose: terminating endpoints leave at once
    /// and `weight` needs `id` and `vgroup-port`.
    ///
    /// ```
    /// use ack_net_k8s::service::ServiceConfig;
    /// let cfg = ServiceConfig::new("c-1").like_ccm();
    /// assert!(!cfg.drain_terminating && !cfg.weight_everywhere);
    /// ```
    pub fn like_ccm(mut self) -> Self {
        self.drain_terminating = false;
        self.weight_everywhere = false;
        self
    }

    /// Sets the default VSwitch of intranet load balancers.
    pub fn with_vswitch(mut self, vswitch: VSwitchId) -> Self {
        self.vswitch_id = Some(vswitch);
        self
    }

    /// Sets the node filter.
    pub fn with_node_filter(mut self, filter: NodeFilter) -> Self {
        self.node_filter = filter;
        self
    }

    /// Sets the default billing.
    pub fn with_billing(mut self, billing: Billing) -> Self {
        self.billing = billing;
        self
    }

    /// Sets the default delete and modification protection.
    pub fn with_protection(mut self, delete: bool, modification: bool) -> Self {
        self.delete_protection = delete;
        self.modification_protection = modification;
        self
    }

    /// Serves Services of this `spec.loadBalancerClass` only.
    pub fn with_load_balancer_class(mut self, class: impl Into<String>) -> Self {
        self.load_balancer_class = Some(class.into());
        self
    }

    /// Whether `service` is one to serve: `type: LoadBalancer`, with this configuration's
    /// load balancer class. A Service whose [`CLASS_ANNOTATION`](keys::CLASS_ANNOTATION) is
    /// set belongs to another controller, as CCM decides, unless this configuration serves
    /// that class.
    pub fn wants(&self, service: &Service) -> bool {
        let spec = service.spec.as_ref();
        let annotated = service
            .metadata
            .annotations
            .as_ref()
            .and_then(|a| a.get(keys::CLASS_ANNOTATION))
            .map(|c| c.trim())
            .filter(|c| !c.is_empty());
        let class = spec.and_then(|s| s.load_balancer_class.as_deref()).or(annotated);
        spec.and_then(|s| s.type_.as_deref()) == Some("LoadBalancer") && class == self.load_balancer_class.as_deref()
    }
}

/// A Service translated: the spec, and what the user should hear about (as Events).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServiceLoadBalancer {
    /// The desired state, valid (checked with [`LoadBalancerSpec::validate_with_quota`]
    /// and an unlimited quota: the group quota is the plan's to check).
    pub spec: LoadBalancerSpec,
    /// The backends of each port, with the nodes that may not serve and why.
    pub backends: ServiceBackends,
    /// The parsed annotations.
    pub annotations: ServiceAnnotations,
    /// Annotations that were given but have no effect here, and why.
    pub notes: Vec<String>,
}

/// A Service as a load balancer spec: [`translate`] without the report.
///
/// `nodes` and `slices` may be the whole cluster's; `enis` is read in ENI mode only (fill it
/// with [`resolve_enis`](super::resolve_enis)).
pub fn service_spec(
    service: &Service,
    nodes: &[Node],
    slices: &[EndpointSlice],
    enis: &EniMap,
    cfg: &ServiceConfig,
) -> Result<LoadBalancerSpec, Error> {
    translate(service, nodes, slices, enis, cfg).map(|t| t.spec)
}

/// Attribute annotations that mean nothing when a load balancer is reused.
pub(crate) const CREATE_ONLY: &[&str] = &[
    keys::ADDRESS_TYPE,
    keys::IP_VERSION,
    keys::VSWITCH_ID,
    keys::IP,
    keys::SPEC,
    keys::INSTANCE_CHARGE_TYPE,
    keys::CHARGE_TYPE,
    keys::BANDWIDTH,
    keys::MASTER_ZONE_ID,
    keys::SLAVE_ZONE_ID,
    keys::RESOURCE_GROUP_ID,
    keys::DELETE_PROTECTION,
    keys::MODIFICATION_PROTECTION,
    keys::ADDITIONAL_RESOURCE_TAGS,
    keys::NAME,
    keys::PRESERVE_LB_ON_DELETE,
    keys::SLB_NETWORK_TYPE,
];

/// A Service, its Nodes and EndpointSlices as a load balancer spec, with the backends and
/// notes behind it.
///
/// ```
/// use ack_net_k8s::service::{translate, EniMap, ServiceConfig};
/// use ack_net_slb::ListenerProtocol;
/// use k8s_openapi::api::core::v1::{Node, Service};
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let svc: Service = serde_json::from_value(serde_json::json!({
///     "metadata": {"namespace": "default", "name": "web", "uid": "u-1", "annotations": {
///         "service.beta.kubernetes.io/alibaba-cloud-loadbalancer-protocol-port": "http:80",
///         "service.beta.kubernetes.io/alibaba-cloud-loadbalancer-health-check-flag": "on",
///         "service.beta.kubernetes.io/alibaba-cloud-loadbalancer-health-check-uri": "/healthz"
///     }},
///     "spec": {"type": "LoadBalancer", "ports": [{"port": 80, "nodePort": 30080, "protocol": "TCP"}]}
/// }))?;
/// let node: Node = serde_json::from_value(serde_json::json!({
///     "metadata": {"name": "n1"},
///     "spec": {"providerID": "cn-hangzhou.i-bp1abc"},
///     "status": {"conditions": [{"type": "Ready", "status": "True"}]}
/// }))?;
/// let t = translate(&svc, &[node], &[], &EniMap::new(), &ServiceConfig::new("c-1"))?;
/// assert_eq!(t.spec.owner.service(), "default/web");
/// let port = t.spec.port_spec(80).unwrap();
/// assert_eq!(port.listener.listener_protocol(), ListenerProtocol::Http);
/// assert_eq!(port.backends, vec![ack_net_slb::Backend::ecs(&"i-bp1abc".parse().unwrap(), 30080)]);
/// # Ok(()) }
/// ```
pub fn translate(
    service: &Service,
    nodes: &[Node],
    slices: &[EndpointSlice],
    enis: &EniMap,
    cfg: &ServiceConfig,
) -> Result<ServiceLoadBalancer, Error> {
    let key = service_key(service);
    if service.metadata.name.as_deref().is_none_or(str::is_empty) {
        return Err(Error::service(&key, "metadata.name is missing"));
    }
    let mut annotations = ServiceAnnotations::from_service(service)?;
    let mut notes = Vec::new();
    if annotations.load_balancer.classic_network == Some(true) {
        return Err(unsupported(
            service,
            keys::SLB_NETWORK_TYPE,
            "classic-network load balancers are retired; ack-net creates VPC ones",
        ));
    }
    if annotations.backend.weight.is_some() && !cfg.weight_everywhere {
        annotations.backend.weight = None;
        notes.push(format!("{}: no effect without {} and {} (as in CCM)", keys::WEIGHT, keys::ID, keys::VGROUP_PORT));
    }
    if !annotations.backend.vgroup_port.is_empty() {
        return Err(unsupported(
            service,
            keys::VGROUP_PORT,
            "the binding keeps each port's backends in its own VServer group",
        ));
    }
    let owner = cfg.owner(service);
    let lb = &annotations.load_balancer;
    let mut spec = match &lb.id {
        Some(id) => {
            if lb.force_override_listeners == Some(true) {
                return Err(unsupported(
                    service,
                    keys::FORCE_OVERRIDE_LISTENERS,
                    "the binding never takes over listeners it did not create; delete them, or choose other ports",
                ));
            }
            for k in CREATE_ONLY.iter().filter(|k| given(service, k)) {
                notes.push(format!("{k}: no effect, the load balancer {id} is reused and not changed"));
            }
            LoadBalancerSpec::reuse(owner, id.clone())
        }
        None => {
            if lb.force_override_listeners.is_some() {
                notes.push(format!("{}: no effect without {}", keys::FORCE_OVERRIDE_LISTENERS, keys::ID));
            }
            let mut attrs = attributes(&annotations, cfg)?;
            if attrs.name.is_none() {
                attrs.name = service
                    .metadata
                    .uid
                    .as_deref()
                    .filter(|u| !u.is_empty())
                    .map(ack_net_slb::binding::ccm_load_balancer_name);
            }
            LoadBalancerSpec::create(owner, attrs).preserve_on_delete(lb.preserve_on_delete)
        }
    };
    for k in &annotations.unrecognized {
        notes.push(format!("{k}: not an annotation this controller reads"));
    }

    let slices = ccm_slices(slices, &annotations, cfg.drain_terminating);
    let backends = service_backends(service, &annotations, nodes, &slices, enis, &cfg.node_filter)?;
    let keep_weights = annotations.backend.ignore_weight_update == Some(true);
    let backends_mode = backends.mode;
    let mut seen = BTreeSet::new();
    for p in &backends.ports {
        if !seen.insert(p.port) {
            return Err(Error::service(
                &key,
                format!(
                    "port {} is given twice (TCP and UDP): a load balancer here keeps one listener per port",
                    p.port
                ),
            ));
        }
        let protocol = listener::protocol_of(&key, p.port, &p.protocol, &annotations.listener)?;
        let l = listener::listener(&key, p.port, &protocol, &annotations, &mut notes)?;
        let backends = if l.backend.is_none() && redirects(&l) { Vec::new() } else { p.backends.clone() };
        let mut port_spec = PortSpec::new(l, backends).with_observed_weights_kept(keep_weights);
        if cfg.naming == Naming::Ccm {
            port_spec = port_spec.with_ccm_group_port(ccm_group_port(service, p.port, backends_mode)?);
        }
        spec = spec.port(port_spec);
    }
    if let Some(port) = annotations.listener.protocol_port.keys().find(|p| !seen.contains(*p)) {
        return Err(Error::combination(keys::PROTOCOL_PORT, format!("port {port} is not a port of the Service")));
    }
    if let Some(port) = annotations.listener.forward_port.keys().find(|p| !seen.contains(*p)) {
        return Err(Error::combination(keys::FORWARD_PORT, format!("port {port} is not a port of the Service")));
    }
    spec.validate_with_quota(usize::MAX).map_err(Error::Spec)?;
    Ok(ServiceLoadBalancer { spec, backends, annotations, notes })
}

/// The port in the name CCM gives the VServer group of Service port `port`: the node port,
/// or in ENI mode the target port as the Service writes it (a number or a name).
fn ccm_group_port(service: &Service, port: u16, mode: BackendMode) -> Result<String, Error> {
    let sp = service
        .spec
        .as_ref()
        .and_then(|s| s.ports.as_deref())
        .unwrap_or_default()
        .iter()
        .find(|p| p.port == i32::from(port));
    let missing = |what: &str| Error::service(&service_key(service), format!("port {port} has no {what}"));
    let sp = sp.ok_or_else(|| missing("entry"))?;
    Ok(match mode {
        BackendMode::Eni => match &sp.target_port {
            Some(IntOrString::Int(p)) => p.to_string(),
            Some(IntOrString::String(s)) => s.clone(),
            None => port.to_string(),
        },
        _ => sp.node_port.ok_or_else(|| missing("nodePort"))?.to_string(),
    })
}

/// The EndpointSlices whose endpoints may become backends, as CCM picks them: one address
/// family (IPv6 only when both `ip-version` and `backend-ip-version` say `ipv6`), and,
/// unless terminating endpoints drain, without them.
fn ccm_slices(slices: &[EndpointSlice], a: &ServiceAnnotations, drain_terminating: bool) -> Vec<EndpointSlice> {
    let v6 = a.load_balancer.ip_version == Some(AddressIpVersion::Ipv6)
        && a.backend.ip_version == Some(AddressIpVersion::Ipv6);
    let family = if v6 { "IPv6" } else { "IPv4" };
    slices
        .iter()
        .filter(|s| s.address_type == family)
        .map(|s| {
            let mut s = s.clone();
            if !drain_terminating {
                if let Some(endpoints) = s.endpoints.as_mut() {
                    endpoints.retain(|e| e.conditions.as_ref().and_then(|c| c.terminating) != Some(true));
                }
            }
            s
        })
        .collect()
}

fn redirects(l: &ack_net_slb::ListenerSpec) -> bool {
    matches!(&l.protocol, ack_net_slb::ProtocolConfig::Http(h) if h.forward_to_https_port.is_some())
}

/// Whether `service` has annotation `key` under either prefix (not blank).
fn given(service: &Service, key: &str) -> bool {
    let suffix = key.strip_prefix(keys::PREFIX).unwrap_or(key);
    let legacy = format!("{}{suffix}", keys::LEGACY_PREFIX);
    service
        .metadata
        .annotations
        .as_ref()
        .is_some_and(|m| [key, legacy.as_str()].iter().any(|k| m.get(*k).is_some_and(|v| !v.trim().is_empty())))
}

/// The key as the user wrote it (legacy or current prefix).
fn written(service: &Service, key: &str) -> String {
    let suffix = key.strip_prefix(keys::PREFIX).unwrap_or(key);
    let legacy = format!("{}{suffix}", keys::LEGACY_PREFIX);
    let has = |k: &str| service.metadata.annotations.as_ref().is_some_and(|m| m.contains_key(k));
    if !has(key) && has(&legacy) {
        legacy
    } else {
        key.to_owned()
    }
}

fn unsupported(service: &Service, key: &str, reason: &str) -> Error {
    let annotation = written(service, key);
    let value = service.metadata.annotations.as_ref().and_then(|m| m.get(&annotation)).cloned().unwrap_or_default();
    Error::UnsupportedAnnotation { annotation, value, reason: reason.to_owned() }
}

pub(crate) fn attributes(a: &ServiceAnnotations, cfg: &ServiceConfig) -> Result<LoadBalancerAttributes, Error> {
    let lb = &a.load_balancer;
    let address_type = lb.address_type.clone().unwrap_or_else(|| cfg.address_type.clone());
    let intranet = address_type == AddressType::Intranet;
    let vswitch_id = match (&lb.vswitch_id, intranet) {
        (Some(v), true) => Some(v.clone()),
        (Some(_), false) => {
            return Err(Error::combination(
                keys::VSWITCH_ID,
                "only an intranet load balancer has a VSwitch (address-type)",
            ))
        }
        (None, true) => Some(cfg.vswitch_id.clone().ok_or_else(|| {
            Error::combination(
                keys::VSWITCH_ID,
                "an intranet load balancer needs a VSwitch, and the controller has no default",
            )
        })?),
        (None, false) => None,
    };
    if lb.ip.is_some() && !intranet {
        return Err(Error::combination(keys::IP, "only an intranet load balancer has a fixed address (address-type)"));
    }
    let billing = match (&lb.instance_charge_type, &lb.spec) {
        (Some(InstanceChargeType::PayByClcu), _) => Billing::PayByClcu,
        (_, Some(s)) => Billing::PayBySpec(s.clone()),
        // PayBySpec without a spec: CCM's default spec.
        (Some(_), None) => match &cfg.billing {
            Billing::PayBySpec(s) => Billing::PayBySpec(s.clone()),
            Billing::PayByClcu => Billing::PayBySpec(InstanceSpec::S1Small),
        },
        (None, None) => cfg.billing.clone(),
    };
    if intranet && (lb.charge_type.is_some() || lb.bandwidth.is_some()) {
        let k = if lb.charge_type.is_some() { keys::CHARGE_TYPE } else { keys::BANDWIDTH };
        return Err(Error::combination(k, "applies to internet load balancers only (address-type)"));
    }
    // Start from the crate's constructors so that attributes it adds later keep their defaults.
    let spec_or_default = |b: &Billing| match b {
        Billing::PayBySpec(s) => s.clone(),
        Billing::PayByClcu => InstanceSpec::S1Small,
    };
    let mut attrs = match vswitch_id {
        Some(v) => LoadBalancerAttributes::intranet(v, spec_or_default(&billing)),
        None => LoadBalancerAttributes::internet(spec_or_default(&billing)),
    };
    attrs.billing = billing;
    attrs.name = lb.name.clone();
    attrs.address_ip_version = lb.ip_version.clone();
    attrs.address = lb.ip;
    attrs.internet_charge_type = lb.charge_type.clone();
    attrs.bandwidth = lb.bandwidth;
    attrs.master_zone_id = lb.master_zone_id.clone();
    attrs.slave_zone_id = lb.slave_zone_id.clone();
    attrs.delete_protection = lb.delete_protection.unwrap_or(cfg.delete_protection);
    attrs.modification_protection = lb.modification_protection.unwrap_or(cfg.modification_protection);
    attrs.resource_group_id = lb.resource_group_id.clone();
    attrs.tags = lb.additional_tags.clone();
    Ok(attrs)
}

#[cfg(test)]
mod tests;
