//! The ids that several products share, validated when made: a VPC's and a VSwitch's (VPC,
//! ECS, SLB), an ECS instance's and an ENI's (ECS, and SLB backends). Each product crate
//! re-exports them (`ack_net_vpc::VpcId` is this `VpcId`) and defines the ids only it uses.

crate::define_id!(
    /// A VPC id, `vpc-...`.
    ///
    /// ```
    /// use ack_net_core::VpcId;
    /// assert!("vpc-bp1qpo0kug3a20qqe2xyz".parse::<VpcId>().is_ok());
    /// assert!("vsw-bp1qpo0kug3a20qqe2xyz".parse::<VpcId>().is_err());
    /// ```
    VpcId,
    "VPC id",
    ["vpc-"]
);

crate::define_id!(
    /// A VSwitch id, `vsw-...`.
    VSwitchId,
    "VSwitch id",
    ["vsw-"]
);

crate::define_id!(
    /// An ENI id, `eni-...`.
    ///
    /// ```
    /// use ack_net_core::EniId;
    /// assert!("eni-bp17pdijfczax1huji".parse::<EniId>().is_ok());
    /// assert!("i-bp17pdijfczax1huji".parse::<EniId>().is_err());
    /// ```
    EniId,
    "ENI id",
    ["eni-"]
);

crate::define_id!(
    /// An ECS instance id, `i-...`.
    ///
    /// ```
    /// use ack_net_core::InstanceId;
    /// assert!("i-bp16qstyvxj9gpqw".parse::<InstanceId>().is_ok());
    /// assert!("eni-bp16qstyvxj9gpqw".parse::<InstanceId>().is_err());
    /// ```
    InstanceId,
    "instance id",
    ["i-"]
);
