//! The instance types the mock knows, with their ENI and IP quotas, and
//! DescribeInstanceTypes.

use serde_json::{json, Value};

use crate::error::{HandlerResult, MockError};
use crate::handler::{page_by_token, Req};

/// One instance type and its network quotas.
#[derive(Clone, Debug, PartialEq)]
pub struct InstanceTypeSpec {
    /// e.g. `ecs.g7.large`.
    pub id: &'static str,
    /// e.g. `ecs.g7`.
    pub family: &'static str,
    /// vCPUs.
    pub cpu: u32,
    /// Memory in GiB.
    pub memory_gib: f64,
    /// ENIs the instance can hold, the primary one included (`EniQuantity`).
    pub eni_quantity: u32,
    /// IPv4 addresses per ENI, the primary address included (`EniPrivateIpAddressQuantity`).
    pub ipv4_per_eni: u32,
    /// IPv6 addresses per ENI (`EniIpv6AddressQuantity`); 0 when IPv6 is not supported.
    pub ipv6_per_eni: u32,
    /// ENIs including trunk member ENIs (`EniTotalQuantity`).
    pub eni_total_quantity: u32,
    /// Whether a trunk ENI is supported (`EniTrunkSupported`).
    pub trunk: bool,
}

#[allow(clippy::too_many_arguments)] // one row of the catalog table
const fn spec(
    id: &'static str,
    family: &'static str,
    cpu: u32,
    memory_gib: f64,
    eni_quantity: u32,
    ipv4_per_eni: u32,
    ipv6_per_eni: u32,
    eni_total_quantity: u32,
    trunk: bool,
) -> InstanceTypeSpec {
    InstanceTypeSpec {
        id,
        family,
        cpu,
        memory_gib,
        eni_quantity,
        ipv4_per_eni,
        ipv6_per_eni,
        eni_total_quantity,
        trunk,
    }
}

/// The catalog: a realistic handful, from 2 to 8 ENIs with 6 to 20 addresses each.
/// `ecs.c7.2xlarge` (4 ENIs of 20 addresses: three secondary-capable ENIs, 60 pod
/// addresses) is the type the pool benchmarks use.
pub const INSTANCE_TYPES: &[InstanceTypeSpec] = &[
    spec("ecs.g6.large", "ecs.g6", 2, 8.0, 2, 6, 1, 2, false),
    spec("ecs.g6.xlarge", "ecs.g6", 4, 16.0, 3, 10, 1, 3, false),
    spec("ecs.g7.large", "ecs.g7", 2, 8.0, 3, 6, 6, 11, true),
    spec("ecs.g7.xlarge", "ecs.g7", 4, 16.0, 4, 15, 15, 15, true),
    spec("ecs.g7.2xlarge", "ecs.g7", 8, 32.0, 4, 15, 15, 31, true),
    spec("ecs.g7.4xlarge", "ecs.g7", 16, 64.0, 8, 20, 20, 31, true),
    spec("ecs.c7.2xlarge", "ecs.c7", 8, 16.0, 4, 20, 20, 31, true),
    spec("ecs.r7.xlarge", "ecs.r7", 4, 32.0, 4, 15, 15, 15, true),
];

/// The instance type `id`, if the catalog has it.
pub fn find(id: &str) -> Option<&'static InstanceTypeSpec> {
    INSTANCE_TYPES.iter().find(|t| t.id == id)
}

impl InstanceTypeSpec {
    /// The type as DescribeInstanceTypes answers it.
    pub fn to_json(&self) -> Value {
        json!({
            "InstanceTypeId": self.id,
            "InstanceTypeFamily": self.family,
            "InstanceCategory": "General-purpose",
            "InstanceFamilyLevel": "EnterpriseLevel",
            "CpuArchitecture": "X86",
            "CpuCoreCount": self.cpu,
            "MemorySize": self.memory_gib,
            "EniQuantity": self.eni_quantity,
            "EniPrivateIpAddressQuantity": self.ipv4_per_eni,
            "EniIpv6AddressQuantity": self.ipv6_per_eni,
            "EniTotalQuantity": self.eni_total_quantity,
            "EniTrunkSupported": self.trunk,
            "NetworkCardQuantity": 1,
            "PrimaryEniQueueNumber": self.cpu.min(8),
            "SecondaryEniQueueNumber": self.cpu.min(8),
            "MaximumQueueNumberPerEni": self.cpu.min(8),
            "TotalEniQueueQuantity": self.cpu.min(8) * self.eni_quantity,
            "NetworkCards": {"NetworkCardInfo": [{"NetworkCardIndex": 0}]},
        })
    }
}

/// DescribeInstanceTypes: filters `InstanceTypes.N` (at most 10), `InstanceTypeFamily`,
/// `MinimumEniQuantity`, `MinimumEniPrivateIpAddressQuantity`, `MinimumEniIpv6AddressQuantity`;
/// pages with `NextToken`/`MaxResults` (1-1600, default 1600).
pub fn describe_instance_types(req: &Req) -> HandlerResult {
    let wanted = req.list("InstanceTypes")?;
    if wanted.len() > 10 {
        return Err(MockError::invalid_param("InstanceTypes", "at most 10 instance types per call"));
    }
    let family = req.opt_str("InstanceTypeFamily");
    let min_eni: Option<u32> = req.opt("MinimumEniQuantity")?;
    let min_v4: Option<u32> = req.opt("MinimumEniPrivateIpAddressQuantity")?;
    let min_v6: Option<u32> = req.opt("MinimumEniIpv6AddressQuantity")?;
    let items: Vec<&InstanceTypeSpec> = INSTANCE_TYPES
        .iter()
        .filter(|t| wanted.is_empty() || wanted.iter().any(|w| w == t.id))
        .filter(|t| family.is_none_or(|f| f == t.family))
        .filter(|t| min_eni.is_none_or(|m| t.eni_quantity >= m))
        .filter(|t| min_v4.is_none_or(|m| t.ipv4_per_eni >= m))
        .filter(|t| min_v6.is_none_or(|m| t.ipv6_per_eni >= m))
        .collect();
    let (page, next) = page_by_token(req, &items, "MaxResults", 1600, 1, 1600, "InvalidNextToken")?;
    let list: Vec<Value> = page.iter().map(|t| t.to_json()).collect();
    Ok(json!({ "InstanceTypes": { "InstanceType": list }, "NextToken": next }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalog_is_realistic() {
        for t in INSTANCE_TYPES {
            assert!((2..=8).contains(&t.eni_quantity), "{}", t.id);
            assert!((6..=20).contains(&t.ipv4_per_eni), "{}", t.id);
            assert!(t.eni_total_quantity >= t.eni_quantity, "{}", t.id);
        }
        let bench = find("ecs.c7.2xlarge").unwrap();
        assert_eq!((bench.eni_quantity, bench.ipv4_per_eni), (4, 20));
    }

    #[test]
    fn filters_and_pages() {
        let r = Req::new("DescribeInstanceTypes", "2014-05-26", &[("InstanceTypes.1", "ecs.g7.large")]);
        let v = describe_instance_types(&r).unwrap();
        assert_eq!(v["InstanceTypes"]["InstanceType"].as_array().unwrap().len(), 1);
        assert_eq!(v["InstanceTypes"]["InstanceType"][0]["EniQuantity"], 3);

        let r = Req::new("DescribeInstanceTypes", "2014-05-26", &[("MaxResults", "3")]);
        let v = describe_instance_types(&r).unwrap();
        assert_eq!(v["InstanceTypes"]["InstanceType"].as_array().unwrap().len(), 3);
        let token = v["NextToken"].as_str().unwrap().to_owned();
        assert!(!token.is_empty());
        let r = Req::new("DescribeInstanceTypes", "2014-05-26", &[("MaxResults", "100"), ("NextToken", &token)]);
        let v = describe_instance_types(&r).unwrap();
        assert_eq!(v["InstanceTypes"]["InstanceType"].as_array().unwrap().len(), INSTANCE_TYPES.len() - 3);
        assert_eq!(v["NextToken"], "");

        let r = Req::new("DescribeInstanceTypes", "2014-05-26", &[("MaxResults", "1601")]);
        assert_eq!(describe_instance_types(&r).unwrap_err().code, "InvalidParameter");
        let r = Req::new("DescribeInstanceTypes", "2014-05-26", &[("InstanceTypes.1", "ecs.nope")]);
        assert!(describe_instance_types(&r).unwrap()["InstanceTypes"]["InstanceType"].as_array().unwrap().is_empty());
    }
}
