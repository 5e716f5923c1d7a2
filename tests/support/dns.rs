//! An authoritative name server on loopback for the domain checks:
//! hickory-server serving the zone files of `fixtures/zones/` over UDP and
//! TCP, started once per test process on a thread of its own (each test has
//! its own runtime; the server outlives them). Names under `servfail.test`
//! are answered SERVFAIL, and names under `silent.test` never at all, as a
//! broken or unreachable name server would. It counts the queries it gets.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock};

use hickory_proto::op::ResponseCode;
use hickory_proto::rr::{LowerName, Name};
use hickory_server::authority::{Catalog, MessageResponseBuilder, ZoneType};
use hickory_server::server::{Request, RequestHandler, ResponseHandler, ResponseInfo};
use hickory_server::store::file::{FileAuthority, FileConfig};
use hickory_server::ServerFuture;
use provisioning::dns::HickoryDns;
use provisioning::service::DomainChecks;

/// The domains of the zone files, each a case of the checks.
pub const READY: &str = "example.com";
pub const NO_DKIM: &str = "nodkim.test";
pub const TWO_SPF: &str = "twospf.test";
pub const DEEP_SPF: &str = "deepspf.test";
pub const NO_DMARC: &str = "nodmarc.test";
pub const CNAME_LOOP: &str = "cnameloop.test";
/// Answered SERVFAIL.
pub const SERVFAIL: &str = "servfail.test";
/// Never answered.
pub const SILENT: &str = "silent.test";

pub struct TestDns {
    pub addr: SocketAddr,
    queries: Queries,
}

/// How many queries each name has had.
pub type Queries = Arc<Mutex<HashMap<String, usize>>>;

impl TestDns {
    /// How many queries `name` has had, of any type, from every test of the process.
    pub fn queries_for(&self, name: &str) -> usize {
        let queries = self.queries.lock().unwrap_or_else(|p| p.into_inner());
        queries.get(name).copied().unwrap_or(0)
    }
}

/// The process's name server, started at the first call.
pub fn test_dns() -> &'static TestDns {
    static DNS: OnceLock<TestDns> = OnceLock::new();
    DNS.get_or_init(start)
}

fn start() -> TestDns {
    let queries = Queries::default();
    let (udp, tcp) = sockets();
    let addr = udp.local_addr().expect("the UDP socket's address");
    let serving = Arc::clone(&queries);
    std::thread::spawn(move || serve(udp, tcp, serving));
    TestDns { addr, queries }
}

/// Serves the zones on `udp` and `tcp` until the process ends (the
/// `zones` binary runs it for local runs: `DNS_RESOLVER` pointed at it).
pub fn serve(udp: std::net::UdpSocket, tcp: std::net::TcpListener, queries: Queries) {
    let handler = Zones {
        catalog: catalog(),
        queries,
    };
    udp.set_nonblocking(true).expect("a non-blocking socket");
    tcp.set_nonblocking(true).expect("a non-blocking listener");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("the DNS server's runtime");
    runtime.block_on(async move {
        let mut server = ServerFuture::new(handler);
        server.register_socket(tokio::net::UdpSocket::from_std(udp).expect("UDP on tokio"));
        server.register_listener(
            tokio::net::TcpListener::from_std(tcp).expect("TCP on tokio"),
            std::time::Duration::from_secs(5),
        );
        server
            .block_until_done()
            .await
            .expect("the DNS server runs");
    });
}

/// A UDP socket and a TCP listener on one free loopback port: tests run in
/// many processes at once, so the port UDP got may be taken for TCP.
fn sockets() -> (std::net::UdpSocket, std::net::TcpListener) {
    for _ in 0..50 {
        let udp = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind a UDP socket");
        let addr = udp.local_addr().expect("the UDP socket's address");
        if let Ok(tcp) = std::net::TcpListener::bind(addr) {
            return (udp, tcp);
        }
    }
    panic!("no loopback port was free for both UDP and TCP")
}

/// Every zone file of `fixtures/zones/`, named `<origin>.zone`.
fn catalog() -> Catalog {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/zones");
    let mut catalog = Catalog::new();
    for entry in std::fs::read_dir(&dir).expect("the zones folder") {
        let path = entry.expect("a zone file").path();
        let origin = path
            .file_stem()
            .and_then(|stem| stem.to_str())
            .expect("a zone file named for its origin");
        let origin = Name::from_ascii(format!("{origin}.")).expect("a zone origin");
        let zone = FileAuthority::try_from_config(
            origin.clone(),
            ZoneType::Primary,
            false,
            None,
            &FileConfig {
                zone_file_path: path.clone(),
            },
        )
        .unwrap_or_else(|error| panic!("zone file {}: {error}", path.display()));
        catalog.upsert(LowerName::new(&origin), vec![Arc::new(zone)]);
    }
    catalog
}

struct Zones {
    catalog: Catalog,
    queries: Queries,
}

#[async_trait::async_trait]
impl RequestHandler for Zones {
    async fn handle_request<R: ResponseHandler>(
        &self,
        request: &Request,
        mut response: R,
    ) -> ResponseInfo {
        let name = request
            .request_info()
            .map(|info| {
                info.query
                    .name()
                    .to_string()
                    .trim_end_matches('.')
                    .to_ascii_lowercase()
            })
            .unwrap_or_default();
        *self
            .queries
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(name.clone())
            .or_default() += 1;
        let under = |zone: &str| name.ends_with(zone);
        if under(SILENT) {
            // No answer: the resolver waits for its timeout.
            return ResponseInfo::from(*request.header());
        }
        if under(SERVFAIL) {
            let failed = MessageResponseBuilder::from_message_request(request)
                .error_msg(request.header(), ResponseCode::ServFail);
            return response
                .send_response(failed)
                .await
                .unwrap_or_else(|_| ResponseInfo::from(*request.header()));
        }
        self.catalog.handle_request(request, response).await
    }
}

/// Domain checks that ask the test name server, as a function process
/// configured with `DNS_RESOLVER` would.
pub fn domain_checks() -> DomainChecks {
    DomainChecks::new(Arc::new(test_resolver()), None)
}

/// A resolver of the test name server.
pub fn test_resolver() -> HickoryDns {
    HickoryDns::new(Some(test_dns().addr))
}
