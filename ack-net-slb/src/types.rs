//! The API's enumerations. Each keeps a value it does not know in `Unknown`, so a new value
//! on the wire never fails a decode; parsing ignores case.

macro_rules! string_enum {
    (
        $(#[$meta:meta])*
        $name:ident { $( $(#[$vmeta:meta])* $variant:ident => $wire:literal ),+ $(,)? }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $( $(#[$vmeta])* $variant, )+
            /// A value this crate does not know, as the API sent it.
            Unknown(String),
        }

        impl $name {
            /// Every known value.
            pub const KNOWN: &'static [$name] = &[$($name::$variant),+];

            /// The value as the API spells it.
            pub fn as_str(&self) -> &str {
                match self {
                    $( $name::$variant => $wire, )+
                    $name::Unknown(s) => s.as_str(),
                }
            }

            /// The value for a wire string (any case); `Unknown` when it is not a known one.
            pub fn from_wire(s: &str) -> Self {
                $( if s.eq_ignore_ascii_case($wire) { return $name::$variant; } )+
                $name::Unknown(s.to_owned())
            }

            /// Whether this is a value the crate knows.
            pub fn is_known(&self) -> bool {
                !matches!(self, $name::Unknown(_))
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ::std::convert::From<String> for $name {
            fn from(s: String) -> Self {
                Self::from_wire(&s)
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = ::std::convert::Infallible;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Ok(Self::from_wire(s))
            }
        }

        impl ::serde::Serialize for $name {
            fn serialize<S: ::serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> ::serde::Deserialize<'de> for $name {
            fn deserialize<D: ::serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = ack_net_core::de::string(d)?;
                Ok(Self::from_wire(&s))
            }
        }
    };
}

string_enum! {
    /// `AddressType`: reachable from the internet or only from the VPC.
    AddressType {
        /// `internet`: a public address.
        Internet => "internet",
        /// `intranet`: an address of a VSwitch.
        Intranet => "intranet",
    }
}

string_enum! {
    /// `AddressIPVersion`.
    AddressIpVersion {
        /// `ipv4`.
        Ipv4 => "ipv4",
        /// `ipv6`.
        Ipv6 => "ipv6",
    }
}

string_enum! {
    /// `LoadBalancerSpec`: the performance-guaranteed specifications. A pay-by-CLCU instance
    /// has none (see [`InstanceChargeType::PayByClcu`]).
    LoadBalancerSpec {
        /// `slb.s1.small`.
        S1Small => "slb.s1.small",
        /// `slb.s2.small`.
        S2Small => "slb.s2.small",
        /// `slb.s2.medium`.
        S2Medium => "slb.s2.medium",
        /// `slb.s3.small`.
        S3Small => "slb.s3.small",
        /// `slb.s3.medium`.
        S3Medium => "slb.s3.medium",
        /// `slb.s3.large`.
        S3Large => "slb.s3.large",
        /// `slb.s3.xlarge`.
        S3XLarge => "slb.s3.xlarge",
        /// `slb.s3.xxlarge`.
        S3XXLarge => "slb.s3.xxlarge",
    }
}

string_enum! {
    /// `InstanceChargeType`: billed by specification or by capacity units used.
    InstanceChargeType {
        /// `PayBySpec`: a fixed [`LoadBalancerSpec`].
        PayBySpec => "PayBySpec",
        /// `PayByCLCU`: pay by CLB capacity units, no spec.
        PayByClcu => "PayByCLCU",
    }
}

string_enum! {
    /// `InternetChargeType`.
    InternetChargeType {
        /// `paybytraffic`.
        PayByTraffic => "paybytraffic",
        /// `paybybandwidth`: billed by the `Bandwidth` cap.
        PayByBandwidth => "paybybandwidth",
    }
}

string_enum! {
    /// `Scheduler`: how a listener spreads requests over its backends.
    Scheduler {
        /// `wrr`: weighted round robin (the default).
        Wrr => "wrr",
        /// `wlc`: weighted least connections.
        Wlc => "wlc",
        /// `rr`: round robin.
        Rr => "rr",
        /// `sch`: consistent hashing on the source address.
        Sch => "sch",
        /// `tch`: consistent hashing on the four-tuple.
        Tch => "tch",
        /// `qch`: consistent hashing on the QUIC connection id (UDP).
        Qch => "qch",
    }
}

string_enum! {
    /// `ListenerProtocol`.
    ListenerProtocol {
        /// `tcp`.
        Tcp => "tcp",
        /// `udp`.
        Udp => "udp",
        /// `http`.
        Http => "http",
        /// `https`.
        Https => "https",
    }
}

impl ListenerProtocol {
    /// The upper-case form in action names (`CreateLoadBalancerHTTPSListener`).
    pub(crate) fn action_part(&self) -> String {
        self.as_str().to_ascii_uppercase()
    }
}

string_enum! {
    /// `LoadBalancerStatus`.
    LoadBalancerStatus {
        /// `inactive`: stopped, or not ready yet.
        Inactive => "inactive",
        /// `active`: serving.
        Active => "active",
        /// `locked`: locked (an overdue payment, a security lock).
        Locked => "locked",
        /// `configuring`.
        Configuring => "configuring",
    }
}

string_enum! {
    /// A listener's `Status`.
    ListenerStatus {
        /// `running`.
        Running => "running",
        /// `stopped` (a new listener is stopped until started).
        Stopped => "stopped",
        /// `starting`.
        Starting => "starting",
        /// `configuring`.
        Configuring => "configuring",
        /// `stopping`.
        Stopping => "stopping",
    }
}

string_enum! {
    /// A backend's `Type`.
    BackendType {
        /// `ecs`: an ECS instance (`ServerId` is `i-...`).
        Ecs => "ecs",
        /// `eni`: an address of an elastic network interface (`ServerId` is `eni-...`, the
        /// address in `ServerIp`): how pods are backends.
        Eni => "eni",
        /// `eci`: an elastic container instance (`eci-...`, with `ServerIp`).
        Eci => "eci",
    }
}

string_enum! {
    /// `ServerHealthStatus` in DescribeHealthStatus.
    HealthStatus {
        /// `normal`: passing health checks.
        Normal => "normal",
        /// `abnormal`: failing health checks.
        Abnormal => "abnormal",
        /// `unavailable`: not checked (listener stopped, health checks off).
        Unavailable => "unavailable",
    }
}

string_enum! {
    /// `ModificationProtectionStatus`.
    ModificationProtectionStatus {
        /// `NonProtection`.
        NonProtection => "NonProtection",
        /// `ConsoleProtection`: the console may not change the instance (the API still may).
        ConsoleProtection => "ConsoleProtection",
    }
}

string_enum! {
    /// `AclType`.
    AclType {
        /// `white`: only the listed addresses may connect.
        White => "white",
        /// `black`: the listed addresses may not connect.
        Black => "black",
    }
}

string_enum! {
    /// `HealthCheckMethod` of HTTP health checks.
    HealthCheckMethod {
        /// `head` (the default).
        Head => "head",
        /// `get`.
        Get => "get",
    }
}

string_enum! {
    /// One class of `HealthCheckHttpCode`: the HTTP answers that count as healthy.
    HttpCodeClass {
        /// `http_2xx`.
        Http2xx => "http_2xx",
        /// `http_3xx`.
        Http3xx => "http_3xx",
        /// `http_4xx`.
        Http4xx => "http_4xx",
        /// `http_5xx`.
        Http5xx => "http_5xx",
    }
}

string_enum! {
    /// `TLSCipherPolicy` of HTTPS listeners.
    TlsCipherPolicy {
        /// `tls_cipher_policy_1_0` (the default).
        Tls10 => "tls_cipher_policy_1_0",
        /// `tls_cipher_policy_1_1`.
        Tls11 => "tls_cipher_policy_1_1",
        /// `tls_cipher_policy_1_2`.
        Tls12 => "tls_cipher_policy_1_2",
        /// `tls_cipher_policy_1_2_strict`.
        Tls12Strict => "tls_cipher_policy_1_2_strict",
        /// `tls_cipher_policy_1_2_strict_with_1_3`.
        Tls12StrictWith13 => "tls_cipher_policy_1_2_strict_with_1_3",
    }
}

string_enum! {
    /// `ServerType` of a master/slave group's backend.
    ServerType {
        /// `Master`: receives traffic while healthy.
        Master => "Master",
        /// `Slave`: receives traffic when the master fails.
        Slave => "Slave",
    }
}

string_enum! {
    /// `NetworkType` of a load balancer.
    NetworkType {
        /// `vpc`.
        Vpc => "vpc",
        /// `classic` (internet load balancers report it).
        Classic => "classic",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_round_trip_and_unknown() {
        for p in ListenerProtocol::KNOWN {
            assert_eq!(&ListenerProtocol::from_wire(p.as_str()), p);
        }
        assert_eq!(ListenerProtocol::from_wire("HTTPS"), ListenerProtocol::Https);
        assert_eq!(InstanceChargeType::from_wire("paybyclcu"), InstanceChargeType::PayByClcu);
        let u = Scheduler::from_wire("magic");
        assert_eq!(u, Scheduler::Unknown("magic".into()));
        assert_eq!(u.to_string(), "magic");
        assert!(!u.is_known());
        let j = serde_json::to_string(&LoadBalancerSpec::S3XLarge).unwrap();
        assert_eq!(j, "\"slb.s3.xlarge\"");
        let back: LoadBalancerSpec = serde_json::from_str(&j).unwrap();
        assert_eq!(back, LoadBalancerSpec::S3XLarge);
        assert_eq!(ListenerProtocol::Https.action_part(), "HTTPS");
    }
}
