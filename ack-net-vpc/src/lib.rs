//! ack-net-vpc (work in progress).
