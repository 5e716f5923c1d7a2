//! What a domain's DNS must say for mail from it to arrive (issue 20, the
//! rules only; the resolver and the routes come next): SPF, DMARC and what
//! each provider expects of them, judged as `ok`, `missing`, `wrong` or
//! `unknown`, each with the exact record to add where it is not `ok`.

use chrono::{DateTime, Utc};

use super::{DomainName, ProviderKind};

/// One of a domain's checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckKind {
    Mx,
    Spf,
    Dkim,
    Dmarc,
    /// The provider's own verdict (SES verification, SendGrid validation).
    Provider,
}

impl CheckKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Mx => "mx",
            Self::Spf => "spf",
            Self::Dkim => "dkim",
            Self::Dmarc => "dmarc",
            Self::Provider => "provider",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckStatus {
    Ok,
    Missing,
    Wrong,
    /// The answer could not be had: a timeout, SERVFAIL.
    Unknown,
}

impl CheckStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::Missing => "missing",
            Self::Wrong => "wrong",
            Self::Unknown => "unknown",
        }
    }
}

/// A check's verdict: what was found, what is expected, and what to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DomainCheck {
    pub check: CheckKind,
    pub status: CheckStatus,
    pub found: Option<String>,
    pub expected: Option<String>,
    pub message: String,
}

/// RFC 7208 §4.6.4: evaluating SPF may cause at most 10 DNS lookups.
pub const SPF_LOOKUP_LIMIT: u32 = 10;

/// The SPF `include:` each provider's mail passes through.
pub fn spf_include(provider: ProviderKind) -> &'static str {
    match provider {
        ProviderKind::Sendgrid => "sendgrid.net",
        ProviderKind::Ses => "amazonses.com",
        ProviderKind::Microsoft365 => "spf.protection.outlook.com",
        ProviderKind::Google => "_spf.google.com",
        ProviderKind::Sandbox => "_spf.sandbox.invalid",
    }
}

/// The SPF records among a name's TXT strings (`v=spf1`, any case).
pub fn spf_records(txt: &[String]) -> Vec<&str> {
    txt.iter()
        .map(String::as_str)
        .filter(|record| {
            let mut words = record.split_ascii_whitespace();
            words
                .next()
                .is_some_and(|version| version.eq_ignore_ascii_case("v=spf1"))
        })
        .collect()
}

/// The terms of an SPF record that cost a DNS lookup (RFC 7208 §4.6.4:
/// `include`, `a`, `mx`, `ptr`, `exists`, `redirect`), and the domains
/// whose own records count too (`include:` and `redirect=` targets).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SpfLookups {
    /// Lookups this record causes by itself.
    pub own: u32,
    /// Domains whose SPF records are evaluated in turn.
    pub nested: Vec<String>,
}

pub fn spf_lookups(record: &str) -> SpfLookups {
    let mut lookups = SpfLookups::default();
    for term in record.split_ascii_whitespace().skip(1) {
        let term = term.trim_start_matches(['+', '-', '~', '?']);
        let lower = term.to_ascii_lowercase();
        let (name, target) = match lower.split_once([':', '=']) {
            Some((name, target)) => (name, Some(target)),
            None => (lower.split('/').next().unwrap_or_default(), None),
        };
        match (name, target) {
            ("include" | "redirect", Some(target)) => {
                lookups.own += 1;
                lookups.nested.push(target.to_string());
            }
            ("a" | "mx" | "ptr" | "exists", _) => lookups.own += 1,
            _ => {}
        }
    }
    lookups
}

/// Whether an SPF record passes mail through `include`.
pub fn spf_includes(record: &str, include: &str) -> bool {
    spf_lookups(record)
        .nested
        .iter()
        .any(|target| target.eq_ignore_ascii_case(include))
}

/// The SPF check of `domain` for `provider`, given its TXT records and the
/// lookups its evaluation needs (counted through every nested include;
/// `None` when they could not all be read).
pub fn judge_spf(
    domain: &DomainName,
    provider: ProviderKind,
    txt: &[String],
    lookups: Option<u32>,
) -> DomainCheck {
    let include = spf_include(provider);
    let records = spf_records(txt);
    let suggested = format!("v=spf1 include:{include} ~all");
    let verdict = |status, found: Option<&str>, expected: String, message: String| DomainCheck {
        check: CheckKind::Spf,
        status,
        found: found.map(str::to_string),
        expected: Some(expected),
        message,
    };
    match records.as_slice() {
        [] => verdict(
            CheckStatus::Missing,
            None,
            suggested.clone(),
            format!("{domain} has no SPF record: add the TXT record \"{suggested}\" at {domain}"),
        ),
        [record] if !spf_includes(record, include) => {
            let fixed = with_include(record, include);
            verdict(
                CheckStatus::Wrong,
                Some(record),
                fixed.clone(),
                format!(
                    "the SPF record of {domain} does not include {include}: change it to \"{fixed}\""
                ),
            )
        }
        [record] => match lookups {
            None => verdict(
                CheckStatus::Unknown,
                Some(record),
                record.to_string(),
                format!("the records the SPF of {domain} includes could not all be read: check again later"),
            ),
            Some(count) if count > SPF_LOOKUP_LIMIT => verdict(
                CheckStatus::Wrong,
                Some(record),
                format!("at most {SPF_LOOKUP_LIMIT} DNS lookups"),
                format!(
                    "the SPF record of {domain} needs {count} DNS lookups, more than the {SPF_LOOKUP_LIMIT} receivers allow (RFC 7208): remove includes it no longer needs, or flatten them"
                ),
            ),
            Some(_) => verdict(
                CheckStatus::Ok,
                Some(record),
                record.to_string(),
                format!("{domain} lets {include} send for it"),
            ),
        },
        several => verdict(
            CheckStatus::Wrong,
            Some(&several.join(" | ")),
            "exactly one SPF record".into(),
            format!(
                "{domain} has {} SPF records, and receivers then reject its mail (RFC 7208 permerror): merge them into one",
                several.len()
            ),
        ),
    }
}

/// `record` with `include:<include>` added before its final `all`.
fn with_include(record: &str, include: &str) -> String {
    let mut terms: Vec<&str> = record.split_ascii_whitespace().collect();
    let at = terms
        .iter()
        .position(|term| {
            term.trim_start_matches(['+', '-', '~', '?'])
                .eq_ignore_ascii_case("all")
        })
        .unwrap_or(terms.len());
    let include = format!("include:{include}");
    terms.insert(at, &include);
    terms.join(" ")
}

/// A domain's DMARC policy, as far as the checks need it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dmarc {
    /// `none`, `quarantine` or `reject`.
    pub policy: String,
    /// Whether aggregate reports are asked for (`rua=`).
    pub reports: bool,
}

/// The DMARC record among `_dmarc.<domain>`'s TXT strings.
pub fn parse_dmarc(txt: &[String]) -> Option<Dmarc> {
    txt.iter().find_map(|record| {
        let tags: Vec<(String, String)> = record
            .split(';')
            .filter_map(|tag| tag.split_once('='))
            .map(|(name, value)| (name.trim().to_ascii_lowercase(), value.trim().to_string()))
            .collect();
        let (version, _) = tags.first()?;
        if version != "v" || !tags[0].1.eq_ignore_ascii_case("DMARC1") {
            return None;
        }
        let value = |name: &str| {
            tags.iter()
                .find(|(tag, _)| tag == name)
                .map(|(_, value)| value)
        };
        Some(Dmarc {
            policy: value("p").map_or_else(|| "none".into(), |policy| policy.to_ascii_lowercase()),
            reports: value("rua").is_some_and(|rua| !rua.is_empty()),
        })
    })
}

/// The DMARC check of `domain`: a record is what Gmail and Yahoo ask of
/// bulk senders; `p=none` passes, and the message says what it means.
pub fn judge_dmarc(domain: &DomainName, txt: &[String]) -> DomainCheck {
    let suggested = format!("v=DMARC1; p=none; rua=mailto:dmarc-reports@{domain}");
    let record = txt
        .iter()
        .find_map(|record| parse_dmarc(std::slice::from_ref(record)).map(|dmarc| (record, dmarc)));
    match record {
        None => DomainCheck {
            check: CheckKind::Dmarc,
            status: CheckStatus::Missing,
            found: None,
            expected: Some(suggested.clone()),
            message: format!(
                "{domain} has no DMARC record: add the TXT record \"{suggested}\" at _dmarc.{domain}"
            ),
        },
        Some((record, dmarc)) => DomainCheck {
            check: CheckKind::Dmarc,
            status: CheckStatus::Ok,
            found: Some(record.clone()),
            expected: None,
            message: format!(
                "DMARC policy {}{}",
                dmarc.policy,
                if dmarc.reports {
                    ", with aggregate reports"
                } else {
                    "; no aggregate reports are asked for (rua)"
                }
            ),
        },
    }
}

/// Where a domain's MX must point for the provider to receive its mail,
/// where that matters (the mailbox hosts); `None` for the senders.
pub fn mx_expectation(provider: ProviderKind, domain: &DomainName) -> Option<String> {
    match provider {
        // Microsoft 365's MX host is the domain with its dots made dashes.
        ProviderKind::Microsoft365 => Some(format!(
            "{}.mail.protection.outlook.com",
            domain.as_str().replace('.', "-")
        )),
        ProviderKind::Google => Some("smtp.google.com".into()),
        ProviderKind::Sendgrid | ProviderKind::Ses | ProviderKind::Sandbox => None,
    }
}

/// Whether the MX host `found` is the provider's: `expected`, or for
/// Google the older `aspmx.l.google.com` set it still serves.
fn mx_serves(provider: ProviderKind, expected: &str, found: &str) -> bool {
    let found = found.to_ascii_lowercase();
    found == expected
        || provider == ProviderKind::Google
            && (found == "aspmx.l.google.com" || found.ends_with(".aspmx.l.google.com"))
}

/// A DKIM record a provider needs: at `name`, what must be found there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DkimSelector {
    /// The name to look up: `<selector>._domainkey.<domain>`.
    pub name: String,
    pub target: DkimTarget,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DkimTarget {
    /// A CNAME to exactly this name (SES's tokens, SendGrid's records).
    Cname(String),
    /// A CNAME to a name ending in one of these (Microsoft 365: the
    /// tenant's `onmicrosoft.com`, or since 2025 `dkim.mail.microsoft`).
    CnameEnding(Vec<&'static str>),
    /// Any TXT record: the key itself is published there (Google, sandbox).
    Txt,
}

impl DkimTarget {
    /// Whether a record found at the selector is the one expected.
    pub fn matches(&self, record: &str) -> bool {
        match self {
            Self::Cname(expected) => record.eq_ignore_ascii_case(expected),
            Self::CnameEnding(endings) => endings
                .iter()
                .any(|ending| record.to_ascii_lowercase().ends_with(ending)),
            Self::Txt => true,
        }
    }
}

impl DkimSelector {
    pub fn cname(name: impl Into<String>, target: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            target: DkimTarget::Cname(target.into()),
        }
    }

    /// The record to add, as an administrator types it into a DNS console.
    pub fn record(&self) -> String {
        match &self.target {
            DkimTarget::Cname(target) => format!("{} CNAME {target}", self.name),
            DkimTarget::CnameEnding(_) => {
                format!("{} CNAME <the value your admin console gives>", self.name)
            }
            DkimTarget::Txt => format!(
                "{} TXT \"v=DKIM1; k=rsa; p=<the public key your admin console gives>\"",
                self.name
            ),
        }
    }
}

/// The DKIM records DNS alone tells a provider needs; SES's tokens and
/// SendGrid's CNAMEs come from their APIs instead (`ProviderVerdict::dkim`).
pub fn dkim_selectors(
    provider: ProviderKind,
    domain: &DomainName,
    google_selector: Option<&str>,
) -> Vec<DkimSelector> {
    let at = |selector: &str, target: DkimTarget| DkimSelector {
        name: format!("{selector}._domainkey.{domain}"),
        target,
    };
    match provider {
        ProviderKind::Microsoft365 => ["selector1", "selector2"]
            .into_iter()
            .map(|selector| {
                at(
                    selector,
                    DkimTarget::CnameEnding(vec![".onmicrosoft.com", ".dkim.mail.microsoft"]),
                )
            })
            .collect(),
        ProviderKind::Google => vec![at(google_selector.unwrap_or("google"), DkimTarget::Txt)],
        ProviderKind::Sandbox => vec![at("sandbox", DkimTarget::Txt)],
        ProviderKind::Sendgrid | ProviderKind::Ses => Vec::new(),
    }
}

/// What a DNS lookup gave: the records, none (NXDOMAIN or no data), or no
/// answer to be had (a timeout, SERVFAIL, a CNAME loop).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DnsAnswer {
    Records(Vec<String>),
    NoRecords,
    Failed(String),
}

impl DnsAnswer {
    /// The records, none for `NoRecords`; why not when the lookup failed.
    pub fn records(&self) -> Result<&[String], &str> {
        match self {
            Self::Records(records) => Ok(records),
            Self::NoRecords => Ok(&[]),
            Self::Failed(why) => Err(why),
        }
    }
}

/// What a provider itself says of a domain it sends for (SES's identity
/// verification, SendGrid's domain authentication), and the DKIM records
/// it asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderVerdict {
    /// `ok` when the provider sends for the domain; `missing` when it does
    /// not know the domain; `wrong` when verification is pending or failed.
    pub status: CheckStatus,
    pub found: String,
    pub message: String,
    pub dkim: Vec<DkimSelector>,
}

impl ProviderVerdict {
    pub fn check(&self) -> DomainCheck {
        DomainCheck {
            check: CheckKind::Provider,
            status: self.status,
            found: Some(self.found.clone()),
            expected: (self.status != CheckStatus::Ok).then(|| "verified".into()),
            message: self.message.clone(),
        }
    }
}

/// Whether a domain was ready at a provider when last checked (by the
/// scheduled job or the domains page): what the policy shows without
/// checking, and what the job compares against to alarm.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DomainReading {
    pub domain: DomainName,
    pub provider: ProviderKind,
    pub ready: bool,
    /// Why not, when not.
    pub reason: Option<String>,
    /// How many checks were not `ok`.
    pub failing: u32,
    pub at: DateTime<Utc>,
}

/// A check that could not be made in time or at all.
pub fn unknown(check: CheckKind, why: &str) -> DomainCheck {
    DomainCheck {
        check,
        status: CheckStatus::Unknown,
        found: None,
        expected: None,
        message: format!("could not be checked: {why}; it is checked again later"),
    }
}

/// The MX check: the domain receives mail, at the provider's host where
/// the provider is its mailbox host.
pub fn judge_mx(domain: &DomainName, provider: ProviderKind, hosts: &DnsAnswer) -> DomainCheck {
    let expected = mx_expectation(provider, domain);
    let hosts = match hosts.records() {
        Ok(hosts) => hosts,
        Err(why) => return unknown(CheckKind::Mx, &format!("the MX lookup failed ({why})")),
    };
    let found = (!hosts.is_empty()).then(|| hosts.join(", "));
    let verdict = |status, message: String| DomainCheck {
        check: CheckKind::Mx,
        status,
        found: found.clone(),
        expected: expected
            .as_ref()
            .map(|host| format!("{domain} MX 0 {host}")),
        message,
    };
    match (&expected, hosts.is_empty()) {
        (Some(host), true) => verdict(
            CheckStatus::Missing,
            format!("{domain} has no MX record: add \"{domain} MX 0 {host}\" so its mail reaches {}", provider.as_str()),
        ),
        (None, true) => verdict(
            CheckStatus::Missing,
            format!("{domain} has no MX record: replies to its addresses bounce; point it at the servers that receive its mail"),
        ),
        (Some(host), false) if !hosts.iter().any(|found| mx_serves(provider, host, found)) => verdict(
            CheckStatus::Wrong,
            format!("the MX of {domain} does not point at {host}: its mail does not reach {}", provider.as_str()),
        ),
        _ => verdict(CheckStatus::Ok, format!("{domain} receives mail")),
    }
}

/// The DKIM check: every selector the provider signs with resolves to what
/// it expects; `answers` are each selector's lookup (CNAME targets, or TXT
/// strings for `DkimTarget::Txt`), in order.
pub fn judge_dkim(
    domain: &DomainName,
    provider: ProviderKind,
    selectors: &[DkimSelector],
    answers: &[DnsAnswer],
) -> DomainCheck {
    let expected = selectors
        .iter()
        .map(DkimSelector::record)
        .collect::<Vec<_>>()
        .join("\n");
    let mut found = Vec::new();
    let mut failing: Option<(CheckStatus, String)> = None;
    for (selector, answer) in selectors.iter().zip(answers) {
        let (status, message) = match answer.records() {
            Err(why) => (
                CheckStatus::Unknown,
                format!("{} could not be read ({why})", selector.name),
            ),
            Ok([]) => (
                CheckStatus::Missing,
                format!(
                    "{} is missing: add \"{}\"",
                    selector.name,
                    selector.record()
                ),
            ),
            Ok(records) => {
                found.push(format!("{} {}", selector.name, records.join(" ")));
                if records.iter().any(|record| selector.target.matches(record)) {
                    continue;
                }
                (
                    CheckStatus::Wrong,
                    format!(
                        "{} points elsewhere: change it to \"{}\"",
                        selector.name,
                        selector.record()
                    ),
                )
            }
        };
        failing.get_or_insert((status, message));
    }
    let found = (!found.is_empty()).then(|| found.join("\n"));
    match failing {
        _ if selectors.is_empty() => DomainCheck {
            check: CheckKind::Dkim,
            status: CheckStatus::Missing,
            found,
            expected: None,
            message: format!(
                "{provider} gives no DKIM records for {domain}: set up DKIM for the domain at {provider} (SES: Easy DKIM on the identity), then publish the records it gives",
                provider = provider.as_str()
            ),
        },
        None => DomainCheck {
            check: CheckKind::Dkim,
            status: CheckStatus::Ok,
            found,
            expected: Some(expected),
            message: format!(
                "{domain} publishes the DKIM keys {} signs with",
                provider.as_str()
            ),
        },
        Some((status, message)) => DomainCheck {
            check: CheckKind::Dkim,
            status,
            found,
            expected: Some(expected),
            message: format!(
                "DKIM: {message}; without it Gmail, Yahoo and Outlook.com reject or junk the mail"
            ),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn domain() -> DomainName {
        DomainName::parse("example.com").unwrap()
    }

    fn txt(records: &[&str]) -> Vec<String> {
        records.iter().map(|record| record.to_string()).collect()
    }

    #[test]
    fn lookups_are_counted_as_rfc_7208_counts_them() {
        let counted = spf_lookups("v=spf1 ip4:192.0.2.0/24 a mx/24 include:_spf.google.com ~include:x.example exists:%{i}.e.example redirect=r.example -all");
        assert_eq!(counted.own, 6);
        assert_eq!(
            counted.nested,
            ["_spf.google.com", "x.example", "r.example"]
        );
        assert_eq!(spf_lookups("v=spf1 ip6:2001:db8::/32 -all").own, 0);
    }

    #[test]
    fn spf_is_missing_wrong_or_ok_with_the_record_to_add() {
        let missing = judge_spf(
            &domain(),
            ProviderKind::Ses,
            &txt(&["google-site-verification=x"]),
            Some(1),
        );
        assert_eq!(missing.status, CheckStatus::Missing);
        assert!(missing
            .message
            .contains("\"v=spf1 include:amazonses.com ~all\""));

        let without = judge_spf(
            &domain(),
            ProviderKind::Ses,
            &txt(&["v=spf1 include:sendgrid.net -all"]),
            Some(2),
        );
        assert_eq!(without.status, CheckStatus::Wrong);
        assert_eq!(
            without.expected.as_deref(),
            Some("v=spf1 include:sendgrid.net include:amazonses.com -all")
        );

        let two = judge_spf(
            &domain(),
            ProviderKind::Sendgrid,
            &txt(&["v=spf1 include:sendgrid.net -all", "V=SPF1 a -all"]),
            Some(2),
        );
        assert_eq!(two.status, CheckStatus::Wrong);
        assert!(two.message.contains("2 SPF records"));

        let record = "v=spf1 include:sendgrid.net ~all";
        assert_eq!(
            judge_spf(&domain(), ProviderKind::Sendgrid, &txt(&[record]), Some(10)).status,
            CheckStatus::Ok
        );
        assert_eq!(
            judge_spf(&domain(), ProviderKind::Sendgrid, &txt(&[record]), Some(11)).status,
            CheckStatus::Wrong
        );
        assert_eq!(
            judge_spf(&domain(), ProviderKind::Sendgrid, &txt(&[record]), None).status,
            CheckStatus::Unknown
        );
    }

    #[test]
    fn mailbox_hosts_expect_their_mx_and_dkim_selectors() {
        let domain = DomainName::parse("mail.example.com").unwrap();
        assert_eq!(
            mx_expectation(ProviderKind::Microsoft365, &domain).as_deref(),
            Some("mail-example-com.mail.protection.outlook.com")
        );
        assert_eq!(mx_expectation(ProviderKind::Ses, &domain), None);
        let names = |provider, google| -> Vec<String> {
            dkim_selectors(provider, &domain, google)
                .into_iter()
                .map(|selector| selector.name)
                .collect()
        };
        assert_eq!(
            names(ProviderKind::Microsoft365, None),
            [
                "selector1._domainkey.mail.example.com",
                "selector2._domainkey.mail.example.com"
            ]
        );
        assert_eq!(
            names(ProviderKind::Google, Some("g2026")),
            ["g2026._domainkey.mail.example.com"]
        );
        assert_eq!(
            names(ProviderKind::Sandbox, None),
            ["sandbox._domainkey.mail.example.com"]
        );
        assert!(
            names(ProviderKind::Ses, None).is_empty(),
            "SES's tokens come from its API"
        );
    }

    #[test]
    fn dmarc_is_read_with_its_policy_and_reports() {
        assert_eq!(
            parse_dmarc(&txt(&["v=DMARC1; p=Reject; rua=mailto:d@example.com"])),
            Some(Dmarc {
                policy: "reject".into(),
                reports: true
            })
        );
        assert_eq!(parse_dmarc(&txt(&["v=spf1 -all"])), None);
        let missing = judge_dmarc(&domain(), &[]);
        assert_eq!(missing.status, CheckStatus::Missing);
        assert!(missing.message.contains("at _dmarc.example.com"));
        let quiet = judge_dmarc(&domain(), &txt(&["something else", "v=DMARC1; p=none"]));
        assert_eq!(quiet.status, CheckStatus::Ok);
        assert_eq!(quiet.found.as_deref(), Some("v=DMARC1; p=none"));
        assert!(quiet.message.contains("no aggregate reports"));
    }

    fn records(found: &[&str]) -> DnsAnswer {
        DnsAnswer::Records(txt(found))
    }

    #[test]
    fn mx_is_checked_where_the_provider_hosts_the_mailboxes() {
        let google = |hosts: DnsAnswer| judge_mx(&domain(), ProviderKind::Google, &hosts).status;
        assert_eq!(google(records(&["smtp.google.com"])), CheckStatus::Ok);
        assert_eq!(
            google(records(&["alt1.aspmx.l.google.com", "aspmx.l.google.com"])),
            CheckStatus::Ok,
            "the older set Google still serves"
        );
        assert_eq!(google(records(&["mx.other.example"])), CheckStatus::Wrong);
        assert_eq!(google(DnsAnswer::NoRecords), CheckStatus::Missing);
        assert_eq!(
            google(DnsAnswer::Failed("timeout".into())),
            CheckStatus::Unknown
        );
        let microsoft = judge_mx(&domain(), ProviderKind::Microsoft365, &DnsAnswer::NoRecords);
        assert_eq!(
            microsoft.expected.as_deref(),
            Some("example.com MX 0 example-com.mail.protection.outlook.com")
        );
        // A sender needs an MX only so that replies arrive: any host will do.
        let ses = judge_mx(
            &domain(),
            ProviderKind::Ses,
            &records(&["mx.other.example"]),
        );
        assert_eq!(ses.status, CheckStatus::Ok);
    }

    #[test]
    fn dkim_needs_every_selector_as_the_provider_expects_it() {
        let selectors = [
            DkimSelector::cname("t1._domainkey.example.com", "t1.dkim.amazonses.com"),
            DkimSelector::cname("t2._domainkey.example.com", "t2.dkim.amazonses.com"),
        ];
        let judge =
            |answers: &[DnsAnswer]| judge_dkim(&domain(), ProviderKind::Ses, &selectors, answers);
        let both = judge(&[
            records(&["t1.dkim.amazonses.com"]),
            records(&["T2.DKIM.amazonses.com"]),
        ]);
        assert_eq!(both.status, CheckStatus::Ok, "{both:?}");
        let one_missing = judge(&[records(&["t1.dkim.amazonses.com"]), DnsAnswer::NoRecords]);
        assert_eq!(one_missing.status, CheckStatus::Missing);
        assert!(one_missing
            .message
            .contains("add \"t2._domainkey.example.com CNAME t2.dkim.amazonses.com\""));
        let elsewhere = judge(&[
            records(&["other.example"]),
            records(&["t2.dkim.amazonses.com"]),
        ]);
        assert_eq!(elsewhere.status, CheckStatus::Wrong);
        let unreadable = judge(&[DnsAnswer::Failed("SERVFAIL".into()), DnsAnswer::NoRecords]);
        assert_eq!(
            unreadable.status,
            CheckStatus::Unknown,
            "the first failure is the verdict"
        );
        let microsoft = dkim_selectors(ProviderKind::Microsoft365, &domain(), None);
        let tenant = |target: &str| {
            judge_dkim(
                &domain(),
                ProviderKind::Microsoft365,
                &microsoft,
                &[records(&[target]), records(&[target])],
            )
            .status
        };
        assert_eq!(
            tenant("selector1-example-com._domainkey.contoso.onmicrosoft.com"),
            CheckStatus::Ok
        );
        assert_eq!(
            tenant("selector1-example-com._domainkey.contoso.n-v1.dkim.mail.microsoft"),
            CheckStatus::Ok
        );
        assert_eq!(tenant("elsewhere.example.net"), CheckStatus::Wrong);
        let none = judge_dkim(&domain(), ProviderKind::Ses, &[], &[]);
        assert_eq!(none.status, CheckStatus::Missing, "{none:?}");
    }
}
