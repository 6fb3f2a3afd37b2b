//! Amazon ECR: the registry token exchange (SPEC §10).
//!
//! An ECR credential is saved as a long-term AWS access key pair, but a registry only takes
//! a 12-hour token that ECR's `GetAuthorizationToken` hands out for that key pair, as user
//! `AWS`. This module is everything ECR-specific about that, and nothing about the store:
//!
//! - [`registry`]: is this registry key an ECR registry, and which account and region?
//! - [`endpoint`]: where the API is (`AWS_ENDPOINT_URL_ECR`, `AWS_ENDPOINT_URL`, or the
//!   region's public endpoint), with plain `http://` only for loopback;
//! - [`exchange`]: one signed `GetAuthorizationToken` call, bounded by [`TIMEOUT`] (or by
//!   what is left of a `get`'s: [`exchange_until`]), giving a [`Token`] or an
//!   [`ExchangeError`] that is one line saying what to do;
//! - [`sigv4`]: AWS Signature Version 4, by hand (see there for why).
//!
//! Caching the token, locking so parallel `get`s make one exchange, and project restrictions
//! belong to the store and the `get` path, which call into this module.

mod endpoint;
mod exchange;
pub mod sigv4;

pub use crate::provider::ecr_host::{EXPECTED_FORM, Partition, Registry, registry};
pub use endpoint::{Endpoint, EndpointError, Source, endpoint, process_env};
pub use exchange::{
    ExchangeError, Refusal, Rejection, TIMEOUT, Token, USERNAME, exchange, exchange_until,
};
