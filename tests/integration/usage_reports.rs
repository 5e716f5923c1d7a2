//! Microsoft 365 and Google Workspace push no per-mailbox send events: the
//! daily job reads their usage reports (Graph `getEmailActivityUserDetail`,
//! a CSV behind a redirect; the Admin SDK Reports `userUsageReport`, paged)
//! against fakes of those endpoints, and fills the counters of the
//! addresses this service created, once per mailbox and day. On SQLite and
//! on DynamoDB alike.

use std::sync::Arc;

use integration_tests::calls::{create_as, list};
use integration_tests::provider_fakes::google::token_request;
use integration_tests::provider_fakes::graph::{microsoft_at, GRAPH_TOKEN};
use integration_tests::provider_fakes::{google_at, token_response};
use integration_tests::world_tests;
use integration_tests::worlds::{app_offering, AwsWorld, SqliteWorld, World};
use lambda_http::lambda_runtime::{Context, LambdaEvent};
use provisioning::providers::{GoogleProvider, Microsoft365Provider};
use provisioning::scheduled::read_usage_reports;
use provisioning::App;
use serde_json::{json, Value};
use wiremock::matchers::{body_string_contains, header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// The report header as Graph writes it (with its byte-order mark).
const GRAPH_HEADER: &str = "\u{feff}Report Refresh Date,User Principal Name,Display Name,Is Deleted,Deleted Date,Last Activity Date,Send Count,Receive Count,Read Count,Meeting Created Count,Meeting Interacted Count,Assigned Products,Report Period";

async fn microsoft() -> (MockServer, Microsoft365Provider) {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/tenant-1/oauth2/v2.0/token"))
        .and(body_string_contains("grant_type=client_credentials"))
        .respond_with(token_response(GRAPH_TOKEN))
        .mount(&server)
        .await;
    // The documented answer: 302 to a pre-authorized download of the CSV.
    Mock::given(method("GET"))
        .and(path(
            "/v1.0/reports/getEmailActivityUserDetail(date=2026-11-23)",
        ))
        .and(header(
            "authorization",
            format!("Bearer {GRAPH_TOKEN}").as_str(),
        ))
        .respond_with(ResponseTemplate::new(302).insert_header(
            "location",
            format!("{}/download/activity.csv", server.uri()),
        ))
        .mount(&server)
        .await;
    let csv = format!(
        "{GRAPH_HEADER}\n\
         2026-11-24,contact@example.com,Contact Desk,False,,2026-11-23,5,12,10,0,0,\"Microsoft 365 Business Basic+Exchange Online (Plan 1)\",1\n\
         2026-11-24,stranger@example.com,Someone Else,False,,2026-11-23,9,1,1,0,0,,1\n\
         2026-11-24,3F2504E04F8911D39A0C0305E82C3301,,False,,2026-11-23,4,0,0,0,0,,1\n"
    );
    Mock::given(method("GET"))
        .and(path("/download/activity.csv"))
        .respond_with(ResponseTemplate::new(200).set_body_string(csv))
        .mount(&server)
        .await;
    // Days not reported yet: the header alone.
    Mock::given(method("GET"))
        .and(wiremock::matchers::path_regex(
            r"^/v1\.0/reports/getEmailActivityUserDetail\(date=2026-11-2[12]\)$",
        ))
        .respond_with(ResponseTemplate::new(200).set_body_string(format!("{GRAPH_HEADER}\n")))
        .mount(&server)
        .await;
    let provider = microsoft_at(&server.uri(), &[]);
    (server, provider)
}

fn usage(user: &str, sent: &str) -> Value {
    json!({
        "kind": "admin#reports#usageReport", "date": "2026-11-23",
        "entity": { "customerId": "C03az79cb", "userEmail": user, "profileId": "1234", "type": "USER" },
        "etag": "\"abc\"",
        "parameters": [{ "name": "gmail:num_emails_sent", "intValue": sent }]
    })
}

async fn google() -> (MockServer, GoogleProvider) {
    let server = MockServer::start().await;
    token_request(
        &server,
        "https://www.googleapis.com/auth/admin.reports.usage.readonly",
    )
    .respond_with(token_response("ya29.reports"))
    .mount(&server)
    .await;
    let day = "/admin/reports/v1/usage/users/all/dates/2026-11-23";
    Mock::given(method("GET"))
        .and(path(day))
        .and(header("authorization", "Bearer ya29.reports"))
        .and(query_param("parameters", "gmail:num_emails_sent"))
        .and(query_param("pageToken", "page-2"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "kind": "admin#reports#usageReports", "usageReports": [usage("other@example.com", "1")]
        })))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(day))
        .and(header("authorization", "Bearer ya29.reports"))
        .and(query_param("parameters", "gmail:num_emails_sent"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "kind": "admin#reports#usageReports",
            "usageReports": [usage("sales@example.com", "3")],
            "nextPageToken": "page-2"
        })))
        .mount(&server)
        .await;
    // A day Google has not published yet: a warning and no reports.
    Mock::given(method("GET"))
        .and(wiremock::matchers::path_regex(r"^/admin/reports/v1/usage/users/all/dates/2026-11-2[12]$"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "kind": "admin#reports#usageReports",
            "warnings": [{ "code": "PARTIAL_DATA_AVAILABLE", "message": "Data for dates later than 2026-11-23 is not yet available." }]
        })))
        .mount(&server)
        .await;
    let provider = google_at(&server.uri());
    (server, provider)
}

async fn month_sends(app: &App) -> Vec<(String, Value)> {
    let listed = list(app, "alice", &[]).await.1;
    listed["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|account| {
            (
                account["email"].as_str().unwrap().to_string(),
                account["emails_sent_month"].clone(),
            )
        })
        .collect()
}

async fn reports_fill_the_month_of_our_mailboxes_once(world: &impl World) {
    let creating = world.app();
    for username in ["contact", "sales"] {
        assert_eq!(
            create_as(&creating, "alice", json!({ "username": username }))
                .await
                .0,
            201
        );
    }
    let (_graph, microsoft) = microsoft().await;
    let (_google, google) = google().await;
    let app = app_offering(world, vec![Arc::new(microsoft), Arc::new(google)]);
    let event = || LambdaEvent::new(json!({}), Context::default());

    // The world's clock: 2026-11-25, so the run reads the 23rd, 22nd and 21st.
    let answer = read_usage_reports(&app, event()).await.unwrap();
    assert_eq!(
        answer,
        json!({ "counted": 2, "failures": [] }),
        "contact@ and sales@; strangers are not ours"
    );
    let expected = vec![
        ("contact@example.com".to_string(), json!(5)),
        ("sales@example.com".to_string(), json!(3)),
    ];
    assert_eq!(month_sends(&creating).await, expected);

    // The next day's run reads the 23rd again: nothing is counted twice.
    let again = read_usage_reports(&app, event()).await.unwrap();
    assert_eq!(again["counted"], 0);
    assert_eq!(month_sends(&creating).await, expected);
}

mod sqlite {
    use super::*;
    world_tests!(SqliteWorld::new(); reports_fill_the_month_of_our_mailboxes_once);
}

mod dynamodb {
    use super::*;
    world_tests!(AwsWorld::new().await; reports_fill_the_month_of_our_mailboxes_once);
}
