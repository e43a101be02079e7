//! Interoperability and behaviour tests of the API Gateway data plane.
