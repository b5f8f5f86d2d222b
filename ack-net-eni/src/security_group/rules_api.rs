//! DescribeSecurityGroupAttribute, AuthorizeSecurityGroup(Egress), RevokeSecurityGroup(Egress).

use ack_net_core::de;
use ack_net_core::listing::token_stream;
use ack_net_core::{Product, RpcRequest};
use futures_util::stream::BoxStream;
use serde::Deserialize;

use super::rule::{Direction, Permission, SecurityGroupRule};
use super::SecurityGroups;
use crate::common::{opt_parsed, validate_page_size, with_client_token, wrapped};
use crate::{EcsClient, Error, SecurityGroupId, VpcId};

/// The most rules one authorize or revoke call carries.
pub const MAX_RULES_PER_CALL: usize = 100;

impl SecurityGroups {
    /// DescribeSecurityGroupAttribute: the group's rules, one page with
    /// [`DescribeSecurityGroupAttribute::send`] or all with
    /// [`DescribeSecurityGroupAttribute::into_stream`].
    pub fn rules(&self, group_id: impl AsRef<str>) -> DescribeSecurityGroupAttribute {
        DescribeSecurityGroupAttribute {
            client: self.client.clone(),
            group_id: group_id.as_ref().to_owned(),
            direction: None,
            max_results: None,
            next_token: None,
        }
    }

    /// AuthorizeSecurityGroup (or its Egress variant, by the rules' direction): adds rules.
    /// A rule the group already holds is left as it is.
    pub fn authorize(&self, group_id: impl AsRef<str>) -> RuleChange {
        RuleChange::new(self.client.clone(), group_id.as_ref(), true)
    }

    /// RevokeSecurityGroup (or its Egress variant): removes the rules that match
    /// (description aside); a rule the group does not hold is no error.
    pub fn revoke(&self, group_id: impl AsRef<str>) -> RuleChange {
        RuleChange::new(self.client.clone(), group_id.as_ref(), false)
    }
}

/// A DescribeSecurityGroupAttribute request.
#[derive(Clone, Debug)]
#[must_use = "a request does nothing until sent"]
pub struct DescribeSecurityGroupAttribute {
    client: EcsClient,
    group_id: String,
    direction: Option<Direction>,
    max_results: Option<u32>,
    next_token: Option<String>,
}

impl DescribeSecurityGroupAttribute {
    /// Only rules of this direction (both by default).
    pub fn direction(mut self, d: Direction) -> Self {
        self.direction = Some(d);
        self
    }

    /// `MaxResults` (10-1000); without it the API answers every rule at once.
    pub fn max_results(mut self, n: u32) -> Self {
        self.max_results = Some(n);
        self
    }

    /// `NextToken`.
    pub fn next_token(mut self, token: impl Into<String>) -> Self {
        self.next_token = Some(token.into());
        self
    }

    /// The request as it will be sent; checks every field first.
    pub fn to_request(&self) -> Result<RpcRequest, Error> {
        let id = SecurityGroupId::new(self.group_id.as_str())?;
        if let Some(n) = self.max_results {
            validate_page_size("MaxResults", n, 10, 1000)?;
        }
        Ok(RpcRequest::read(Product::Ecs, "DescribeSecurityGroupAttribute")
            .param("SecurityGroupId", id)
            .param("Direction", self.direction.map_or("all", Direction::as_str))
            .opt_param("MaxResults", self.max_results)
            .opt_param("NextToken", self.next_token.as_deref().filter(|t| !t.is_empty())))
    }

    /// Fetches one page.
    pub async fn send(self) -> Result<SecurityGroupAttribute, Error> {
        let req = self.to_request()?;
        self.client.call(req).await
    }

    /// Every rule, over all pages (1000 a page unless [`max_results`](Self::max_results) is set).
    pub fn into_stream(mut self) -> BoxStream<'static, Result<Permission, Error>> {
        self.max_results = Some(self.max_results.unwrap_or(1000));
        self.next_token = None;
        let request = self.to_request();
        token_stream(self.client.rpc().clone(), request, |page: SecurityGroupAttribute| {
            (page.permissions, page.next_token)
        })
    }
}

/// What DescribeSecurityGroupAttribute answers.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct SecurityGroupAttribute {
    /// The request id.
    #[serde(rename = "RequestId", default)]
    pub request_id: String,
    /// The group.
    #[serde(rename = "SecurityGroupId")]
    pub security_group_id: SecurityGroupId,
    /// Its name.
    #[serde(rename = "SecurityGroupName", default, deserialize_with = "de::string")]
    pub name: String,
    /// Its description.
    #[serde(rename = "Description", default, deserialize_with = "de::string")]
    pub description: String,
    /// Its VPC.
    #[serde(rename = "VpcId", default, deserialize_with = "opt_parsed")]
    pub vpc_id: Option<VpcId>,
    /// The rules on this page.
    #[serde(rename = "Permissions", default, deserialize_with = "wrapped")]
    pub permissions: Vec<Permission>,
    /// The token of the next page; empty on the last.
    #[serde(rename = "NextToken", default, deserialize_with = "de::string")]
    pub next_token: String,
}

/// An authorize or revoke request: 1 to 100 rules of one direction.
#[derive(Clone, Debug)]
#[must_use = "a request does nothing until sent"]
pub struct RuleChange {
    client: EcsClient,
    group_id: String,
    authorize: bool,
    rules: Vec<SecurityGroupRule>,
    client_token: Option<String>,
}

impl RuleChange {
    fn new(client: EcsClient, group_id: &str, authorize: bool) -> Self {
        Self { client, group_id: group_id.to_owned(), authorize, rules: Vec::new(), client_token: None }
    }

    /// Adds a rule.
    pub fn rule(mut self, rule: SecurityGroupRule) -> Self {
        self.rules.push(rule);
        self
    }

    /// Adds rules.
    pub fn rules(mut self, rules: impl IntoIterator<Item = SecurityGroupRule>) -> Self {
        self.rules.extend(rules);
        self
    }

    /// `ClientToken`: the same token and rules apply only once.
    pub fn client_token(mut self, token: impl Into<String>) -> Self {
        self.client_token = Some(token.into());
        self
    }

    /// The action this request calls.
    pub fn action(&self) -> &'static str {
        let egress = self.rules.first().is_some_and(|r| r.direction == Direction::Egress);
        match (self.authorize, egress) {
            (true, false) => "AuthorizeSecurityGroup",
            (true, true) => "AuthorizeSecurityGroupEgress",
            (false, false) => "RevokeSecurityGroup",
            (false, true) => "RevokeSecurityGroupEgress",
        }
    }

    /// The request as it will be sent; checks every rule first (ports fit the protocol,
    /// `80/70` is refused, priority 1-100...), 1 to 100 rules, one direction, none twice.
    pub fn to_request(&self) -> Result<RpcRequest, Error> {
        let id = SecurityGroupId::new(self.group_id.as_str())?;
        if self.rules.is_empty() {
            return Err(Error::invalid_input("Permissions", "name at least one rule"));
        }
        if self.rules.len() > MAX_RULES_PER_CALL {
            return Err(Error::invalid_input("Permissions", format!("at most {MAX_RULES_PER_CALL} rules in one call")));
        }
        let direction = self.rules[0].direction;
        for (i, r) in self.rules.iter().enumerate() {
            r.validate()?;
            if r.direction != direction {
                return Err(Error::invalid_input("Permissions", "ingress and egress rules go in separate calls"));
            }
            if self.rules[..i].iter().any(|o| o.key() == r.key()) {
                return Err(Error::invalid_input(
                    "Permissions",
                    format!("a rule for {} {} is given twice", r.protocol, r.peer),
                ));
            }
        }
        let mut req = RpcRequest::idempotent_write(Product::Ecs, self.action()).param("SecurityGroupId", id);
        for (i, r) in self.rules.iter().enumerate() {
            r.add_params(req.params_mut(), i + 1);
            if !self.authorize {
                // Revoke matches rules by their fields; the description is not one of them.
                req.params_mut().remove(&format!("Permissions.{}.Description", i + 1));
            }
        }
        Ok(with_client_token(req, self.client_token.as_deref())?)
    }

    /// Sends the request.
    pub async fn send(self) -> Result<(), Error> {
        let req = self.to_request()?;
        let _: serde_json::Value = self.client.call(req).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::rule::{IpProtocol, Peer, PortRange};
    use super::*;
    use crate::client::test_support::{client, params};

    fn web() -> SecurityGroupRule {
        SecurityGroupRule::ingress(IpProtocol::Tcp, PortRange::single(80), Peer::cidr("10.0.0.0/8").unwrap())
            .description("ack-net: web")
    }

    #[test]
    fn authorize_and_revoke_parameters() {
        let sgs = client().security_groups();
        let req = sgs.authorize("sg-1").rule(web()).to_request().unwrap();
        assert_eq!(req.action(), "AuthorizeSecurityGroup");
        let p = params(&req);
        assert!(p.contains(&("Permissions.1.Description".into(), "ack-net: web".into())));
        let req = sgs.revoke("sg-1").rule(web()).to_request().unwrap();
        assert_eq!(req.action(), "RevokeSecurityGroup");
        assert!(!params(&req).iter().any(|(k, _)| k.ends_with("Description")));
        let egress = SecurityGroupRule::egress(IpProtocol::All, PortRange::ALL, Peer::cidr("0.0.0.0/0").unwrap());
        assert_eq!(
            sgs.authorize("sg-1").rule(egress.clone()).to_request().unwrap().action(),
            "AuthorizeSecurityGroupEgress"
        );
        assert!(sgs.authorize("sg-1").rule(web()).rule(egress).to_request().is_err(), "mixed directions");
    }

    #[test]
    fn bad_rules_are_refused_before_any_call() {
        let sgs = client().security_groups();
        assert!(sgs.authorize("sg-1").to_request().is_err(), "no rule");
        assert!(sgs.authorize("sg-1").rule(web()).rule(web()).to_request().is_err(), "twice");
        assert!(sgs.authorize("sg-1").rule(web().priority(0)).to_request().is_err());
        let all_ports = SecurityGroupRule { port_range: PortRange::ALL, ..web() };
        assert!(sgs.authorize("sg-1").rule(all_ports).to_request().is_err());
        let many: Vec<SecurityGroupRule> =
            (1..=101).map(|p| SecurityGroupRule { port_range: PortRange::single(p), ..web() }).collect();
        assert!(sgs.authorize("sg-1").rules(many).to_request().is_err());
        assert!(sgs.rules("sg-1").max_results(9).to_request().is_err());
        assert!(sgs.rules("vpc-1").to_request().is_err());
    }
}
