//! The tests' zones on a name server of your own, to try the domain checks
//! locally: `cargo run -p integration-tests --bin zones` (127.0.0.1:5353,
//! or the address given), then `DNS_RESOLVER=127.0.0.1:5353 scripts/run-local`.
//! The zones are `tests/fixtures/zones/*.zone`; `servfail.test` is answered
//! SERVFAIL and `silent.test` never.

use integration_tests::dns::{serve, Queries};

fn main() {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:5353".into());
    let udp = std::net::UdpSocket::bind(&addr)
        .unwrap_or_else(|error| panic!("cannot listen on {addr} (UDP): {error}"));
    let tcp = std::net::TcpListener::bind(&addr)
        .unwrap_or_else(|error| panic!("cannot listen on {addr} (TCP): {error}"));
    eprintln!("serving the zones of tests/fixtures/zones on {addr} (UDP and TCP)");
    serve(udp, tcp, Queries::default());
}
