//! Kubernetes Ingresses (`networking.k8s.io/v1`) of ack-net's IngressClass as the desired
//! layer 7 of one load balancer: [`translate`] turns the Ingresses, their Services,
//! EndpointSlices, Nodes and TLS Secrets into an
//! [`IngressSpec`] for an
//! [`IngressBinding`](ack_net_slb::binding::ingress::IngressBinding), and says, per Ingress,
//! what it could not take and why; [`IngressReconciler`] keeps a load balancer in step with
//! them (finalizer, status, Events).
//!
//! Paths, mapped onto CLB's URL matching (a string prefix) so that no request goes where its
//! Ingress does not send it:
//! - `Prefix` `/` is every path; `Prefix` `/a/b` (with or without a trailing `/`) becomes the
//!   URL `/a/b/`: CLB would also send `/a/bc` to `/a/b`, which the Ingress does not ask. The
//!   bare `/a/b` is then not routed by this rule, and a [`Problem::Narrowed`] says so.
//! - `Exact` cannot be expressed (every CLB URL is a prefix): not routed,
//!   [`Problem::Unsupported`].
//! - `ImplementationSpecific` is a CLB URL, as written.
//!
//! An Ingress with an error (a host or path CLB cannot take, a missing Service or port, a
//! Secret that is not a certificate, a host and path another Ingress claims) is left out as
//! a whole, with its [`Problem`]s; the other Ingresses keep working.

use std::collections::{BTreeMap, BTreeSet};

use ack_net_slb::binding::ingress::{IngressOwner, IngressSpec, Route, ServiceRef, TlsCertificate};
use ack_net_slb::{check_rule_domain, check_rule_url, Backend, LoadBalancerId};
use k8s_openapi::api::core::v1::{Node, Secret, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use k8s_openapi::api::networking::v1::{Ingress, IngressBackend, IngressClass};

use crate::service::annotations::ServiceAnnotations;
use crate::service::{eni_addresses, lookup_enis, service_backends, BackendMode, EniLookup, EniMap, Error, NodeFilter};

/// The `spec.controller` of an IngressClass whose Ingresses ack-net serves.
pub const INGRESS_CONTROLLER: &str = "ack-net.io/ingress-controller";
/// The annotation that makes an IngressClass the cluster's default.
pub const DEFAULT_CLASS_ANNOTATION: &str = "ingressclass.kubernetes.io/is-default-class";

/// Something an Ingress asks that was not (or not fully) done.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Problem {
    /// An error: the Ingress is left out.
    Invalid(String),
    /// Two Ingresses claim one host and path for different Services: the later is left out.
    Conflict(String),
    /// A path kind CLB cannot express; that path is not routed.
    Unsupported(String),
    /// A path routed more narrowly than asked (so never more widely).
    Narrowed(String),
    /// Something asked that another Ingress decides (the default backend, a load balancer
    /// setting).
    Ignored(String),
    /// An annotation not read: unknown, or one that means nothing on an Ingress.
    Annotation(String),
}

impl Problem {
    /// Whether the Ingress is left out for it.
    pub fn is_error(&self) -> bool {
        matches!(self, Problem::Invalid(_) | Problem::Conflict(_))
    }

    /// The text, for an Event or a status condition.
    pub fn message(&self) -> &str {
        match self {
            Problem::Invalid(m)
            | Problem::Conflict(m)
            | Problem::Unsupported(m)
            | Problem::Narrowed(m)
            | Problem::Ignored(m)
            | Problem::Annotation(m) => m,
        }
    }
}

/// What [`translate`] made.
#[derive(Clone, Debug)]
pub struct Translated {
    /// The load balancer's layer 7.
    pub spec: IngressSpec,
    /// The Ingresses taken, by `namespace/name`.
    pub served: BTreeSet<String>,
    /// What each Ingress (by `namespace/name`) asks that was not done.
    pub problems: BTreeMap<String, Vec<Problem>>,
}

/// The cluster objects [`translate`] reads.
#[derive(Clone, Copy, Debug)]
pub struct Cluster<'a> {
    /// Services (of any namespace).
    pub services: &'a [Service],
    /// EndpointSlices.
    pub slices: &'a [EndpointSlice],
    /// Nodes.
    pub nodes: &'a [Node],
    /// Secrets (only `kubernetes.io/tls` ones named by an Ingress are read).
    pub secrets: &'a [Secret],
    /// Pod address to ENI, for Services in ENI mode.
    pub enis: &'a EniMap,
    /// Which nodes may serve.
    pub filter: &'a NodeFilter,
}

/// `namespace/name`.
pub fn key_of(meta: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta) -> String {
    format!("{}/{}", meta.namespace.as_deref().unwrap_or("default"), meta.name.as_deref().unwrap_or_default())
}

/// Whether `ingress` is ack-net's: its `spec.ingressClassName` names a class of
/// [`INGRESS_CONTROLLER`], or it names none and the default class is ack-net's.
pub fn is_ours(ingress: &Ingress, classes: &[IngressClass]) -> bool {
    let ours = |c: &IngressClass| c.spec.as_ref().and_then(|s| s.controller.as_deref()) == Some(INGRESS_CONTROLLER);
    match ingress.spec.as_ref().and_then(|s| s.ingress_class_name.as_deref()) {
        Some(name) => classes.iter().any(|c| c.metadata.name.as_deref() == Some(name) && ours(c)),
        None => classes.iter().any(|c| {
            ours(c)
                && c.metadata.annotations.as_ref().and_then(|a| a.get(DEFAULT_CLASS_ANNOTATION)).map(String::as_str)
                    == Some("true")
        }),
    }
}

/// What one Ingress contributes, before it is merged.
#[derive(Default)]
struct Part {
    routes: Vec<Route>,
    backends: BTreeMap<ServiceRef, Vec<Backend>>,
    default_backend: Option<ServiceRef>,
    certificates: Vec<TlsCertificate>,
    problems: Vec<Problem>,
}

/// The Ingresses (ack-net's; see [`is_ours`]) as the layer 7 of load balancer `lb`,
/// in a stable order (by creation time, then `namespace/name`: the older Ingress wins a
/// conflict and gives the default backend and the listener's certificate).
pub fn translate(owner: IngressOwner, lb: LoadBalancerId, ingresses: &[Ingress], cluster: Cluster<'_>) -> Translated {
    let mut sorted: Vec<&Ingress> = ingresses.iter().collect();
    sorted.sort_by(|a, b| {
        (a.metadata.creation_timestamp.as_ref().map(|t| t.0), key_of(&a.metadata))
            .cmp(&(b.metadata.creation_timestamp.as_ref().map(|t| t.0), key_of(&b.metadata)))
    });
    let mut spec = IngressSpec::new(owner, lb);
    let mut served = BTreeSet::new();
    let mut problems = BTreeMap::new();
    let mut claimed: BTreeMap<(String, String), (ServiceRef, String)> = BTreeMap::new();
    let mut default_from: Option<String> = None;
    let mut certificates: Vec<TlsCertificate> = Vec::new();
    for ing in sorted {
        let key = key_of(&ing.metadata);
        let mut part = part_of(ing, &key, &cluster);
        if !part.problems.iter().any(Problem::is_error) {
            for r in &part.routes {
                if let Some((svc, who)) = claimed.get(&r.matcher()) {
                    if *svc != r.service {
                        part.problems.push(Problem::Conflict(format!(
                            "host {:?} path {:?} is {who}'s (to {svc})",
                            r.host.as_deref().unwrap_or("*"),
                            r.url.as_deref().unwrap_or("/")
                        )));
                    }
                }
            }
        }
        if !part.problems.iter().any(Problem::is_error) {
            for r in &part.routes {
                claimed.entry(r.matcher()).or_insert_with(|| (r.service.clone(), key.clone()));
            }
            spec.routes.extend(part.routes);
            spec.backends.extend(part.backends);
            match (&part.default_backend, &default_from) {
                (Some(d), None) => {
                    spec.default_backend = Some(d.clone());
                    default_from = Some(key.clone());
                }
                (Some(_), Some(first)) => {
                    part.problems.push(Problem::Ignored(format!("defaultBackend: {first}'s is the load balancer's")))
                }
                _ => {}
            }
            for c in part.certificates {
                match certificates.iter_mut().find(|o| o.content_hash() == c.content_hash()) {
                    Some(o) => {
                        for h in c.hosts {
                            if !o.hosts.contains(&h) {
                                o.hosts.push(h);
                            }
                        }
                    }
                    None => certificates.push(c),
                }
            }
            served.insert(key.clone());
        }
        if !part.problems.is_empty() {
            problems.insert(key, part.problems);
        }
    }
    spec.certificates = certificates;
    Translated { spec, served, problems }
}

fn part_of(ing: &Ingress, key: &str, cluster: &Cluster<'_>) -> Part {
    let mut part = Part::default();
    let ns = ing.metadata.namespace.as_deref().unwrap_or("default");
    let Some(spec) = &ing.spec else { return part };
    if let Some(b) = &spec.default_backend {
        part.default_backend = backend(&mut part, ns, b, cluster, "defaultBackend");
    }
    for rule in spec.rules.iter().flatten() {
        let host = rule.host.as_deref().filter(|h| !h.is_empty());
        if let Some(h) = host {
            if let Err(e) = check_rule_domain(h) {
                part.problems.push(Problem::Invalid(format!("host {h:?}: {e}")));
                continue;
            }
        }
        for p in rule.http.iter().flat_map(|h| h.paths.iter()) {
            let path = p.path.as_deref().unwrap_or("/");
            let url = match p.path_type.as_str() {
                "Prefix" if path.trim_end_matches('/').is_empty() => "/".to_owned(),
                "Prefix" => {
                    let base = path.trim_end_matches('/');
                    part.problems.push(Problem::Narrowed(format!(
                        "Prefix {path}: routed as the URL {base}/ (CLB matches URLs as string prefixes, {base} alone \
                         would also take {base}x); a request for {base} itself is not routed by it"
                    )));
                    format!("{base}/")
                }
                "Exact" => {
                    part.problems.push(Problem::Unsupported(format!(
                        "Exact {path}: CLB matches URLs as prefixes, so an exact path cannot be routed without routing \
                         more; it is not routed"
                    )));
                    continue;
                }
                _ => path.to_owned(),
            };
            if let Err(e) = check_rule_url(&url) {
                part.problems.push(Problem::Invalid(format!("path {path:?}: {e}")));
                continue;
            }
            if let Some(svc) = backend(&mut part, ns, &p.backend, cluster, path) {
                part.routes.push(Route::new(host, Some(&url), svc, key));
            }
        }
    }
    for tls in spec.tls.iter().flatten() {
        let hosts: Vec<String> = tls.hosts.iter().flatten().cloned().collect();
        let Some(name) = tls.secret_name.as_deref() else { continue };
        match certificate(cluster.secrets, ns, name, hosts) {
            Ok(c) => part.certificates.push(c),
            Err(m) => part.problems.push(Problem::Invalid(m)),
        }
    }
    part
}

/// The Service port an Ingress backend names, with its backends; `None` (and a problem)
/// when it cannot be served.
fn backend(part: &mut Part, ns: &str, b: &IngressBackend, cluster: &Cluster<'_>, what: &str) -> Option<ServiceRef> {
    let Some(s) = &b.service else {
        part.problems.push(Problem::Invalid(format!("{what}: only Service backends are supported")));
        return None;
    };
    let (number, name) = s.port.as_ref().map_or((None, None), |p| (p.number, p.name.clone()));
    let port_label = number.map(|n| n.to_string()).or(name.clone()).unwrap_or_default();
    let svc_ref = ServiceRef::new(ns, &s.name, &port_label);
    if part.backends.contains_key(&svc_ref) {
        return Some(svc_ref);
    }
    let found = cluster.services.iter().find(|svc| {
        svc.metadata.namespace.as_deref().unwrap_or("default") == ns && svc.metadata.name.as_deref() == Some(&s.name)
    });
    let Some(service) = found else {
        part.problems.push(Problem::Invalid(format!("{what}: Service {ns}/{} does not exist", s.name)));
        return None;
    };
    let result = ServiceAnnotations::from_service(service)
        .and_then(|a| service_backends(service, &a, cluster.nodes, cluster.slices, cluster.enis, cluster.filter));
    let backends = match result {
        Ok(b) => b,
        Err(e) => {
            part.problems.push(Problem::Invalid(format!("{what}: Service {ns}/{}: {e}", s.name)));
            return None;
        }
    };
    let port = backends
        .ports
        .into_iter()
        .find(|p| number.is_some_and(|n| i32::from(p.port) == n) || (name.is_some() && p.name == name));
    match port {
        Some(p) => {
            part.backends.insert(svc_ref.clone(), p.backends);
            Some(svc_ref)
        }
        None => {
            part.problems.push(Problem::Invalid(format!("{what}: Service {ns}/{} has no port {port_label}", s.name)));
            None
        }
    }
}

/// The certificate of a `kubernetes.io/tls` Secret.
fn certificate(secrets: &[Secret], ns: &str, name: &str, hosts: Vec<String>) -> Result<TlsCertificate, String> {
    let secret = secrets
        .iter()
        .find(|s| s.metadata.namespace.as_deref() == Some(ns) && s.metadata.name.as_deref() == Some(name))
        .ok_or_else(|| format!("TLS Secret {ns}/{name} does not exist"))?;
    if secret.type_.as_deref() != Some("kubernetes.io/tls") {
        return Err(format!("Secret {ns}/{name} is not of type kubernetes.io/tls"));
    }
    let field = |k: &str| {
        secret
            .data
            .as_ref()
            .and_then(|d| d.get(k))
            .and_then(|b| String::from_utf8(b.0.clone()).ok())
            .unwrap_or_default()
    };
    let (crt, key) = (field("tls.crt"), field("tls.key"));
    if !crt.contains("-----BEGIN CERTIFICATE-----") || !key.contains("PRIVATE KEY-----") {
        return Err(format!("Secret {ns}/{name} does not hold a PEM certificate and private key"));
    }
    if hosts.is_empty() {
        return Err(format!("TLS Secret {ns}/{name}: the Ingress names no host for it"));
    }
    for h in &hosts {
        check_rule_domain(h).map_err(|e| format!("TLS host {h:?}: {e}"))?;
    }
    Ok(TlsCertificate::new(hosts, crt, key))
}

/// The Services (of any namespace) the Ingresses route to, each once, in `services`' order.
fn routed_services<'a>(ingresses: &[Ingress], services: &'a [Service]) -> Vec<&'a Service> {
    let mut named = BTreeSet::new();
    for ing in ingresses {
        let ns = ing.metadata.namespace.as_deref().unwrap_or("default");
        let Some(spec) = &ing.spec else { continue };
        let paths = spec.rules.iter().flatten().flat_map(|r| r.http.iter().flat_map(|h| h.paths.iter()));
        for b in spec.default_backend.iter().chain(paths.map(|p| &p.backend)) {
            if let Some(s) = &b.service {
                named.insert((ns.to_owned(), s.name.clone()));
            }
        }
    }
    services
        .iter()
        .filter(|s| {
            let ns = s.metadata.namespace.as_deref().unwrap_or("default").to_owned();
            named.contains(&(ns, s.metadata.name.clone().unwrap_or_default()))
        })
        .collect()
}

/// The ENIs holding the pod addresses of the ENI-mode Services (`backend-type: eni`, or
/// Terway's ENI mode) that `ingresses` route to, for [`Cluster::enis`]: one lookup for all
/// of them (none when no such Service). A Service whose annotations are invalid is skipped
/// here; [`translate`] reports it.
pub async fn ingress_enis(
    lookup: &dyn EniLookup,
    ingresses: &[Ingress],
    services: &[Service],
    slices: &[EndpointSlice],
) -> Result<EniMap, Error> {
    let mut ips = BTreeSet::new();
    for service in routed_services(ingresses, services) {
        let eni = ServiceAnnotations::from_service(service)
            .and_then(|a| BackendMode::of(service, &a))
            .is_ok_and(|m| m == BackendMode::Eni);
        if eni {
            ips.extend(eni_addresses(service, slices));
        }
    }
    lookup_enis(lookup, &ips.into_iter().collect::<Vec<_>>()).await
}

mod load_balancer;
mod reconciler;

pub use load_balancer::{ingress_load_balancer, load_balancer_owner, IngressLoadBalancer};

pub use reconciler::{
    IngressReconcileError, IngressReconciler, IngressRound, INGRESS_CONTROLLER_NAME, INGRESS_FINALIZER,
};

#[cfg(test)]
mod tests;
