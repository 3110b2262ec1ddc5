//! Limits (spec §4): the burst limit (in process), the daily request limit (in the database,
//! exact across gateways), quotas on what a user may store, and the middleware that applies the
//! first two to every request.

pub mod address;
pub mod burst;
pub mod daily;
pub mod middleware;
pub mod quota;
pub mod streams;
