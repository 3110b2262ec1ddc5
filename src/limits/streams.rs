//! Open change streams (`GET …/stream`, issue 20): at most `--max-streams` on this gateway and
//! `--max-streams-per-user` for one user (anonymous callers: one address). A slot is taken
//! before the stream starts and given back when it ends, however it ends (its guard drops).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::error::ApiError;

/// The gateway's open streams, by holder.
#[derive(Debug)]
pub struct StreamSlots {
    max: u32,
    per_holder: u32,
    open: Mutex<Open>,
}

#[derive(Debug, Default)]
struct Open {
    total: u32,
    by_holder: HashMap<String, u32>,
}

/// One open stream's place; given back on drop.
#[derive(Debug)]
pub struct StreamSlot {
    slots: Arc<StreamSlots>,
    holder: String,
}

impl StreamSlots {
    pub fn new(max: u32, per_holder: u32) -> StreamSlots {
        StreamSlots {
            max: max.max(1),
            per_holder: per_holder.max(1),
            open: Mutex::new(Open::default()),
        }
    }

    /// Takes a place for `holder` (`user:<id>` or `address:<ip>`): 429 `too_many_streams`
    /// when the holder or the gateway has none left.
    pub fn take(self: &Arc<Self>, holder: String) -> Result<StreamSlot, ApiError> {
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        if open.total >= self.max {
            return Err(ApiError::TooManyStreams {
                scope: "server",
                limit: self.max,
            });
        }
        let held = open.by_holder.get(&holder).copied().unwrap_or(0);
        if held >= self.per_holder {
            return Err(ApiError::TooManyStreams {
                scope: "user",
                limit: self.per_holder,
            });
        }
        open.total += 1;
        open.by_holder.insert(holder.clone(), held + 1);
        Ok(StreamSlot {
            slots: self.clone(),
            holder,
        })
    }

    /// Streams open on this gateway.
    pub fn open(&self) -> u32 {
        self.open.lock().unwrap_or_else(|p| p.into_inner()).total
    }
}

impl Drop for StreamSlot {
    fn drop(&mut self) {
        let mut open = self.slots.open.lock().unwrap_or_else(|p| p.into_inner());
        open.total = open.total.saturating_sub(1);
        if let Some(n) = open.by_holder.get_mut(&self.holder) {
            *n -= 1;
            if *n == 0 {
                open.by_holder.remove(&self.holder);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_bounded_per_holder_and_in_all_and_given_back() {
        let slots = Arc::new(StreamSlots::new(3, 2));
        let a1 = slots.take("user:1".into()).unwrap();
        let _a2 = slots.take("user:1".into()).unwrap();
        let e = slots.take("user:1".into()).unwrap_err();
        assert!(matches!(
            e,
            ApiError::TooManyStreams {
                scope: "user",
                limit: 2
            }
        ));
        let _b = slots.take("user:2".into()).unwrap();
        let e = slots.take("user:3".into()).unwrap_err();
        assert!(matches!(
            e,
            ApiError::TooManyStreams {
                scope: "server",
                limit: 3
            }
        ));
        drop(a1);
        assert_eq!(slots.open(), 2);
        slots.take("user:1".into()).unwrap();
    }
}
