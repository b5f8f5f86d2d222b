//! ack-net-eni (work in progress).
