//! Exact requests on the wire (wiremock): parameters, client tokens, paging, and that bad input
//! sends nothing.

use std::collections::BTreeMap;
use std::time::Duration;

use ack_net_core::{ErrorInfo, RetryPolicy};
use ack_net_vpc::{Error, NextHopType, RouteTableId, Tag, VSwitchId, VpcClient, VpcId, WaitPolicy, ZoneId};
use futures_util::TryStreamExt;
use serde_json::json;
use wiremock::{Match, Mock, MockServer, Request, ResponseTemplate};

/// A typed id (or zone) from its text.
fn id<T: std::str::FromStr>(s: &str) -> T
where
    T::Err: std::fmt::Debug,
{
    s.parse().expect("a valid id")
}

/// Matches a request whose form body says `Action=<action>`.
struct ActionIs(&'static str);

impl Match for ActionIs {
    fn matches(&self, request: &Request) -> bool {
        form(request).get("Action").map(String::as_str) == Some(self.0)
    }
}

fn form(request: &Request) -> BTreeMap<String, String> {
    url::form_urlencoded::parse(&request.body).into_owned().collect()
}

/// The operation parameters of a request: the form minus the common and signing ones.
fn op_params(request: &Request) -> BTreeMap<String, String> {
    const COMMON: &[&str] = &[
        "Format",
        "AccessKeyId",
        "SignatureMethod",
        "SignatureVersion",
        "SignatureNonce",
        "Timestamp",
        "Signature",
        "Version",
        "Action",
    ];
    form(request).into_iter().filter(|(k, _)| !COMMON.contains(&k.as_str())).collect()
}

fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
}

fn client(server: &MockServer, retry: RetryPolicy) -> VpcClient {
    let rpc = ack_net_mock::client_builder_at(&server.uri()).retry_policy(retry).build().expect("client");
    VpcClient::new(rpc)
}

async fn requests(server: &MockServer) -> Vec<Request> {
    server.received_requests().await.expect("recording on")
}

#[tokio::test]
async fn create_vpc_sends_exactly_the_documented_params() {
    let server = MockServer::start().await;
    Mock::given(ActionIs("CreateVpc"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"RequestId":"r1","VpcId":"vpc-1","VRouterId":"vrt-1","RouteTableId":"vtb-1","ResourceGroupId":"rg-1"}),
        ))
        .expect(1)
        .mount(&server)
        .await;
    let c = client(&server, RetryPolicy::no_retry());
    let created = c
        .vpcs()
        .create()
        .cidr_block("192.168.0.0/16")
        .name("my vpc")
        .description("for tests")
        .tag(Tag::new("team", "net"))
        .tag(Tag::new("env", "dev"))
        .client_token("create-my-vpc-1")
        .send()
        .await
        .unwrap();
    assert_eq!(created.vpc_id.as_str(), "vpc-1");
    assert_eq!(created.route_table_id.unwrap().as_str(), "vtb-1");
    let reqs = requests(&server).await;
    let f = form(&reqs[0]);
    assert_eq!(f["Version"], "2016-04-28");
    assert_eq!(f["Format"], "JSON");
    assert_eq!(
        op_params(&reqs[0]),
        map(&[
            ("RegionId", "cn-hangzhou"),
            ("CidrBlock", "192.168.0.0/16"),
            ("VpcName", "my vpc"),
            ("Description", "for tests"),
            ("Tag.1.Key", "team"),
            ("Tag.1.Value", "net"),
            ("Tag.2.Key", "env"),
            ("Tag.2.Value", "dev"),
            ("ClientToken", "create-my-vpc-1"),
        ])
    );
    // Spaces go as %20, never `+`.
    let body = String::from_utf8_lossy(&reqs[0].body);
    assert!(body.contains("VpcName=my%20vpc"), "{body}");
}

#[tokio::test]
async fn create_vswitch_retries_with_the_same_generated_token() {
    let server = MockServer::start().await;
    Mock::given(ActionIs("CreateVSwitch"))
        .respond_with(
            ResponseTemplate::new(503)
                .set_body_json(json!({"RequestId":"r0","Code":"ServiceUnavailable","Message":"busy"})),
        )
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(ActionIs("CreateVSwitch"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"RequestId":"r1","VSwitchId":"vsw-1"})))
        .with_priority(2)
        .mount(&server)
        .await;
    let retry = RetryPolicy::default().with_backoff(Duration::from_millis(1), Duration::from_millis(5));
    let c = client(&server, retry);
    let created =
        c.vswitches().create(&id("vpc-1"), &id("cn-hangzhou-h"), "10.0.0.0/20").name("pods").send().await.unwrap();
    assert_eq!(created.vswitch_id.as_str(), "vsw-1");
    let reqs = requests(&server).await;
    assert_eq!(reqs.len(), 2);
    let (a, b) = (form(&reqs[0]), form(&reqs[1]));
    assert_eq!(a["ClientToken"], b["ClientToken"], "a retry reuses the token");
    assert_eq!(a["ClientToken"].len(), 36, "a UUID");
    assert_ne!(a["SignatureNonce"], b["SignatureNonce"], "but not the nonce");
    let mut want = map(&[
        ("RegionId", "cn-hangzhou"),
        ("VpcId", "vpc-1"),
        ("ZoneId", "cn-hangzhou-h"),
        ("CidrBlock", "10.0.0.0/20"),
        ("VSwitchName", "pods"),
    ]);
    want.insert("ClientToken".into(), a["ClientToken"].clone());
    assert_eq!(op_params(&reqs[0]), want);
}

#[tokio::test]
async fn deletes_without_tokens_and_route_entry_params() {
    let server = MockServer::start().await;
    for action in ["DeleteVSwitch", "DeleteVpc", "DeleteRouteEntry"] {
        Mock::given(ActionIs(action))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({"RequestId":"r"})))
            .mount(&server)
            .await;
    }
    Mock::given(ActionIs("CreateRouteEntry"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"RequestId":"r","RouteEntryId":"rte-1"})))
        .mount(&server)
        .await;
    let c = client(&server, RetryPolicy::no_retry());
    c.vswitches().delete(&id("vsw-1")).send().await.unwrap();
    c.vpcs().delete(&id("vpc-1")).client_token("del-1").send().await.unwrap();
    let created = c
        .route_tables()
        .create_entry(&id("vtb-1"), "172.20.1.0/24")
        .next_hop(NextHopType::Instance, "i-node1")
        .description("pods of node1")
        .send()
        .await
        .unwrap();
    assert_eq!(created.route_entry_id.as_str(), "rte-1");
    c.route_tables()
        .delete_entry(&id("vtb-1"))
        .route_entry_id(id::<ack_net_vpc::RouteEntryId>("rte-1"))
        .send()
        .await
        .unwrap();
    let reqs = requests(&server).await;
    let got: Vec<BTreeMap<String, String>> = reqs.iter().map(op_params).collect();
    assert_eq!(got[0], map(&[("RegionId", "cn-hangzhou"), ("VSwitchId", "vsw-1")]));
    assert_eq!(got[1], map(&[("RegionId", "cn-hangzhou"), ("VpcId", "vpc-1"), ("ClientToken", "del-1")]));
    let token = got[2].get("ClientToken").expect("CreateRouteEntry carries a token").clone();
    assert_eq!(
        got[2],
        map(&[
            ("RegionId", "cn-hangzhou"),
            ("RouteTableId", "vtb-1"),
            ("DestinationCidrBlock", "172.20.1.0/24"),
            ("NextHopType", "Instance"),
            ("NextHopId", "i-node1"),
            ("Description", "pods of node1"),
            ("ClientToken", &token),
        ])
    );
    assert_eq!(got[3], map(&[("RegionId", "cn-hangzhou"), ("RouteTableId", "vtb-1"), ("RouteEntryId", "rte-1")]));
}

fn vswitch_json(i: u32) -> serde_json::Value {
    json!({"VSwitchId": format!("vsw-{i}"), "VpcId": "vpc-1", "ZoneId": "cn-hangzhou-h",
           "CidrBlock": format!("10.0.{i}.0/24"), "AvailableIpAddressCount": 252, "Status": "Available"})
}

/// Answers DescribeVSwitches from 25 VSwitches, paged as asked.
struct Paged;

impl wiremock::Respond for Paged {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let f = form(request);
        let page: u32 = f["PageNumber"].parse().unwrap();
        let size: u32 = f["PageSize"].parse().unwrap();
        let items: Vec<_> = (0..25).skip(((page - 1) * size) as usize).take(size as usize).map(vswitch_json).collect();
        ResponseTemplate::new(200).set_body_json(json!({"RequestId":"r","TotalCount":25,"PageNumber":page,
            "PageSize":size,"VSwitches":{"VSwitch":items}}))
    }
}

#[tokio::test]
async fn streams_page_by_number() {
    let server = MockServer::start().await;
    Mock::given(ActionIs("DescribeVSwitches")).respond_with(Paged).mount(&server).await;
    let c = client(&server, RetryPolicy::no_retry());
    let all: Vec<_> =
        c.vswitches().describe().vpc_id(id::<VpcId>("vpc-1")).page_size(10).into_stream().try_collect().await.unwrap();
    assert_eq!(all.len(), 25);
    assert_eq!(all[24].vswitch_id.as_str(), "vsw-24");
    let reqs = requests(&server).await;
    let pages: Vec<(String, String, String)> =
        reqs.iter().map(form).map(|f| (f["PageNumber"].clone(), f["PageSize"].clone(), f["VpcId"].clone())).collect();
    let want: Vec<(String, String, String)> =
        ["1", "2", "3"].iter().map(|p| ((*p).to_owned(), "10".to_owned(), "vpc-1".to_owned())).collect();
    assert_eq!(pages, want, "three pages, then stop: TotalCount is reached");
}

/// Answers DescribeRouteEntryList in two pages linked by NextToken.
struct Tokens;

impl wiremock::Respond for Tokens {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let f = form(request);
        let entry = |d: &str| {
            json!({"RouteEntryId": format!("rte-{}", d.replace(['.', '/'], "")), "DestinationCidrBlock": d,
            "Type":"Custom","Status":"Available","NextHops":{"NextHop":[{"NextHopType":"Instance","NextHopId":"i-1"}]}})
        };
        let body = match f.get("NextToken").map(String::as_str) {
            None => json!({"RequestId":"r","NextToken":"t2","RouteEntrys":{"RouteEntry":[entry("172.20.0.0/24")]}}),
            Some("t2") => json!({"RequestId":"r","NextToken":"","RouteEntrys":{"RouteEntry":[entry("172.20.1.0/24")]}}),
            Some(other) => panic!("unexpected token {other}"),
        };
        ResponseTemplate::new(200).set_body_json(body)
    }
}

#[tokio::test]
async fn streams_route_entries_by_token() {
    let server = MockServer::start().await;
    Mock::given(ActionIs("DescribeRouteEntryList")).respond_with(Tokens).mount(&server).await;
    let c = client(&server, RetryPolicy::no_retry());
    let all: Vec<_> = c
        .route_tables()
        .describe_entries(&id::<RouteTableId>("vtb-1"))
        .max_result(20)
        .into_stream()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(all.len(), 2);
    let reqs = requests(&server).await;
    assert_eq!(
        op_params(&reqs[0]),
        map(&[("RegionId", "cn-hangzhou"), ("RouteTableId", "vtb-1"), ("MaxResult", "20")])
    );
    assert_eq!(form(&reqs[1])["NextToken"], "t2");
}

#[tokio::test]
async fn bad_input_sends_nothing() {
    let server = MockServer::start().await;
    let c = client(&server, RetryPolicy::no_retry());
    let errors = vec![
        c.vpcs().create().cidr_block("10.0.0.0/33").send().await.unwrap_err(),
        Error::from("vsw-1".parse::<VpcId>().unwrap_err()),
        c.vswitches().create(&id("vpc-1"), &id("cn-beijing-a"), "10.0.0.0/24").send().await.unwrap_err(),
        c.vswitches().create(&id("vpc-1"), &id("cn-hangzhou-h"), "10.0.0.0/30").send().await.unwrap_err(),
        Error::from("vpc-1".parse::<VSwitchId>().unwrap_err()),
        Error::from("nowhere".parse::<ZoneId>().unwrap_err()),
        c.route_tables()
            .create_entry(&id("vtb-1"), "172.20.0.0/24")
            .next_hop(NextHopType::Instance, "eni-1")
            .send()
            .await
            .unwrap_err(),
        Error::from("vtb-1".parse::<VpcId>().unwrap_err()),
    ];
    for e in &errors {
        assert!(e.is_invalid_input(), "{e}");
    }
    let stream_err: Result<Vec<_>, _> = c.vpcs().describe().page_size(0).into_stream().try_collect().await;
    assert!(stream_err.unwrap_err().is_invalid_input());
    assert!(requests(&server).await.is_empty(), "no request was sent");
}

#[tokio::test]
async fn waiter_survives_throttling_and_pending() {
    let server = MockServer::start().await;
    let vpc = |status: &str| json!({"RequestId":"r","TotalCount":1,"Vpcs":{"Vpc":[{"VpcId":"vpc-1","CidrBlock":"10.0.0.0/8","Status":status}]}});
    Mock::given(ActionIs("DescribeVpcs"))
        .respond_with(
            ResponseTemplate::new(400)
                .set_body_json(json!({"RequestId":"r","Code":"Throttling.User","Message":"slow"})),
        )
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(ActionIs("DescribeVpcs"))
        .respond_with(ResponseTemplate::new(500).set_body_string("<html>oops</html>"))
        .up_to_n_times(1)
        .with_priority(2)
        .mount(&server)
        .await;
    Mock::given(ActionIs("DescribeVpcs"))
        .respond_with(ResponseTemplate::new(200).set_body_json(vpc("Pending")))
        .up_to_n_times(1)
        .with_priority(3)
        .mount(&server)
        .await;
    Mock::given(ActionIs("DescribeVpcs"))
        .respond_with(ResponseTemplate::new(200).set_body_json(vpc("Available")))
        .with_priority(4)
        .mount(&server)
        .await;
    let c = client(&server, RetryPolicy::no_retry());
    let policy =
        WaitPolicy::new(Duration::from_secs(5)).with_backoff(Duration::from_millis(5), Duration::from_millis(20));
    let v = c.vpcs().wait_until_available(&id("vpc-1"), &policy).await.unwrap();
    assert_eq!(v.status, ack_net_vpc::ResourceStatus::Available);
    assert_eq!(requests(&server).await.len(), 4);

    // A permanent error ends the wait at once.
    server.reset().await;
    Mock::given(ActionIs("DescribeVpcs"))
        .respond_with(
            ResponseTemplate::new(403).set_body_json(json!({"RequestId":"r","Code":"Forbidden.RAM","Message":"no"})),
        )
        .mount(&server)
        .await;
    let e = c.vpcs().wait_until_available(&id("vpc-1"), &policy).await.unwrap_err();
    assert_eq!(e.class(), ack_net_core::ErrorClass::Auth);
    assert_eq!(requests(&server).await.len(), 1);
}
