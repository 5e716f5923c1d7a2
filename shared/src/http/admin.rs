//! The administrators' routes, under `/api/admin/`: 401 without a
//! verified identity, 403 for a caller outside `ADMIN_GROUPS`, then the
//! route.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use lambda_http::http::{header, Method, StatusCode};
use lambda_http::{Body, Error, Request, Response};
use serde::Deserialize;

use super::admin_views::{
    accounts_csv, audit_csv, decode_audit_cursor, report_csv, AdminAccountsView, AuditView,
    DomainsView, ReportView, TransferredView,
};
use super::handlers::serve;
use super::keys::{KeysView, RevokedView};
use super::request::{
    account_path, caller, expect_method, idempotency_key, json_body, page_limit, query_param,
    Caller,
};
use super::views::{decode_cursor, json_response};
use super::ApiError;
use crate::config::SensitiveAction;
use crate::domain::{
    AccountStatus, AddressFragment, DomainName, EmailAddress, ProviderKind, UserId,
};
use crate::service::{
    OffboardCommand, ReportGrouping, ServiceError, TransferCommand, MAX_REPORT_DAYS,
};
use crate::store::{AccountFilter, AuditAction, AuditFilter};
use crate::App;

const ACCOUNTS: &str = "/api/admin/accounts";
const USERS: &str = "/api/admin/users/";
/// A report without dates covers the last 30 UTC days, today included.
const DEFAULT_REPORT_DAYS: i64 = 30;

/// Every `/api/admin/…` route.
pub async fn admin_routes(app: &App, req: Request) -> Result<Response<Body>, Error> {
    serve(req, |req, request_id| async move {
        let read = app.read();
        let admin = caller(&req, read).await?;
        admin.in_person("administer")?;
        if !read.directory.policy().access.is_admin(&admin.groups) {
            return Err(ServiceError::Forbidden(
                "this route is for administrators (ADMIN_GROUPS) only".into(),
            )
            .into());
        }
        admin.second_factor(SensitiveAction::Admin, &read.mfa)?;
        let path = req.uri().path().trim_end_matches('/');
        if path == ACCOUNTS {
            expect_method(&req, Method::GET)?;
            return list_accounts(app, &req).await;
        }
        if path == "/api/admin/audit" {
            expect_method(&req, Method::GET)?;
            return audit(app, &req).await;
        }
        if path == "/api/admin/report" {
            expect_method(&req, Method::GET)?;
            return report(app, &req).await;
        }
        if path == "/api/admin/domains" {
            expect_method(&req, Method::GET)?;
            let reports = app
                .service
                .domain_reports()
                .await
                .into_iter()
                .map(|(report, _)| report);
            return Ok(json_response(StatusCode::OK, &DomainsView::of(reports)));
        }
        let directory = &read.directory;
        if path == "/api/admin/keys" {
            expect_method(&req, Method::GET)?;
            let keys = directory.keys(None).await?;
            return Ok(json_response(StatusCode::OK, &KeysView::of(&keys, true)));
        }
        if let Some(id) = path.strip_prefix("/api/admin/keys/") {
            expect_method(&req, Method::DELETE)?;
            directory.revoke_key(None, id).await?;
            return Ok(json_response(StatusCode::OK, &RevokedView::of(id)));
        }
        if let Some((address, Some("transfer"))) = account_path(&req, "/api/admin/accounts/") {
            expect_method(&req, Method::POST)?;
            return transfer(app, &req, admin, address, request_id).await;
        }
        if let Some((user, Some("offboard"))) = account_path(&req, USERS) {
            expect_method(&req, Method::POST)?;
            return offboard(app, &req, admin, &user, request_id).await;
        }
        Err(ApiError::UnknownRoute)
    })
    .await
}

/// `GET /api/admin/accounts?owner=&domain=&provider=&status=&q=&limit=&cursor=`
async fn list_accounts(app: &App, req: &Request) -> Result<Response<Body>, ApiError> {
    let filter = AccountFilter {
        owner: parsed(req, "owner", |raw| UserId::parse(raw).ok())?,
        domain: parsed(req, "domain", |raw| DomainName::parse(raw).ok())?,
        provider: parsed(req, "provider", ProviderKind::parse)?,
        status: parsed(req, "status", |raw| {
            AccountStatus::parse(raw).filter(|status| *status != AccountStatus::Failed)
        })?,
        address_contains: query_param(req, "q")
            .map(AddressFragment::parse)
            .transpose()?,
    };
    let limit = page_limit(req, 50, 100)?;
    let after = parsed(req, "cursor", decode_cursor)?;
    let directory = &app.read().directory;
    let page = directory
        .all_accounts(&filter, limit, after.as_ref())
        .await?;
    if wants_csv(req) {
        return Ok(accounts_csv(&page));
    }
    Ok(json_response(
        StatusCode::OK,
        &AdminAccountsView::at(page, directory),
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TransferBody {
    owner: String,
    rotate: bool,
}

/// `POST /api/admin/accounts/{email}/transfer`
async fn transfer(
    app: &App,
    req: &Request,
    admin: Caller,
    address: String,
    request_id: String,
) -> Result<Response<Body>, ApiError> {
    let body: TransferBody = json_body(req)?;
    let to = body_user(&body.owner, "owner")?;
    let transferred = app
        .service
        .transfer(TransferCommand {
            admin: admin.user,
            address,
            to,
            rotate: body.rotate,
            request_id,
        })
        .await?;
    Ok(json_response(
        StatusCode::OK,
        &TransferredView::at(transferred, &app.read().directory),
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OffboardBody {
    to: String,
}

/// `POST /api/admin/users/{user}/offboard`
async fn offboard(
    app: &App,
    req: &Request,
    admin: Caller,
    user: &str,
    request_id: String,
) -> Result<Response<Body>, ApiError> {
    let leaver = UserId::parse(user).map_err(|_| ApiError::UnknownRoute)?;
    let body: OffboardBody = json_body(req)?;
    let to = body_user(&body.to, "to")?;
    let key = idempotency_key(req)?;
    let (report, replayed) = app
        .service
        .offboard_once(
            OffboardCommand {
                admin: admin.user,
                leaver,
                to,
                request_id,
            },
            key,
        )
        .await?;
    let mut response = json_response(StatusCode::OK, &report);
    if replayed {
        response.headers_mut().insert(
            "idempotent-replayed",
            header::HeaderValue::from_static("true"),
        );
    }
    Ok(response)
}

/// `GET /api/admin/audit?address=&actor=&owner=&action=&from=&to=&limit=&cursor=`
async fn audit(app: &App, req: &Request) -> Result<Response<Body>, ApiError> {
    let filter = AuditFilter {
        address: parsed(req, "address", |raw| EmailAddress::parse(raw).ok())?,
        actor: parsed(req, "actor", |raw| UserId::parse(raw).ok())?,
        owner: parsed(req, "owner", |raw| UserId::parse(raw).ok())?,
        action: parsed(req, "action", AuditAction::parse)?,
        from: parsed(req, "from", |raw| moment(raw, false))?,
        to: parsed(req, "to", |raw| moment(raw, true))?,
    };
    let limit = page_limit(req, 100, 1000)?;
    let after = parsed(req, "cursor", decode_audit_cursor)?;
    let page = app
        .read()
        .directory
        .audit(filter, limit, after.as_ref())
        .await?;
    if wants_csv(req) {
        return Ok(audit_csv(&page));
    }
    Ok(json_response(StatusCode::OK, &AuditView::from(&page)))
}

/// `GET /api/admin/report?from=&to=&group_by=day|domain|provider|owner`
async fn report(app: &App, req: &Request) -> Result<Response<Body>, ApiError> {
    let directory = &app.read().directory;
    let today = directory.now().date_naive();
    let to = parsed(req, "to", day)?.unwrap_or(today);
    let from = parsed(req, "from", day)?.unwrap_or(to - Duration::days(DEFAULT_REPORT_DAYS - 1));
    let days = (to - from).num_days() + 1;
    if !(1..=MAX_REPORT_DAYS).contains(&days) {
        return Err(ApiError::InvalidQuery(format!(
            "from must be on or before to, and a report covers at most {MAX_REPORT_DAYS} days"
        )));
    }
    let group_by = parsed(req, "group_by", ReportGrouping::parse)?.unwrap_or(ReportGrouping::Day);
    let report = directory.report(from, to, group_by).await?;
    if wants_csv(req) {
        return Ok(report_csv(&report));
    }
    Ok(json_response(StatusCode::OK, &ReportView::from(report)))
}

/// Query parameter `name`, read by `parse`: absent is `None`, present but
/// unreadable is a 400 naming it.
fn parsed<T>(
    req: &Request,
    name: &str,
    parse: impl FnOnce(&str) -> Option<T>,
) -> Result<Option<T>, ApiError> {
    query_param(req, name)
        .map(|raw| {
            parse(raw).ok_or_else(|| {
                ApiError::InvalidQuery(format!("{name} is not valid here (got {raw:?})"))
            })
        })
        .transpose()
}

/// A user id a body names; one that cannot be anyone's is the body's fault.
fn body_user(raw: &str, field: &str) -> Result<UserId, ApiError> {
    UserId::parse(raw).map_err(|error| ApiError::InvalidBody(format!("{field}: {error}")))
}

fn day(raw: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(raw, "%Y-%m-%d").ok()
}

/// An RFC 3339 moment, or a UTC day: its start, or for an upper bound
/// (`end_of_day`) the start of the next, so `to=2026-12-01` includes that day.
fn moment(raw: &str, end_of_day: bool) -> Option<DateTime<Utc>> {
    if let Ok(at) = DateTime::parse_from_rfc3339(raw) {
        return Some(at.with_timezone(&Utc));
    }
    let start = day(raw)?.and_hms_opt(0, 0, 0)?.and_utc();
    Some(if end_of_day {
        start + Duration::days(1)
    } else {
        start
    })
}

/// `Accept: text/csv` asks for the CSV form.
fn wants_csv(req: &Request) -> bool {
    req.headers()
        .get(header::ACCEPT)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|accept| {
            accept.split(',').any(|media| {
                media
                    .split(';')
                    .next()
                    .is_some_and(|m| m.trim() == "text/csv")
            })
        })
}
