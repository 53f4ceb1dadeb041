//! The time source behind every `iat`, `exp`, `auth_time` and refresh-token expiry.
//!
//! Injected through [`crate::Config::clock`] so tests can mint tokens at a fixed instant or move time
//! forward without sleeping.

use std::fmt::Debug;
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Where the fake reads "now" from.
pub trait Clock: Send + Sync + Debug {
    /// The current wall-clock time.
    fn now(&self) -> SystemTime;

    /// The current time as whole seconds since the Unix epoch (the unit of JWT time claims).
    fn now_epoch_seconds(&self) -> u64 {
        self.now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or(Duration::ZERO)
            .as_secs()
    }
}

/// The real system clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }
}

/// A clock that stands still until a test moves it.
#[derive(Debug)]
pub struct FixedClock {
    now: Mutex<SystemTime>,
}

impl FixedClock {
    /// A clock stopped at `epoch_seconds`.
    pub fn at_epoch_seconds(epoch_seconds: u64) -> Self {
        Self {
            now: Mutex::new(UNIX_EPOCH + Duration::from_secs(epoch_seconds)),
        }
    }

    /// Moves the clock forward.
    pub fn advance(&self, by: Duration) {
        let mut now = self.now.lock().unwrap_or_else(|e| e.into_inner());
        *now += by;
    }

    /// Sets the clock to `epoch_seconds`.
    pub fn set_epoch_seconds(&self, epoch_seconds: u64) {
        let mut now = self.now.lock().unwrap_or_else(|e| e.into_inner());
        *now = UNIX_EPOCH + Duration::from_secs(epoch_seconds);
    }
}

impl Clock for FixedClock {
    fn now(&self) -> SystemTime {
        *self.now.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_clock_moves_only_when_told() {
        let clock = FixedClock::at_epoch_seconds(1_700_000_000);
        assert_eq!(clock.now_epoch_seconds(), 1_700_000_000);
        clock.advance(Duration::from_secs(61));
        assert_eq!(clock.now_epoch_seconds(), 1_700_000_061);
        clock.set_epoch_seconds(5);
        assert_eq!(clock.now_epoch_seconds(), 5);
    }
}
