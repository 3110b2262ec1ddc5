//! Limits: quotas on what a user may store. (Daily request limits and burst limits come with
//! the limits issue.)

pub mod quota;
