//! DescribeSecurityGroupAttribute, AuthorizeSecurityGroup(Egress), RevokeSecurityGroup(Egress).

use ack_net_core::de;
use ack_net_core::operation::Ack;
use serde::{Deserialize, Serialize, Serializer};

use super::rule::{Direction, Permission, SecurityGroupRule};
use super::SecurityGroups;
use crate::common::{opt_parsed, validate_page_size, wrapped};
use crate::{Error, SecurityGroupId, VpcId};

/// The most rules one authorize or revoke call carries.
pub const MAX_RULES_PER_CALL: usize = 100;

impl SecurityGroups {
    /// DescribeSecurityGroupAttribute: the group's rules, one page with
    /// [`DescribeSecurityGroupAttribute::send`] or all with
    /// [`DescribeSecurityGroupAttribute::into_stream`].
    pub fn rules(&self, group_id: &SecurityGroupId) -> DescribeSecurityGroupAttribute {
        DescribeSecurityGroupAttribute::new(self.client.rpc(), group_id.clone(), "all")
    }

    /// AuthorizeSecurityGroup (or its Egress variant, by the rules' direction): adds rules.
    /// A rule the group already holds is left as it is.
    pub fn authorize(&self, group_id: &SecurityGroupId) -> RuleChange {
        RuleChange::new(self.client.rpc(), group_id.clone(), Rules { authorize: true, rules: Vec::new() })
    }

    /// RevokeSecurityGroup (or its Egress variant): removes the rules that match
    /// (description aside); a rule the group does not hold is no error.
    pub fn revoke(&self, group_id: &SecurityGroupId) -> RuleChange {
        RuleChange::new(self.client.rpc(), group_id.clone(), Rules { authorize: false, rules: Vec::new() })
    }
}

ack_net_core::operation! {
    /// A DescribeSecurityGroupAttribute request (NextToken paging).
    pub struct DescribeSecurityGroupAttribute: crate::ECS, "DescribeSecurityGroupAttribute", read
        -> SecurityGroupAttribute, Error;
    required {
        group_id: SecurityGroupId = "SecurityGroupId";
        direction: &'static str = "Direction";
    }
    optional {
        /// `MaxResults` (10-1000); without it the API answers every rule at once.
        max_results: Option<u32> = "MaxResults" => set(u32);
    }
    check: |op: &Self| match op.max_results {
        Some(n) => validate_page_size("MaxResults", n, 10, 1000),
        None => Ok(()),
    };
    pages: token, permissions: Permission, next_token;
}

impl DescribeSecurityGroupAttribute {
    /// Only rules of this direction (both by default).
    pub fn direction(mut self, d: Direction) -> Self {
        self.direction = d.as_str();
        self
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

ack_net_core::operation! {
    /// An authorize or revoke request: 1 to 100 rules of one direction. The rules' direction
    /// picks the action ([`RuleChange::action`]).
    pub struct RuleChange: crate::ECS, "AuthorizeSecurityGroup", idempotent_write -> () as Ack => |_| (), Error;
    required {
        group_id: SecurityGroupId = "SecurityGroupId";
        rules: Rules = "Permissions";
    }
    optional {}
    check: Self::check_input;
    action: Self::action;
}

/// The rules of an authorize or revoke call, sent as `Permissions.N.*`.
#[derive(Clone, Debug)]
pub(crate) struct Rules {
    authorize: bool,
    rules: Vec<SecurityGroupRule>,
}

impl Serialize for Rules {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        // Revoke matches rules by their fields; the description is not one of them.
        s.collect_seq(self.rules.iter().map(|r| r.wire(self.authorize)))
    }
}

impl RuleChange {
    /// Adds a rule.
    pub fn rule(mut self, rule: SecurityGroupRule) -> Self {
        self.rules.rules.push(rule);
        self
    }

    /// Adds rules.
    pub fn rules(mut self, rules: impl IntoIterator<Item = SecurityGroupRule>) -> Self {
        self.rules.rules.extend(rules);
        self
    }

    /// The action this request calls.
    pub fn action(&self) -> &'static str {
        let egress = self.rules.rules.first().is_some_and(|r| r.direction == Direction::Egress);
        match (self.rules.authorize, egress) {
            (true, false) => "AuthorizeSecurityGroup",
            (true, true) => "AuthorizeSecurityGroupEgress",
            (false, false) => "RevokeSecurityGroup",
            (false, true) => "RevokeSecurityGroupEgress",
        }
    }

    /// Checks every rule (ports fit the protocol, `80/70` is refused, priority 1-100...),
    /// 1 to 100 rules, one direction, none twice.
    fn check_input(&self) -> Result<(), Error> {
        let rules = &self.rules.rules;
        if rules.is_empty() {
            return Err(Error::invalid_input("Permissions", "name at least one rule"));
        }
        if rules.len() > MAX_RULES_PER_CALL {
            return Err(Error::invalid_input("Permissions", format!("at most {MAX_RULES_PER_CALL} rules in one call")));
        }
        let direction = rules[0].direction;
        for (i, r) in rules.iter().enumerate() {
            r.validate()?;
            if r.direction != direction {
                return Err(Error::invalid_input("Permissions", "ingress and egress rules go in separate calls"));
            }
            if rules[..i].iter().any(|o| o.key() == r.key()) {
                return Err(Error::invalid_input(
                    "Permissions",
                    format!("a rule for {} {} is given twice", r.protocol, r.peer),
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::rule::{IpProtocol, Peer, PortRange};
    use super::*;
    use crate::client::test_support::{client, params};

    fn sg() -> SecurityGroupId {
        "sg-1".parse().unwrap()
    }

    fn web() -> SecurityGroupRule {
        SecurityGroupRule::ingress(IpProtocol::Tcp, PortRange::single(80), Peer::cidr("10.0.0.0/8").unwrap())
            .description("ack-net: web")
    }

    #[test]
    fn authorize_and_revoke_parameters() {
        let sgs = client().security_groups();
        let sg = sg();
        let req = sgs.authorize(&sg).rule(web()).to_request().unwrap();
        assert_eq!(req.action(), "AuthorizeSecurityGroup");
        let p = params(&req);
        assert!(p.contains(&("Permissions.1.Description".into(), "ack-net: web".into())));
        let req = sgs.revoke(&sg).rule(web()).to_request().unwrap();
        assert_eq!(req.action(), "RevokeSecurityGroup");
        assert!(!params(&req).iter().any(|(k, _)| k.ends_with("Description")));
        let egress = SecurityGroupRule::egress(IpProtocol::All, PortRange::ALL, Peer::cidr("0.0.0.0/0").unwrap());
        assert_eq!(
            sgs.authorize(&sg).rule(egress.clone()).to_request().unwrap().action(),
            "AuthorizeSecurityGroupEgress"
        );
        assert!(sgs.authorize(&sg).rule(web()).rule(egress).to_request().is_err(), "mixed directions");
    }

    #[test]
    fn bad_rules_are_refused_before_any_call() {
        let sgs = client().security_groups();
        let sg = sg();
        assert!(sgs.authorize(&sg).to_request().is_err(), "no rule");
        assert!(sgs.authorize(&sg).rule(web()).rule(web()).to_request().is_err(), "twice");
        assert!(sgs.authorize(&sg).rule(web().priority(0)).to_request().is_err());
        let all_ports = SecurityGroupRule { port_range: PortRange::ALL, ..web() };
        assert!(sgs.authorize(&sg).rule(all_ports).to_request().is_err());
        let many: Vec<SecurityGroupRule> =
            (1..=101).map(|p| SecurityGroupRule { port_range: PortRange::single(p), ..web() }).collect();
        assert!(sgs.authorize(&sg).rules(many).to_request().is_err());
        assert!(sgs.rules(&sg).max_results(9).to_request().is_err());
        assert!("vpc-1".parse::<SecurityGroupId>().is_err());
    }
}
