//! Domain extensions (SNI) of HTTPS listeners: CreateDomainExtension,
//! DescribeDomainExtensions, SetDomainExtensionAttribute, DeleteDomainExtension. An extension
//! gives one domain (exact or `*.` wildcard) its own server certificate; the listener's
//! certificate serves every other name. Only performance-guaranteed instances have them, a
//! few per listener (3 in the published quota).

use ack_net_core::de;
use ack_net_core::operation::Ack;
use serde::Deserialize;

use crate::common::{check_port, wrapped};
use crate::rule::check_rule_domain;
use crate::{DomainExtensionId, Error, LoadBalancerId, ServerCertificateId, SlbClient};

/// A domain extension as DescribeDomainExtensions lists it.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct DomainExtension {
    /// `DomainExtensionId`.
    #[serde(rename = "DomainExtensionId")]
    pub id: DomainExtensionId,
    /// `Domain`.
    #[serde(rename = "Domain", default, deserialize_with = "de::string")]
    pub domain: String,
    /// `ServerCertificateId`.
    #[serde(rename = "ServerCertificateId")]
    pub server_certificate_id: ServerCertificateId,
}

/// What CreateDomainExtension answers.
#[derive(Clone, Debug, Deserialize)]
#[non_exhaustive]
pub struct CreatedDomainExtension {
    /// The new extension.
    #[serde(rename = "DomainExtensionId")]
    pub id: DomainExtensionId,
}

/// What DescribeDomainExtensions answers.
#[derive(Clone, Debug, Deserialize)]
#[non_exhaustive]
pub struct DomainExtensionList {
    /// The extensions.
    #[serde(rename = "DomainExtensions", default, deserialize_with = "wrapped")]
    pub extensions: Vec<DomainExtension>,
}

/// Domain extension operations; from [`SlbClient::domain_extensions`].
#[derive(Clone, Debug)]
pub struct DomainExtensions {
    client: SlbClient,
}

impl DomainExtensions {
    pub(crate) fn new(client: SlbClient) -> Self {
        Self { client }
    }

    /// CreateDomainExtension: `domain` on the HTTPS listener `port` is served with
    /// `certificate`.
    pub fn create(
        &self,
        load_balancer_id: &LoadBalancerId,
        port: u16,
        domain: impl Into<String>,
        certificate: &ServerCertificateId,
    ) -> CreateDomainExtension {
        CreateDomainExtension::new(
            self.client.rpc(),
            load_balancer_id.clone(),
            port,
            domain.into(),
            certificate.clone(),
        )
    }

    /// DescribeDomainExtensions: the extensions of one HTTPS listener.
    pub fn describe(&self, load_balancer_id: &LoadBalancerId, port: u16) -> DescribeDomainExtensions {
        DescribeDomainExtensions::new(self.client.rpc(), load_balancer_id.clone(), port)
    }

    /// SetDomainExtensionAttribute: another certificate for the extension's domain.
    pub fn set_certificate(
        &self,
        id: &DomainExtensionId,
        certificate: &ServerCertificateId,
    ) -> SetDomainExtensionAttribute {
        SetDomainExtensionAttribute::new(self.client.rpc(), id.clone(), certificate.clone())
    }

    /// DeleteDomainExtension.
    pub fn delete(&self, id: &DomainExtensionId) -> DeleteDomainExtension {
        DeleteDomainExtension::new(self.client.rpc(), id.clone())
    }
}

ack_net_core::operation! {
    /// A CreateDomainExtension request; `send` answers the new extension's id.
    ///
    /// ```
    /// # let rpc = ack_net_core::RpcClient::builder().region("cn-hangzhou").credentials(ack_net_core::Credentials::new("id", "secret")).build().unwrap();
    /// let slb = ack_net_slb::SlbClient::new(rpc);
    /// let (lb, cert) = ("lb-bp1example".parse().unwrap(), "1231579085529123_abc".parse().unwrap());
    /// assert!(slb.domain_extensions().create(&lb, 443, "*.example.com", &cert).to_request().is_ok());
    /// assert!(slb.domain_extensions().create(&lb, 443, "a_b.example.com", &cert).to_request().is_err());
    /// ```
    pub struct CreateDomainExtension: crate::SLB, "CreateDomainExtension", write
        -> DomainExtensionId as CreatedDomainExtension => |c: CreatedDomainExtension| c.id, Error;
    required {
        load_balancer_id: LoadBalancerId = "LoadBalancerId";
        listener_port: u16 = "ListenerPort";
        domain: String = "Domain";
        server_certificate_id: ServerCertificateId = "ServerCertificateId";
    }
    optional {}
    check: |op: &Self| {
        check_port("ListenerPort", op.listener_port)?;
        check_rule_domain(&op.domain)
    };
}

ack_net_core::operation! {
    /// A DescribeDomainExtensions request.
    pub struct DescribeDomainExtensions: crate::SLB, "DescribeDomainExtensions", read
        -> Vec<DomainExtension> as DomainExtensionList => |l: DomainExtensionList| l.extensions, Error;
    required {
        load_balancer_id: LoadBalancerId = "LoadBalancerId";
        listener_port: u16 = "ListenerPort";
    }
    optional {
        /// Only this extension.
        domain_extension_id: Option<DomainExtensionId> = "DomainExtensionId" => into(DomainExtensionId);
    }
    check: |op: &Self| check_port("ListenerPort", op.listener_port).map(|_| ());
}

ack_net_core::operation! {
    /// A SetDomainExtensionAttribute request.
    pub struct SetDomainExtensionAttribute: crate::SLB, "SetDomainExtensionAttribute", write
        -> () as Ack => |_| (), Error;
    required {
        domain_extension_id: DomainExtensionId = "DomainExtensionId";
        server_certificate_id: ServerCertificateId = "ServerCertificateId";
    }
    optional {}
}

ack_net_core::operation! {
    /// A DeleteDomainExtension request.
    pub struct DeleteDomainExtension: crate::SLB, "DeleteDomainExtension", write -> () as Ack => |_| (), Error;
    required {
        domain_extension_id: DomainExtensionId = "DomainExtensionId";
    }
    optional {}
    gone: |e: &Error| e.is_gone(&["DomainExtensionId does not exist"]);
}
