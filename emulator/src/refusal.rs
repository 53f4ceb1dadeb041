//! A hop's refusal, shared by the edge and the Function URL: the error its surface answers with
//! (rendered through that surface's one error table — CloudFront's pages, the URL's AWS bodies), and
//! what the trace says about it: which hop, which rule, what was seen, what to change.

use crate::trace::{Hop, Line};

/// A refusal ending a hop's pipeline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal<E> {
    /// What the caller gets (through the surface's table).
    pub error: E,
    /// The hop that refused.
    pub hop: Hop,
    /// The rule applied.
    pub rule: String,
    /// What was seen.
    pub detail: String,
    /// What to change.
    pub hint: Option<String>,
}

impl<E> Refusal<E> {
    /// `hop` refuses with `error` by `rule`, having seen `detail`.
    pub fn new(error: E, hop: Hop, rule: impl Into<String>, detail: impl Into<String>) -> Self {
        Self {
            error,
            hop,
            rule: rule.into(),
            detail: detail.into(),
            hint: None,
        }
    }

    /// With what to change.
    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// Its trace line.
    pub fn line(&self) -> Line {
        let line = Line::refuse(self.hop, self.rule.clone(), self.detail.clone());
        match &self.hint {
            Some(hint) => line.with_hint(hint.clone()),
            None => line,
        }
    }
}
