//! moto's server on a free loopback port, one per test process, serving one
//! request at a time (`scripts/moto_serial.py` says why): DynamoDB, Secrets
//! Manager, SES and IAM as the AWS SDK sees them. When `MOTO_ENDPOINT` is set (by
//! `scripts/test`) that server is used instead. Each test takes its own table
//! and secret prefix, so tests share the server but nothing else.

use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_dynamodb::config::{Credentials, Intercept, RuntimeComponents};
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType, TimeToLiveSpecification,
};
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::http::SharedHttpClient;
use aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextRef;
use aws_smithy_types::config_bag::ConfigBag;

struct Server {
    endpoint: String,
    // Held open for the life of the process: when it closes, the wrapper
    // shell stops moto_server, so no server outlives the tests.
    _lifeline: Option<Child>,
}

fn server() -> &'static Server {
    static SERVER: OnceLock<Server> = OnceLock::new();
    SERVER.get_or_init(|| match std::env::var("MOTO_ENDPOINT") {
        Ok(endpoint) if !endpoint.is_empty() => Server {
            endpoint,
            _lifeline: None,
        },
        _ => start_server(),
    })
}

fn start_server() -> Server {
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
        .port();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts/moto_serial.py");
    let child = Command::new("sh")
        .args([
            "-c",
            r#"python3 "$1" 127.0.0.1 "$0" >/dev/null 2>&1 & pid=$!; read _; kill "$pid""#,
            &port.to_string(),
            script,
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .expect("spawn the emulator (run scripts/test, or pip install 'moto[server]')");
    let deadline = Instant::now() + Duration::from_secs(60);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "moto_server did not listen on port {port} within 60 s: does python3 have moto (pip install 'moto[server]', or run scripts/test)?"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    Server {
        endpoint: format!("http://127.0.0.1:{port}"),
        _lifeline: Some(child),
    }
}

/// The SDK configuration every client of a test uses: the emulator, a
/// fixed region and dummy credentials.
pub async fn sdk_config() -> SdkConfig {
    sdk_config_at(
        &server().endpoint,
        provisioning::aws::http_client(None).unwrap(),
    )
    .await
}

/// The same, reaching the emulator at `endpoint` through `http_client`.
pub async fn sdk_config_at(endpoint: &str, http_client: SharedHttpClient) -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .http_client(http_client)
        .endpoint_url(endpoint)
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("testing", "testing", None, None, "moto"))
        .load()
        .await
}

pub fn endpoint() -> &'static str {
    &server().endpoint
}

static NAMES: AtomicU64 = AtomicU64::new(0);

/// A name no other test of any process uses.
pub fn unique(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!(
        "{prefix}-{}-{}-{nanos}",
        std::process::id(),
        NAMES.fetch_add(1, Ordering::Relaxed)
    )
}

/// A new KMS key for sealing passwords; its id.
pub async fn create_key(config: &SdkConfig) -> String {
    let created = aws_sdk_kms::Client::new(config)
        .create_key()
        .description("email-provisioning test: sealed passwords")
        .send()
        .await
        .expect("moto creates a KMS key");
    created
        .key_metadata()
        .map(|metadata| metadata.key_id().to_string())
        .expect("a created key has an id")
}

/// A new table with the layout `template.yaml` declares: string `pk`/`sk`,
/// on-demand, TTL on `ttl`, the `admin` index.
pub async fn create_table(client: &aws_sdk_dynamodb::Client) -> String {
    let table = unique("accounts");
    let attribute = |name: &str| {
        AttributeDefinition::builder()
            .attribute_name(name)
            .attribute_type(ScalarAttributeType::S)
            .build()
            .unwrap()
    };
    let key = |name: &str, kind: KeyType| {
        KeySchemaElement::builder()
            .attribute_name(name)
            .key_type(kind)
            .build()
            .unwrap()
    };
    client
        .create_table()
        .table_name(&table)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(attribute("pk"))
        .attribute_definitions(attribute("sk"))
        .attribute_definitions(attribute("admin_pk"))
        .attribute_definitions(attribute("admin_sk"))
        .key_schema(key("pk", KeyType::Hash))
        .key_schema(key("sk", KeyType::Range))
        // As template.yaml has it: what administrators read across users.
        .global_secondary_indexes(
            GlobalSecondaryIndex::builder()
                .index_name("admin")
                .key_schema(key("admin_pk", KeyType::Hash))
                .key_schema(key("admin_sk", KeyType::Range))
                .projection(
                    Projection::builder()
                        .projection_type(ProjectionType::All)
                        .build(),
                )
                .build()
                .unwrap(),
        )
        .send()
        .await
        .expect("create the table");
    client
        .update_time_to_live()
        .table_name(&table)
        .time_to_live_specification(
            TimeToLiveSpecification::builder()
                .attribute_name("ttl")
                .enabled(true)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .expect("enable TTL");
    table
}

/// Records the operation of every request a client puts on the wire (each
/// retry too): round trips, counted.
#[derive(Debug, Clone, Default)]
pub struct CallLog(Arc<Mutex<Vec<String>>>);

impl CallLog {
    pub fn take(&self) -> Vec<String> {
        std::mem::take(&mut self.0.lock().unwrap())
    }
}

impl Intercept for CallLog {
    fn name(&self) -> &'static str {
        "CallLog"
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        // DynamoDB's JSON protocol names the operation in X-Amz-Target.
        let target = context
            .request()
            .headers()
            .get("x-amz-target")
            .unwrap_or("?");
        let operation = target.rsplit('.').next().unwrap_or(target);
        self.0.lock().unwrap().push(operation.to_string());
        Ok(())
    }
}

/// A DynamoDB client whose calls land in `log`.
pub fn logged_dynamodb(config: &SdkConfig, log: &CallLog) -> aws_sdk_dynamodb::Client {
    let config = aws_sdk_dynamodb::config::Builder::from(config)
        .interceptor(log.clone())
        .build();
    aws_sdk_dynamodb::Client::from_conf(config)
}
