//! The API's enumerations. Each keeps a value it does not know in `Unknown`, so a new value
//! on the wire never fails a decode; parsing ignores case.

use ack_net_core::wire_enum;

wire_enum! {
    ignore_case, exhaustive;
    /// `AddressType`: reachable from the internet or only from the VPC.
    AddressType {
        /// `internet`: a public address.
        Internet = "internet",
        /// `intranet`: an address of a VSwitch.
        Intranet = "intranet",
    }
}

wire_enum! {
    ignore_case, exhaustive;
    /// `AddressIPVersion`.
    AddressIpVersion {
        /// `ipv4`.
        Ipv4 = "ipv4",
        /// `ipv6`.
        Ipv6 = "ipv6",
    }
}

wire_enum! {
    ignore_case, exhaustive;
    /// A load balancer's instance size, sent as `LoadBalancerSpec`: the performance-guaranteed
    /// specifications. A pay-by-CLCU instance has none (see [`InstanceChargeType::PayByClcu`]).
    /// (The desired state of a whole load balancer is [`binding::LoadBalancerSpec`](crate::binding::LoadBalancerSpec).)
    InstanceSpec {
        /// `slb.s1.small`.
        S1Small = "slb.s1.small",
        /// `slb.s2.small`.
        S2Small = "slb.s2.small",
        /// `slb.s2.medium`.
        S2Medium = "slb.s2.medium",
        /// `slb.s3.small`.
        S3Small = "slb.s3.small",
        /// `slb.s3.medium`.
        S3Medium = "slb.s3.medium",
        /// `slb.s3.large`.
        S3Large = "slb.s3.large",
        /// `slb.s3.xlarge`.
        S3XLarge = "slb.s3.xlarge",
        /// `slb.s3.xxlarge`.
        S3XXLarge = "slb.s3.xxlarge",
    }
}

wire_enum! {
    ignore_case, exhaustive;
    /// `InstanceChargeType`: billed by specification or by capacity units used.
    InstanceChargeType {
        /// `PayBySpec`: a fixed [`InstanceSpec`].
        PayBySpec = "PayBySpec",
        /// `PayByCLCU`: pay by CLB capacity units, no spec.
        PayByClcu = "PayByCLCU",
    }
}

wire_enum! {
    ignore_case, exhaustive;
    /// `InternetChargeType`.
    InternetChargeType {
        /// `paybytraffic`.
        PayByTraffic = "paybytraffic",
        /// `paybybandwidth`: billed by the `Bandwidth` cap.
        PayByBandwidth = "paybybandwidth",
    }
}

wire_enum! {
    ignore_case, exhaustive;
    /// `Scheduler`: how a listener spreads requests over its backends.
    Scheduler {
        /// `wrr`: weighted round robin (the default).
        Wrr = "wrr",
        /// `wlc`: weighted least connections.
        Wlc = "wlc",
        /// `rr`: round robin.
        Rr = "rr",
        /// `sch`: consistent hashing on the source address.
        Sch = "sch",
        /// `tch`: consistent hashing on the four-tuple.
        Tch = "tch",
        /// `qch`: consistent hashing on the QUIC connection id (UDP).
        Qch = "qch",
    }
}

wire_enum! {
    ignore_case, exhaustive;
    /// `ListenerProtocol`.
    ListenerProtocol {
        /// `tcp`.
        Tcp = "tcp",
        /// `udp`.
        Udp = "udp",
        /// `http`.
        Http = "http",
        /// `https`.
        Https = "https",
    }
}

impl ListenerProtocol {
    /// The upper-case form in action names (`CreateLoadBalancerHTTPSListener`).
    pub(crate) fn action_part(&self) -> String {
        self.as_str().to_ascii_uppercase()
    }
}

wire_enum! {
    ignore_case, exhaustive;
    /// `LoadBalancerStatus`.
    LoadBalancerStatus {
        /// `inactive`: stopped, or not ready yet.
        Inactive = "inactive",
        /// `active`: serving.
        Active = "active",
        /// `locked`: locked (an overdue payment, a security lock).
        Locked = "locked",
        /// `configuring`.
        Configuring = "configuring",
    }
}

wire_enum! {
    ignore_case, exhaustive;
    /// A listener's `Status`.
    ListenerStatus {
        /// `running`.
        Running = "running",
        /// `stopped` (a new listener is stopped until started).
        Stopped = "stopped",
        /// `starting`.
        Starting = "starting",
        /// `configuring`.
        Configuring = "configuring",
        /// `stopping`.
        Stopping = "stopping",
    }
}

wire_enum! {
    ignore_case, exhaustive;
    /// A backend's `Type`.
    BackendType {
        /// `ecs`: an ECS instance (`ServerId` is `i-...`).
        Ecs = "ecs",
        /// `eni`: an address of an elastic network interface (`ServerId` is `eni-...`, the
        /// address in `ServerIp`): how pods are backends.
        Eni = "eni",
        /// `eci`: an elastic container instance (`eci-...`, with `ServerIp`).
        Eci = "eci",
    }
}

wire_enum! {
    ignore_case, exhaustive;
    /// `ServerHealthStatus` in DescribeHealthStatus.
    HealthStatus {
        /// `normal`: passing health checks.
        Normal = "normal",
        /// `abnormal`: failing health checks.
        Abnormal = "abnormal",
        /// `unavailable`: not checked (listener stopped, health checks off).
        Unavailable = "unavailable",
    }
}

wire_enum! {
    ignore_case, exhaustive;
    /// `ModificationProtectionStatus`.
    ModificationProtectionStatus {
        /// `NonProtection`.
        NonProtection = "NonProtection",
        /// `ConsoleProtection`: the console may not change the instance (the API still may).
        ConsoleProtection = "ConsoleProtection",
    }
}

wire_enum! {
    ignore_case, exhaustive;
    /// `AclType`.
    AclType {
        /// `white`: only the listed addresses may connect.
        White = "white",
        /// `black`: the listed addresses may not connect.
        Black = "black",
    }
}

wire_enum! {
    ignore_case, exhaustive;
    /// `HealthCheckMethod` of HTTP health checks.
    HealthCheckMethod {
        /// `head` (the default).
        Head = "head",
        /// `get`.
        Get = "get",
    }
}

wire_enum! {
    ignore_case, exhaustive;
    /// One class of `HealthCheckHttpCode`: the HTTP answers that count as healthy.
    HttpCodeClass {
        /// `http_2xx`.
        Http2xx = "http_2xx",
        /// `http_3xx`.
        Http3xx = "http_3xx",
        /// `http_4xx`.
        Http4xx = "http_4xx",
        /// `http_5xx`.
        Http5xx = "http_5xx",
    }
}

wire_enum! {
    ignore_case, exhaustive;
    /// `TLSCipherPolicy` of HTTPS listeners.
    TlsCipherPolicy {
        /// `tls_cipher_policy_1_0` (the default).
        Tls10 = "tls_cipher_policy_1_0",
        /// `tls_cipher_policy_1_1`.
        Tls11 = "tls_cipher_policy_1_1",
        /// `tls_cipher_policy_1_2`.
        Tls12 = "tls_cipher_policy_1_2",
        /// `tls_cipher_policy_1_2_strict`.
        Tls12Strict = "tls_cipher_policy_1_2_strict",
        /// `tls_cipher_policy_1_2_strict_with_1_3`.
        Tls12StrictWith13 = "tls_cipher_policy_1_2_strict_with_1_3",
    }
}

wire_enum! {
    ignore_case, exhaustive;
    /// `ServerType` of a master/slave group's backend.
    ServerType {
        /// `Master`: receives traffic while healthy.
        Master = "Master",
        /// `Slave`: receives traffic when the master fails.
        Slave = "Slave",
    }
}

wire_enum! {
    ignore_case, exhaustive;
    /// `NetworkType` of a load balancer.
    NetworkType {
        /// `vpc`.
        Vpc = "vpc",
        /// `classic` (internet load balancers report it).
        Classic = "classic",
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
        let j = serde_json::to_string(&InstanceSpec::S3XLarge).unwrap();
        assert_eq!(j, "\"slb.s3.xlarge\"");
        let back: InstanceSpec = serde_json::from_str(&j).unwrap();
        assert_eq!(back, InstanceSpec::S3XLarge);
        assert_eq!(ListenerProtocol::Https.action_part(), "HTTPS");
    }
}
