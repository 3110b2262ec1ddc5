//! The burst limit (spec §4.3): GCRA per presented token or anonymous address, in process, before
//! any database work. Built once per process (not per worker) and swept every minute so idle
//! keys do not accumulate.

use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

/// The per-process burst limiter.
pub struct Burst {
    limiter: DefaultKeyedRateLimiter<String>,
    clock: DefaultClock,
}

impl Burst {
    /// `per_second` sustained, `burst` at once; zero values are raised to one.
    pub fn new(per_second: u32, burst: u32) -> Self {
        let rate = NonZeroU32::new(per_second.max(1)).unwrap_or(NonZeroU32::MIN);
        let size = NonZeroU32::new(burst.max(1)).unwrap_or(NonZeroU32::MIN);
        Self {
            limiter: RateLimiter::keyed(Quota::per_second(rate).allow_burst(size)),
            clock: DefaultClock::default(),
        }
    }

    /// Admits one request for `key`, or says how long until the next would pass.
    pub fn check(&self, key: &str) -> Result<(), Duration> {
        self.limiter
            .check_key(&key.to_string())
            .map_err(|not_until| not_until.wait_time_from(self.clock.now()))
    }

    /// Forgets keys whose state is back to full, and frees their memory.
    pub fn sweep(&self) {
        self.limiter.retain_recent();
        self.limiter.shrink_to_fit();
    }

    /// How many keys are tracked (for tests and metrics).
    pub fn len(&self) -> usize {
        self.limiter.len()
    }

    /// Whether no key is tracked.
    pub fn is_empty(&self) -> bool {
        self.limiter.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_burst_is_admitted_then_refused_per_key() {
        let burst = Burst::new(1, 3);
        for _ in 0..3 {
            assert!(burst.check("t:a").is_ok());
        }
        let wait = burst.check("t:a").unwrap_err();
        assert!(wait > Duration::ZERO && wait <= Duration::from_secs(1));
        assert!(burst.check("t:b").is_ok(), "keys are independent");
        assert_eq!(burst.len(), 2);
    }
}
