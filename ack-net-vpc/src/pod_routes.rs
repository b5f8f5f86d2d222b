//! Node pod-CIDR routes (the Flannel-compatible "VPC routes" mode ACK supports): keep one
//! route entry per node pod CIDR in a route table, pointing at the node's instance.
//!
//! [`diff`] is the pure decision: given the wanted set `{pod CIDR -> instance id}` and the
//! table's entries, which entries to create and which to delete. It only ever touches entries
//! of type `Custom` with a single next hop of type `Instance` (and, with a cluster CIDR, only
//! those inside it); every other entry stays. [`PodRouteConverger`] lists the table, applies
//! the delta (deletes first, then creates) and repeats on transient errors, so running it
//! again after an interruption converges.
//!
//! ```no_run
//! use std::collections::BTreeMap;
//! use ack_net_vpc::{PodRouteConverger, VpcClient};
//!
//! # async fn demo(client: VpcClient) -> Result<(), ack_net_vpc::Error> {
//! let converger = PodRouteConverger::new(client, &"vtb-bp1abc".parse()?).cluster_cidr("172.20.0.0/16".parse().unwrap());
//! let mut wanted = BTreeMap::new();
//! wanted.insert("172.20.0.0/24".parse().unwrap(), "i-bp1node0".to_owned());
//! wanted.insert("172.20.1.0/24".parse().unwrap(), "i-bp1node1".to_owned());
//! let report = converger.converge(&wanted).await?;
//! println!("created {}, deleted {}, calls {:?}", report.created.len(), report.deleted.len(), report.calls);
//! # Ok(()) }
//! ```

use ack_net_core::ErrorInfo;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use ipnet::Ipv4Net;

use crate::cidr::{overlaps, CidrError};
use crate::route_entry::validate_next_hop;
use crate::{Error, NextHopType, RouteEntry, RouteEntryId, RouteEntryType, RouteTableId, VpcClient};

/// A route the converger wants: the node's pod CIDR, via the node's instance.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct PodRoute {
    /// The pod CIDR.
    pub destination: Ipv4Net,
    /// The node's instance (`i-...`).
    pub instance_id: String,
}

/// A managed entry that must go: its node is gone, or its CIDR now belongs to another node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StaleRoute {
    /// The entry's id, when the table lists one.
    pub route_entry_id: Option<RouteEntryId>,
    /// Its destination.
    pub destination: Ipv4Net,
    /// The instance it points at.
    pub instance_id: String,
}

/// A wanted pod CIDR that an entry the converger does not manage already holds (a route to a
/// NAT gateway, an ECMP entry...). The converger leaves both alone and reports it.
#[derive(Clone, Debug, PartialEq)]
pub struct RouteConflict {
    /// The wanted route.
    pub wanted: PodRoute,
    /// The entry holding its destination.
    pub entry: RouteEntry,
}

/// What it takes to make a table match the wanted routes.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RouteDelta {
    /// Routes to create, by destination.
    pub create: Vec<PodRoute>,
    /// Managed entries to delete, by destination.
    pub delete: Vec<StaleRoute>,
    /// Wanted routes blocked by entries the converger does not manage.
    pub conflicts: Vec<RouteConflict>,
}

impl RouteDelta {
    /// Whether nothing needs creating or deleting (conflicts aside).
    pub fn is_empty(&self) -> bool {
        self.create.is_empty() && self.delete.is_empty()
    }
}

/// Checks the wanted set: instance ids of the right kind, canonical CIDRs, inside the
/// cluster CIDR when one is given, no two overlapping.
pub fn validate_wanted(wanted: &BTreeMap<Ipv4Net, String>, cluster_cidr: Option<Ipv4Net>) -> Result<(), Error> {
    let mut previous: Option<Ipv4Net> = None;
    for (cidr, instance) in wanted {
        if cidr.trunc() != *cidr {
            return Err(CidrError::NotCanonical { input: cidr.to_string(), network: cidr.trunc() }.into());
        }
        if let Some(scope) = cluster_cidr {
            if !scope.contains(cidr) {
                return Err(CidrError::OutsideVpc { cidr: *cidr, vpc: scope }.into());
            }
        }
        validate_next_hop(&NextHopType::Instance, instance)?;
        // Sorted by network address: an overlap, if any, is with the previous block.
        if let Some(p) = previous {
            if overlaps(p, *cidr) {
                return Err(CidrError::Overlap { cidr: *cidr, existing: p }.into());
            }
        }
        previous = Some(*cidr);
    }
    Ok(())
}

/// The entry as a managed pod route, if the converger manages it: `Custom`, a single
/// `Instance` next hop, an IPv4 destination (inside `scope` when given).
fn managed(entry: &RouteEntry, scope: Option<Ipv4Net>) -> Option<(Ipv4Net, &str)> {
    if entry.entry_type != Some(RouteEntryType::Custom) {
        return None;
    }
    let hop = entry.single_next_hop()?;
    if hop.next_hop_type != Some(NextHopType::Instance) {
        return None;
    }
    let dest = entry.destination_ipv4()?;
    if scope.is_some_and(|s| !s.contains(&dest)) {
        return None;
    }
    Some((dest, hop.next_hop_id.as_str()))
}

/// The delta that makes `existing` (a table's entries) hold exactly one managed entry per
/// wanted pod CIDR. Pure. Entries it does not manage are never deleted; a wanted CIDR such an
/// entry holds is a conflict, not a create.
pub fn diff(wanted: &BTreeMap<Ipv4Net, String>, existing: &[RouteEntry], cluster_cidr: Option<Ipv4Net>) -> RouteDelta {
    let mut delta = RouteDelta::default();
    let mut satisfied: BTreeSet<Ipv4Net> = BTreeSet::new();
    for entry in existing {
        let Some((dest, instance)) = managed(entry, cluster_cidr) else { continue };
        if wanted.get(&dest).is_some_and(|w| w == instance) && satisfied.insert(dest) {
            continue;
        }
        delta.delete.push(StaleRoute {
            route_entry_id: entry.route_entry_id.clone(),
            destination: dest,
            instance_id: instance.to_owned(),
        });
    }
    for (dest, instance) in wanted {
        if satisfied.contains(dest) {
            continue;
        }
        let route = PodRoute { destination: *dest, instance_id: instance.clone() };
        let blocker =
            existing.iter().find(|e| managed(e, cluster_cidr).is_none() && e.destination_ipv4() == Some(*dest));
        match blocker {
            Some(entry) => delta.conflicts.push(RouteConflict { wanted: route, entry: entry.clone() }),
            None => delta.create.push(route),
        }
    }
    delta.delete.sort_by_key(|s| s.destination);
    delta
}

/// A route the converger gave up on: the API refused it with a permanent error.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FailedRoute {
    /// `CreateRouteEntry` or `DeleteRouteEntry`.
    pub action: &'static str,
    /// The destination.
    pub destination: Ipv4Net,
    /// The instance.
    pub instance_id: String,
    /// What the API said.
    pub error: String,
}

/// What one [`PodRouteConverger::converge`] did.
#[derive(Clone, Debug, Default, PartialEq)]
#[non_exhaustive]
pub struct ConvergeReport {
    /// Entries created.
    pub created: Vec<PodRoute>,
    /// Entries deleted (or found already gone).
    pub deleted: Vec<StaleRoute>,
    /// Wanted routes blocked by entries the converger does not manage.
    pub conflicts: Vec<RouteConflict>,
    /// Routes the API refused permanently (not retried).
    pub failed: Vec<FailedRoute>,
    /// Rounds run (list, then apply).
    pub rounds: u32,
    /// Calls made, per action (each page of a listing is one call; the client's own retries
    /// are not counted here, a [`ack_net_core::CallStats`] on the client counts those).
    pub calls: BTreeMap<&'static str, u32>,
}

impl ConvergeReport {
    /// Whether the table now holds exactly the wanted routes.
    pub fn is_converged(&self) -> bool {
        self.conflicts.is_empty() && self.failed.is_empty()
    }

    /// Calls made in all.
    pub fn total_calls(&self) -> u32 {
        self.calls.values().sum()
    }

    fn count(&mut self, action: &'static str) {
        *self.calls.entry(action).or_default() += 1;
    }
}

/// Keeps a route table's node pod-CIDR entries equal to a wanted set. See the [module
/// docs](self).
#[derive(Clone, Debug)]
pub struct PodRouteConverger {
    client: VpcClient,
    route_table_id: RouteTableId,
    cluster_cidr: Option<Ipv4Net>,
    max_rounds: u32,
    round_delay: Duration,
}

/// How one write ended.
enum Outcome {
    Done,
    /// The entry was already there (an earlier, interrupted attempt got through): the next
    /// listing shows whether it points at the right instance.
    AlreadyThere,
    Transient(Error),
    Permanent(Error),
}

/// Errors worth retrying: throttling, 5xx, and the route table being busy with another change
/// (`IncorrectRouteEntryStatus`, `IncorrectStatus.*`, `OperationConflict`...). The VPC API
/// serializes changes to one table, so a write right after another often meets these.
fn is_transient(e: &Error) -> bool {
    e.is_retryable()
        || e.code().is_some_and(|c| (c.starts_with("Incorrect") && c.contains("Status")) || c.ends_with("Conflict"))
}

/// How many times one write is tried within a round.
const WRITE_ATTEMPTS: u32 = 8;
/// The longest pause between two tries of one write.
const MAX_WRITE_BACKOFF: Duration = Duration::from_secs(10);

impl PodRouteConverger {
    /// A converger for `route_table_id`. At most 5 rounds, 1 s apart (doubling), by default.
    pub fn new(client: VpcClient, route_table_id: &RouteTableId) -> Self {
        Self {
            client,
            route_table_id: route_table_id.clone(),
            cluster_cidr: None,
            max_rounds: 5,
            round_delay: Duration::from_secs(1),
        }
    }

    /// Only manage entries inside the cluster's pod CIDR (recommended: custom instance routes
    /// outside it, e.g. a default route via a NAT instance, are then never touched).
    pub fn cluster_cidr(mut self, cidr: Ipv4Net) -> Self {
        self.cluster_cidr = Some(cidr);
        self
    }

    /// How many list-and-apply rounds to try before giving up on transient errors (at least 1).
    pub fn max_rounds(mut self, rounds: u32) -> Self {
        self.max_rounds = rounds.max(1);
        self
    }

    /// The first pause before retrying a busy or throttled write, and before the second round
    /// (doubling after each, a write's pauses up to 10 s), on the tokio clock.
    pub fn round_delay(mut self, delay: Duration) -> Self {
        self.round_delay = delay;
        self
    }

    /// The route table.
    pub fn route_table_id(&self) -> &RouteTableId {
        &self.route_table_id
    }

    /// Lists the table and returns the delta, without changing anything (a dry run).
    pub async fn plan(&self, wanted: &BTreeMap<Ipv4Net, String>) -> Result<RouteDelta, Error> {
        validate_wanted(wanted, self.cluster_cidr)?;
        let mut report = ConvergeReport::default();
        let entries = self.list(&mut report).await?;
        Ok(diff(wanted, &entries, self.cluster_cidr))
    }

    /// Makes the table hold exactly the wanted routes: lists it, deletes stale managed entries,
    /// creates missing ones; on transient errors lists again and repeats, up to the round
    /// limit ([`Error::NotConverged`] then). Routes the API refuses permanently are reported in
    /// [`ConvergeReport::failed`] and not retried. Safe to run again at any time.
    pub async fn converge(&self, wanted: &BTreeMap<Ipv4Net, String>) -> Result<ConvergeReport, Error> {
        validate_wanted(wanted, self.cluster_cidr)?;
        let mut report = ConvergeReport::default();
        let mut given_up: BTreeSet<Ipv4Net> = BTreeSet::new();
        let mut delay = self.round_delay;
        let mut last_error: Option<Error> = None;
        for round in 1..=self.max_rounds {
            if round > 1 {
                tokio::time::sleep(delay).await;
                delay = delay.saturating_mul(2);
            }
            report.rounds = round;
            let entries = match self.list(&mut report).await {
                Ok(e) => e,
                Err(e) if is_transient(&e) => {
                    tracing::debug!(round, error = %e, "listing route entries failed; next round");
                    last_error = Some(e);
                    continue;
                }
                Err(e) => return Err(e),
            };
            let mut delta = diff(wanted, &entries, self.cluster_cidr);
            delta.create.retain(|r| !given_up.contains(&r.destination));
            delta.delete.retain(|r| !given_up.contains(&r.destination));
            report.conflicts = delta.conflicts.clone();
            if delta.is_empty() {
                return Ok(report);
            }
            match self.apply(delta, &mut report, &mut given_up).await {
                Ok(()) => return Ok(report),
                // Only a listing can tell whether an entry found "already there" is right.
                Err(None) => {}
                Err(Some(e)) => last_error = Some(e),
            }
        }
        Err(Error::NotConverged {
            route_table_id: self.route_table_id.to_string(),
            rounds: self.max_rounds,
            last_error: Box::new(last_error.unwrap_or_else(|| {
                Error::invalid_input("rounds", "entries kept reappearing between listings; raise max_rounds")
            })),
        })
    }

    /// Applies one delta; `Err` with the last transient error when another round is needed.
    async fn apply(
        &self,
        delta: RouteDelta,
        report: &mut ConvergeReport,
        given_up: &mut BTreeSet<Ipv4Net>,
    ) -> Result<(), Option<Error>> {
        let tables = self.client.route_tables();
        let mut again: Result<(), Option<Error>> = Ok(());
        let mut not_deleted: BTreeSet<Ipv4Net> = BTreeSet::new();
        for stale in delta.delete {
            let outcome = self
                .write(report, "DeleteRouteEntry", || {
                    let req = match &stale.route_entry_id {
                        Some(id) => tables.delete_entry(&self.route_table_id).route_entry_id(id),
                        None => tables
                            .delete_entry(&self.route_table_id)
                            .destination_cidr_block(stale.destination)
                            .next_hop_id(&stale.instance_id),
                    };
                    async move { req.send().await.map(drop) }
                })
                .await;
            match outcome {
                // Not found: someone (or an interrupted run) deleted it already.
                Outcome::Done | Outcome::AlreadyThere => {
                    tracing::info!(destination = %stale.destination, instance = %stale.instance_id, "route deleted");
                    report.deleted.push(stale);
                }
                Outcome::Transient(e) => {
                    not_deleted.insert(stale.destination);
                    again = Err(Some(e));
                }
                Outcome::Permanent(e) => {
                    not_deleted.insert(stale.destination);
                    given_up.insert(stale.destination);
                    report.failed.push(FailedRoute {
                        action: "DeleteRouteEntry",
                        destination: stale.destination,
                        instance_id: stale.instance_id,
                        error: e.to_string(),
                    });
                }
            }
        }
        for route in delta.create {
            if not_deleted.contains(&route.destination) {
                // The stale entry still holds the destination; the next round retries both.
                continue;
            }
            let outcome = self
                .write(report, "CreateRouteEntry", || {
                    let req = tables
                        .create_entry(&self.route_table_id, route.destination)
                        .next_hop(NextHopType::Instance, &route.instance_id);
                    async move { req.send().await.map(drop) }
                })
                .await;
            match outcome {
                Outcome::Done => {
                    tracing::info!(destination = %route.destination, instance = %route.instance_id, "route created");
                    report.created.push(route);
                }
                Outcome::AlreadyThere => {
                    if again.is_ok() {
                        again = Err(None);
                    }
                }
                Outcome::Transient(e) => again = Err(Some(e)),
                Outcome::Permanent(e) => {
                    given_up.insert(route.destination);
                    report.failed.push(FailedRoute {
                        action: "CreateRouteEntry",
                        destination: route.destination,
                        instance_id: route.instance_id,
                        error: e.to_string(),
                    });
                }
            }
        }
        again
    }

    /// One write, tried again with backoff while it fails transiently (up to
    /// [`WRITE_ATTEMPTS`] tries).
    async fn write<F, Fut>(&self, report: &mut ConvergeReport, action: &'static str, mut send: F) -> Outcome
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<(), Error>>,
    {
        let mut delay = self.round_delay;
        for attempt in 1..=WRITE_ATTEMPTS {
            report.count(action);
            let err = match send().await {
                Ok(()) => return Outcome::Done,
                Err(e) => e,
            };
            let already = match action {
                "DeleteRouteEntry" => err.is_not_found(),
                _ => err.code().is_some_and(|c| c.ends_with("EntryConflict.Duplicated")),
            };
            if already {
                return if action == "DeleteRouteEntry" { Outcome::Done } else { Outcome::AlreadyThere };
            }
            if !is_transient(&err) {
                return Outcome::Permanent(err);
            }
            if attempt == WRITE_ATTEMPTS {
                return Outcome::Transient(err);
            }
            tracing::debug!(action, attempt, error = %err, "route write failed; retrying");
            tokio::time::sleep(delay).await;
            delay = delay.saturating_mul(2).min(MAX_WRITE_BACKOFF.max(self.round_delay));
        }
        Outcome::Permanent(Error::invalid_input("attempts", "no attempt was made"))
    }

    async fn list(&self, report: &mut ConvergeReport) -> Result<Vec<RouteEntry>, Error> {
        let mut entries = Vec::new();
        let mut token: Option<String> = None;
        loop {
            report.count("DescribeRouteEntryList");
            let mut req = self.client.route_tables().describe_entries(&self.route_table_id).max_result(100);
            if let Some(t) = &token {
                req = req.next_token(t);
            }
            let page = req.send().await?;
            entries.extend(page.route_entries);
            match page.next_token {
                Some(t) if Some(&t) != token.as_ref() => token = Some(t),
                _ => return Ok(entries),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(json: &str) -> RouteEntry {
        serde_json::from_str(json).unwrap()
    }

    fn custom(id: &str, dest: &str, hop_type: &str, hop: &str) -> RouteEntry {
        entry(&format!(
            r#"{{"RouteEntryId":"{id}","DestinationCidrBlock":"{dest}","Type":"Custom","Status":"Available",
            "NextHops":{{"NextHop":[{{"NextHopType":"{hop_type}","NextHopId":"{hop}"}}]}}}}"#
        ))
    }

    fn wanted(pairs: &[(&str, &str)]) -> BTreeMap<Ipv4Net, String> {
        pairs.iter().map(|(c, i)| (c.parse().unwrap(), (*i).to_owned())).collect()
    }

    #[test]
    fn diff_touches_only_custom_instance_routes() {
        let existing = vec![
            entry(
                r#"{"DestinationCidrBlock":"10.0.0.0/24","Type":"System","Status":"Available","NextHops":{"NextHop":[{"NextHopType":"local"}]}}"#,
            ),
            custom("rte-keep", "172.20.0.0/24", "Instance", "i-0"),
            custom("rte-moved", "172.20.1.0/24", "Instance", "i-old"),
            custom("rte-gone", "172.20.9.0/24", "Instance", "i-9"),
            custom("rte-nat", "0.0.0.0/0", "NatGateway", "ngw-1"),
            custom("rte-natinst", "0.0.0.0/0", "Instance", "i-nat"),
            custom("rte-block", "172.20.3.0/24", "HaVip", "havip-1"),
        ];
        let w = wanted(&[
            ("172.20.0.0/24", "i-0"),
            ("172.20.1.0/24", "i-1"),
            ("172.20.2.0/24", "i-2"),
            ("172.20.3.0/24", "i-3"),
        ]);
        let scope = Some("172.20.0.0/16".parse().unwrap());
        let d = diff(&w, &existing, scope);
        let created: Vec<String> = d.create.iter().map(|r| format!("{}>{}", r.destination, r.instance_id)).collect();
        assert_eq!(created, ["172.20.1.0/24>i-1", "172.20.2.0/24>i-2"]);
        let deleted: Vec<&str> = d.delete.iter().map(|s| s.route_entry_id.as_ref().unwrap().as_str()).collect();
        assert_eq!(deleted, ["rte-moved", "rte-gone"]);
        assert_eq!(d.conflicts.len(), 1);
        assert_eq!(d.conflicts[0].wanted.destination.to_string(), "172.20.3.0/24");
        // Without a cluster CIDR, the custom instance default route is managed too.
        let d = diff(&w, &existing, None);
        assert!(d.delete.iter().any(|s| s.instance_id == "i-nat"));
        // Converged: nothing to do.
        let d = diff(&wanted(&[("172.20.0.0/24", "i-0")]), &existing[..2], scope);
        assert!(d.is_empty() && d.conflicts.is_empty());
    }

    #[test]
    fn diff_drops_duplicate_and_ecmp_entries_correctly() {
        let ecmp = entry(
            r#"{"RouteEntryId":"rte-e","DestinationCidrBlock":"172.20.5.0/24","Type":"Custom","Status":"Available",
            "NextHops":{"NextHop":[{"NextHopType":"Instance","NextHopId":"i-a"},{"NextHopType":"Instance","NextHopId":"i-b"}]}}"#,
        );
        let existing = vec![
            ecmp,
            custom("rte-1", "172.20.0.0/24", "Instance", "i-0"),
            custom("rte-2", "172.20.0.0/24", "Instance", "i-0"),
        ];
        let d = diff(&wanted(&[("172.20.0.0/24", "i-0"), ("172.20.5.0/24", "i-5")]), &existing, None);
        assert_eq!(d.delete.len(), 1, "the duplicate goes");
        assert!(d.create.is_empty());
        assert_eq!(d.conflicts.len(), 1, "ECMP entries are not managed");
    }

    #[test]
    fn wanted_sets_are_checked() {
        assert!(validate_wanted(&wanted(&[("172.20.0.0/24", "i-0"), ("172.20.1.0/24", "i-1")]), None).is_ok());
        let overlap = wanted(&[("172.20.0.0/16", "i-0"), ("172.20.1.0/24", "i-1")]);
        assert!(matches!(validate_wanted(&overlap, None), Err(Error::Cidr(CidrError::Overlap { .. }))));
        let nested = wanted(&[("172.20.0.0/16", "i-0"), ("172.20.1.0/24", "i-1"), ("172.21.0.0/24", "i-2")]);
        assert!(validate_wanted(&nested, None).is_err());
        assert!(validate_wanted(&wanted(&[("172.20.0.0/24", "eni-0")]), None).unwrap_err().is_invalid_input());
        let mut bad = BTreeMap::new();
        bad.insert(Ipv4Net::new("172.20.0.5".parse().unwrap(), 24).unwrap(), "i-0".to_owned());
        assert!(matches!(validate_wanted(&bad, None), Err(Error::Cidr(CidrError::NotCanonical { .. }))));
        let outside = wanted(&[("10.0.0.0/24", "i-0")]);
        assert!(validate_wanted(&outside, Some("172.20.0.0/16".parse().unwrap())).is_err());
    }
}
