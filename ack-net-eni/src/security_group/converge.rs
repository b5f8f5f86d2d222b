//! The security-group rule converger: a pure diff of the rules a tool wants against the
//! rules a group holds, and an executor that authorizes and revokes accordingly.
//!
//! A tool owns the rules whose description starts with its prefix (`ack-net:`); every
//! other rule is foreign and never touched.

use std::collections::HashSet;

use futures_util::TryStreamExt;

use super::rule::{Direction, Permission, RuleKey, SecurityGroupRule};
use super::rules_api::MAX_RULES_PER_CALL;
use super::SecurityGroups;
use crate::{EcsClient, Error, SecurityGroupId};

impl SecurityGroups {
    /// A converger for `group_id`, owning the rules whose description starts with
    /// `owner_prefix`.
    ///
    /// ```no_run
    /// # async fn demo(ecs: ack_net_eni::EcsClient) -> Result<(), ack_net_eni::Error> {
    /// use ack_net_eni::{IpProtocol, Peer, PortRange, SecurityGroupRule};
    /// let report = ecs
    ///     .security_groups()
    ///     .converger(&"sg-bp67acfmxazb4p".parse()?, "ack-net:")
    ///     // Pods (10.1.0.0/16) reach the instances, and the instances reach the pods.
    ///     .rule(SecurityGroupRule::ingress(IpProtocol::All, PortRange::ALL, Peer::cidr("10.1.0.0/16")?).description("pods"))
    ///     .rule(SecurityGroupRule::ingress(IpProtocol::All, PortRange::ALL, Peer::group("sg-bp67acfmxazb4p")?))
    ///     .apply()
    ///     .await?;
    /// println!("{} rules added, {} removed in {} calls", report.plan.authorize.len(), report.plan.revoke.len(), report.calls.len());
    /// # Ok(()) }
    /// ```
    pub fn converger(&self, group_id: &SecurityGroupId, owner_prefix: impl Into<String>) -> RuleConverger {
        RuleConverger {
            client: self.client.clone(),
            group_id: group_id.clone(),
            owner_prefix: owner_prefix.into(),
            wanted: Vec::new(),
        }
    }
}

/// What it takes to make a group hold exactly the wanted rules (among those it owns).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RulePlan {
    /// Wanted rules the group lacks: to authorize.
    pub authorize: Vec<SecurityGroupRule>,
    /// Owned rules no longer wanted: to revoke.
    pub revoke: Vec<SecurityGroupRule>,
    /// Wanted rules the group holds already.
    pub unchanged: Vec<SecurityGroupRule>,
    /// Wanted rules that a foreign rule with the same fields already grants (the API holds
    /// one rule per set of fields, so these are neither added nor ever revoked).
    pub covered_by_foreign: Vec<SecurityGroupRule>,
    /// How many foreign rules the group holds (left untouched).
    pub foreign: usize,
    /// Owned rules this crate cannot model (prefix lists, unknown protocols); left untouched.
    pub unmanageable: Vec<Permission>,
}

impl RulePlan {
    /// The plan for a group holding `actual` when the owner of `owner_prefix` wants
    /// `wanted`. Pure. Wanted rules are checked, given the prefix in their description when
    /// they lack it, and de-duplicated; rules are the same when all their fields but the
    /// description are (addresses compared in canonical form).
    ///
    /// ```
    /// use ack_net_eni::{IpProtocol, Peer, Permission, PortRange, RulePlan, SecurityGroupRule};
    /// let want = SecurityGroupRule::ingress(IpProtocol::Tcp, PortRange::single(443), Peer::cidr("10.0.0.0/8").unwrap());
    /// let plan = RulePlan::compute("ack-net:", &[want], &[]).unwrap();
    /// assert_eq!(plan.authorize.len(), 1);
    /// assert_eq!(plan.authorize[0].description, "ack-net:");
    /// ```
    pub fn compute(owner_prefix: &str, wanted: &[SecurityGroupRule], actual: &[Permission]) -> Result<RulePlan, Error> {
        let wanted = normalize(owner_prefix, wanted)?;
        let mut plan = RulePlan::default();
        let mut owned: Vec<SecurityGroupRule> = Vec::new();
        let mut foreign_keys: HashSet<RuleKey> = HashSet::new();
        for p in actual {
            let mine = p.description.starts_with(owner_prefix);
            match (p.to_rule(), mine) {
                (Some(r), true) => owned.push(r),
                (None, true) => plan.unmanageable.push(p.clone()),
                (Some(r), false) => {
                    plan.foreign += 1;
                    foreign_keys.insert(r.key());
                }
                (None, false) => plan.foreign += 1,
            }
        }
        let owned_keys: HashSet<RuleKey> = owned.iter().map(SecurityGroupRule::key).collect();
        let wanted_keys: HashSet<RuleKey> = wanted.iter().map(SecurityGroupRule::key).collect();
        for w in wanted {
            let k = w.key();
            if owned_keys.contains(&k) {
                plan.unchanged.push(w);
            } else if foreign_keys.contains(&k) {
                plan.covered_by_foreign.push(w);
            } else {
                plan.authorize.push(w);
            }
        }
        let mut revoked: HashSet<RuleKey> = HashSet::new();
        for o in owned {
            let k = o.key();
            if !wanted_keys.contains(&k) && revoked.insert(k) {
                plan.revoke.push(o);
            }
        }
        Ok(plan)
    }

    /// Whether the group already holds exactly the wanted rules.
    pub fn is_empty(&self) -> bool {
        self.authorize.is_empty() && self.revoke.is_empty()
    }
}

fn normalize(owner_prefix: &str, wanted: &[SecurityGroupRule]) -> Result<Vec<SecurityGroupRule>, Error> {
    if owner_prefix.trim().is_empty() {
        return Err(Error::invalid_input("owner prefix", "must not be empty: it would claim every rule of the group"));
    }
    let mut out: Vec<SecurityGroupRule> = Vec::with_capacity(wanted.len());
    let mut seen: HashSet<RuleKey> = HashSet::new();
    for r in wanted {
        let mut r = r.clone();
        if !r.description.starts_with(owner_prefix) {
            r.description = if r.description.is_empty() {
                owner_prefix.to_owned()
            } else {
                format!("{owner_prefix} {}", r.description)
            };
        }
        r.validate()?;
        if seen.insert(r.key()) {
            out.push(r);
        }
    }
    Ok(out)
}

/// One authorize or revoke call the converger made.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct RuleCall {
    /// `AuthorizeSecurityGroup`, `RevokeSecurityGroupEgress`...
    pub action: &'static str,
    /// How many rules it carried.
    pub rules: usize,
}

/// What [`RuleConverger::apply`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ConvergeReport {
    /// The plan carried out.
    pub plan: RulePlan,
    /// The write calls made, in order (the rules were read with DescribeSecurityGroupAttribute
    /// first).
    pub calls: Vec<RuleCall>,
}

/// Keeps the rules an owner holds in a security group equal to the rules it wants; from
/// [`SecurityGroups::converger`].
#[derive(Clone, Debug)]
#[must_use = "a converger does nothing until planned or applied"]
pub struct RuleConverger {
    client: EcsClient,
    group_id: SecurityGroupId,
    owner_prefix: String,
    wanted: Vec<SecurityGroupRule>,
}

impl RuleConverger {
    /// Wants a rule.
    pub fn rule(mut self, rule: SecurityGroupRule) -> Self {
        self.wanted.push(rule);
        self
    }

    /// Wants rules.
    pub fn rules(mut self, rules: impl IntoIterator<Item = SecurityGroupRule>) -> Self {
        self.wanted.extend(rules);
        self
    }

    /// Reads the group's rules and computes the plan, without changing anything. Bad wanted
    /// rules are refused before any call.
    pub async fn plan(&self) -> Result<RulePlan, Error> {
        normalize(&self.owner_prefix, &self.wanted)?;
        let actual: Vec<Permission> =
            SecurityGroups::new(self.client.clone()).rules(&self.group_id).into_stream().try_collect().await?;
        RulePlan::compute(&self.owner_prefix, &self.wanted, &actual)
    }

    /// Plans, then authorizes what is missing and only then revokes what is no longer wanted
    /// (so traffic that stays allowed is never dropped in between), at most 100 rules a
    /// call, one direction a call.
    pub async fn apply(&self) -> Result<ConvergeReport, Error> {
        let plan = self.plan().await?;
        let groups = SecurityGroups::new(self.client.clone());
        let mut calls = Vec::new();
        for (authorize, rules) in [(true, &plan.authorize), (false, &plan.revoke)] {
            for direction in [Direction::Ingress, Direction::Egress] {
                let these: Vec<SecurityGroupRule> =
                    rules.iter().filter(|r| r.direction == direction).cloned().collect();
                for chunk in these.chunks(MAX_RULES_PER_CALL) {
                    let change =
                        if authorize { groups.authorize(&self.group_id) } else { groups.revoke(&self.group_id) };
                    let change = change.rules(chunk.iter().cloned());
                    let action = change.action();
                    change.send().await?;
                    tracing::debug!(group = %self.group_id, action, rules = chunk.len(), "security group rules changed");
                    calls.push(RuleCall { action, rules: chunk.len() });
                }
            }
        }
        Ok(ConvergeReport { plan, calls })
    }
}

#[cfg(test)]
mod tests {
    use super::super::rule::{IpProtocol, Peer, PortRange};
    use super::*;

    fn perm(proto: &str, ports: &str, cidr: &str, desc: &str) -> Permission {
        serde_json::from_value(serde_json::json!({
            "Direction": "ingress", "IpProtocol": proto, "PortRange": ports, "SourceCidrIp": cidr,
            "Policy": "Accept", "Priority": "1", "NicType": "intranet", "Description": desc,
        }))
        .unwrap()
    }

    fn tcp(port: u16, cidr: &str) -> SecurityGroupRule {
        SecurityGroupRule::ingress(IpProtocol::Tcp, PortRange::single(port), Peer::cidr(cidr).unwrap())
    }

    #[test]
    fn from_empty() {
        let plan = RulePlan::compute("ack-net:", &[tcp(80, "10.0.0.0/8"), tcp(443, "10.0.0.0/8")], &[]).unwrap();
        assert_eq!(plan.authorize.len(), 2);
        assert!(plan.revoke.is_empty());
        assert!(plan.authorize.iter().all(|r| r.description.starts_with("ack-net:")));
    }

    #[test]
    fn from_drift_with_foreign_rules() {
        let actual = vec![
            perm("TCP", "80/80", "10.0.0.0/8", "ack-net: web"),     // still wanted
            perm("TCP", "8080/8080", "10.0.0.0/8", "ack-net:"),     // no longer wanted
            perm("TCP", "22/22", "0.0.0.0/0", "ssh by the admin"),  // foreign
            perm("TCP", "443/443", "10.0.0.0/8", "someone else's"), // foreign, covers a wanted rule
            perm("SCTP", "1/1", "10.0.0.0/8", "ack-net: odd"),      // owned, not modelled
        ];
        let wanted = [tcp(80, "10.1.2.3/8").description("web"), tcp(443, "10.0.0.0/8"), tcp(53, "10.0.0.0/8")];
        let plan = RulePlan::compute("ack-net:", &wanted, &actual).unwrap();
        assert_eq!(plan.unchanged.len(), 1, "80 matches in canonical form, description aside");
        assert_eq!(plan.covered_by_foreign.len(), 1);
        assert_eq!(plan.authorize.len(), 1);
        assert_eq!(plan.authorize[0].port_range, PortRange::single(53));
        assert_eq!(plan.revoke.len(), 1);
        assert_eq!(plan.revoke[0].port_range, PortRange::single(8080));
        assert_eq!(plan.foreign, 2);
        assert_eq!(plan.unmanageable.len(), 1);
    }

    #[test]
    fn converged_is_empty_and_bad_input_is_refused() {
        let actual = vec![perm("TCP", "80/80", "10.0.0.0/8", "ack-net:")];
        assert!(RulePlan::compute("ack-net:", &[tcp(80, "10.0.0.0/8"), tcp(80, "10.0.0.0/8")], &actual)
            .unwrap()
            .is_empty());
        assert!(RulePlan::compute("", &[], &actual).is_err());
        let bad = SecurityGroupRule { port_range: PortRange::ALL, ..tcp(80, "10.0.0.0/8") };
        assert!(RulePlan::compute("ack-net:", &[bad], &[]).is_err());
    }

    fn to_permission(r: &SecurityGroupRule) -> Permission {
        let mut p = perm(r.protocol.as_str(), &r.port_range.to_string(), &r.peer.to_string(), &r.description);
        p.direction = r.direction.as_str().to_owned();
        if r.direction == Direction::Egress {
            p.dest_cidr_ip = std::mem::take(&mut p.source_cidr_ip);
        }
        p.priority = r.priority.to_string();
        p
    }

    fn arb_rule() -> impl proptest::strategy::Strategy<Value = (SecurityGroupRule, bool)> {
        use proptest::prelude::*;
        (any::<bool>(), 1u16..6, prop::sample::select(vec!["10.0.0.0/8", "192.168.0.0/16"]), 1u8..3, any::<bool>())
            .prop_map(|(egress, port, cidr, priority, owned)| {
                let peer = Peer::cidr(cidr).unwrap();
                let r = if egress {
                    SecurityGroupRule::egress(IpProtocol::Tcp, PortRange::single(port), peer)
                } else {
                    SecurityGroupRule::ingress(IpProtocol::Tcp, PortRange::single(port), peer)
                };
                let desc = if owned { "ack-net: x" } else { "foreign" };
                (r.priority(priority).description(desc), owned)
            })
    }

    proptest::proptest! {
        /// Carrying out a plan converges: the next plan is empty, foreign rules are kept,
        /// and the owned rules are exactly the wanted ones not granted by a foreign rule.
        #[test]
        fn applying_a_plan_converges(
            wanted in proptest::collection::vec(arb_rule(), 0..8),
            actual in proptest::collection::vec(arb_rule(), 0..8),
        ) {
            // The API holds one rule per key: dedupe the actual rules as it would.
            let mut seen = HashSet::new();
            let actual: Vec<Permission> = actual
                .iter()
                .filter(|(r, _)| seen.insert(r.key()))
                .map(|(r, _)| to_permission(r))
                .collect();
            let wanted: Vec<SecurityGroupRule> = wanted.into_iter().map(|(r, _)| r.description("")).collect();
            let plan = RulePlan::compute("ack-net:", &wanted, &actual).unwrap();
            let revoked: HashSet<RuleKey> = plan.revoke.iter().map(SecurityGroupRule::key).collect();
            let mut after: Vec<Permission> = actual
                .iter()
                .filter(|p| !(p.description.starts_with("ack-net:") && revoked.contains(&p.to_rule().unwrap().key())))
                .cloned()
                .collect();
            after.extend(plan.authorize.iter().map(to_permission));
            let again = RulePlan::compute("ack-net:", &wanted, &after).unwrap();
            proptest::prop_assert!(again.is_empty(), "{again:?}");
            proptest::prop_assert_eq!(again.foreign, plan.foreign);
            let owned: HashSet<RuleKey> = after
                .iter()
                .filter(|p| p.description.starts_with("ack-net:"))
                .map(|p| p.to_rule().unwrap().key())
                .collect();
            let expected: HashSet<RuleKey> = again.unchanged.iter().map(SecurityGroupRule::key).collect();
            proptest::prop_assert_eq!(owned, expected);
        }
    }
}
