//! Server certificates for HTTPS listeners: UploadServerCertificate,
//! DescribeServerCertificates, DeleteServerCertificate.

use ack_net_core::Removed;
use std::fmt;

use ack_net_core::{Product, RpcRequest};
use serde::Deserialize;

use crate::common::{deleted, opt_string, validate_text, wrapped};
use crate::{Error, ServerCertificateId, SlbClient};

/// A server certificate as the API describes it.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct ServerCertificate {
    /// `ServerCertificateId`.
    #[serde(rename = "ServerCertificateId")]
    pub id: ServerCertificateId,
    /// `ServerCertificateName`.
    #[serde(rename = "ServerCertificateName", default, deserialize_with = "ack_net_core::de::string")]
    pub name: String,
    /// `Fingerprint`.
    #[serde(rename = "Fingerprint", default, deserialize_with = "ack_net_core::de::string")]
    pub fingerprint: String,
    /// `CommonName`.
    #[serde(rename = "CommonName", default, deserialize_with = "opt_string")]
    pub common_name: Option<String>,
    /// `ExpireTime`.
    #[serde(rename = "ExpireTime", default, deserialize_with = "opt_string")]
    pub expire_time: Option<String>,
}

/// Certificate operations; from [`SlbClient::certificates`].
#[derive(Clone, Debug)]
pub struct Certificates {
    client: SlbClient,
}

#[derive(Deserialize)]
struct DescribeAnswer {
    #[serde(rename = "ServerCertificates", default, deserialize_with = "wrapped")]
    certificates: Vec<ServerCertificate>,
}

impl Certificates {
    pub(crate) fn new(client: SlbClient) -> Self {
        Self { client }
    }

    /// UploadServerCertificate: a PEM certificate (chain) and its private key.
    pub fn upload(
        &self,
        name: impl Into<String>,
        certificate_pem: impl Into<String>,
        private_key_pem: impl Into<String>,
    ) -> UploadServerCertificate {
        UploadServerCertificate {
            client: self.client.clone(),
            name: name.into(),
            certificate: certificate_pem.into(),
            private_key: private_key_pem.into(),
        }
    }

    /// DescribeServerCertificates: all of the region's, or one.
    pub async fn describe(&self, id: Option<&ServerCertificateId>) -> Result<Vec<ServerCertificate>, Error> {
        let req = RpcRequest::read(Product::Slb, "DescribeServerCertificates").opt_param("ServerCertificateId", id);
        let a: DescribeAnswer = self.client.call(req).await?;
        Ok(a.certificates)
    }

    /// DeleteServerCertificate: [`Removed::Now`] when this call deleted it, [`Removed::Already`] when it was
    /// already gone. Refused while an HTTPS listener uses it.
    pub async fn delete(&self, id: &ServerCertificateId) -> Result<Removed, Error> {
        let req = RpcRequest::write(Product::Slb, "DeleteServerCertificate").param("ServerCertificateId", id);
        deleted(self.client.call_unit(req).await, &["ServerCertificateId does not exist"])
    }
}

/// An UploadServerCertificate request. Its `Debug` does not show the private key.
#[derive(Clone)]
#[must_use = "a request does nothing until sent"]
pub struct UploadServerCertificate {
    client: SlbClient,
    name: String,
    certificate: String,
    private_key: String,
}

impl fmt::Debug for UploadServerCertificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UploadServerCertificate")
            .field("name", &self.name)
            .field("certificate", &format_args!("{} bytes", self.certificate.len()))
            .field("private_key", &"** redacted **")
            .finish()
    }
}

impl UploadServerCertificate {
    /// The request as it will be sent (it carries the private key: do not log it).
    pub fn to_request(&self) -> Result<RpcRequest, Error> {
        validate_text("ServerCertificateName", &self.name, 80)?;
        if !self.certificate.contains("-----BEGIN CERTIFICATE-----") {
            return Err(Error::invalid_input("ServerCertificate", "not a PEM certificate"));
        }
        if !self.private_key.contains("PRIVATE KEY-----") {
            return Err(Error::invalid_input("PrivateKey", "not a PEM private key"));
        }
        Ok(RpcRequest::write(Product::Slb, "UploadServerCertificate")
            .param("ServerCertificateName", &self.name)
            .param("ServerCertificate", &self.certificate)
            .param("PrivateKey", &self.private_key))
    }

    /// Sends the request.
    pub async fn send(self) -> Result<ServerCertificate, Error> {
        let req = self.to_request()?;
        self.client.call(req).await
    }
}

#[cfg(test)]
mod tests {
    use crate::client::test_support::client;

    #[test]
    fn checks_pem_and_hides_the_key() {
        let up = client().certificates().upload(
            "web",
            "-----BEGIN CERTIFICATE-----\nx",
            "-----BEGIN PRIVATE KEY-----\nsecret",
        );
        assert!(up.to_request().is_ok());
        assert!(!format!("{up:?}").contains("secret"));
        assert!(client().certificates().upload("web", "x", "y").to_request().is_err());
    }
}
