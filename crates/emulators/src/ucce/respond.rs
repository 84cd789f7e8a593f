//! HTTP answers: XML bodies, `apiErrors`, 404, and the bodies of injected faults.

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};

use super::paging::ApiError;
use super::xml;
use crate::faults::Fault;

pub(super) async fn truncate_if(resp: Response, truncate: bool) -> Response {
    if !truncate {
        return resp;
    }
    let (mut parts, body) = resp.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX)
        .await
        .unwrap_or_default();
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(
        parts,
        axum::body::Body::from(bytes.slice(0..bytes.len() / 2)),
    )
}

pub(super) fn ok(body: String, truncate: bool) -> Response {
    let body = if truncate {
        let mut bytes = body.into_bytes();
        bytes.truncate(bytes.len() / 2);
        axum::body::Body::from(bytes)
    } else {
        axum::body::Body::from(body)
    };
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/xml")],
        body,
    )
        .into_response()
}

pub(super) fn api_errors(status: u16, errors: &[ApiError]) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (
        status,
        [(header::CONTENT_TYPE, "application/xml")],
        xml::api_errors(errors),
    )
        .into_response()
}

pub(super) fn not_found(data: &str) -> Response {
    api_errors(
        404,
        &[ApiError {
            data: data.to_string(),
            detail: None,
            message: "The requested resource was not found".into(),
            error_type: "notFound".into(),
        }],
    )
}

pub(super) async fn not_found_route(uri: axum::http::Uri) -> Response {
    not_found(uri.path())
}

pub(super) fn internal(error_type: &str, message: &str) -> ApiError {
    ApiError {
        data: String::new(),
        detail: None,
        message: message.into(),
        error_type: error_type.into(),
    }
}

/// ConfigAPI bodies for the shared faults (XML only; the flag is ignored).
pub(super) fn render_fault(fault: &Fault, _json: bool) -> Response {
    match fault {
        Fault::Status(code) => {
            api_errors(*code, &[internal("internalError", "Injected server error")])
        }
        Fault::ApiErrors(code, list) => {
            let errors: Vec<ApiError> = list
                .iter()
                .map(|e| ApiError {
                    data: e.error_data.clone(),
                    detail: None,
                    message: e.error_message.clone(),
                    error_type: e.error_type.clone(),
                })
                .collect();
            api_errors(*code, &errors)
        }
        Fault::AxlThrottle => api_errors(
            503,
            &[internal("serviceUnavailable", "Server busy, retry later")],
        ),
        Fault::MalformedXml => ok(
            "<?xml version=\"1.0\"?><results><pageInfo><totalResults>1</totalResults></pageInfo>\
<agents><agent><person><userName>broken & </agent>"
                .into(),
            false,
        ),
        _ => api_errors(
            500,
            &[internal("internalError", "unsupported injected fault")],
        ),
    }
}
