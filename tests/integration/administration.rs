//! The company's side, on SQLite and on DynamoDB alike: administrators
//! (and only they) list every address, hand one over, off-board a leaver,
//! change anyone's address through the account routes, and read the audit
//! trail and the report, in JSON and in CSV that runs nothing.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::Duration;
use integration_tests::calls::{
    account_action_as, admin_as, assert_error, create_as, delete_as, list, listed_emails, send,
    send_for_text, Route, ADMINS,
};
use integration_tests::events::Event;
use integration_tests::fakes::{Gate, ObservedProvider};
use integration_tests::worlds::{AwsWorld, SqliteWorld, World};
use integration_tests::{policy, world_tests};
use provisioning::clock::Clock;
use provisioning::config::AuthMode;
use provisioning::domain::{EmailAddress, UserId};
use provisioning::providers::{MailProvider, SandboxProvider};
use provisioning::service::{CompanyDirectories, Policy};
use provisioning::store::{AuditAction, AuditEntry, AuditFilter};
use provisioning::App;
use serde_json::{json, Value};

const ADMIN: &str = "root";

/// The tests' deployment with administrators: 30 creates and `rotations` rotations a day.
fn admin_policy(rotations: u32) -> Policy {
    let mut policy = policy(30);
    policy.access.admin_groups = vec![ADMINS.into()];
    policy.daily_rotation_limit = rotations;
    policy
}

fn admin_app(world: &impl World, provider: Arc<dyn MailProvider>) -> App {
    admin_app_limited(world, provider, 10)
}

fn admin_app_limited(world: &impl World, provider: Arc<dyn MailProvider>, rotations: u32) -> App {
    world.parts(provider).app_under(
        admin_policy(rotations),
        CompanyDirectories::none(),
        AuthMode::Jwt,
    )
}

fn transfer_event(address: &str, owner: &str, rotate: bool) -> Event {
    Event::load("admin-transfer")
        .path(
            &format!(
                "/api/admin/accounts/{}/transfer",
                address.replace('@', "%40")
            ),
            json!({ "email": address }),
        )
        .json(json!({ "owner": owner, "rotate": rotate }))
}

fn offboard_event(user: &str, to: &str, key: Option<&str>) -> Event {
    let event = Event::load("admin-offboard")
        .without_header("idempotency-key")
        .path(
            &format!("/api/admin/users/{user}/offboard"),
            json!({ "user": user }),
        )
        .json(json!({ "to": to }));
    match key {
        Some(key) => event.header("idempotency-key", key),
        None => event,
    }
}

fn accounts_event(query: &[(&str, &str)]) -> Event {
    Event::load("admin-accounts").query(query)
}

/// Every audit entry matching `filter`, newest first, of the last month of the world's clock.
async fn trail(world: &impl World, mut filter: AuditFilter) -> Vec<AuditEntry> {
    let now = world.clock().now();
    filter.from = Some(now - Duration::days(30));
    filter.to = Some(now + Duration::days(1));
    let store = world.store();
    let mut entries = Vec::new();
    let mut after = None;
    loop {
        let page = store
            .oversight
            .audit_entries(&filter, 100, after.as_ref())
            .await
            .unwrap();
        entries.extend(page.entries);
        match page.next {
            Some(next) => after = Some(next),
            None => return entries,
        }
    }
}

fn user(id: &str) -> UserId {
    UserId::parse(id).unwrap()
}

fn address(raw: &str) -> EmailAddress {
    EmailAddress::parse(raw).unwrap()
}

/// 401 without identity, 403 for anyone outside `ADMIN_GROUPS` (whatever
/// headers say under JWT), the route for administrators; locally the
/// `X-User-Groups` header stands for the groups claim.
async fn every_admin_route_is_for_administrators_only(world: &impl World) {
    let app = admin_app(world, Arc::new(SandboxProvider::default()));
    assert_eq!(
        create_as(&app, "alice", json!({ "username": "contact" }))
            .await
            .0,
        201
    );
    let routes = [
        "admin-accounts",
        "admin-transfer",
        "admin-offboard",
        "admin-audit",
        "admin-report",
    ];
    for name in routes {
        let event = Event::load(name);
        assert_error(
            &send(&app, Route::Admin, &event.anonymous()).await,
            401,
            "unauthorized",
        );
        assert_error(
            &send(&app, Route::Admin, &Event::load(name).user("alice")).await,
            403,
            "forbidden",
        );
        let staff = Event::load(name)
            .user("alice")
            .claim("cognito:groups", "[staff]")
            .header("x-user-groups", ADMINS);
        assert_error(&send(&app, Route::Admin, &staff).await, 403, "forbidden");
    }
    let (status, _) = admin_as(&app, ADMIN, accounts_event(&[])).await;
    assert_eq!(status, 200);
    // The policy tells the panel whether to show its Administration view.
    let policy_of = |event: Event| {
        let app = &app;
        async move { send(app, Route::List, &event).await.1["administrator"].clone() }
    };
    assert_eq!(
        policy_of(Event::load("policy").user("alice")).await,
        json!(false)
    );
    assert_eq!(
        policy_of(
            Event::load("policy")
                .user(ADMIN)
                .claim("cognito:groups", &format!("[{ADMINS}]"))
        )
        .await,
        json!(true)
    );
    assert_eq!(
        admin_as(&app, ADMIN, Event::load("admin-audit")).await.0,
        200
    );
    let (status, content_type, _) = send_for_text(
        &app,
        Route::Admin,
        &Event::load("admin-report")
            .user(ADMIN)
            .claim("cognito:groups", &format!("[{ADMINS}]")),
    )
    .await;
    assert_eq!(
        (status, content_type.as_str()),
        (200, "text/csv; charset=utf-8")
    );
    assert_error(
        &admin_as(
            &app,
            ADMIN,
            transfer_event("nobody@example.com", "bob", true),
        )
        .await,
        404,
        "account_not_found",
    );
    let (status, report) = admin_as(&app, ADMIN, offboard_event("carol", "bob", None)).await;
    assert_eq!((status, report["addresses"].clone()), (200, json!([])));

    // Locally, the groups come from X-User-Groups, comma-separated.
    let local = world.parts(Arc::new(SandboxProvider::default())).app_under(
        admin_policy(10),
        CompanyDirectories::none(),
        AuthMode::Local,
    );
    let by_header = |groups: &str| {
        Event::load("admin-accounts")
            .anonymous()
            .header("x-user-id", ADMIN)
            .header("x-user-groups", groups)
    };
    let (status, page) = send(
        &local,
        Route::Admin,
        &by_header(&format!("staff, {ADMINS}")),
    )
    .await;
    assert_eq!(status, 200, "{page}");
    assert_error(
        &send(&local, Route::Admin, &by_header("staff")).await,
        403,
        "forbidden",
    );
}

async fn administrators_list_every_address_with_its_owner(world: &impl World) {
    let app = admin_app(world, Arc::new(SandboxProvider::default()));
    for (owner, body) in [
        ("alice", json!({ "username": "sales" })),
        ("alice", json!({ "username": "contact" })),
        (
            "bob",
            json!({ "username": "info", "domain": "support.example.com" }),
        ),
    ] {
        let created = create_as(&app, owner, body).await;
        assert_eq!(created.0, 201, "{}", created.1);
    }
    let listed = |page: &Value| -> Vec<String> {
        page["accounts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| {
                format!(
                    "{} {}",
                    a["owner"].as_str().unwrap(),
                    a["email"].as_str().unwrap()
                )
            })
            .collect()
    };
    let (status, page) = admin_as(&app, ADMIN, accounts_event(&[])).await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(
        listed(&page),
        [
            "alice contact@example.com",
            "alice sales@example.com",
            "bob info@support.example.com"
        ]
    );
    assert_eq!(page["accounts"][0]["status"], "active");
    assert!(page["accounts"][0].get("password").is_none());
    for (query, expected) in [
        (vec![("owner", "bob")], vec!["bob info@support.example.com"]),
        (vec![("q", "SAL")], vec!["alice sales@example.com"]),
        (
            vec![("domain", "example.com"), ("provider", "sandbox")],
            vec!["alice contact@example.com", "alice sales@example.com"],
        ),
        (vec![("status", "disabled")], vec![]),
    ] {
        let (status, page) = admin_as(&app, ADMIN, accounts_event(&query)).await;
        assert_eq!(status, 200, "{page}");
        assert_eq!(listed(&page), expected, "{query:?}");
    }
    let (_, first) = admin_as(&app, ADMIN, accounts_event(&[("limit", "2")])).await;
    let cursor = first["next_cursor"].as_str().unwrap();
    let (_, second) = admin_as(
        &app,
        ADMIN,
        accounts_event(&[("limit", "2"), ("cursor", cursor)]),
    )
    .await;
    assert_eq!(
        listed_emails(&[&first, &second]),
        [
            "contact@example.com",
            "sales@example.com",
            "info@support.example.com"
        ]
    );
    for bad in [
        vec![("provider", "nope")],
        vec![("status", "failed")],
        vec![("q", "a b")],
        vec![("owner", "a b")],
        vec![("limit", "0")],
        vec![("cursor", "junk")],
    ] {
        assert_error(
            &admin_as(&app, ADMIN, accounts_event(&bad)).await,
            400,
            "invalid_query",
        );
    }
}

/// The old owner meets the address as a stranger, the new one owns it;
/// with `rotate` the old password stops working and the new one is shown
/// once; transfers count against nobody's daily rotations.
async fn a_transfer_hands_the_address_over(world: &impl World) {
    let sandbox = Arc::new(SandboxProvider::default());
    let app = admin_app_limited(world, sandbox.clone(), 1);
    let (_, created) = create_as(&app, "alice", json!({ "username": "contact" })).await;
    let first_password = created["credentials"]["password"]
        .as_str()
        .unwrap()
        .to_string();
    let contact = "contact@example.com";
    world.clock().advance(Duration::minutes(1));

    let (status, moved) = admin_as(&app, ADMIN, transfer_event(contact, "bob", true)).await;
    assert_eq!(status, 200, "{moved}");
    assert_eq!(moved["previous_owner"], "alice");
    assert_eq!(moved["account"]["owner"], "bob");
    assert_eq!(moved["account"]["email"], contact);
    let new_password = moved["credentials"]["password"].as_str().unwrap();
    assert!(sandbox.accepts(&address(contact), new_password));
    assert!(!sandbox.accepts(&address(contact), &first_password));
    assert_eq!(
        world.kept_passwords().await,
        0,
        "nothing replays a transfer"
    );

    assert!(list(&app, "alice", &[]).await.1["accounts"]
        .as_array()
        .unwrap()
        .is_empty());
    for response in [
        account_action_as(&app, "alice", contact, "rotate-credentials", None).await,
        account_action_as(&app, "alice", contact, "disable", None).await,
        delete_as(&app, "alice", contact).await,
    ] {
        assert_error(&response, 404, "account_not_found");
    }
    assert_eq!(listed_emails(&[&list(&app, "bob", &[]).await.1]), [contact]);
    let rotated = account_action_as(&app, "bob", contact, "rotate-credentials", None).await;
    assert_eq!(rotated.0, 200, "{}", rotated.1);

    // More rotations in one day than anyone's limit (1): transfers count against no one.
    for owner in ["alice", "bob", "alice"] {
        world.clock().advance(Duration::minutes(1));
        let (status, moved) = admin_as(&app, ADMIN, transfer_event(contact, owner, true)).await;
        assert_eq!(status, 200, "{moved}");
    }
    assert_error(
        &admin_as(&app, ADMIN, transfer_event(contact, "alice", false)).await,
        409,
        "already_owner",
    );
    world.clock().advance(Duration::minutes(1));
    let (status, moved) = admin_as(&app, ADMIN, transfer_event(contact, "carol", false)).await;
    assert_eq!(status, 200, "{moved}");
    assert!(moved.get("credentials").is_none(), "{moved}");

    let transfers: Vec<(AuditAction, String, String, Option<String>)> = trail(
        world,
        AuditFilter {
            actor: Some(user(ADMIN)),
            ..AuditFilter::default()
        },
    )
    .await
    .into_iter()
    .rev()
    .map(|e| {
        (
            e.action,
            e.owner.to_string(),
            e.actor.to_string(),
            e.new_owner.map(|o| o.to_string()),
        )
    })
    .collect();
    let moved = |action, from: &str, to: &str| {
        (
            action,
            from.to_string(),
            ADMIN.to_string(),
            Some(to.to_string()),
        )
    };
    assert_eq!(
        transfers,
        [
            moved(AuditAction::TransferredAndRotated, "alice", "bob"),
            moved(AuditAction::TransferredAndRotated, "bob", "alice"),
            moved(AuditAction::TransferredAndRotated, "alice", "bob"),
            moved(AuditAction::TransferredAndRotated, "bob", "alice"),
            moved(AuditAction::Transferred, "alice", "carol"),
        ]
    );
    for (body, code) in [
        (json!({ "owner": "bob" }), "invalid_body"),
        (json!({ "owner": "b o b", "rotate": true }), "invalid_body"),
        (
            json!({ "owner": "bob", "rotate": true, "extra": 1 }),
            "invalid_body",
        ),
    ] {
        let event = transfer_event(contact, "bob", true).json(body);
        assert_error(&admin_as(&app, ADMIN, event).await, 400, code);
    }
}

/// An administrator rotates, disables, enables and deletes someone else's
/// address through the account routes; the audit names the administrator
/// as actor and keeps the owner as owner. Others still get a 404.
async fn administrators_change_anyones_address(world: &impl World) {
    let sandbox = Arc::new(SandboxProvider::default());
    let app = admin_app(world, sandbox.clone());
    let contact = "contact@example.com";
    assert_eq!(
        create_as(&app, "alice", json!({ "username": "contact" }))
            .await
            .0,
        201
    );
    let as_admin = |event: Event| {
        event
            .user(ADMIN)
            .claim("cognito:groups", &format!("[{ADMINS}]"))
    };
    for action in ["disable", "enable", "rotate-credentials"] {
        world.clock().advance(Duration::minutes(1));
        let event = as_admin(
            Event::load("rotate-credentials")
                .without_header("idempotency-key")
                .account_action(contact, action),
        );
        let (status, answer) = send(&app, Route::Manage, &event).await;
        assert_eq!(status, 200, "{action}: {answer}");
    }
    assert_error(
        &account_action_as(&app, "bob", contact, "disable", None).await,
        404,
        "account_not_found",
    );
    world.clock().advance(Duration::minutes(1));
    let deleted = send(
        &app,
        Route::Manage,
        &as_admin(Event::load("delete-account").account(contact)),
    )
    .await;
    assert_eq!(deleted.0, 200, "{}", deleted.1);
    assert!(sandbox.provisioned().is_empty());

    let entries = world
        .store()
        .audit
        .audit_trail(&user("alice"))
        .await
        .unwrap();
    let seen: Vec<(AuditAction, String)> = entries
        .iter()
        .map(|e| (e.action, e.actor.to_string()))
        .collect();
    let by = |action, actor: &str| (action, actor.to_string());
    assert_eq!(
        seen,
        [
            by(AuditAction::CreateStarted, "alice"),
            by(AuditAction::Created, "alice"),
            by(AuditAction::Disabled, ADMIN),
            by(AuditAction::Enabled, ADMIN),
            by(AuditAction::CredentialsRotated, ADMIN),
            by(AuditAction::Deleted, ADMIN),
        ]
    );
    assert!(entries.iter().all(|e| e.owner == user("alice")));
}

/// A transfer holding the address refuses the old owner's rotation and
/// delete (409), then wins; and, many times over, a transfer, a rotation
/// and a delete at once end with one owner or none, never half-done.
async fn a_transfer_racing_the_old_owners_changes_has_one_winner(world: &impl World) {
    let sandbox = Arc::new(SandboxProvider::default());
    let gate = Arc::new(Gate::default());
    let gated = admin_app(
        world,
        Arc::new(ObservedProvider::gated_rotation(
            sandbox.clone(),
            gate.clone(),
        )),
    );
    let app = admin_app(world, sandbox.clone());
    assert_eq!(
        create_as(&app, "alice", json!({ "username": "contact" }))
            .await
            .0,
        201
    );
    let contact = "contact@example.com";
    world.clock().advance(Duration::minutes(1));
    let transfer =
        tokio::spawn(
            async move { admin_as(&gated, ADMIN, transfer_event(contact, "bob", true)).await },
        );
    gate.entered.notified().await;
    assert_error(
        &account_action_as(&app, "alice", contact, "rotate-credentials", None).await,
        409,
        "request_in_progress",
    );
    assert_error(
        &delete_as(&app, "alice", contact).await,
        409,
        "request_in_progress",
    );
    gate.open.notify_one();
    let (status, moved) = transfer.await.unwrap();
    assert_eq!(status, 200, "{moved}");
    assert_error(
        &delete_as(&app, "alice", contact).await,
        404,
        "account_not_found",
    );
    let password = moved["credentials"]["password"].as_str().unwrap();
    assert!(sandbox.accepts(&address(contact), password));
    assert_eq!(sandbox.provisioned().len(), 1);

    for round in 0..6 {
        let (owner, username) = (format!("owner-{round}"), format!("race{round}"));
        let created = create_as(&app, &owner, json!({ "username": username })).await;
        assert_eq!(created.0, 201, "{}", created.1);
        let race = format!("{username}@example.com");
        let (admin, rotator, deleter) = (
            admin_app(world, sandbox.clone()),
            admin_app(world, sandbox.clone()),
            admin_app(world, sandbox.clone()),
        );
        let (moved, rotated, deleted) = tokio::join!(
            admin_as(&admin, ADMIN, transfer_event(&race, "heir", true)),
            account_action_as(&rotator, &owner, &race, "rotate-credentials", None),
            delete_as(&deleter, &owner, &race),
        );
        for (name, response) in [
            ("transfer", &moved),
            ("rotate", &rotated),
            ("delete", &deleted),
        ] {
            assert!(
                [200, 404, 409].contains(&response.0),
                "round {round} {name}: {}",
                response.1
            );
        }
        assert!(
            !(moved.0 == 200 && deleted.0 == 200),
            "round {round}: a transferred address was deleted by its old owner"
        );
        let mut holders = Vec::new();
        for holder in [owner.as_str(), "heir"] {
            if listed_emails(&[&list(&app, holder, &[]).await.1]).contains(&race) {
                holders.push(holder);
            }
        }
        let at_provider = sandbox
            .provisioned()
            .iter()
            .any(|resource| resource.starts_with(&format!("sandbox:{race}#")));
        assert!(holders.len() <= 1, "round {round}: {holders:?}");
        assert_eq!(
            (holders.len() == 1, at_provider),
            (deleted.0 != 200, deleted.0 != 200),
            "round {round}: the address, its secret and its provider resource go together"
        );
        if moved.0 == 200 {
            assert_eq!(holders, ["heir"], "round {round}");
        }
    }
}

/// Twenty-five addresses of a leaver move to their heir with new
/// credentials; the one the provider refuses to rotate stays the leaver's,
/// whole; a disabled one moves as it is. The same key replays the report.
async fn offboarding_moves_every_address_but_a_failed_one(world: &impl World) {
    let sandbox = Arc::new(SandboxProvider::default());
    let refused = "a13@example.com";
    let app = admin_app(
        world,
        Arc::new(ObservedProvider::refusing_to_rotate(
            sandbox.clone(),
            address(refused),
        )),
    );
    let mut passwords = BTreeMap::new();
    for n in 0..25 {
        let (status, created) =
            create_as(&app, "leaver", json!({ "username": format!("a{n:02}") })).await;
        assert_eq!(status, 201, "{created}");
        passwords.insert(
            created["email"].as_str().unwrap().to_string(),
            created["credentials"]["password"]
                .as_str()
                .unwrap()
                .to_string(),
        );
    }
    let disabled = "a05@example.com";
    assert_eq!(
        account_action_as(&app, "leaver", disabled, "disable", None)
            .await
            .0,
        200
    );
    world.clock().advance(Duration::minutes(1));

    let (status, report) =
        admin_as(&app, ADMIN, offboard_event("leaver", "heir", Some("k1"))).await;
    assert_eq!(status, 200, "{report}");
    let outcomes = report["addresses"].as_array().unwrap();
    assert_eq!(outcomes.len(), 25);
    for outcome in outcomes {
        let email = outcome["address"].as_str().unwrap();
        let expected = match email {
            e if e == refused => ("failed", false),
            e if e == disabled => ("transferred", false),
            _ => ("transferred", true),
        };
        assert_eq!(
            (
                outcome["outcome"].as_str().unwrap(),
                outcome["credentials_rotated"].as_bool().unwrap()
            ),
            expected,
            "{outcome}"
        );
        if email != disabled {
            let old_password_works = sandbox.accepts(&address(email), &passwords[email]);
            assert_eq!(old_password_works, !expected.1, "{email}");
        }
    }
    // The disabled one kept its credentials: sending again, the old password works.
    assert_eq!(
        account_action_as(&app, "heir", disabled, "enable", None)
            .await
            .0,
        200
    );
    assert!(sandbox.accepts(&address(disabled), &passwords[disabled]));
    assert!(outcomes
        .iter()
        .find(|o| o["address"] == refused)
        .and_then(|o| o["message"].as_str())
        .is_some_and(|m| m.contains("injected refusal")));
    let mut heirs = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut query = vec![("limit", "10")];
        if let Some(cursor) = &cursor {
            query.push(("cursor", cursor));
        }
        let (_, page) = list(&app, "heir", &query).await;
        heirs.extend(listed_emails(&[&page]));
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_string()),
            None => break,
        }
    }
    assert_eq!(heirs.len(), 24);
    assert_eq!(
        listed_emails(&[&list(&app, "leaver", &[]).await.1]),
        [refused]
    );
    assert_eq!(
        world.kept_passwords().await,
        0,
        "off-boarding hands out no password, so keeps none"
    );

    let (status, replayed) =
        admin_as(&app, ADMIN, offboard_event("leaver", "heir", Some("k1"))).await;
    assert_eq!((status, &replayed), (200, &report));
    assert_eq!(
        listed_emails(&[&list(&app, "leaver", &[]).await.1]),
        [refused]
    );
    assert_error(
        &admin_as(
            &app,
            ADMIN,
            offboard_event("leaver", "someone-else", Some("k1")),
        )
        .await,
        422,
        "idempotency_key_reused",
    );
    let failures = trail(
        world,
        AuditFilter {
            action: Some(AuditAction::TransferFailed),
            ..AuditFilter::default()
        },
    )
    .await;
    assert_eq!(failures.len(), 1);
    assert_eq!(
        (
            failures[0].address.to_string(),
            failures[0].actor.to_string()
        ),
        (refused.to_string(), ADMIN.to_string())
    );
}

/// Every request that changes something leaves exactly one audit entry
/// per outcome (a create: its start, then one outcome), done or failed.
async fn every_change_leaves_one_audit_entry_per_outcome(world: &impl World) {
    let sandbox = Arc::new(SandboxProvider::default());
    let app = admin_app(
        world,
        Arc::new(ObservedProvider::refusing_to_rotate(
            sandbox.clone(),
            address("stuck@example.com"),
        )),
    );
    let mut requests = 0;
    let mut next_id = || {
        requests += 1;
        format!("request-{requests}")
    };
    let admin = |event: Event| {
        event
            .user(ADMIN)
            .claim("cognito:groups", &format!("[{ADMINS}]"))
    };
    for username in ["contact", "stuck", "sales"] {
        let event = Event::load("create")
            .user("alice")
            .json(json!({ "username": username }))
            .request_id(&next_id());
        assert_eq!(send(&app, Route::Create, &event).await.0, 201);
    }
    let taken = Event::load("create")
        .user("bob")
        .json(json!({ "username": "contact" }))
        .request_id(&next_id());
    assert_eq!(send(&app, Route::Create, &taken).await.0, 409);
    let steps: Vec<(Route, Event, u16)> = vec![
        (
            Route::Manage,
            Event::load("rotate-credentials")
                .without_header("idempotency-key")
                .user("alice")
                .account_action("contact@example.com", "rotate-credentials"),
            200,
        ),
        (
            Route::Manage,
            Event::load("rotate-credentials")
                .without_header("idempotency-key")
                .user("alice")
                .account_action("stuck@example.com", "rotate-credentials"),
            502,
        ),
        (
            Route::Manage,
            admin(
                Event::load("rotate-credentials")
                    .without_header("idempotency-key")
                    .account_action("sales@example.com", "disable"),
            ),
            200,
        ),
        (
            Route::Admin,
            admin(transfer_event("stuck@example.com", "bob", true)),
            502,
        ),
        (
            Route::Admin,
            admin(transfer_event("contact@example.com", "bob", true)),
            200,
        ),
        (
            Route::Admin,
            admin(offboard_event("alice", "carol", None)),
            200,
        ),
        (
            Route::Manage,
            Event::load("delete-account")
                .user("carol")
                .account("sales@example.com"),
            200,
        ),
    ];
    for (route, event, status) in steps {
        world.clock().advance(Duration::minutes(1));
        let answer = send(&app, route, &event.request_id(&next_id())).await;
        assert_eq!(answer.0, status, "{}", answer.1);
    }
    let mut outcomes: BTreeMap<(String, String), Vec<AuditAction>> = BTreeMap::new();
    for entry in trail(world, AuditFilter::default()).await {
        if entry.action != AuditAction::CreateStarted {
            outcomes
                .entry((entry.request_id.clone(), entry.address.to_string()))
                .or_default()
                .push(entry.action);
        }
    }
    let expected: BTreeMap<(String, String), Vec<AuditAction>> = [
        ("request-1", "contact", AuditAction::Created),
        ("request-2", "stuck", AuditAction::Created),
        ("request-3", "sales", AuditAction::Created),
        ("request-4", "contact", AuditAction::CreateRejected),
        ("request-5", "contact", AuditAction::CredentialsRotated),
        ("request-6", "stuck", AuditAction::RotateFailed),
        ("request-7", "sales", AuditAction::Disabled),
        ("request-8", "stuck", AuditAction::TransferFailed),
        ("request-9", "contact", AuditAction::TransferredAndRotated),
        ("request-10", "stuck", AuditAction::TransferFailed),
        ("request-10", "sales", AuditAction::Transferred),
        ("request-11", "sales", AuditAction::Deleted),
    ]
    .into_iter()
    .map(|(request, username, action)| {
        (
            (request.to_string(), format!("{username}@example.com")),
            vec![action],
        )
    })
    .collect();
    assert_eq!(outcomes, expected);
}

/// Display names, owners and addresses that a spreadsheet would run as
/// formulas come out of every CSV as text.
async fn csv_answers_run_nothing(world: &impl World) {
    let app = admin_app(world, Arc::new(SandboxProvider::default()));
    let hostile = r#"=HYPERLINK("http://x","y")"#;
    for (owner, username, name) in [
        ("=cmd|'/Ccalc'!A0", "team1", hostile),
        ("+owner", "team2", "@SUM(1+1)"),
        ("-owner", "team3", "-2+3"),
    ] {
        let created = create_as(
            &app,
            owner,
            json!({ "username": username, "display_name": name }),
        )
        .await;
        assert_eq!(created.0, 201, "{}", created.1);
    }
    let admin = |event: Event| {
        event
            .user(ADMIN)
            .claim("cognito:groups", &format!("[{ADMINS}]"))
            .header("accept", "text/csv")
    };
    for event in [
        admin(accounts_event(&[])),
        admin(Event::load("admin-audit").query(&[])),
        admin(Event::load("admin-report").query(&[("group_by", "owner")])),
    ] {
        let (status, content_type, text) = send_for_text(&app, Route::Admin, &event).await;
        assert_eq!(
            (status, content_type.as_str()),
            (200, "text/csv; charset=utf-8")
        );
        let mut reader = csv::ReaderBuilder::new().from_reader(text.as_bytes());
        let mut rows = 0;
        for record in reader.records() {
            rows += 1;
            for cell in record.unwrap().iter() {
                assert!(
                    !cell
                        .trim_start()
                        .starts_with(['=', '+', '-', '@', '\t', '\r']),
                    "a cell a spreadsheet would run: {cell:?}\n{text}"
                );
            }
        }
        assert!(rows >= 3, "{text}");
    }
    let (_, _, inventory) = send_for_text(&app, Route::Admin, &admin(accounts_event(&[]))).await;
    assert!(inventory.contains("'=HYPERLINK"), "{inventory}");
}

mod sqlite {
    use super::*;
    world_tests!(SqliteWorld::new();
        every_admin_route_is_for_administrators_only,
        administrators_list_every_address_with_its_owner,
        a_transfer_hands_the_address_over,
        administrators_change_anyones_address,
        a_transfer_racing_the_old_owners_changes_has_one_winner,
        offboarding_moves_every_address_but_a_failed_one,
        every_change_leaves_one_audit_entry_per_outcome,
        csv_answers_run_nothing,
    );
}

mod dynamodb {
    use super::*;
    world_tests!(AwsWorld::new().await;
        every_admin_route_is_for_administrators_only,
        administrators_list_every_address_with_its_owner,
        a_transfer_hands_the_address_over,
        administrators_change_anyones_address,
        a_transfer_racing_the_old_owners_changes_has_one_winner,
        offboarding_moves_every_address_but_a_failed_one,
        every_change_leaves_one_audit_entry_per_outcome,
        csv_answers_run_nothing,
    );
}
