//! DNS for the domain checks: the lookups they make (`Dns`), and the
//! adapter that makes them through a real resolver (`HickoryDns`).

mod hickory;

use async_trait::async_trait;

pub use crate::domain::mail_dns::DnsAnswer;
pub use hickory::HickoryDns;

/// The record types the checks read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RecordKind {
    /// Each record's strings joined, as SPF and DMARC read them.
    Txt,
    /// The exchanges' host names.
    Mx,
    /// The name a CNAME points to.
    Cname,
}

#[async_trait]
pub trait Dns: Send + Sync {
    /// The records of `name` (a domain name without the final dot). Never
    /// an error: a failure is `DnsAnswer::Failed`, which the checks report
    /// as `unknown`.
    async fn lookup(&self, name: &str, kind: RecordKind) -> DnsAnswer;
}
