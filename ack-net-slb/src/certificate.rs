//! Certificates for HTTPS listeners: server certificates (UploadServerCertificate,
//! DescribeServerCertificates, SetServerCertificateName, DeleteServerCertificate) and the CA
//! certificates a listener verifies client certificates with (UploadCACertificate,
//! DescribeCACertificates, SetCACertificateName, DeleteCACertificate).
//!
//! A certificate is X.509 PEM (a chain may follow it); a server certificate's private key is
//! unencrypted PEM and must belong to it (the cloud checks that). A private key never shows
//! in `Debug`.

use std::fmt;

use ack_net_core::de;
use ack_net_core::operation::Ack;
use serde::{Deserialize, Serialize, Serializer};

use crate::common::{opt_string, validate_text, wrapped};
use crate::{CaCertificateId, Error, ServerCertificateId, SlbClient};

/// A PEM private key. Its `Debug` does not show it.
#[derive(Clone, PartialEq, Eq)]
pub struct PrivateKeyPem(String);

impl PrivateKeyPem {
    /// Wraps a PEM private key.
    pub fn new(pem: impl Into<String>) -> Self {
        Self(pem.into())
    }
}

impl fmt::Debug for PrivateKeyPem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("** redacted **")
    }
}

impl Serialize for PrivateKeyPem {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<T: Into<String>> From<T> for PrivateKeyPem {
    fn from(pem: T) -> Self {
        Self::new(pem)
    }
}

/// What the API says of a certificate, server or CA: its identity.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct CertificateFacts {
    /// `Fingerprint`: SHA-1 of the certificate, hex bytes joined by `:`.
    #[serde(rename = "Fingerprint", default, deserialize_with = "de::string")]
    pub fingerprint: String,
    /// `CommonName`.
    #[serde(rename = "CommonName", default, deserialize_with = "opt_string")]
    pub common_name: Option<String>,
    /// `ExpireTime`.
    #[serde(rename = "ExpireTime", default, deserialize_with = "opt_string")]
    pub expire_time: Option<String>,
    /// `ExpireTimeStamp`, milliseconds since the epoch.
    #[serde(rename = "ExpireTimeStamp", default, deserialize_with = "de::opt_number")]
    pub expire_timestamp: Option<i64>,
    /// `CreateTime`.
    #[serde(rename = "CreateTime", default, deserialize_with = "opt_string")]
    pub create_time: Option<String>,
}

/// A server certificate as the API describes it.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct ServerCertificate {
    /// `ServerCertificateId`.
    #[serde(rename = "ServerCertificateId")]
    pub id: ServerCertificateId,
    /// `ServerCertificateName`.
    #[serde(rename = "ServerCertificateName", default, deserialize_with = "de::string")]
    pub name: String,
    /// `SubjectAlternativeNames`.
    #[serde(rename = "SubjectAlternativeNames", default, deserialize_with = "wrapped")]
    pub subject_alternative_names: Vec<String>,
    /// Fingerprint, names and dates.
    #[serde(flatten)]
    pub facts: CertificateFacts,
}

/// A CA certificate as the API describes it.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct CaCertificate {
    /// `CACertificateId`.
    #[serde(rename = "CACertificateId")]
    pub id: CaCertificateId,
    /// `CACertificateName`.
    #[serde(rename = "CACertificateName", default, deserialize_with = "de::string")]
    pub name: String,
    /// Fingerprint, names and dates.
    #[serde(flatten)]
    pub facts: CertificateFacts,
}

/// What DescribeServerCertificates answers.
#[derive(Clone, Debug, Deserialize)]
#[non_exhaustive]
pub struct ServerCertificates {
    /// The certificates.
    #[serde(rename = "ServerCertificates", default, deserialize_with = "wrapped")]
    pub certificates: Vec<ServerCertificate>,
}

/// What DescribeCACertificates answers.
#[derive(Clone, Debug, Deserialize)]
#[non_exhaustive]
pub struct CaCertificates {
    /// The CA certificates.
    #[serde(rename = "CACertificates", default, deserialize_with = "wrapped")]
    pub certificates: Vec<CaCertificate>,
}

/// Certificate operations; from [`SlbClient::certificates`].
#[derive(Clone, Debug)]
pub struct Certificates {
    client: SlbClient,
}

/// The error a deletion of a certificate already gone answers with.
const CERT_GONE: &[&str] = &["CertificateId does not exist"];

impl Certificates {
    pub(crate) fn new(client: SlbClient) -> Self {
        Self { client }
    }

    /// UploadServerCertificate: a PEM certificate (chain) and its private key, named `name`.
    pub fn upload(
        &self,
        name: impl Into<String>,
        certificate_pem: impl Into<String>,
        private_key_pem: impl Into<PrivateKeyPem>,
    ) -> UploadServerCertificate {
        UploadServerCertificate::new(self.client.rpc(), certificate_pem.into(), private_key_pem.into()).name(name)
    }

    /// DescribeServerCertificates: all of the region's, or one with
    /// [`DescribeServerCertificates::server_certificate_id`].
    pub fn describe(&self) -> DescribeServerCertificates {
        DescribeServerCertificates::new(self.client.rpc())
    }

    /// SetServerCertificateName.
    pub fn rename(&self, id: &ServerCertificateId, name: impl Into<String>) -> SetServerCertificateName {
        SetServerCertificateName::new(self.client.rpc(), id.clone(), name.into())
    }

    /// DeleteServerCertificate: [`Removed::Now`](crate::Removed::Now) when this call deleted it, [`Removed::Already`](crate::Removed::Already) when it was
    /// already gone. Refused while an HTTPS listener or a domain extension uses it.
    pub fn delete(&self, id: &ServerCertificateId) -> DeleteServerCertificate {
        DeleteServerCertificate::new(self.client.rpc(), id.clone())
    }

    /// UploadCACertificate: a PEM CA certificate (chain), named `name`.
    pub fn upload_ca(&self, name: impl Into<String>, certificate_pem: impl Into<String>) -> UploadCaCertificate {
        UploadCaCertificate::new(self.client.rpc(), certificate_pem.into()).name(name)
    }

    /// DescribeCACertificates: all of the region's, or one.
    pub fn describe_ca(&self) -> DescribeCaCertificates {
        DescribeCaCertificates::new(self.client.rpc())
    }

    /// SetCACertificateName.
    pub fn rename_ca(&self, id: &CaCertificateId, name: impl Into<String>) -> SetCaCertificateName {
        SetCaCertificateName::new(self.client.rpc(), id.clone(), name.into())
    }

    /// DeleteCACertificate; refused while a listener uses it.
    pub fn delete_ca(&self, id: &CaCertificateId) -> DeleteCaCertificate {
        DeleteCaCertificate::new(self.client.rpc(), id.clone())
    }
}

/// A certificate body: PEM with a certificate block.
fn check_pem_certificate(what: &str, pem: &str) -> Result<(), Error> {
    if pem.contains("-----BEGIN CERTIFICATE-----") && pem.contains("-----END CERTIFICATE-----") {
        Ok(())
    } else {
        Err(Error::invalid_input(what, "not a PEM certificate"))
    }
}

/// A certificate name: at most 80 characters.
fn check_name(what: &str, name: &Option<String>) -> Result<(), Error> {
    match name {
        Some(n) => Ok(validate_text(what, n, 80)?),
        None => Ok(()),
    }
}

ack_net_core::operation! {
    /// An UploadServerCertificate request. The private key does not show in its `Debug`
    /// (its `to_request` carries it: do not log that).
    ///
    /// ```
    /// # let rpc = ack_net_core::RpcClient::builder().region("cn-hangzhou").credentials(ack_net_core::Credentials::new("id", "secret")).build().unwrap();
    /// let slb = ack_net_slb::SlbClient::new(rpc);
    /// let up = slb.certificates().upload("web", "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n", "-----BEGIN PRIVATE KEY-----\nMIIEkeybytes\n-----END PRIVATE KEY-----\n");
    /// assert!(!format!("{up:?}").contains("MIIEkeybytes"));
    /// assert!(slb.certificates().upload("web", "not pem", "x").to_request().is_err());
    /// ```
    pub struct UploadServerCertificate: crate::SLB, "UploadServerCertificate", write -> ServerCertificate, Error;
    required {
        certificate: String = "ServerCertificate";
        private_key: PrivateKeyPem = "PrivateKey";
    }
    optional {
        /// `ServerCertificateName` (at most 80 characters).
        name: Option<String> = "ServerCertificateName" => into(String);
    }
    check: Self::check_input;
}

impl UploadServerCertificate {
    fn check_input(&self) -> Result<(), Error> {
        check_name("ServerCertificateName", &self.name)?;
        check_pem_certificate("ServerCertificate", &self.certificate)?;
        let key = &self.private_key.0;
        if key.contains("ENCRYPTED") {
            return Err(Error::invalid_input("PrivateKey", "an encrypted private key; upload it without a passphrase"));
        }
        if !key.contains("PRIVATE KEY-----") {
            return Err(Error::invalid_input("PrivateKey", "not a PEM private key"));
        }
        Ok(())
    }
}

ack_net_core::operation! {
    /// A DescribeServerCertificates request.
    pub struct DescribeServerCertificates: crate::SLB, "DescribeServerCertificates", read
        -> Vec<ServerCertificate> as ServerCertificates => |r: ServerCertificates| r.certificates, Error;
    required {}
    optional {
        /// Only this certificate.
        server_certificate_id: Option<ServerCertificateId> = "ServerCertificateId" => into(ServerCertificateId);
    }
}

ack_net_core::operation! {
    /// A SetServerCertificateName request.
    pub struct SetServerCertificateName: crate::SLB, "SetServerCertificateName", write -> () as Ack => |_| (), Error;
    required {
        id: ServerCertificateId = "ServerCertificateId";
        name: String = "ServerCertificateName";
    }
    optional {}
    check: |op: &Self| Ok::<(), Error>(validate_text("ServerCertificateName", &op.name, 80)?);
}

ack_net_core::operation! {
    /// A DeleteServerCertificate request.
    pub struct DeleteServerCertificate: crate::SLB, "DeleteServerCertificate", write -> () as Ack => |_| (), Error;
    required {
        id: ServerCertificateId = "ServerCertificateId";
    }
    optional {}
    gone: |e: &Error| e.is_gone(CERT_GONE);
}

ack_net_core::operation! {
    /// An UploadCACertificate request.
    pub struct UploadCaCertificate: crate::SLB, "UploadCACertificate", write -> CaCertificate, Error;
    required {
        certificate: String = "CACertificate";
    }
    optional {
        /// `CACertificateName` (at most 80 characters).
        name: Option<String> = "CACertificateName" => into(String);
    }
    check: |op: &Self| {
        check_name("CACertificateName", &op.name)?;
        check_pem_certificate("CACertificate", &op.certificate)
    };
}

ack_net_core::operation! {
    /// A DescribeCACertificates request.
    pub struct DescribeCaCertificates: crate::SLB, "DescribeCACertificates", read
        -> Vec<CaCertificate> as CaCertificates => |r: CaCertificates| r.certificates, Error;
    required {}
    optional {
        /// Only this CA certificate.
        ca_certificate_id: Option<CaCertificateId> = "CACertificateId" => into(CaCertificateId);
    }
}

ack_net_core::operation! {
    /// A SetCACertificateName request.
    pub struct SetCaCertificateName: crate::SLB, "SetCACertificateName", write -> () as Ack => |_| (), Error;
    required {
        id: CaCertificateId = "CACertificateId";
        name: String = "CACertificateName";
    }
    optional {}
    check: |op: &Self| Ok::<(), Error>(validate_text("CACertificateName", &op.name, 80)?);
}

ack_net_core::operation! {
    /// A DeleteCACertificate request.
    pub struct DeleteCaCertificate: crate::SLB, "DeleteCACertificate", write -> () as Ack => |_| (), Error;
    required {
        id: CaCertificateId = "CACertificateId";
    }
    optional {}
    gone: |e: &Error| e.is_gone(CERT_GONE);
}

#[cfg(test)]
mod tests {
    use crate::client::test_support::{client, params};

    #[test]
    fn checks_pem_and_hides_the_key() {
        let up = client().certificates().upload(
            "web",
            "-----BEGIN CERTIFICATE-----\nx\n-----END CERTIFICATE-----\n",
            "-----BEGIN PRIVATE KEY-----\nMIIEkeybytes\n-----END PRIVATE KEY-----\n",
        );
        let p = params(&up.to_request().unwrap());
        assert_eq!(p["ServerCertificateName"], "web");
        assert!(p["PrivateKey"].contains("MIIEkeybytes"));
        let debug = format!("{up:?}");
        assert!(!debug.contains("MIIEkeybytes"), "{debug}");
        assert!(client().certificates().upload("web", "x", "y").to_request().is_err());
        let encrypted = "-----BEGIN ENCRYPTED PRIVATE KEY-----\nx\n-----END ENCRYPTED PRIVATE KEY-----\n";
        let c = "-----BEGIN CERTIFICATE-----\nx\n-----END CERTIFICATE-----\n";
        assert!(client().certificates().upload("web", c, encrypted).to_request().is_err());
        assert!(client().certificates().upload("w".repeat(81), c, "-----BEGIN PRIVATE KEY-----").to_request().is_err());
        assert!(client().certificates().upload_ca("ca", "x").to_request().is_err());
        let ca = client().certificates().upload_ca("ca", c).to_request().unwrap();
        assert_eq!(params(&ca)["CACertificateName"], "ca");
    }
}
