//! The emulator's time source: SigV4 skew checks and event timestamps read it, so tests can move time
//! instead of sleeping.

use std::sync::Mutex;
use std::time::{Duration, SystemTime};

/// Where "now" comes from.
pub trait Clock: Send + Sync + std::fmt::Debug {
    /// Now.
    fn now(&self) -> SystemTime;
}

/// The system clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }
}

/// A clock that starts at the real time and moves only when told.
#[derive(Debug)]
pub struct ManualClock(Mutex<SystemTime>);

impl Default for ManualClock {
    fn default() -> Self {
        Self(Mutex::new(SystemTime::now()))
    }
}

impl ManualClock {
    /// Moves the clock forward.
    pub fn advance(&self, by: Duration) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) += by;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> SystemTime {
        *self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}
