//! Real, self-signed certificates with their private keys (made once with `openssl req -x509`,
//! valid for a century), for tests and examples that upload server certificates: the mock
//! checks certificates and keys as the cloud does, so made-up PEM text is refused. They
//! cover the key formats the API takes: PKCS#8 EC, SEC1 EC (`EC PRIVATE KEY`) and PKCS#1
//! RSA (`RSA PRIVATE KEY`). These keys are public: never use them outside tests.

/// A sample certificate and its private key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SampleCertificate {
    /// The host the certificate is for (its common name and DNS alternative name).
    pub host: &'static str,
    /// The certificate, PEM.
    pub certificate: &'static str,
    /// Its private key, PEM.
    pub private_key: &'static str,
}

macro_rules! sample {
    ($host:literal, $file:literal) => {
        SampleCertificate {
            host: $host,
            certificate: include_str!(concat!("samples/", $file, ".crt")),
            private_key: include_str!(concat!("samples/", $file, ".key")),
        }
    };
}

/// Every sample, each with its own key.
pub const SAMPLES: &[SampleCertificate] = &[
    sample!("www.example.com", "www.example.com"),
    sample!("www.example.com", "www.example.com.renewed"),
    sample!("api.example.com", "api.example.com"),
    sample!("shop.example.com", "shop.example.com"),
    sample!("*.example.org", "wildcard.example.org"),
];

/// The first sample for `host` (`www.example.com`, `api.example.com`, `shop.example.com`,
/// `*.example.org`).
///
/// ```
/// let www = ack_net_mock::sample_certificate("www.example.com").unwrap();
/// assert!(www.certificate.starts_with("-----BEGIN CERTIFICATE-----"));
/// ```
pub fn sample_certificate(host: &str) -> Option<SampleCertificate> {
    SAMPLES.iter().find(|s| s.host == host).copied()
}

/// The renewed certificate of `www.example.com`: another key, for rotation tests.
pub fn renewed_sample_certificate() -> SampleCertificate {
    SAMPLES[1]
}
