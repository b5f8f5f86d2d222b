//! Products, their API versions and their endpoints.
//!
//! Core lists no products: a [`Product`] is a descriptor that the crate of each product
//! defines as a constant (`ack_net_vpc::VPC`, `ack_net_eni::ECS`, `ack_net_slb::SLB`; core's
//! own [`STS`](crate::STS) for its credential providers), so a new product (ALB, NLB, the
//! certificate service) is one constant in its own crate and no change here.

use std::fmt;

use url::Url;

use crate::error::Error;
use crate::rate_limit::Rate;
use crate::region::RegionId;

/// An Alibaba Cloud product whose RPC API is called: its code, its API version, the rules of
/// its endpoints and its recommended client-side rate limits. Each product crate defines one
/// as a public constant; two descriptors are the same product when their codes are equal.
///
/// ```
/// use ack_net_core::{Network, Product, RegionId};
/// /// A product defined outside core: Application Load Balancer.
/// const ALB: Product = Product::new("alb", "2020-06-16").with_rate_limits(&[("CreateLoadBalancer", 60)]);
/// let sh = RegionId::new("cn-shanghai").unwrap();
/// assert_eq!(ALB.host(&sh, Network::Public), "alb.cn-shanghai.aliyuncs.com");
/// assert_eq!(ALB.host(&sh, Network::Vpc), "alb-vpc.cn-shanghai.aliyuncs.com");
/// assert_eq!(ALB.version(), "2020-06-16");
/// assert_eq!(ALB.recommended_rate("CreateLoadBalancer").map(|r| r.burst), Some(6));
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Product {
    code: &'static str,
    version: &'static str,
    central_host: Option<&'static str>,
    central_regions: &'static [&'static str],
    public_hosts: &'static [(&'static str, &'static str)],
    rate_limits: &'static [(&'static str, u32)],
}

impl Product {
    /// A product with this endpoint code (`vpc`, `ecs`, `alb`: lowercase letters, digits and
    /// `-`, checked when a client resolves its endpoint) and API version (`2016-04-28`). Its
    /// hosts are `<code>.<region>.aliyuncs.com` (public) and
    /// `<code>-vpc.<region>.aliyuncs.com` (VPC) until the `with_` methods say otherwise.
    pub const fn new(code: &'static str, version: &'static str) -> Product {
        Product { code, version, central_host: None, central_regions: &[], public_hosts: &[], rate_limits: &[] }
    }

    /// The public endpoint of `regions` is the central `host` (SLB's `slb.aliyuncs.com`).
    pub const fn with_central_host(mut self, host: &'static str, regions: &'static [&'static str]) -> Product {
        self.central_host = Some(host);
        self.central_regions = regions;
        self
    }

    /// Public hosts of their own, as `(region, host)` pairs (ECS's `ecs-cn-hangzhou.aliyuncs.com`).
    pub const fn with_public_hosts(mut self, hosts: &'static [(&'static str, &'static str)]) -> Product {
        self.public_hosts = hosts;
        self
    }

    /// The recommended client-side rates, as `(action, calls per minute)` pairs: what
    /// [`RateLimits::recommended`](crate::RateLimits::recommended) holds these actions to.
    pub const fn with_rate_limits(mut self, limits: &'static [(&'static str, u32)]) -> Product {
        self.rate_limits = limits;
        self
    }

    /// The API version this crate family speaks.
    pub const fn version(&self) -> &'static str {
        self.version
    }

    /// The product code used in endpoints (`vpc`, `ecs`, `slb`, `sts`).
    pub const fn code(&self) -> &'static str {
        self.code
    }

    /// The recommended rate of `action`, if the product recommends one.
    pub fn recommended_rate(&self, action: &str) -> Option<Rate> {
        self.rate_limits.iter().find(|(a, _)| *a == action).map(|&(_, per_minute)| Rate::per_minute(per_minute))
    }

    /// The host of this product's endpoint in `region` over `network`.
    pub fn host(&self, region: &RegionId, network: Network) -> String {
        let code = self.code;
        let r = region.as_str();
        match network {
            Network::Vpc => format!("{code}-vpc.{r}.aliyuncs.com"),
            Network::Public => {
                if let Some(&(_, host)) = self.public_hosts.iter().find(|(region, _)| *region == r) {
                    return host.to_owned();
                }
                match self.central_host {
                    Some(host) if self.central_regions.contains(&r) => host.to_owned(),
                    _ => format!("{code}.{r}.aliyuncs.com"),
                }
            }
        }
    }

    /// Whether the code can name a host.
    fn check_code(&self) -> Result<(), Error> {
        let ok = !self.code.is_empty()
            && self.code.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !self.code.starts_with('-');
        if ok {
            Ok(())
        } else {
            Err(Error::invalid_input("product", format!("{:?} is not a product code (a-z, 0-9, '-')", self.code)))
        }
    }
}

impl fmt::Debug for Product {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Product").field("code", &self.code).field("version", &self.version).finish_non_exhaustive()
    }
}

impl fmt::Display for Product {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code)
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

    /// The URL (scheme, host, port, path `/`) for `product`; an error when the product's
    /// code cannot name a host.
    pub fn url(&self, product: &Product) -> Result<Url, Error> {
        match self {
            Endpoint::Resolved { region, network } => {
                product.check_code()?;
                Url::parse(&format!("https://{}/", product.host(region, *network)))
                    .map_err(|e| Error::invalid_input("product", format!("{product}: no endpoint URL: {e}")))
            }
            Endpoint::Override(url) => Ok(url.clone()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CENTRAL: Product = Product::new("lb", "2000-01-01")
        .with_central_host("lb.aliyuncs.com", &["cn-hangzhou"])
        .with_public_hosts(&[("cn-beijing", "lb-cn-beijing.aliyuncs.com")]);

    #[test]
    fn hosts_follow_the_descriptor_rules() {
        let hz = RegionId::new("cn-hangzhou").unwrap();
        let bj = RegionId::new("cn-beijing").unwrap();
        let sh = RegionId::new("cn-shanghai").unwrap();
        assert_eq!(CENTRAL.host(&hz, Network::Public), "lb.aliyuncs.com");
        assert_eq!(CENTRAL.host(&bj, Network::Public), "lb-cn-beijing.aliyuncs.com");
        assert_eq!(CENTRAL.host(&sh, Network::Public), "lb.cn-shanghai.aliyuncs.com");
        assert_eq!(CENTRAL.host(&hz, Network::Vpc), "lb-vpc.cn-hangzhou.aliyuncs.com");
        assert_eq!(crate::STS.host(&sh, Network::Public), "sts.cn-shanghai.aliyuncs.com");
    }

    #[test]
    fn a_code_that_names_no_host_is_an_error_not_a_panic() {
        let resolved = Endpoint::Resolved { region: RegionId::new("cn-hangzhou").unwrap(), network: Network::Public };
        for code in ["", "Upper", "a/b", "-x", "a b"] {
            let err = resolved.url(&Product::new(code, "2020-01-01")).unwrap_err();
            assert!(err.to_string().contains("product"), "{code:?}: {err}");
        }
        assert!(resolved.url(&CENTRAL).is_ok());
    }
}
