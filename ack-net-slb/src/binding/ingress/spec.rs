//! [`IngressSpec`]: the layer-7 configuration an ingress controller wants on one load
//! balancer, checked before anything is planned.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::Serialize;

use super::error::IngressError;
use super::owner::IngressOwner;
use crate::rule::{check_rule_domain, check_rule_url};
use crate::{AclId, AclType, Backend, ListenerAcl, LoadBalancerId, PrivateKeyPem};

/// A backend service port: what one VServer group serves.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct ServiceRef {
    /// The namespace.
    pub namespace: String,
    /// The Service's name.
    pub name: String,
    /// The Service port (number or name, as the Ingress gives it).
    pub port: String,
}

impl ServiceRef {
    /// `namespace/name:port`.
    pub fn new(namespace: impl Into<String>, name: impl Into<String>, port: impl Into<String>) -> Self {
        Self { namespace: namespace.into(), name: name.into(), port: port.into() }
    }
}

impl fmt::Display for ServiceRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}:{}", self.namespace, self.name, self.port)
    }
}

/// One forwarding rule wanted: requests for `host` (any host when `None`) whose path
/// starts with `url` (any path when `None`) go to `service`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct Route {
    /// The host: exact, or a `*.` wildcard.
    pub host: Option<String>,
    /// The URL prefix, starting with `/`.
    pub url: Option<String>,
    /// Where the requests go.
    pub service: ServiceRef,
    /// Who asked for it (an Ingress's `namespace/name`), for conflict reports.
    pub origin: String,
}

impl Route {
    /// A route of `origin`.
    pub fn new(host: Option<&str>, url: Option<&str>, service: ServiceRef, origin: impl Into<String>) -> Self {
        Self { host: host.map(str::to_owned), url: url.map(str::to_owned), service, origin: origin.into() }
    }

    /// What the cloud keys a rule by on one listener: the (lower-case) host and the URL.
    pub fn matcher(&self) -> (String, String) {
        (self.host.clone().unwrap_or_default().to_ascii_lowercase(), self.url.clone().unwrap_or_default())
    }
}

/// A TLS certificate with its key, for the hosts it serves.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TlsCertificate {
    /// The hosts (exact or `*.` wildcards) this certificate serves.
    pub hosts: Vec<String>,
    /// The certificate (chain), PEM.
    pub certificate_pem: String,
    /// Its private key, PEM (never shown by `Debug`).
    #[serde(skip)]
    pub private_key: PrivateKeyPem,
}

impl TlsCertificate {
    /// A certificate for `hosts`.
    pub fn new(hosts: Vec<String>, certificate_pem: impl Into<String>, private_key: impl Into<PrivateKeyPem>) -> Self {
        Self { hosts, certificate_pem: certificate_pem.into(), private_key: private_key.into() }
    }

    /// 16 hex digits of a hash of the certificate's content (whitespace at line ends and
    /// around the text aside): the name a certificate is uploaded under ends with it, so a
    /// changed Secret is a new certificate and an unchanged one is found again.
    pub fn content_hash(&self) -> String {
        let mut h = crate::binding::hashing::Fnv::new();
        for line in self.certificate_pem.trim().lines() {
            h.write(line.trim_end().as_bytes());
            h.write(b"\n");
        }
        format!("{:016x}", h.finish())
    }
}

/// The layer-7 configuration of one load balancer for an ingress controller.
///
/// - an HTTP listener on [`http_port`](Self::http_port) (80), sending every route, or
///   redirecting to HTTPS when [`redirect_http`](Self::redirect_http) is set;
/// - an HTTPS listener on [`https_port`](Self::https_port) (443) when there are
///   certificates: the first is the listener's, each other gets a domain extension per
///   host it serves that the first does not;
/// - a VServer group per backend [`ServiceRef`], with its backends;
/// - a rule per route on each listener that serves, and the default backend as the
///   listeners' own group.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct IngressSpec {
    /// Who owns what the binding makes.
    pub owner: IngressOwner,
    /// The load balancer (it exists; the binding does not create or delete it).
    pub load_balancer_id: LoadBalancerId,
    /// The HTTP listener's port.
    pub http_port: u16,
    /// The HTTPS listener's port.
    pub https_port: u16,
    /// Redirect HTTP to HTTPS (needs a certificate).
    pub redirect_http: bool,
    /// The routes.
    pub routes: Vec<Route>,
    /// Where requests no route takes go.
    pub default_backend: Option<ServiceRef>,
    /// The backends of each service port.
    pub backends: BTreeMap<ServiceRef, Vec<Backend>>,
    /// The certificates; the first is the HTTPS listener's.
    pub certificates: Vec<TlsCertificate>,
    /// The access control list of both listeners (`None`: off).
    pub acl: Option<ListenerAcl>,
}

impl IngressSpec {
    /// An empty configuration (listeners on 80 and 443) of `owner` on `load_balancer_id`.
    pub fn new(owner: IngressOwner, load_balancer_id: LoadBalancerId) -> Self {
        Self {
            owner,
            load_balancer_id,
            http_port: 80,
            https_port: 443,
            redirect_http: false,
            routes: Vec::new(),
            default_backend: None,
            backends: BTreeMap::new(),
            certificates: Vec::new(),
            acl: None,
        }
    }

    /// Adds a route.
    pub fn route(mut self, route: Route) -> Self {
        self.routes.push(route);
        self
    }

    /// Sets the backends of a service port.
    pub fn service(mut self, service: ServiceRef, backends: Vec<Backend>) -> Self {
        self.backends.insert(service, backends);
        self
    }

    /// Sets the default backend.
    pub fn default_backend(mut self, service: ServiceRef) -> Self {
        self.default_backend = Some(service);
        self
    }

    /// Adds a certificate.
    pub fn certificate(mut self, certificate: TlsCertificate) -> Self {
        self.certificates.push(certificate);
        self
    }

    /// Sets the access control list of both listeners: only (`White`) or all but (`Black`)
    /// the ACL's addresses reach them.
    pub fn with_acl(mut self, acl_id: AclId, kind: AclType) -> Self {
        self.acl = Some(ListenerAcl { acl_id, kind });
        self
    }

    /// Redirects HTTP to HTTPS.
    pub fn with_redirect(mut self, on: bool) -> Self {
        self.redirect_http = on;
        self
    }

    /// The routes in the order rules are made: by host, then URL.
    pub fn sorted_routes(&self) -> Vec<&Route> {
        let mut v: Vec<&Route> = self.routes.iter().collect();
        v.sort_by(|a, b| a.matcher().cmp(&b.matcher()).then_with(|| a.cmp(b)));
        v
    }

    /// The service ports that need a group: those of the routes and the default backend.
    pub fn services(&self) -> BTreeSet<&ServiceRef> {
        self.routes.iter().map(|r| &r.service).chain(self.default_backend.as_ref()).collect()
    }

    /// Checks everything the cloud would refuse, and what would make the binding route
    /// more or other than asked: hosts and URLs of the allowed characters, two routes
    /// claiming one host and URL for different services (a conflict between their
    /// origins), a route to a service without backends listed, a redirect without a
    /// certificate, bad backends, certificates without a host.
    pub fn validate(&self) -> Result<(), IngressError> {
        let invalid = |what: &str, reason: String| IngressError::InvalidSpec { what: what.to_owned(), reason };
        if self.http_port == 0 || self.https_port == 0 || self.http_port == self.https_port {
            return Err(invalid(
                "ports",
                format!("{} and {} must be distinct, non-zero", self.http_port, self.https_port),
            ));
        }
        let mut claimed: BTreeMap<(String, String), &Route> = BTreeMap::new();
        for r in &self.routes {
            if r.host.is_none() && r.url.is_none() {
                return Err(invalid("route", format!("a route of {} has neither host nor path", r.origin)));
            }
            if let Some(h) = &r.host {
                check_rule_domain(h).map_err(|e| invalid("host", format!("{} ({}): {e}", h, r.origin)))?;
            }
            if let Some(u) = &r.url {
                check_rule_url(u).map_err(|e| invalid("path", format!("{} ({}): {e}", u, r.origin)))?;
            }
            if !self.backends.contains_key(&r.service) {
                return Err(invalid("service", format!("{} ({}) has no backends listed", r.service, r.origin)));
            }
            if let Some(first) = claimed.insert(r.matcher(), r) {
                if first.service != r.service {
                    return Err(IngressError::RouteConflict {
                        host: r.host.clone().unwrap_or_default(),
                        url: r.url.clone().unwrap_or_default(),
                        first: first.origin.clone(),
                        second: r.origin.clone(),
                    });
                }
            }
        }
        if let Some(d) = &self.default_backend {
            if !self.backends.contains_key(d) {
                return Err(invalid("defaultBackend", format!("{d} has no backends listed")));
            }
        }
        for (service, backends) in &self.backends {
            for b in backends {
                b.validate().map_err(|e| invalid("backend", format!("{service}: {e}")))?;
            }
        }
        if self.redirect_http && self.certificates.is_empty() {
            return Err(invalid("redirect", "an HTTP-to-HTTPS redirect needs a certificate".into()));
        }
        for c in &self.certificates {
            if c.hosts.is_empty() {
                return Err(invalid("certificate", "a certificate serves no host".into()));
            }
            for h in &c.hosts {
                check_rule_domain(h).map_err(|e| invalid("tls host", e.to_string()))?;
            }
        }
        Ok(())
    }
}
