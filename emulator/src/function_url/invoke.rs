//! Step 6 of the Function URL: an execution environment runs the event. Over the reserved concurrency
//! the answer is 429; a crash, a timeout or a bad runtime answer before the first byte is 502.

use bytes::Bytes;

use super::errors::UrlError;
use super::{Context, UrlRefusal};
use crate::refusal::Refusal;
use crate::runtime::{Invocation, InvokeError};
use crate::trace::{Hop, Line};

/// The invocation failed (crash, timeout, bad runtime answer): AWS's 502, the cause in the trace.
pub fn failed(why: String, rule: &str) -> UrlRefusal {
    Refusal::new(
        UrlError::FunctionFailed(why.clone()),
        Hop::Runtime,
        rule,
        why,
    )
    .hint("read the function's log (stderr of `up`) for the error")
}

/// Step 6: invoke.
pub async fn invoke(ctx: &Context<'_>, event: Bytes) -> Result<Invocation, UrlRefusal> {
    let config = ctx.config;
    let invocation = config
        .invoker
        .invoke_with_id(ctx.request_id.clone(), event)
        .await
        .map_err(|error| match error {
            InvokeError::Throttled => Refusal::new(
                UrlError::Throttled,
                Hop::Runtime,
                "reserved concurrency",
                format!(
                    "{} invocations already running",
                    config.topology.concurrency_limit()
                ),
            )
            .hint("retry later, or raise the function's reserved concurrency"),
            other => failed(other.to_string(), "invocation"),
        })?;
    ctx.trace.record(Line::pass(
        Hop::Runtime,
        "execution environment",
        format!(
            "request {} ({})",
            ctx.request_id,
            if invocation.cold_start {
                "cold start"
            } else {
                "warm"
            }
        ),
    ));
    Ok(invocation)
}
