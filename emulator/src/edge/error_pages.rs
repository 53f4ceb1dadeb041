//! Step 6 of the edge: the distribution's custom error responses. An answer (the origin's, or one of
//! CloudFront's own pages) whose status has a `custom_error_response` with a page is replaced: the edge
//! fetches the page from the origin with a GET through steps 1–5 (its own trace), and the viewer gets
//! that page with the configured status. When the page cannot be fetched the viewer gets what the page
//! fetch got ("Generate custom error responses", CloudFront developer guide: "CloudFront returns to
//! the viewer the status code that CloudFront received from the origin that contains the custom error
//! pages"). Either way the request's trace keeps the refusal that was replaced and says so: a 403 masked
//! as a 200 page is how a browser stops seeing an auth error.

use axum::body::Body;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;

use super::Context;
use crate::topology::CustomErrorResponse;
use crate::trace::{Hop, Line, RequestTrace};

/// Step 6: the answer, or the custom error page that replaces it.
pub async fn custom_error_response(ctx: &Context<'_>, answer: Response) -> Response {
    let status = answer.status().as_u16();
    let Some((custom, path, code)) = page_for(ctx, status) else {
        return answer;
    };
    // The replaced answer's body is never sent: dropping it closes the origin's stream.
    drop(answer);
    let page_ctx = Context {
        config: ctx.config,
        http: ctx.http,
        viewer: ctx.viewer,
        cf_id: super::cf_id(),
        via_id: ctx.via_id.clone(),
        trace: RequestTrace::start_at_edge(
            &ctx.config.traces,
            &format!("GET {path} (custom error page for a {status})"),
        ),
    };
    let mut page = fetch(&page_ctx, path).await;
    page_ctx.trace.finish(&mut page);
    // The viewer's request keeps its own id; the page fetch's is in its trace.
    if let Ok(cf_id) = HeaderValue::from_str(&ctx.cf_id) {
        page.headers_mut().insert("x-amz-cf-id", cf_id);
    }
    let fetched = page.status();
    let replaced_by = if fetched.is_success() {
        *page.status_mut() = code;
        // What the captures show on a custom error page (reference/aws-edge.md §2.2).
        page.headers_mut()
            .insert("x-cache", HeaderValue::from_static("Error from cloudfront"));
        format!("{path} with {}", code.as_u16())
    } else {
        format!(
            "the status of its page fetch, {} ({path} could not be fetched)",
            fetched.as_u16()
        )
    };
    let masked = custom.masks_error() && fetched.is_success();
    let mut line = Line::note(
        Hop::Edge,
        format!("custom error response {}", custom.error_code),
        format!(
            "the {status} answer was replaced by {replaced_by}; the page fetch is trace {}",
            page_ctx.trace.id()
        ),
    );
    if masked {
        line = line.with_hint(format!(
            "the browser sees a {} page, not the refusal above: remove the custom_error_response for {status}, or give it an error response_code",
            code.as_u16()
        ));
    }
    ctx.trace.record(line);
    page
}

/// The custom error response with a page for `status`, its path and its status.
fn page_for<'c>(
    ctx: &Context<'c>,
    status: u16,
) -> Option<(&'c CustomErrorResponse, &'c str, StatusCode)> {
    let custom = ctx
        .config
        .topology
        .distribution
        .custom_error_responses
        .iter()
        .find(|c| c.error_code == status)?;
    let path = custom.response_page_path.as_deref()?;
    let code = StatusCode::from_u16(custom.response_code?).ok()?;
    Some((custom, path, code))
}

/// The page, fetched as CloudFront does: a GET for its path through the behavior that matches it.
async fn fetch(ctx: &Context<'_>, path: &str) -> Response {
    let request = axum::http::Request::get(path)
        .header(
            header::HOST,
            ctx.config.topology.distribution.domain_name.as_str(),
        )
        .body(Body::empty());
    match request {
        Ok(request) => {
            let answer = super::pipeline(ctx, request).await;
            super::render(ctx, answer)
        }
        // Validation keeps the path to `/…`; a path that is still no URI is the page missing.
        Err(error) => {
            ctx.trace.record(Line::refuse(
                Hop::Edge,
                "custom error page",
                format!("{path:?} is not a request path: {error}"),
            ));
            let mut response = Response::new(Body::empty());
            *response.status_mut() = StatusCode::NOT_FOUND;
            response
        }
    }
}
