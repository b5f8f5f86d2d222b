//! Core lists no products: a product defined here, outside core (Application Load Balancer,
//! which no ack-net crate wraps yet), gets an operation, a signed request on the wire, its own
//! endpoint host and its own recommended rates, with no change to core.

use std::sync::{Arc, Mutex};

use ack_net_core::sign::{self, v1};
use ack_net_core::transport::{HttpRequest, HttpResponse, Transport, TransportFailure};
use ack_net_core::{operation, Credentials, Network, Product, RateLimits, RegionId, RpcClient};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// The ALB API, as an `ack-net-alb` crate would define it.
const ALB: Product = Product::new("alb", "2020-06-16").with_rate_limits(&[("CreateLoadBalancer", 30)]);

/// What ListLoadBalancers answers (the part this test reads).
#[derive(Debug, serde::Deserialize)]
pub struct AlbLoadBalancers {
    /// The load balancers' ids.
    #[serde(rename = "LoadBalancers", default)]
    pub load_balancers: Vec<serde_json::Value>,
    /// Where the next page starts.
    #[serde(rename = "NextToken", default)]
    pub next_token: String,
}

operation! {
    /// An ALB `ListLoadBalancers` request.
    pub struct ListLoadBalancers: ALB, "ListLoadBalancers", read -> AlbLoadBalancers, ack_net_core::Error;
    required {}
    optional {
        /// Only the load balancers of this VPC.
        vpc_id: Option<String> = "VpcIds.1" => into(String);
    }
}

fn params_of(body: &[u8]) -> Vec<(String, String)> {
    sign::decode_form(std::str::from_utf8(body).unwrap())
}

fn get<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

#[tokio::test]
async fn a_product_defined_outside_core_is_signed_and_sent() {
    let server = MockServer::start().await;
    let body = r#"{"RequestId":"r-1","LoadBalancers":[{"LoadBalancerId":"alb-1"}],"NextToken":""}"#;
    Mock::given(method("POST"))
        .and(path("/"))
        .respond_with(ResponseTemplate::new(200).set_body_string(body))
        .expect(1)
        .mount(&server)
        .await;
    let rpc = RpcClient::builder()
        .region("cn-shanghai")
        .credentials(Credentials::new("testid", "testsecret"))
        .endpoint(&server.uri())
        .rate_limits(RateLimits::unlimited())
        .build()
        .unwrap();
    let answer = ListLoadBalancers::new(&rpc).vpc_id("vpc-1").send().await.unwrap();
    assert_eq!(answer.load_balancers.len(), 1);

    let sent = &server.received_requests().await.unwrap()[0];
    let params = params_of(&sent.body);
    assert_eq!(get(&params, "Action"), Some("ListLoadBalancers"));
    assert_eq!(get(&params, "Version"), Some("2020-06-16"));
    assert_eq!(get(&params, "VpcIds.1"), Some("vpc-1"));
    assert_eq!(get(&params, "RegionId"), Some("cn-shanghai"));
    let signature = get(&params, "Signature").expect("signed").to_owned();
    let rest = params.iter().filter(|(k, _)| k != "Signature").map(|(k, v)| (k.as_str(), v.as_str()));
    assert_eq!(signature, v1::signature(&v1::string_to_sign("POST", rest), "testsecret"), "the signature verifies");
}

/// Records the URLs it is asked to reach, and answers every call.
#[derive(Debug, Default)]
struct Urls(Mutex<Vec<String>>);

#[async_trait::async_trait]
impl Transport for Urls {
    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, TransportFailure> {
        self.0.lock().unwrap().push(request.url);
        Ok(HttpResponse { status: 200, body: br#"{"RequestId":"r-1"}"#.to_vec() })
    }
}

#[tokio::test]
async fn its_endpoint_and_rates_come_from_its_descriptor() {
    let urls = Arc::new(Urls::default());
    for network in [Network::Public, Network::Vpc] {
        let rpc = RpcClient::builder()
            .region("cn-shanghai")
            .network(network)
            .credentials(Credentials::new("testid", "testsecret"))
            .transport(urls.clone())
            .build()
            .unwrap();
        ListLoadBalancers::new(&rpc).send().await.unwrap();
    }
    assert_eq!(
        *urls.0.lock().unwrap(),
        ["https://alb.cn-shanghai.aliyuncs.com/", "https://alb-vpc.cn-shanghai.aliyuncs.com/"]
    );
    let sh = RegionId::new("cn-shanghai").unwrap();
    assert_eq!(ALB.host(&sh, Network::Public), "alb.cn-shanghai.aliyuncs.com");
    let limits = RateLimits::recommended();
    assert_eq!(limits.rate_for(&ALB, "CreateLoadBalancer").map(|r| r.burst), Some(3));
    assert_eq!(limits.rate_for(&ALB, "ListLoadBalancers").map(|r| r.burst), Some(120), "the default 1200/min");
}
