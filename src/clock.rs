//! The server's clock. Everything time-dependent takes its `now` from here, so tests can move
//! time forward (a new UTC day for the rate limits) without sleeping.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use chrono::{NaiveDateTime, SubsecRound, Utc};

/// Wall-clock UTC time plus an offset that only tests change.
#[derive(Debug, Clone, Default)]
pub struct Clock {
    offset_secs: Arc<AtomicI64>,
}

impl Clock {
    /// The current UTC time, truncated to whole seconds (the precision of every stored time).
    pub fn now(&self) -> NaiveDateTime {
        let offset = chrono::Duration::seconds(self.offset_secs.load(Ordering::Relaxed));
        (Utc::now().naive_utc() + offset).trunc_subsecs(0)
    }

    /// Moves this clock (and every clone of it) forward.
    pub fn advance(&self, by: chrono::Duration) {
        self.offset_secs
            .fetch_add(by.num_seconds(), Ordering::Relaxed);
    }
}
