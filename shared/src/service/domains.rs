//! Whether mail from a domain can go out and will arrive: its DNS (MX,
//! SPF, DKIM, DMARC) and its provider's own verdict, checked within one
//! budget (`DOMAIN_CHECK_BUDGET`), for the administrators' domains page,
//! the policy, the 6-hourly job and every create.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::future::join_all;
use tokio::time::{timeout_at, Instant};

use crate::dns::{Dns, RecordKind};
use crate::domain::mail_dns::{
    dkim_selectors, judge_dkim, judge_dmarc, judge_mx, judge_spf, spf_lookups, spf_records,
    unknown, CheckKind, CheckStatus, DkimTarget, DomainCheck, DomainReading, ProviderVerdict,
    SPF_LOOKUP_LIMIT,
};
use crate::domain::{DomainName, ProviderKind};
use crate::providers::{MailProvider, ProviderError};

use super::Provisioning;

/// One slow name server never makes a route slow: what DNS has not
/// answered within this is `unknown`.
pub const DOMAIN_CHECK_BUDGET: Duration = Duration::from_secs(2);

/// How long the domains page and the job wait for a provider's verdict (an
/// API call, with its own retries) before calling it `unknown`. A create
/// waits for it as for any provider call: it cannot go on without it.
const VERDICT_BUDGET: Duration = Duration::from_secs(10);

/// How long a provider's `ok` is trusted without asking again. A verdict
/// that is not `ok` is asked again each time: the domain may have been
/// verified a minute ago.
const VERDICT_KEPT: Duration = Duration::from_secs(300);

/// What a provider said of a domain, if it could be asked.
#[derive(Debug, Clone)]
pub enum Verdict {
    Given(ProviderVerdict),
    /// The provider keeps no verdict of its own (Microsoft 365, Google, the sandbox).
    NotKept,
    /// It could not be read in time, or at all (the domains page and the job).
    Unreadable(String),
}

impl Verdict {
    /// Why mail from the domain cannot go out at all, if it cannot.
    pub fn refusal(&self) -> Option<&str> {
        match self {
            Self::Given(verdict) if verdict.status != CheckStatus::Ok => Some(&verdict.message),
            _ => None,
        }
    }
}

/// Every check of one domain at one provider.
#[derive(Debug, Clone)]
pub struct DomainReport {
    pub domain: DomainName,
    pub provider: ProviderKind,
    pub checks: Vec<DomainCheck>,
    /// Why mail cannot go out, when it cannot (`ready` is then false).
    pub not_ready: Option<String>,
}

impl DomainReport {
    pub fn ready(&self) -> bool {
        self.not_ready.is_none()
    }

    /// The checks that are not `ok` (five at most).
    pub fn failing(&self) -> u32 {
        self.checks
            .iter()
            .filter(|check| check.status != CheckStatus::Ok)
            .map(|_| 1)
            .sum()
    }
}

pub struct DomainChecks {
    dns: Arc<dyn Dns>,
    /// `GOOGLE_DKIM_SELECTOR`, where it is not `google`.
    google_selector: Option<String>,
    /// The `ok` verdicts, with when they were read.
    verdicts_ok: Mutex<HashMap<(String, ProviderKind), (Instant, ProviderVerdict)>>,
}

impl DomainChecks {
    pub fn new(dns: Arc<dyn Dns>, google_selector: Option<String>) -> Self {
        Self {
            dns,
            google_selector,
            verdicts_ok: Mutex::default(),
        }
    }

    /// Every check of `domain` at `provider`, the provider asked afresh.
    pub async fn report(&self, domain: &DomainName, provider: &dyn MailProvider) -> DomainReport {
        let verdict =
            match timeout_at(Instant::now() + VERDICT_BUDGET, self.ask(domain, provider)).await {
                Ok(Ok(verdict)) => verdict,
                Ok(Err(error)) => Verdict::Unreadable(error.to_string()),
                Err(_) => Verdict::Unreadable(format!(
                    "{} did not answer within {} s",
                    provider.kind(),
                    VERDICT_BUDGET.as_secs()
                )),
            };
        let mut checks = self.dns_checks(domain, provider.kind(), &verdict).await;
        let not_ready = verdict.refusal().map(str::to_string);
        match verdict {
            Verdict::Given(verdict) => checks.push(verdict.check()),
            Verdict::NotKept => {}
            Verdict::Unreadable(why) => checks.push(unknown(CheckKind::Provider, &why)),
        }
        DomainReport {
            domain: domain.clone(),
            provider: provider.kind(),
            checks,
            not_ready,
        }
    }

    /// The provider's own verdict for a create: an `ok` read less than
    /// `VERDICT_KEPT` ago, or else asked now.
    pub async fn verdict(
        &self,
        domain: &DomainName,
        provider: &dyn MailProvider,
    ) -> Result<Verdict, ProviderError> {
        let key = (domain.as_str().to_string(), provider.kind());
        if let Some(kept) = self.kept_verdict(&key) {
            return Ok(Verdict::Given(kept));
        }
        self.ask(domain, provider).await
    }

    /// What a create answers with beside its account: its DNS checks that
    /// are not `ok`.
    pub async fn warnings(
        &self,
        domain: &DomainName,
        provider: ProviderKind,
        verdict: &Verdict,
    ) -> Vec<DomainCheck> {
        self.dns_checks(domain, provider, verdict)
            .await
            .into_iter()
            .filter(|check| check.status != CheckStatus::Ok)
            .collect()
    }

    /// The provider's verdict now; an `ok` is kept, anything else forgets
    /// the `ok` kept before.
    async fn ask(
        &self,
        domain: &DomainName,
        provider: &dyn MailProvider,
    ) -> Result<Verdict, ProviderError> {
        let key = (domain.as_str().to_string(), provider.kind());
        Ok(match provider.domain_verdict(domain).await? {
            Some(verdict) => {
                self.keep_verdict(key, &verdict);
                Verdict::Given(verdict)
            }
            None => Verdict::NotKept,
        })
    }

    fn kept_verdict(&self, key: &(String, ProviderKind)) -> Option<ProviderVerdict> {
        self.verdicts_ok
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .get(key)
            .filter(|(at, _)| at.elapsed() < VERDICT_KEPT)
            .map(|(_, verdict)| verdict.clone())
    }

    fn keep_verdict(&self, key: (String, ProviderKind), verdict: &ProviderVerdict) {
        let mut kept = self
            .verdicts_ok
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if verdict.status == CheckStatus::Ok {
            kept.insert(key, (Instant::now(), verdict.clone()));
        } else {
            kept.remove(&key);
        }
    }

    /// The DNS checks, within `DOMAIN_CHECK_BUDGET`, for a verdict already read.
    async fn dns_checks(
        &self,
        domain: &DomainName,
        provider: ProviderKind,
        verdict: &Verdict,
    ) -> Vec<DomainCheck> {
        let deadline = Instant::now() + DOMAIN_CHECK_BUDGET;
        let (mx, spf, dkim, dmarc) = tokio::join!(
            self.within(CheckKind::Mx, deadline, self.mx(domain, provider)),
            self.within(CheckKind::Spf, deadline, self.spf(domain, provider)),
            self.within(
                CheckKind::Dkim,
                deadline,
                self.dkim(domain, provider, verdict)
            ),
            self.within(CheckKind::Dmarc, deadline, self.dmarc(domain)),
        );
        vec![mx, spf, dkim, dmarc]
    }

    async fn within(
        &self,
        check: CheckKind,
        deadline: Instant,
        checking: impl std::future::Future<Output = DomainCheck>,
    ) -> DomainCheck {
        timeout_at(deadline, checking).await.unwrap_or_else(|_| {
            unknown(
                check,
                &format!(
                    "DNS gave no answer within {} s",
                    DOMAIN_CHECK_BUDGET.as_secs()
                ),
            )
        })
    }

    async fn mx(&self, domain: &DomainName, provider: ProviderKind) -> DomainCheck {
        let hosts = self.dns.lookup(domain.as_str(), RecordKind::Mx).await;
        judge_mx(domain, provider, &hosts)
    }

    async fn spf(&self, domain: &DomainName, provider: ProviderKind) -> DomainCheck {
        let answer = self.dns.lookup(domain.as_str(), RecordKind::Txt).await;
        let txt = match answer.records() {
            Ok(txt) => txt,
            Err(why) => return unknown(CheckKind::Spf, &lookup_failed(why)),
        };
        let lookups = match spf_records(txt).as_slice() {
            [record] => self.spf_lookups_through(record).await,
            _ => Some(0),
        };
        judge_spf(domain, provider, txt, lookups)
    }

    /// The DNS lookups evaluating `record` causes, through every nested
    /// include and redirect, level by level; counting stops well past the
    /// limit (an include loop never ends by itself). `None` if a nested
    /// record could not be read.
    async fn spf_lookups_through(&self, record: &str) -> Option<u32> {
        let first = spf_lookups(record);
        let (mut total, mut next) = (first.own, first.nested);
        while !next.is_empty() && total <= 3 * SPF_LOOKUP_LIMIT {
            let level = std::mem::take(&mut next);
            let answers = join_all(
                level
                    .iter()
                    .map(|target| self.dns.lookup(target, RecordKind::Txt)),
            )
            .await;
            for answer in &answers {
                for nested in spf_records(answer.records().ok()?) {
                    let counted = spf_lookups(nested);
                    total += counted.own;
                    next.extend(counted.nested);
                }
            }
        }
        Some(total)
    }

    async fn dkim(
        &self,
        domain: &DomainName,
        provider: ProviderKind,
        verdict: &Verdict,
    ) -> DomainCheck {
        let selectors = match verdict {
            Verdict::Given(verdict) if !verdict.dkim.is_empty() => verdict.dkim.clone(),
            _ => dkim_selectors(provider, domain, self.google_selector.as_deref()),
        };
        let answers = join_all(selectors.iter().map(|selector| {
            let kind = match selector.target {
                DkimTarget::Txt => RecordKind::Txt,
                DkimTarget::Cname(_) | DkimTarget::CnameEnding(_) => RecordKind::Cname,
            };
            self.dns.lookup(&selector.name, kind)
        }))
        .await;
        judge_dkim(domain, provider, &selectors, &answers)
    }

    async fn dmarc(&self, domain: &DomainName) -> DomainCheck {
        let answer = self
            .dns
            .lookup(&format!("_dmarc.{domain}"), RecordKind::Txt)
            .await;
        match answer.records() {
            Ok(txt) => judge_dmarc(domain, txt),
            Err(why) => unknown(CheckKind::Dmarc, &lookup_failed(why)),
        }
    }
}

fn lookup_failed(why: &str) -> String {
    format!("the DNS lookup failed ({why})")
}

impl Provisioning {
    /// Every offered domain at each provider that serves it, checked at
    /// once (so within one budget in all), each reading kept for the
    /// policy; with whether it was ready at the reading before.
    pub async fn domain_reports(&self) -> Vec<(DomainReport, Option<bool>)> {
        let pairs = self
            .directory
            .policy
            .domains
            .all()
            .iter()
            .flat_map(|domain| {
                self.providers
                    .serving(domain)
                    .into_iter()
                    .map(move |provider| (domain, provider))
            });
        let reports = join_all(
            pairs.map(|(domain, provider)| self.domains.report(domain, provider.as_ref())),
        )
        .await;
        let now = self.directory.clock.now();
        join_all(reports.into_iter().map(|report| async move {
            let reading = DomainReading {
                domain: report.domain.clone(),
                provider: report.provider,
                ready: report.ready(),
                reason: report.not_ready.clone(),
                failing: report.failing(),
                at: now,
            };
            let before = self
                .directory
                .store
                .domains
                .record_domain_reading(&reading)
                .await
                .unwrap_or_else(|error| {
                    // The checks are still answered; the policy shows the older reading.
                    tracing::error!(%error, domain = %reading.domain, "could not keep a domain's reading");
                    None
                });
            (report, before.map(|before| before.ready))
        }))
        .await
    }
}
