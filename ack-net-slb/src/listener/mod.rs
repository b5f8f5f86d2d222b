//! Listeners: create and set (from a [`ListenerSpec`]), get (back into one), start, stop,
//! delete, the listing with NextToken, and waiting until one runs.

mod spec;
mod validate;
mod wire;

use ack_net_core::operation::Ack;
use ack_net_core::paginate::{next_token_stream, TokenPage};
use ack_net_core::RpcRequest;
use futures_util::stream::BoxStream;
use serde::Deserialize;

pub use spec::{
    HealthCheckTiming, HttpConfig, HttpHealthCheck, HttpsConfig, Layer7Config, ListenerAcl, ListenerBackend,
    ListenerSpec, ProtocolConfig, StickySession, TcpConfig, TcpHealthCheck, UdpConfig, UdpHealthCheck, XForwardedFor,
};

use crate::common::{add_tags, check_port, validate_text};
use crate::types::{ListenerProtocol, ListenerStatus};
use crate::wait::{wait_until, Look};
use crate::{Error, LoadBalancerId, SlbClient, Tag, WaitPolicy};
use wire::{add_params, flatten_listing, Mode, WireListener};

/// The largest page DescribeLoadBalancerListeners returns.
pub const MAX_LISTENERS_PAGE: u32 = 100;

/// Message fragments with which the API says a listener does not exist.
const LISTENER_GONE: &[&str] = &["does not exist"];

/// A listener as the cloud has it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Listener {
    /// The load balancer.
    pub load_balancer_id: LoadBalancerId,
    /// Its settings, normalized: compare with a wanted spec's [`ListenerSpec::normalized`].
    pub spec: ListenerSpec,
    /// `Status`.
    pub status: ListenerStatus,
    /// The listener's tags.
    pub tags: Vec<Tag>,
}

/// Listener operations; from [`SlbClient::listeners`].
#[derive(Clone, Debug)]
pub struct Listeners {
    client: SlbClient,
}

impl Listeners {
    pub(crate) fn new(client: SlbClient) -> Self {
        Self { client }
    }

    /// `CreateLoadBalancer<P>Listener` for the spec's protocol. The new listener is stopped
    /// until [`Listeners::start`].
    pub fn create(&self, load_balancer_id: &LoadBalancerId, spec: ListenerSpec) -> CreateListener {
        CreateListener {
            client: self.client.clone(),
            load_balancer_id: load_balancer_id.clone(),
            spec,
            tags: Vec::new(),
        }
    }

    /// `SetLoadBalancer<P>ListenerAttribute`: makes the listener on the spec's port equal to
    /// the spec, as far as the API can change it in place (see
    /// [`ListenerSpec::needs_recreate`]). A description set before is kept when the spec
    /// has none.
    pub fn set(&self, load_balancer_id: &LoadBalancerId, spec: ListenerSpec) -> SetListener {
        SetListener { client: self.client.clone(), load_balancer_id: load_balancer_id.clone(), spec }
    }

    /// `Describe<P>ListenerAttribute`: the listener on `port` with `protocol`.
    pub async fn get(
        &self,
        load_balancer_id: &LoadBalancerId,
        port: u16,
        protocol: ListenerProtocol,
    ) -> Result<Listener, Error> {
        let req = attribute_request(load_balancer_id, port, &protocol)?;
        let action = req.action().to_owned();
        let w: WireListener = self.client.call(req).await?;
        let d = w.decode(&action, Some(&protocol))?;
        Ok(Listener {
            load_balancer_id: d.load_balancer_id.unwrap_or_else(|| load_balancer_id.clone()),
            spec: d.spec,
            status: d.status,
            tags: d.tags,
        })
    }

    /// `StartLoadBalancerListener`.
    pub fn start(&self, load_balancer_id: &LoadBalancerId, port: u16, protocol: ListenerProtocol) -> StartListener {
        StartListener::new(self.client.rpc(), load_balancer_id.clone(), port, protocol)
    }

    /// `StopLoadBalancerListener`.
    pub fn stop(&self, load_balancer_id: &LoadBalancerId, port: u16, protocol: ListenerProtocol) -> StopListener {
        StopListener::new(self.client.rpc(), load_balancer_id.clone(), port, protocol)
    }

    /// `DeleteLoadBalancerListener`. A listener (or load balancer) that is already gone
    /// counts as deleted: [`Removed::Already`](crate::Removed::Already).
    pub fn delete(&self, load_balancer_id: &LoadBalancerId, port: u16, protocol: ListenerProtocol) -> DeleteListener {
        DeleteListener::new(self.client.rpc(), load_balancer_id.clone(), port, protocol)
    }

    /// `DescribeLoadBalancerListeners`: one page with [`DescribeListeners::send`], every
    /// listener with [`DescribeListeners::into_stream`].
    pub fn describe(&self) -> DescribeListeners {
        DescribeListeners {
            client: self.client.clone(),
            load_balancer_ids: Vec::new(),
            port: None,
            protocol: None,
            description: None,
            max_results: None,
            next_token: None,
        }
    }

    /// Polls until the listener is `running` (after [`Listeners::start`]) and returns it.
    /// [`Error::WaitTimeout`] when the policy's timeout passes first.
    pub async fn wait_until_running(
        &self,
        load_balancer_id: &LoadBalancerId,
        port: u16,
        protocol: ListenerProtocol,
        policy: &WaitPolicy,
    ) -> Result<Listener, Error> {
        let id = format!("{load_balancer_id}:{port}/{protocol}");
        wait_until(policy, "listener", &id, "running", || async {
            let l = self.get(load_balancer_id, port, protocol.clone()).await?;
            Ok(if l.status == ListenerStatus::Running { Look::Ready(l) } else { Look::NotYet(l.status.to_string()) })
        })
        .await
    }
}

fn attribute_request(lb: &LoadBalancerId, port: u16, protocol: &ListenerProtocol) -> Result<RpcRequest, Error> {
    if !protocol.is_known() {
        return Err(Error::invalid_input("ListenerProtocol", format!("{protocol} is not tcp, udp, http or https")));
    }
    check_port("ListenerPort", port)?;
    let action = format!("DescribeLoadBalancer{}ListenerAttribute", protocol.action_part());
    Ok(RpcRequest::read(crate::SLB, action).param("LoadBalancerId", lb).param("ListenerPort", port))
}

/// A `CreateLoadBalancer<P>Listener` request.
///
/// ```no_run
/// # async fn demo(slb: ack_net_slb::SlbClient, lb: ack_net_slb::LoadBalancerId, group: ack_net_slb::VServerGroupId)
/// # -> Result<(), ack_net_slb::Error> {
/// use ack_net_slb::{ListenerBackend, ListenerProtocol, ListenerSpec, Tag, WaitPolicy};
/// let spec = ListenerSpec::tcp(80, ListenerBackend::VServerGroup(group)).with_description("web");
/// slb.listeners().create(&lb, spec).tag(Tag::new("owner", "me")).send().await?;
/// slb.listeners().start(&lb, 80, ListenerProtocol::Tcp).send().await?;
/// slb.listeners().wait_until_running(&lb, 80, ListenerProtocol::Tcp, &WaitPolicy::default()).await?;
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
#[must_use = "a request does nothing until sent"]
pub struct CreateListener {
    client: SlbClient,
    load_balancer_id: LoadBalancerId,
    spec: ListenerSpec,
    tags: Vec<Tag>,
}

impl CreateListener {
    /// Adds a tag to the listener.
    pub fn tag(mut self, tag: Tag) -> Self {
        self.tags.push(tag);
        self
    }

    /// The request as it will be sent; checks the spec first.
    pub fn to_request(&self) -> Result<RpcRequest, Error> {
        let action = format!("CreateLoadBalancer{}Listener", self.spec.listener_protocol().action_part());
        let req = RpcRequest::write(crate::SLB, action).param("LoadBalancerId", &self.load_balancer_id);
        let req = add_params(req, &self.spec, Mode::Create)?;
        add_tags(req, &self.tags)
    }

    /// Sends the request.
    pub async fn send(self) -> Result<(), Error> {
        let req = self.to_request()?;
        self.client.call_unit(req).await
    }
}

/// A `SetLoadBalancer<P>ListenerAttribute` request.
#[derive(Clone, Debug)]
#[must_use = "a request does nothing until sent"]
pub struct SetListener {
    client: SlbClient,
    load_balancer_id: LoadBalancerId,
    spec: ListenerSpec,
}

impl SetListener {
    /// The request as it will be sent; checks the spec first.
    pub fn to_request(&self) -> Result<RpcRequest, Error> {
        let action = format!("SetLoadBalancer{}ListenerAttribute", self.spec.listener_protocol().action_part());
        let req = RpcRequest::write(crate::SLB, action).param("LoadBalancerId", &self.load_balancer_id);
        add_params(req, &self.spec, Mode::Set)
    }

    /// Sends the request.
    pub async fn send(self) -> Result<(), Error> {
        let req = self.to_request()?;
        self.client.call_unit(req).await
    }
}

/// Declares a call on one listener (its load balancer, port and protocol).
macro_rules! listener_call {
    ($(#[doc = $doc:literal])* $name:ident, $action:literal, [$($output:tt)*] $(, gone: $gone:expr)?) => {
        ack_net_core::operation! {
            $(#[doc = $doc])*
            pub struct $name: crate::SLB, $action, write -> $($output)*, Error;
            required {
                load_balancer_id: LoadBalancerId = "LoadBalancerId";
                port: u16 = "ListenerPort";
                protocol: ListenerProtocol = "ListenerProtocol";
            }
            optional {}
            check: |op: &Self| check_listener(op.port, &op.protocol);
            $(gone: $gone;)?
        }
    };
}

listener_call!(
    /// A StartLoadBalancerListener request; checks the port and protocol.
    StartListener, "StartLoadBalancerListener", [() as Ack => |_| ()]
);

listener_call!(
    /// A StopLoadBalancerListener request; checks the port and protocol.
    StopListener, "StopLoadBalancerListener", [() as Ack => |_| ()]
);

listener_call!(
    /// A DeleteLoadBalancerListener request; checks the port and protocol. A listener (or load
    /// balancer) already gone is [`Removed::Already`](crate::Removed::Already).
    DeleteListener, "DeleteLoadBalancerListener", [Ack], gone: |e: &Error| e.is_gone(LISTENER_GONE)
);

/// A listener's port is 1-65535 and its protocol a known one.
fn check_listener(port: u16, protocol: &ListenerProtocol) -> Result<(), Error> {
    check_port("ListenerPort", port)?;
    if !protocol.is_known() {
        return Err(Error::invalid_input("ListenerProtocol", format!("{protocol} is not known")));
    }
    Ok(())
}

/// A `DescribeLoadBalancerListeners` request.
#[derive(Clone, Debug)]
#[must_use = "a request does nothing until sent"]
pub struct DescribeListeners {
    client: SlbClient,
    load_balancer_ids: Vec<LoadBalancerId>,
    port: Option<u16>,
    protocol: Option<ListenerProtocol>,
    description: Option<String>,
    max_results: Option<u32>,
    next_token: Option<String>,
}

/// One page of listeners.
#[derive(Clone, Debug)]
pub struct ListenerPage {
    /// The listeners.
    pub listeners: Vec<Listener>,
    /// The token of the next page; `None` at the end.
    pub next_token: Option<String>,
    /// `TotalCount`, when given.
    pub total_count: Option<u64>,
}

#[derive(Deserialize)]
struct ListResponse {
    #[serde(rename = "Listeners", default)]
    listeners: Vec<serde_json::Value>,
    #[serde(rename = "NextToken", default, deserialize_with = "crate::common::opt_string")]
    next_token: Option<String>,
    #[serde(rename = "TotalCount", default, deserialize_with = "ack_net_core::de::opt_number")]
    total_count: Option<u64>,
}

impl DescribeListeners {
    /// Only the listeners of this load balancer (may be given several times).
    pub fn load_balancer_id(mut self, id: &LoadBalancerId) -> Self {
        self.load_balancer_ids.push(id.clone());
        self
    }

    /// Only listeners on this port.
    pub fn port(mut self, port: u16) -> Self {
        self.port = Some(port);
        self
    }

    /// Only listeners of this protocol.
    pub fn protocol(mut self, protocol: ListenerProtocol) -> Self {
        self.protocol = Some(protocol);
        self
    }

    /// Only listeners with this description.
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.description = Some(description.into());
        self
    }

    /// `MaxResults`: the page size, 1-100.
    pub fn max_results(mut self, n: u32) -> Self {
        self.max_results = Some(n);
        self
    }

    /// `NextToken`: the page after the one that returned this token.
    pub fn next_token(mut self, token: impl Into<String>) -> Self {
        self.next_token = Some(token.into());
        self
    }

    /// The request as it will be sent.
    pub fn to_request(&self) -> Result<RpcRequest, Error> {
        if let Some(n) = self.max_results {
            if !(1..=MAX_LISTENERS_PAGE).contains(&n) {
                return Err(Error::invalid_input("MaxResults", format!("{n} is outside 1-{MAX_LISTENERS_PAGE}")));
            }
        }
        if let Some(p) = self.port {
            check_port("ListenerPort", p)?;
        }
        if let Some(d) = &self.description {
            validate_text("Description", d, 80)?;
        }
        Ok(RpcRequest::read(crate::SLB, "DescribeLoadBalancerListeners")
            .list_param("LoadBalancerId", &self.load_balancer_ids)
            .opt_param("ListenerPort", self.port)
            .opt_param("ListenerProtocol", self.protocol.as_ref())
            .opt_param("Description", self.description.as_deref())
            .opt_param("MaxResults", self.max_results)
            .opt_param("NextToken", self.next_token.as_deref()))
    }

    /// Sends the request: one page.
    pub async fn send(self) -> Result<ListenerPage, Error> {
        let req = self.to_request()?;
        let r: ListResponse = self.client.call(req).await?;
        let mut listeners = Vec::with_capacity(r.listeners.len());
        for item in r.listeners {
            let w: WireListener = serde_json::from_value(flatten_listing(item)).map_err(|e| {
                Error::Api(ack_net_core::Error::Decode {
                    action: "DescribeLoadBalancerListeners".into(),
                    status: 200,
                    message: e.to_string(),
                })
            })?;
            let d = w.decode("DescribeLoadBalancerListeners", None)?;
            let load_balancer_id = match (d.load_balancer_id, self.load_balancer_ids.as_slice()) {
                (Some(id), _) => id,
                (None, [only]) => only.clone(),
                (None, _) => {
                    return Err(Error::Api(ack_net_core::Error::Decode {
                        action: "DescribeLoadBalancerListeners".into(),
                        status: 200,
                        message: "a listener without LoadBalancerId".into(),
                    }))
                }
            };
            listeners.push(Listener { load_balancer_id, spec: d.spec, status: d.status, tags: d.tags });
        }
        Ok(ListenerPage { listeners, next_token: r.next_token, total_count: r.total_count })
    }

    /// Every listener on every page, following `NextToken`; errors keep their type.
    pub fn into_stream(self) -> BoxStream<'static, Result<Listener, Error>> {
        next_token_stream(move |token: Option<String>| {
            let mut page = self.clone();
            page.next_token = token;
            async move {
                let p = page.send().await?;
                Ok(TokenPage { items: p.listeners, next_token: p.next_token })
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::test_support::{client, params};

    #[test]
    fn requests() {
        let lb: LoadBalancerId = "lb-bp1a".parse().unwrap();
        let group = ListenerBackend::VServerGroup("rsp-bp1a".parse().unwrap());
        let c = client().listeners().create(&lb, ListenerSpec::udp(53, group.clone())).to_request().unwrap();
        assert_eq!(c.action(), "CreateLoadBalancerUDPListener");
        let s = client()
            .listeners()
            .set(&lb, ListenerSpec::https(443, group, "1_a".parse().unwrap()))
            .to_request()
            .unwrap();
        assert_eq!(s.action(), "SetLoadBalancerHTTPSListenerAttribute");
        let d = client().listeners().delete(&lb, 80, ListenerProtocol::Http).to_request().unwrap();
        assert_eq!(params(&d).get("ListenerProtocol").map(String::as_str), Some("http"));
        assert!(client().listeners().start(&lb, 0, ListenerProtocol::Tcp).to_request().is_err());
        assert!(client().listeners().stop(&lb, 80, ListenerProtocol::Unknown("sctp".into())).to_request().is_err());
        assert!(client().listeners().describe().max_results(101).to_request().is_err());
        let l = client().listeners().describe().load_balancer_id(&lb).port(80).to_request().unwrap();
        assert_eq!(params(&l).get("LoadBalancerId.1").map(String::as_str), Some("lb-bp1a"));
    }
}
