//! Cognito's lockout after failed password sign-ins (Amazon Cognito Developer Guide, "Lockout
//! behavior for failed sign-in attempts"): after five failed attempts the user is locked out for one
//! second, doubling with each further failure up to about 15 minutes — 2^(n−5) seconds for n
//! failures; attempts during a lockout get `NotAuthorizedException: Password attempts exceeded` and
//! do not count; a successful sign-in after a lockout, or 15 minutes without any attempt, resets it.

use crate::api::error::CognitoError;

/// Failures allowed before the first lockout.
pub const FREE_ATTEMPTS: u32 = 5;
/// The longest lockout, and the quiet time that resets the count ("about 15 minutes").
pub const MAX_LOCKOUT_S: u64 = 900;

/// One user's failed-attempt state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Lockout {
    failures: u32,
    locked_until: u64,
    last_attempt: Option<u64>,
}

impl Lockout {
    /// Before a password is checked: refused while locked out; a long quiet spell starts afresh.
    pub fn admit(&mut self, now: u64) -> Result<(), CognitoError> {
        if now < self.locked_until {
            return Err(CognitoError::NotAuthorized(
                "Password attempts exceeded".into(),
            ));
        }
        if self
            .last_attempt
            .is_some_and(|last| now.saturating_sub(last) >= MAX_LOCKOUT_S)
        {
            *self = Self::default();
        }
        self.last_attempt = Some(now);
        Ok(())
    }

    /// A wrong password: from the fifth on, a lockout of 2^(n−5) seconds (at most 15 minutes).
    pub fn failed(&mut self, now: u64) {
        self.failures = self.failures.saturating_add(1);
        if self.failures >= FREE_ATTEMPTS {
            let exponent = (self.failures - FREE_ATTEMPTS).min(20);
            self.locked_until = now.saturating_add((1u64 << exponent).min(MAX_LOCKOUT_S));
        }
    }

    /// A right password (admitted, so any lockout had expired): the count starts over.
    pub fn succeeded(&mut self) {
        *self = Self::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn five_free_failures_then_doubling_lockouts_capped_at_fifteen_minutes() {
        let mut l = Lockout::default();
        for t in 0..4 {
            l.admit(t).unwrap();
            l.failed(t);
        }
        l.admit(4).unwrap();
        l.failed(4); // the fifth: locked until 5
        assert!(l.admit(4).is_err());
        l.admit(5).unwrap();
        l.failed(5); // the sixth: 2 s
        assert!(l.admit(6).is_err());
        l.admit(7).unwrap();
        for _ in 0..30 {
            l.failed(7);
        }
        assert_eq!(l.locked_until, 7 + MAX_LOCKOUT_S);
        // Attempts during the lockout do not count, and fifteen quiet minutes reset everything.
        assert!(l.admit(8).is_err());
        l.admit(7 + MAX_LOCKOUT_S + MAX_LOCKOUT_S).unwrap();
        assert_eq!(l.failures, 0);
    }
}
