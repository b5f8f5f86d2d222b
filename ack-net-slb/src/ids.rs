//! Validated id newtypes. VPC and VSwitch ids come from `ack-net-vpc`.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

ack_net_core::define_id!(
    /// A load balancer id, `lb-...`.
    ///
    /// ```
    /// use ack_net_slb::LoadBalancerId;
    /// assert!("lb-bp1o94dp5i6earr9g6d1l".parse::<LoadBalancerId>().is_ok());
    /// assert!("rsp-bp1o94dp5i6earr9g6d1l".parse::<LoadBalancerId>().is_err());
    /// ```
    LoadBalancerId,
    "load balancer id",
    ["lb-"]
);

ack_net_core::define_id!(
    /// A VServer group id, `rsp-...`.
    VServerGroupId,
    "VServer group id",
    ["rsp-"]
);

ack_net_core::define_id!(
    /// A master/slave server group id, `rsp-...` (the same form as a VServer group's).
    MasterSlaveServerGroupId,
    "master/slave server group id",
    ["rsp-"]
);

ack_net_core::define_id!(
    /// A layer-7 forwarding rule id, `rule-...`.
    RuleId,
    "rule id",
    ["rule-"]
);

ack_net_core::define_id!(
    /// An access control list id, `acl-...`.
    AclId,
    "ACL id",
    ["acl-"]
);

ack_net_core::define_id!(
    /// An elastic container instance id, `eci-...`, as a backend server
    /// ([`crate::Backend::eci`]).
    ///
    /// ```
    /// use ack_net_slb::EciId;
    /// assert!("eci-bp1a".parse::<EciId>().is_ok());
    /// assert!("eni-bp1a".parse::<EciId>().is_err());
    /// ```
    EciId,
    "ECI id",
    ["eci-"]
);

ack_net_core::define_id!(
    /// A domain extension id, `de-...`.
    DomainExtensionId,
    "domain extension id",
    ["de-"]
);

/// Declares a certificate id: these have no prefix, 1-128 letters, digits, `-` or `_`.
macro_rules! certificate_id {
    ($(#[$meta:meta])* $name:ident, $what:literal) => {
        $(#[$meta])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            /// Validates and wraps an id.
            pub fn new(id: impl Into<String>) -> Result<Self, ack_net_core::Error> {
                let id: String = id.into();
                let ok = !id.is_empty()
                    && id.len() <= 128
                    && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
                if ok {
                    Ok(Self(id))
                } else {
                    Err(ack_net_core::Error::invalid_input($what, format!("{id:?} must be 1-128 letters, digits, - or _")))
                }
            }

            /// The id as a string.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl FromStr for $name {
            type Err = ack_net_core::Error;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::new(s)
            }
        }

        impl TryFrom<String> for $name {
            type Error = ack_net_core::Error;
            fn try_from(s: String) -> Result<Self, Self::Error> {
                Self::new(s)
            }
        }

        impl From<$name> for String {
            fn from(v: $name) -> String {
                v.0
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        /// Lets a setter taking `impl Into<Id>` take a borrowed id too.
        impl From<&$name> for $name {
            fn from(id: &$name) -> Self {
                id.clone()
            }
        }
    };
}

certificate_id!(
    /// A server certificate id. These have no prefix (`1231579085529123_166f8204689_...` or
    /// `139a00604ad-cn-east-hangzhou-01`): 1-128 letters, digits, `-` or `_`.
    ///
    /// ```
    /// use ack_net_slb::ServerCertificateId;
    /// assert!("1231579085529123_166f8204689_1714763408_709341".parse::<ServerCertificateId>().is_ok());
    /// assert!("".parse::<ServerCertificateId>().is_err());
    /// assert!("a b".parse::<ServerCertificateId>().is_err());
    /// ```
    ServerCertificateId,
    "server certificate id"
);

certificate_id!(
    /// A CA certificate id, of the same form as a [`ServerCertificateId`].
    ///
    /// ```
    /// assert!("139a00604bd-cn-east-hangzhou-01".parse::<ack_net_slb::CaCertificateId>().is_ok());
    /// ```
    CaCertificateId,
    "CA certificate id"
);
