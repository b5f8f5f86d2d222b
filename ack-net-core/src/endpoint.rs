//! Products, their API versions and their endpoints.

use std::fmt;

use url::Url;

use crate::error::Error;
use crate::region::RegionId;

/// An Alibaba Cloud product whose RPC API ack-net calls.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Product {
    /// VPC, VSwitch, route tables (`2016-04-28`).
    Vpc,
    /// ECS: ENIs, security groups, instance types (`2014-05-26`).
    Ecs,
    /// Server Load Balancer / CLB (`2014-05-15`).
    Slb,
    /// Security Token Service (`2015-04-01`).
    Sts,
}

/// SLB regions served by the central `slb.aliyuncs.com` endpoint rather than a regional one.
const SLB_CENTRAL_REGIONS: &[&str] = &[
    "cn-qingdao",
    "cn-beijing",
    "cn-hangzhou",
    "cn-shanghai",
    "cn-shenzhen",
    "cn-hongkong",
    "ap-southeast-1",
    "us-west-1",
    "us-east-1",
    "cn-shanghai-finance-1",
    "cn-shenzhen-finance-1",
    "cn-north-2-gov-1",
    "cn-hangzhou-finance",
    "cn-beijing-finance-1",
];

impl Product {
    /// Every product, in a stable order: the order of declaration.
    pub const ALL: [Product; 4] = [Product::Vpc, Product::Ecs, Product::Slb, Product::Sts];

    /// The product's place in [`Product::ALL`], for tables indexed by product.
    pub(crate) const fn index(self) -> usize {
        self as usize
    }

    /// The API version this crate family speaks.
    pub fn version(self) -> &'static str {
        match self {
            Product::Vpc => "2016-04-28",
            Product::Ecs => "2014-05-26",
            Product::Slb => "2014-05-15",
            Product::Sts => "2015-04-01",
        }
    }

    /// The product code used in endpoints (`vpc`, `ecs`, `slb`, `sts`).
    pub fn code(self) -> &'static str {
        match self {
            Product::Vpc => "vpc",
            Product::Ecs => "ecs",
            Product::Slb => "slb",
            Product::Sts => "sts",
        }
    }

    /// The product whose API has this version, if any.
    pub fn from_version(version: &str) -> Option<Product> {
        Product::ALL.into_iter().find(|p| p.version() == version)
    }

    /// The host of this product's endpoint in `region` over `network`.
    ///
    /// ```
    /// use ack_net_core::{Network, Product, RegionId};
    /// let hz = RegionId::new("cn-hangzhou").unwrap();
    /// let bj = RegionId::new("cn-beijing").unwrap();
    /// assert_eq!(Product::Ecs.host(&hz, Network::Public), "ecs-cn-hangzhou.aliyuncs.com");
    /// assert_eq!(Product::Ecs.host(&bj, Network::Vpc), "ecs-vpc.cn-beijing.aliyuncs.com");
    /// assert_eq!(Product::Slb.host(&hz, Network::Public), "slb.aliyuncs.com");
    /// assert_eq!(Product::Vpc.host(&bj, Network::Public), "vpc.cn-beijing.aliyuncs.com");
    /// ```
    pub fn host(self, region: &RegionId, network: Network) -> String {
        let code = self.code();
        let r = region.as_str();
        match (self, network) {
            (_, Network::Vpc) => format!("{code}-vpc.{r}.aliyuncs.com"),
            (Product::Ecs, Network::Public) if r == "cn-hangzhou" => "ecs-cn-hangzhou.aliyuncs.com".to_owned(),
            (Product::Slb, Network::Public) if SLB_CENTRAL_REGIONS.contains(&r) => "slb.aliyuncs.com".to_owned(),
            (_, Network::Public) => format!("{code}.{r}.aliyuncs.com"),
        }
    }
}

impl fmt::Display for Product {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// Which network a client reaches the API over.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum Network {
    /// The public endpoints.
    #[default]
    Public,
    /// The VPC-internal endpoints (`<product>-vpc.<region>.aliyuncs.com`), reachable from
    /// inside a VPC without internet access.
    Vpc,
}

/// Where a client sends its calls: the resolved endpoints, or one override for all products.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Endpoint {
    /// Resolve per product from the region and network, over HTTPS.
    Resolved {
        /// The region.
        region: RegionId,
        /// The network.
        network: Network,
    },
    /// Send every product's calls to this base URL (a mock, a proxy, a private gateway).
    Override(Url),
}

impl Endpoint {
    /// Parses an override URL: it must be `http` or `https` with a host.
    ///
    /// ```
    /// use ack_net_core::Endpoint;
    /// assert!(Endpoint::parse_override("http://127.0.0.1:18080").is_ok());
    /// assert!(Endpoint::parse_override("127.0.0.1:18080").is_err());
    /// assert!(Endpoint::parse_override("ftp://x").is_err());
    /// ```
    pub fn parse_override(url: &str) -> Result<Endpoint, Error> {
        let parsed =
            Url::parse(url).map_err(|e| Error::invalid_input("endpoint", format!("{url:?} is not a URL: {e}")))?;
        if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
            return Err(Error::invalid_input(
                "endpoint",
                format!("{url:?} must be an http:// or https:// URL with a host"),
            ));
        }
        Ok(Endpoint::Override(parsed))
    }

    /// The URL (scheme, host, port, path `/`) for `product`.
    pub fn url(&self, product: Product) -> Url {
        match self {
            Endpoint::Resolved { region, network } => {
                Url::parse(&format!("https://{}/", product.host(region, *network)))
                    .expect("hosts built from validated ids")
            }
            Endpoint::Override(url) => url.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_is_the_place_in_all() {
        for (i, p) in Product::ALL.iter().enumerate() {
            assert_eq!(p.index(), i, "{p:?}");
        }
    }

    #[test]
    fn hosts() {
        let sh = RegionId::new("cn-shanghai").unwrap();
        let fra = RegionId::new("eu-central-1").unwrap();
        assert_eq!(Product::Ecs.host(&sh, Network::Public), "ecs.cn-shanghai.aliyuncs.com");
        assert_eq!(Product::Slb.host(&fra, Network::Public), "slb.eu-central-1.aliyuncs.com");
        assert_eq!(Product::Slb.host(&sh, Network::Vpc), "slb-vpc.cn-shanghai.aliyuncs.com");
        assert_eq!(Product::Vpc.host(&sh, Network::Vpc), "vpc-vpc.cn-shanghai.aliyuncs.com");
        assert_eq!(Product::Sts.host(&sh, Network::Public), "sts.cn-shanghai.aliyuncs.com");
    }

    #[test]
    fn versions_map_back() {
        for p in Product::ALL {
            assert_eq!(Product::from_version(p.version()), Some(p));
        }
    }
}
