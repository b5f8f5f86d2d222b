//! ack-net-slb (work in progress).
