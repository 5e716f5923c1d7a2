//! Requests to the real handlers, built from the events in `events/`, and
//! what the tests read back from the answers.

use lambda_http::{Body, Response};
use provisioning::http::{
    admin_routes, check_availability, create, key_routes, list_routes, manage_account,
};
use provisioning::App;
use serde_json::{json, Value};

use crate::events::Event;

/// A response's status and JSON body (`Value::Null` when empty).
pub fn read(response: Response<Body>) -> (u16, Value) {
    let status = response.status().as_u16();
    let body = response.body();
    let value = if body.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(body).expect("every response body is JSON")
    };
    (status, value)
}

pub async fn check(app: &App, user: &str, username: &str) -> (u16, Value) {
    check_body(app, user, json!({ "username": username })).await
}

pub async fn check_body(app: &App, user: &str, body: Value) -> (u16, Value) {
    let event = Event::load("check-availability").user(user).json(body);
    send(app, Route::Check, &event).await
}

pub async fn create_as(app: &App, user: &str, body: Value) -> (u16, Value) {
    let event = Event::load("create").user(user).json(body);
    send(app, Route::Create, &event).await
}

/// `create` with an `Idempotency-Key`: status, body, and whether it was a replay.
pub async fn create_with_key(app: &App, user: &str, body: Value, key: &str) -> (u16, Value, bool) {
    let event = Event::load("create")
        .user(user)
        .json(body)
        .header("idempotency-key", key);
    let response = create(app, event.request()).await.unwrap();
    let replayed = response.headers().get("idempotent-replayed").is_some();
    let (status, body) = read(response);
    (status, body, replayed)
}

/// The `reconcile` job's handler, fed the scheduled event from `events/`: its answer.
pub async fn reconcile(app: &App) -> Value {
    let event = Event::load("reconcile-schedule").0;
    provisioning::scheduled::reconcile(
        app,
        lambda_http::lambda_runtime::LambdaEvent::new(
            event,
            lambda_http::lambda_runtime::Context::default(),
        ),
    )
    .await
    .unwrap()
}

pub async fn list(app: &App, user: &str, query: &[(&str, &str)]) -> (u16, Value) {
    let event = Event::load("my-accounts").user(user).query(query);
    send(app, Route::List, &event).await
}

pub async fn delete_as(app: &App, user: &str, address: &str) -> (u16, Value) {
    let event = Event::load("delete-account").user(user).account(address);
    send(app, Route::Manage, &event).await
}

/// `POST /api/email/accounts/{address}/{action}`, with an `Idempotency-Key` if given.
pub async fn account_action_as(
    app: &App,
    user: &str,
    address: &str,
    action: &str,
    key: Option<&str>,
) -> (u16, Value) {
    let mut event = Event::load("rotate-credentials")
        .without_header("idempotency-key")
        .user(user)
        .account_action(address, action);
    if let Some(key) = key {
        event = event.header("idempotency-key", key);
    }
    send(app, Route::Manage, &event).await
}

#[derive(Debug, Clone, Copy)]
pub enum Route {
    Check,
    Create,
    List,
    Manage,
    Admin,
    Keys,
}

pub async fn send(app: &App, route: Route, event: &Event) -> (u16, Value) {
    let request = event.request();
    let response = match route {
        Route::Check => check_availability(app.read(), request).await,
        Route::Create => create(app, request).await,
        Route::List => list_routes(app.read(), request).await,
        Route::Manage => manage_account(app, request).await,
        Route::Admin => admin_routes(app, request).await,
        Route::Keys => key_routes(app.read(), request).await,
    };
    read(response.unwrap())
}

pub fn assert_error(response: &(u16, Value), status: u16, code: &str) {
    assert_eq!(response.0, status, "{}", response.1);
    let error = &response.1["error"];
    assert_eq!(error["code"], code, "{}", response.1);
    assert!(
        error["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{}",
        response.1
    );
    assert!(
        error["request_id"].as_str().is_some_and(|m| !m.is_empty()),
        "{}",
        response.1
    );
}

pub fn addresses(values: &Value) -> Vec<String> {
    values
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect()
}

/// The addresses of the accounts of several list pages, in order.
pub fn listed_emails(pages: &[&Value]) -> Vec<String> {
    pages
        .iter()
        .flat_map(|page| page["accounts"].as_array().unwrap().iter())
        .map(|account| account["email"].as_str().unwrap().to_string())
        .collect()
}

/// Twenty users create the same address at once, each through its own
/// function process (`new_app`): exactly one 201, nineteen 409s.
pub async fn race_twenty_creates_of_one_address<F>(new_app: F)
where
    F: Fn() -> App + Send + Sync + 'static,
{
    let new_app = std::sync::Arc::new(new_app);
    let mut tasks = Vec::new();
    for n in 0..20 {
        let new_app = std::sync::Arc::clone(&new_app);
        tasks.push(tokio::spawn(async move {
            let app = new_app();
            create_as(&app, &format!("user-{n}"), json!({ "username": "support" })).await
        }));
    }
    let mut winners = 0;
    for task in tasks {
        let response = task.await.unwrap();
        match response.0 {
            201 => winners += 1,
            _ => assert_error(&response, 409, "address_taken"),
        }
    }
    assert_eq!(winners, 1);
}

/// The group the tests' deployments make administrators (`ADMIN_GROUPS`).
pub const ADMINS: &str = "email-admins";

/// An `/api/admin/…` request (`event` as loaded) by `user`, a member of `ADMINS`.
pub async fn admin_as(app: &App, user: &str, event: Event) -> (u16, Value) {
    let event = event
        .user(user)
        .claim("cognito:groups", &format!("[{ADMINS}]"));
    send(app, Route::Admin, &event).await
}

/// An answer that is not JSON: its status, `Content-Type` and text.
pub async fn send_for_text(app: &App, route: Route, event: &Event) -> (u16, String, String) {
    let request = event.request();
    let response = match route {
        Route::Admin => admin_routes(app, request).await,
        other => panic!("{other:?} answers JSON"),
    }
    .unwrap();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let text = String::from_utf8_lossy(response.body()).into_owned();
    (response.status().as_u16(), content_type, text)
}
