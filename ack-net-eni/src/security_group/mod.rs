//! Security groups: create, describe, delete; their rules (describe, authorize, revoke);
//! and the [`RuleConverger`] that keeps the rules a tool owns equal to what it wants.

use ack_net_core::de;
use ack_net_core::input::validate_opt_text;
use ack_net_core::{ErrorInfo, RpcRequest};
use serde::Deserialize;

use crate::common::{opt_parsed, validate_tags, wire_tags, wrapped, Removed};
use crate::{EcsClient, Error, SecurityGroupId, Tag, VpcId};

mod converge;
mod rule;
mod rules_api;

pub use converge::{ConvergeReport, RuleCall, RuleConverger, RulePlan};
pub use rule::{Direction, IpProtocol, Peer, Permission, Policy, PortRange, SecurityGroupRule};
pub use rules_api::{DescribeSecurityGroupAttribute, RuleChange, SecurityGroupAttribute, MAX_RULES_PER_CALL};

/// The largest page DescribeSecurityGroups returns.
pub const MAX_PAGE_SIZE: u32 = 50;

/// Security-group operations; from [`EcsClient::security_groups`].
#[derive(Clone, Debug)]
pub struct SecurityGroups {
    client: EcsClient,
}

impl SecurityGroups {
    pub(crate) fn new(client: EcsClient) -> Self {
        Self { client }
    }

    /// CreateSecurityGroup in `vpc_id`.
    pub fn create(&self, vpc_id: &VpcId) -> CreateSecurityGroup {
        CreateSecurityGroup::new(self.client.rpc(), vpc_id.clone(), "normal")
    }

    /// DeleteSecurityGroup. Refused while ENIs or instances use the group
    /// (`DependencyViolation`); a group that does not exist counts as deleted.
    pub async fn delete(&self, group_id: &SecurityGroupId) -> Result<Removed, Error> {
        let req = RpcRequest::write(crate::ECS, "DeleteSecurityGroup").param("SecurityGroupId", group_id);
        let result = self.client.rpc().call::<serde::de::IgnoredAny>(req).await;
        Ok(Removed::from_result(result, |e| e.is_code("InvalidSecurityGroupId.NotFound"))?)
    }

    /// DescribeSecurityGroups: one page with [`DescribeSecurityGroups::send`], all with
    /// [`DescribeSecurityGroups::into_stream`].
    pub fn describe(&self) -> DescribeSecurityGroups {
        DescribeSecurityGroups::new(self.client.rpc())
    }
}

/// What CreateSecurityGroup answers.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct CreatedSecurityGroup {
    /// The request id.
    #[serde(rename = "RequestId", default)]
    pub request_id: String,
    /// The new group.
    #[serde(rename = "SecurityGroupId")]
    pub security_group_id: SecurityGroupId,
}

ack_net_core::operation! {
    /// A CreateSecurityGroup request; answers the new group's id.
    pub struct CreateSecurityGroup: crate::ECS, "CreateSecurityGroup", idempotent_write
        -> SecurityGroupId as CreatedSecurityGroup => |c: CreatedSecurityGroup| c.security_group_id, Error;
    required {
        vpc_id: VpcId = "VpcId";
        group_type: &'static str = "SecurityGroupType";
    }
    optional {
        /// `SecurityGroupName` (2-128 characters).
        name: Option<String> = "SecurityGroupName" => into(String);
        /// `Description` (at most 256 characters).
        description: Option<String> = "Description" => into(String);
        /// Tags for the new group.
        tags: Vec<Tag> = "Tag" => extend(Tag), push tag;
    }
    check: Self::check_input;
}

impl CreateSecurityGroup {
    /// An enterprise security group (`SecurityGroupType=enterprise`) instead of a normal one.
    pub fn enterprise(mut self, enterprise: bool) -> Self {
        self.group_type = if enterprise { "enterprise" } else { "normal" };
        self
    }

    fn check_input(&self) -> Result<(), Error> {
        if self.name.as_ref().is_some_and(|n| n.chars().count() < 2) {
            return Err(Error::invalid_input("SecurityGroupName", "at least 2 characters"));
        }
        validate_opt_text("SecurityGroupName", &self.name, 128)?;
        validate_opt_text("Description", &self.description, 256)?;
        Ok(validate_tags(&self.tags)?)
    }
}

ack_net_core::operation! {
    /// A DescribeSecurityGroups request.
    pub struct DescribeSecurityGroups: crate::ECS, "DescribeSecurityGroups", read -> SecurityGroupPage, Error;
    required {}
    optional {
        /// Only groups of this VPC.
        vpc_id: Option<VpcId> = "VpcId" => into(VpcId);
        /// Only this group.
        group_id: Option<SecurityGroupId> = "SecurityGroupId" => into(SecurityGroupId);
        /// Only groups of this name.
        name: Option<String> = "SecurityGroupName" => into(String);
        /// Only groups with these tags.
        tags: Vec<Tag> = "Tag" => extend(Tag), push tag;
    }
    check: |op: &Self| if op.tags.iter().any(|t| t.key.is_empty()) {
        Err(Error::invalid_input("Tag.Key", "must not be empty"))
    } else {
        Ok(())
    };
    pages: numbered(MAX_PAGE_SIZE), security_groups: SecurityGroup, total_count;
}

/// One page of DescribeSecurityGroups.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct SecurityGroupPage {
    /// The request id.
    #[serde(rename = "RequestId", default)]
    pub request_id: String,
    /// How many groups match, over all pages.
    #[serde(rename = "TotalCount", default, deserialize_with = "de::opt_number")]
    pub total_count: Option<u64>,
    /// The groups on this page.
    #[serde(rename = "SecurityGroups", default, deserialize_with = "wrapped")]
    pub security_groups: Vec<SecurityGroup>,
}

/// A security group as DescribeSecurityGroups shows it.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct SecurityGroup {
    /// The id.
    #[serde(rename = "SecurityGroupId")]
    pub id: SecurityGroupId,
    /// The name.
    #[serde(rename = "SecurityGroupName", default, deserialize_with = "de::string")]
    pub name: String,
    /// The description.
    #[serde(rename = "Description", default, deserialize_with = "de::string")]
    pub description: String,
    /// The VPC.
    #[serde(rename = "VpcId", default, deserialize_with = "opt_parsed")]
    pub vpc_id: Option<VpcId>,
    /// `normal` or `enterprise`.
    #[serde(rename = "SecurityGroupType", default, deserialize_with = "de::string")]
    pub group_type: String,
    /// When it was created.
    #[serde(rename = "CreationTime", default, deserialize_with = "de::string")]
    pub creation_time: String,
    /// Tags.
    #[serde(rename = "Tags", default, deserialize_with = "wire_tags")]
    pub tags: Vec<Tag>,
}

#[cfg(test)]
mod tests {
    use crate::client::test_support::client;
    use crate::{SecurityGroupId, VpcId};

    #[test]
    fn requests_are_checked() {
        let sgs = client().security_groups();
        let vpc: VpcId = "vpc-1".parse().unwrap();
        assert!(sgs.create(&vpc).name("pods").to_request().is_ok());
        assert!("vsw-1".parse::<VpcId>().is_err());
        assert!(sgs.create(&vpc).name("p").to_request().is_err());
        assert!(sgs.create(&vpc).client_token("").to_request().is_err());
        assert!(sgs.describe().page_size(51).to_request().is_err());
        assert!("eni-1".parse::<SecurityGroupId>().is_err());
    }
}
