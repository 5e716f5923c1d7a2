use lambda_http::http::{header, HeaderValue, Method, StatusCode};
use lambda_http::{Body, Response};
use serde_json::json;

use super::views::json_response;
use crate::domain::{DomainError, EmailAddress};
use crate::events::SignatureError;
use crate::providers::ProviderError;
use crate::service::ServiceError;
use crate::store::StoreError;

/// Everything a request can fail with, as the HTTP layer sees it.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("Content-Type must be application/json")]
    UnsupportedContentType,
    #[error("the request body is larger than {0} bytes")]
    PayloadTooLarge(usize),
    #[error("the request body is not valid JSON: {0}")]
    MalformedJson(String),
    #[error("the request body does not have the expected fields: {0}")]
    InvalidBody(String),
    #[error("{0}")]
    InvalidQuery(String),
    #[error("sign in first: this request carries no verified identity")]
    Unauthorized,
    /// An API key asked for what its scopes do not allow.
    #[error("{0}")]
    InsufficientScope(String),
    /// A sensitive action without a second factor (`REQUIRE_MFA_FOR`).
    #[error("{0}")]
    MfaRequired(String),
    #[error("no such route")]
    UnknownRoute,
    #[error("{0}")]
    InvalidSignature(#[from] SignatureError),
    #[error("this webhook's verification key is not configured (SENDGRID_WEBHOOK_PUBLIC_KEY): nothing is accepted")]
    WebhookNotConfigured,
    #[error("method {used} is not allowed here; use {}", names(allowed, " or "))]
    MethodNotAllowed { used: Method, allowed: Vec<Method> },
    #[error(transparent)]
    Service(#[from] ServiceError),
}

impl From<DomainError> for ApiError {
    fn from(error: DomainError) -> Self {
        Self::Service(ServiceError::Invalid(error))
    }
}

struct Mapped {
    status: StatusCode,
    code: &'static str,
    message: String,
}

impl ApiError {
    /// The one place where errors become statuses and codes. Messages of
    /// unexpected failures stay in the logs; the caller gets the request id.
    fn mapped(&self) -> Mapped {
        use ServiceError as S;
        let (status, code) = match self {
            Self::UnsupportedContentType => (StatusCode::BAD_REQUEST, "invalid_content_type"),
            Self::PayloadTooLarge(_) => (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"),
            Self::MalformedJson(_) => (StatusCode::BAD_REQUEST, "malformed_json"),
            Self::InvalidBody(_) => (StatusCode::BAD_REQUEST, "invalid_body"),
            Self::InvalidQuery(_) => (StatusCode::BAD_REQUEST, "invalid_query"),
            Self::Unauthorized => (StatusCode::UNAUTHORIZED, "unauthorized"),
            Self::InsufficientScope(_) => (StatusCode::FORBIDDEN, "insufficient_scope"),
            Self::MfaRequired(_) => (StatusCode::FORBIDDEN, "mfa_required"),
            Self::UnknownRoute => (StatusCode::NOT_FOUND, "route_not_found"),
            Self::InvalidSignature(_) | Self::WebhookNotConfigured => {
                (StatusCode::UNAUTHORIZED, "invalid_signature")
            }
            Self::MethodNotAllowed { .. } => (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed"),
            Self::Service(error) => match error {
                S::Invalid(DomainError::InvalidUsername(_)) => {
                    (StatusCode::UNPROCESSABLE_ENTITY, "invalid_username")
                }
                S::Invalid(DomainError::InvalidDisplayName(_)) => {
                    (StatusCode::UNPROCESSABLE_ENTITY, "invalid_display_name")
                }
                S::Invalid(DomainError::InvalidDomain(_)) | S::DomainNotAllowed(_) => {
                    (StatusCode::UNPROCESSABLE_ENTITY, "domain_not_allowed")
                }
                S::Invalid(DomainError::InvalidUserId(_)) => {
                    (StatusCode::UNAUTHORIZED, "unauthorized")
                }
                S::Invalid(DomainError::InvalidQuery(_)) => {
                    (StatusCode::BAD_REQUEST, "invalid_query")
                }
                S::AlreadyOwner { .. } => (StatusCode::CONFLICT, "already_owner"),
                S::Invalid(DomainError::InvalidKey(_)) => {
                    (StatusCode::UNPROCESSABLE_ENTITY, "invalid_key")
                }
                S::KeyNotFound(_) => (StatusCode::NOT_FOUND, "key_not_found"),
                S::Invalid(DomainError::InvalidIdempotencyKey(_)) => {
                    (StatusCode::BAD_REQUEST, "invalid_idempotency_key")
                }
                S::IdempotencyKeyReused => {
                    (StatusCode::UNPROCESSABLE_ENTITY, "idempotency_key_reused")
                }
                S::RequestInProgress => (StatusCode::CONFLICT, "request_in_progress"),
                S::ProviderNotAvailable { .. } => {
                    (StatusCode::UNPROCESSABLE_ENTITY, "provider_not_available")
                }
                S::AddressTaken { .. } => (StatusCode::CONFLICT, "address_taken"),
                S::AddressReserved { .. } => (StatusCode::CONFLICT, "address_reserved"),
                S::AddressLookalike { .. } => (StatusCode::CONFLICT, "address_lookalike"),
                S::RateLimited { .. } | S::RotationsLimited { .. } => {
                    (StatusCode::TOO_MANY_REQUESTS, "rate_limited")
                }
                S::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden"),
                S::ProviderCapacityReached { .. } => {
                    (StatusCode::SERVICE_UNAVAILABLE, "provider_capacity_reached")
                }
                S::DomainNotReady { .. } => (StatusCode::SERVICE_UNAVAILABLE, "domain_not_ready"),
                S::CredentialsRotated(_) => (StatusCode::CONFLICT, "credentials_rotated"),
                S::PasswordNotKept(_) => (StatusCode::CONFLICT, "password_not_kept"),
                S::Provider(ProviderError::Rejected { .. }) => {
                    (StatusCode::BAD_GATEWAY, "provider_error")
                }
                S::Provider(ProviderError::Unavailable { .. }) => {
                    (StatusCode::SERVICE_UNAVAILABLE, "provider_unavailable")
                }
                S::Store(StoreError::ReservationLost) => {
                    (StatusCode::SERVICE_UNAVAILABLE, "service_unavailable")
                }
                S::AccountNotFound(_) | S::Store(StoreError::AccountNotFound) => {
                    (StatusCode::NOT_FOUND, "account_not_found")
                }
                S::Store(StoreError::AccountBusy | StoreError::Contended) => {
                    (StatusCode::CONFLICT, "request_in_progress")
                }
                S::CreatedThenDeleted(_) => (StatusCode::GONE, "account_deleted"),
                S::AccountDisabled(_) => (StatusCode::CONFLICT, "account_disabled"),
                S::AccountSuspended { .. } => (StatusCode::CONFLICT, "account_suspended"),
                S::OldCredentialKept(_) => (StatusCode::BAD_GATEWAY, "provider_error"),
                // Reached only if a store answer escapes the use case unmapped.
                S::Store(StoreError::AddressTaken) => (StatusCode::CONFLICT, "address_taken"),
                S::Store(StoreError::QuotaExceeded) => {
                    (StatusCode::TOO_MANY_REQUESTS, "rate_limited")
                }
                S::Store(StoreError::Corrupt(_) | StoreError::Backend(_)) => {
                    (StatusCode::INTERNAL_SERVER_ERROR, "internal_error")
                }
                // Only the reconcile job publishes and fails with it; no route does.
                S::Secrets(_) | S::Publish(_) => {
                    (StatusCode::SERVICE_UNAVAILABLE, "service_unavailable")
                }
            },
        };
        let message = match self {
            Self::Service(S::Store(StoreError::ReservationLost)) => {
                "the request took too long and was undone; try again".to_string()
            }
            Self::Service(S::Secrets(_)) => {
                "the key service failed; nothing was created or changed, try again".to_string()
            }
            _ if status == StatusCode::INTERNAL_SERVER_ERROR => {
                "an internal error occurred; quote the request id when reporting it".to_string()
            }
            // A provider's own words may name this deployment's resources.
            Self::Service(S::Provider(_) | S::OldCredentialKept(_)) => {
                without_resource_names(&self.to_string())
            }
            other => other.to_string(),
        };
        Mapped {
            status,
            code,
            message,
        }
    }

    pub fn status(&self) -> StatusCode {
        self.mapped().status
    }

    /// The error's `code`, e.g. for metrics by kind of error.
    pub fn code(&self) -> &'static str {
        self.mapped().code
    }

    fn suggestions(&self) -> Option<&[EmailAddress]> {
        match self {
            Self::Service(
                ServiceError::AddressTaken { suggestions, .. }
                | ServiceError::AddressReserved { suggestions, .. }
                | ServiceError::AddressLookalike { suggestions, .. },
            ) => Some(suggestions),
            _ => None,
        }
    }

    /// `{"error": {"code", "message", "request_id", "suggestions"?}}`, plus
    /// `Retry-After` on 429 and `Allow` on 405.
    pub fn into_response(self, request_id: &str) -> Response<Body> {
        let Mapped {
            status,
            code,
            message,
        } = self.mapped();
        let mut error = json!({ "code": code, "message": message, "request_id": request_id });
        if let Some(suggestions) = self.suggestions() {
            error["suggestions"] = suggestions.iter().map(ToString::to_string).collect();
        }
        let mut response = json_response(status, &json!({ "error": error }));
        let headers = response.headers_mut();
        match &self {
            Self::Service(
                ServiceError::RateLimited {
                    retry_after_seconds,
                    ..
                }
                | ServiceError::RotationsLimited {
                    retry_after_seconds,
                    ..
                },
            ) => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from(*retry_after_seconds));
            }
            Self::MethodNotAllowed { allowed, .. } => {
                if let Ok(allow) = HeaderValue::from_str(&names(allowed, ", ")) {
                    headers.insert(header::ALLOW, allow);
                }
            }
            _ => {}
        }
        response
    }
}

fn names(methods: &[Method], separator: &str) -> String {
    methods
        .iter()
        .map(Method::as_str)
        .collect::<Vec<_>>()
        .join(separator)
}

/// `text` with every ARN and every 12-digit AWS account id replaced by
/// `…`: what a provider or AWS says may name this deployment's account,
/// roles and resources, which are no caller's business (the logs keep them).
fn without_resource_names(text: &str) -> String {
    let mut cleaned = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("arn:") {
        let starts_word = rest[..at]
            .chars()
            .next_back()
            .is_none_or(|before| !before.is_ascii_alphanumeric());
        cleaned.push_str(&rest[..at]);
        if starts_word {
            let end = rest[at..]
                .find(|c: char| c.is_whitespace() || matches!(c, '"' | '\'' | ',' | ')' | ']'))
                .map_or(rest.len(), |length| at + length);
            cleaned.push('…');
            rest = &rest[end..];
        } else {
            cleaned.push_str("arn:");
            rest = &rest[at + 4..];
        }
    }
    cleaned.push_str(rest);
    let mut result = String::with_capacity(cleaned.len());
    let mut digits = String::new();
    for c in cleaned.chars().chain(std::iter::once(' ')) {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        result.push_str(if digits.len() == 12 { "…" } else { &digits });
        digits.clear();
        result.push(c);
    }
    result.pop();
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arns_and_account_ids_never_reach_a_caller() {
        let said =
            "AccessDenied: User: arn:aws:sts::123456789012:assumed-role/stack-CreateRole/fn \
                    is not authorized to perform: iam:CreateUser on resource: \
                    arn:aws:iam::123456789012:user/email-provisioning/x (account 123456789012)";
        let cleaned = without_resource_names(said);
        assert!(!cleaned.contains("arn:"), "{cleaned}");
        assert!(!cleaned.contains("123456789012"), "{cleaned}");
        assert!(
            cleaned.contains("not authorized to perform: iam:CreateUser"),
            "{cleaned}"
        );
        assert_eq!(
            without_resource_names("quota 1000 of 50000, HTTP 503, barn:x"),
            "quota 1000 of 50000, HTTP 503, barn:x"
        );
    }
}
