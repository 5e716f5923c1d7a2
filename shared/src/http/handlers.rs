//! One function per route: authenticate, parse, call the use case, answer.

use std::future::Future;
use std::time::Instant;

use chrono::Utc;

use lambda_http::http::{HeaderValue, Method, StatusCode};
use lambda_http::{Body, Error, Request, RequestExt, Response};
use serde::Deserialize;

use super::request::{
    account_path, caller, expect_method, idempotency_key, json_body, page_limit, query_param,
    request_id,
};
use super::views::{
    decode_cursor, json_response, AccountView, AccountsView, CheckView, CreatedView, DeletedView,
    HealthView, PolicyView, TallyView,
};
use super::ApiError;
use crate::config::SensitiveAction;
use crate::deadline;
use crate::domain::ProviderKind;
use crate::domain::{DisplayName, KeyScope, Username};
use crate::events::{parse_sendgrid_batch, SIGNATURE_HEADER, TIMESTAMP_HEADER};
use crate::service::{AccountCommand, CreateCommand, Created};
use crate::{telemetry, App, ReadApp, WebhookApp};

const DEFAULT_PAGE_SIZE: u32 = 50;
const MAX_PAGE_SIZE: u32 = 100;

/// Runs a route and logs one line for it; an error becomes its JSON answer.
pub(super) async fn serve<F, Fut>(req: Request, route: F) -> Result<Response<Body>, Error>
where
    F: FnOnce(Request, String) -> Fut,
    Fut: Future<Output = Result<Response<Body>, ApiError>>,
{
    let started = Instant::now();
    let cold_start = telemetry::invocation_started();
    let request_id = request_id(&req);
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let deadline_ms = req.lambda_context_ref().map(|context| context.deadline);
    let response = match deadline::within(deadline_ms, route(req, request_id.clone())).await {
        Ok(response) => response,
        Err(error) => {
            if error.status().is_server_error() {
                tracing::error!(%request_id, error = ?error, "request failed");
            } else {
                tracing::info!(%request_id, error = %error, "request refused");
            }
            error.into_response(&request_id)
        }
    };
    tracing::info!(
        %request_id,
        function = telemetry::function_name(),
        cold_start,
        %method,
        path,
        status = response.status().as_u16(),
        duration_ms = started.elapsed().as_millis() as u64,
        "request served"
    );
    Ok(response)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CheckBody {
    username: String,
    domain: Option<String>,
}

/// `POST /api/email/check-availability`
pub async fn check_availability(app: &ReadApp, req: Request) -> Result<Response<Body>, Error> {
    serve(req, |req, _request_id| async move {
        expect_method(&req, Method::POST)?;
        caller(&req, app).await?.may(KeyScope::Check)?;
        let body: CheckBody = json_body(&req)?;
        let username = Username::parse(&body.username)?;
        let availability = app
            .directory
            .check(username, body.domain.as_deref())
            .await?;
        let outcome = match availability.unavailable {
            None => "available",
            Some(reason) => reason.as_str(),
        };
        telemetry::emit_metrics(
            Utc::now(),
            &[("Outcome", outcome)],
            &[("ChecksServed", 1.0)],
        );
        Ok(json_response(
            StatusCode::OK,
            &CheckView::from(availability),
        ))
    })
    .await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateBody {
    username: String,
    display_name: Option<String>,
    provider: Option<String>,
    domain: Option<String>,
}

/// `POST /api/email/create`
pub async fn create(app: &App, req: Request) -> Result<Response<Body>, Error> {
    serve(req, |req, request_id| async move {
        expect_method(&req, Method::POST)?;
        let caller = caller(&req, app.read()).await?;
        caller.may(KeyScope::Create)?;
        caller.second_factor(SensitiveAction::Create, &app.read().mfa)?;
        let body: CreateBody = json_body(&req)?;
        let username = Username::parse(&body.username)?;
        let display_name = DisplayName::parse(body.display_name.as_deref(), &username)?;
        let key = idempotency_key(&req)?;
        let requested_provider = body.provider.clone();
        let outcome = app
            .service
            .create_once(
                CreateCommand {
                    owner: caller.user,
                    groups: caller.groups,
                    username,
                    display_name,
                    provider: body.provider,
                    domain: body.domain,
                    request_id,
                },
                key,
            )
            .await
            .map_err(ApiError::from);
        count_create(&outcome, requested_provider.as_deref());
        let (created, replayed) = outcome?;
        Ok(credentials_response(StatusCode::CREATED, created, replayed))
    })
    .await
}

/// `AccountsCreated` by provider, or `CreateFailures` by provider (the one
/// asked for, `default` when none was) and kind of error; a refusal by the
/// daily limit is also a `RateLimitRejections`.
fn count_create(outcome: &Result<(Created, bool), ApiError>, requested_provider: Option<&str>) {
    let now = Utc::now();
    match outcome {
        Ok((_, true)) => {}
        Ok((created, false)) => telemetry::emit_metrics(
            now,
            &[("Provider", created.account.provider.as_str())],
            &[("AccountsCreated", 1.0)],
        ),
        Err(error) => {
            // Request text never names a metric: an unknown name would be a new (billed) one.
            let provider = match requested_provider {
                None => "default",
                Some(name) => ProviderKind::parse(name).map_or("unknown", ProviderKind::as_str),
            };
            let mut counts = vec![("CreateFailures", 1.0)];
            if error.code() == "rate_limited" {
                counts.push(("RateLimitRejections", 1.0));
            }
            telemetry::emit_metrics(
                now,
                &[("Provider", provider), ("ErrorKind", error.code())],
                &counts,
            );
        }
    }
}

const ACCOUNTS_PATH: &str = "/api/email/accounts/";

/// `DELETE /api/email/accounts/{email}` and
/// `POST /api/email/accounts/{email}/{rotate-credentials|disable|enable}`.
pub async fn manage_account(app: &App, req: Request) -> Result<Response<Body>, Error> {
    serve(req, |req, request_id| async move {
        let (address, action) = account_path(&req, ACCOUNTS_PATH).ok_or(ApiError::UnknownRoute)?;
        expect_method(
            &req,
            if action.is_none() {
                Method::DELETE
            } else {
                Method::POST
            },
        )?;
        let read = app.read();
        let caller = caller(&req, read).await?;
        caller.may(KeyScope::Manage)?;
        match action {
            None => caller.second_factor(SensitiveAction::Delete, &read.mfa)?,
            Some("rotate-credentials") => {
                caller.second_factor(SensitiveAction::Rotate, &read.mfa)?
            }
            Some(_) => {}
        }
        let command = AccountCommand {
            as_admin: read.directory.policy().access.is_admin(&caller.groups),
            caller: caller.user,
            address,
            request_id,
        };
        let service = &app.service;
        match action {
            None => {
                let deleted = service.delete(command).await?;
                Ok(json_response(StatusCode::OK, &DeletedView::from(deleted)))
            }
            Some("rotate-credentials") => {
                let key = idempotency_key(&req)?;
                let (rotated, replayed) = service.rotate_credentials_once(command, key).await?;
                Ok(credentials_response(StatusCode::OK, rotated, replayed))
            }
            Some(action @ ("disable" | "enable")) => {
                let account = service.set_sending(command, action == "enable").await?;
                Ok(json_response(
                    StatusCode::OK,
                    &AccountView::at(account, &app.read().directory),
                ))
            }
            Some(_) => Err(ApiError::UnknownRoute),
        }
    })
    .await
}

/// Credentials shown once: a create's 201 or a rotation's 200, marked when replayed.
fn credentials_response(status: StatusCode, answered: Created, replayed: bool) -> Response<Body> {
    let mut response = json_response(status, &CreatedView::from(answered));
    if replayed {
        response
            .headers_mut()
            .insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    response
}

/// `POST /api/email/events/sendgrid`: SendGrid's signed Event Webhook. A
/// batch is verified (signature and age) before anything is read from it;
/// its reports are tallied once each, for the provider's metrics.
pub async fn sendgrid_events(app: &WebhookApp, req: Request) -> Result<Response<Body>, Error> {
    serve(req, |req, _request_id| async move {
        expect_method(&req, Method::POST)?;
        let key = app
            .sendgrid_key
            .as_ref()
            .ok_or(ApiError::WebhookNotConfigured)?;
        let header = |name: &str| req.headers().get(name).and_then(|v| v.to_str().ok());
        let body: &[u8] = req.body().as_ref();
        let now = app.directory.now();
        key.verify(
            header(TIMESTAMP_HEADER),
            header(SIGNATURE_HEADER),
            body,
            now,
        )?;
        let events = parse_sendgrid_batch(body)
            .map_err(|error| ApiError::MalformedJson(error.to_string()))?;
        let tally = app.directory.tally_unattributed(&events).await?;
        let counted = tally.counted;
        telemetry::emit_metrics(
            now,
            &[("Provider", ProviderKind::Sendgrid.as_str())],
            &[
                ("Sends", counted.sends.into()),
                ("Deliveries", counted.deliveries.into()),
                ("Bounces", counted.bounces.into()),
                ("Complaints", counted.complaints.into()),
            ],
        );
        Ok(json_response(StatusCode::OK, &TallyView::from(tally)))
    })
    .await
}

/// The list function's routes: `GET /api/email/my-accounts`,
/// `GET /api/email/policy` and `GET /api/health`.
pub async fn list_routes(app: &ReadApp, req: Request) -> Result<Response<Body>, Error> {
    serve(req, |req, _request_id| async move {
        expect_method(&req, Method::GET)?;
        let path = req.uri().path();
        if path.ends_with("/health") {
            let health = HealthView {
                status: "ok",
                version: env!("CARGO_PKG_VERSION"),
            };
            return Ok(json_response(StatusCode::OK, &health));
        }
        let caller = caller(&req, app).await?;
        caller.may(KeyScope::List)?;
        if path.ends_with("/policy") {
            let readings = app.directory.recorded_usage().await?;
            let domains = app.directory.domain_readings().await?;
            let policy =
                PolicyView::for_caller(app.directory.policy(), &caller.groups, &readings, &domains);
            return Ok(json_response(StatusCode::OK, &policy));
        }
        let owner = caller.user;
        let limit = page_limit(&req, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)?;
        let after = query_param(&req, "cursor")
            .map(|raw| {
                decode_cursor(raw).ok_or_else(|| {
                    ApiError::InvalidQuery("cursor is not one this service issued".into())
                })
            })
            .transpose()?;
        let page = app.directory.list(&owner, limit, after.as_ref()).await?;
        Ok(json_response(
            StatusCode::OK,
            &AccountsView::at(page, &app.directory),
        ))
    })
    .await
}
