//! `Dns` over hickory-resolver: the system's resolver (`/etc/resolv.conf`)
//! or the name server `DNS_RESOLVER` names, answers cached for their TTL
//! for the life of the execution environment.

use std::net::SocketAddr;
use std::sync::OnceLock;
use std::time::Duration;

use async_trait::async_trait;
use hickory_resolver::config::{NameServerConfig, ResolverConfig, ResolverOpts};
use hickory_resolver::name_server::TokioConnectionProvider;
use hickory_resolver::proto::op::ResponseCode;
use hickory_resolver::proto::rr::{Name, RData, RecordType};
use hickory_resolver::proto::xfer::Protocol;
use hickory_resolver::proto::ProtoErrorKind;
use hickory_resolver::{ResolveError, ResolveErrorKind, TokioResolver};

use super::{Dns, DnsAnswer, RecordKind};

/// One try of a query: the checks' whole budget is 2 s, and a second try
/// (over TCP, or of another server) must fit in it.
const QUERY_TIMEOUT: Duration = Duration::from_millis(800);

/// Longer CNAME chains than this are not followed looking for a loop.
const MAX_CNAME_CHAIN: usize = 8;

pub struct HickoryDns {
    /// `DNS_RESOLVER`, or the system's (`/etc/resolv.conf`) when `None`.
    server: Option<SocketAddr>,
    /// Built at the first lookup: most requests of a function that holds
    /// one never ask DNS, so its start-up does not read the system's
    /// configuration; a configuration that cannot be read fails lookups
    /// (`unknown`), never the function.
    resolver: OnceLock<Result<TokioResolver, String>>,
}

impl HickoryDns {
    /// The name server at `server` (UDP, and TCP for long answers), or the
    /// system's when `None`.
    pub fn new(server: Option<SocketAddr>) -> Self {
        Self {
            server,
            resolver: OnceLock::new(),
        }
    }

    fn resolver(&self) -> Result<&TokioResolver, &str> {
        self.resolver
            .get_or_init(|| build_resolver(self.server))
            .as_ref()
            .map_err(String::as_str)
    }

    /// `a → b → a` when the CNAMEs from `name` come back to a name already
    /// passed (a resolver gives up on such a chain without saying why).
    async fn cname_loop(&self, resolver: &TokioResolver, name: &str) -> Option<String> {
        let mut chain = vec![name.trim_end_matches('.').to_ascii_lowercase()];
        while chain.len() <= MAX_CNAME_CHAIN {
            let current = format!("{}.", chain.last()?);
            let lookup = resolver.lookup(current, RecordType::CNAME).await.ok()?;
            let target = lookup
                .record_iter()
                .find_map(|record| record.data().as_cname().map(|cname| host(&cname.0)))?;
            let looped = chain.contains(&target);
            chain.push(target);
            if looped {
                return Some(chain.join(" → "));
            }
        }
        None
    }
}

fn build_resolver(server: Option<SocketAddr>) -> Result<TokioResolver, String> {
    let provider = TokioConnectionProvider::default();
    let mut builder = match server {
        Some(server) => {
            let mut config = ResolverConfig::new();
            for protocol in [Protocol::Udp, Protocol::Tcp] {
                config.add_name_server(NameServerConfig::new(server, protocol));
            }
            TokioResolver::builder_with_config(config, provider)
        }
        None => TokioResolver::builder(provider)
            .map_err(|error| format!("the system's DNS configuration: {error}"))?,
    };
    let options: &mut ResolverOpts = builder.options_mut();
    options.timeout = QUERY_TIMEOUT;
    options.attempts = 1;
    options.cache_size = 1024;
    // The checks ask about their own names, never a search list's.
    options.ndots = 0;
    Ok(builder.build())
}

/// Whether a "no records" answer was for another name than the one asked
/// (the resolver followed a CNAME).
fn answered_elsewhere(error: &ResolveError, fqdn: &str) -> bool {
    match error.kind() {
        ResolveErrorKind::Proto(proto) => match proto.kind() {
            ProtoErrorKind::NoRecordsFound { query, .. } => {
                !query.name().to_utf8().eq_ignore_ascii_case(fqdn)
            }
            _ => false,
        },
        _ => false,
    }
}

#[async_trait]
impl Dns for HickoryDns {
    async fn lookup(&self, name: &str, kind: RecordKind) -> DnsAnswer {
        let record_type = match kind {
            RecordKind::Txt => RecordType::TXT,
            RecordKind::Mx => RecordType::MX,
            RecordKind::Cname => RecordType::CNAME,
        };
        let resolver = match self.resolver() {
            Ok(resolver) => resolver,
            Err(why) => return DnsAnswer::Failed(why.to_string()),
        };
        let fqdn = format!("{}.", name.trim_end_matches('.'));
        match resolver.lookup(fqdn.as_str(), record_type).await {
            Ok(lookup) => {
                let records: Vec<String> = lookup
                    .record_iter()
                    .filter(|record| record.record_type() == record_type)
                    .filter_map(|record| text_of(record.data()))
                    .collect();
                if records.is_empty() {
                    DnsAnswer::NoRecords
                } else {
                    DnsAnswer::Records(records)
                }
            }
            // Sent through a CNAME to a name without the record: a chain
            // that may come back on itself.
            Err(error) if answered_elsewhere(&error, &fqdn) => {
                match self.cname_loop(resolver, name).await {
                    Some(chain) => DnsAnswer::Failed(format!("a CNAME loop: {chain}")),
                    None => failure(&error),
                }
            }
            Err(error) => failure(&error),
        }
    }
}

fn host(name: &Name) -> String {
    name.to_utf8().trim_end_matches('.').to_ascii_lowercase()
}

fn text_of(data: &RData) -> Option<String> {
    match data {
        // A TXT record's strings are one text, joined without spaces (RFC 7208 §3.3).
        RData::TXT(txt) => Some(
            txt.txt_data()
                .iter()
                .map(|part| String::from_utf8_lossy(part))
                .collect(),
        ),
        RData::MX(mx) => Some(host(mx.exchange())),
        RData::CNAME(cname) => Some(host(&cname.0)),
        _ => None,
    }
}

/// No such name or no such record is an answer; anything else (SERVFAIL,
/// REFUSED, a timeout, a CNAME chain that never ends) is not.
fn failure(error: &ResolveError) -> DnsAnswer {
    if let ResolveErrorKind::Proto(proto) = error.kind() {
        if let ProtoErrorKind::NoRecordsFound { response_code, .. } = proto.kind() {
            if matches!(
                *response_code,
                ResponseCode::NXDomain | ResponseCode::NoError
            ) {
                return DnsAnswer::NoRecords;
            }
            return DnsAnswer::Failed(format!("the name server answered {response_code}"));
        }
        if matches!(proto.kind(), ProtoErrorKind::Timeout) {
            return DnsAnswer::Failed("no answer in time".into());
        }
    }
    DnsAnswer::Failed(error.to_string())
}
