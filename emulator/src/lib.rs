//! vpcgate
