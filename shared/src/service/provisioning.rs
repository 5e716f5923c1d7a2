//! The write side: create, exactly once (idempotency keys, compensation on
//! failure, recovery of abandoned creates).

use std::future::Future;
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use sha2::{Digest, Sha256};

use crate::deadline;
use crate::domain::mail_dns::DomainCheck;
use crate::domain::{
    Account, AccountStatus, DisplayName, DomainName, EmailAddress, IdempotencyKey, ProviderKind,
    SealedPassword, SendStats, SmtpPassword, SmtpSettings, UserId, Username,
};
use crate::lifecycle::EventSink;
use crate::providers::{MailProvider, Mark, ProviderError, Providers};
use crate::secrets::{SealContext, Sealer, SecretsError};
use crate::store::{
    Activation, IdempotencyRecord, IdempotencyStart, IdempotencyState, IdempotentAnswer,
    Reservation, StoreError,
};

use super::domains::DomainChecks;
use super::undo::Undo;
use super::{Directory, ServiceError};

/// How long a create may hold an address before another create may take it
/// over: longer than any Lambda invocation of `create` can last.
pub const CREATE_LEASE: Duration = Duration::minutes(15);

#[derive(Debug, Clone)]
pub struct CreateCommand {
    pub owner: UserId,
    /// The groups the caller's verified token lists: who may create, and with what.
    pub groups: Vec<String>,
    pub username: Username,
    pub display_name: DisplayName,
    pub provider: Option<String>,
    pub domain: Option<String>,
    pub request_id: String,
}

/// An account with SMTP credentials just issued, by a create or a rotation;
/// the password exists only here and, sealed for the replays of an
/// idempotent request, in its idempotency record until that expires.
#[derive(Debug, Clone)]
pub struct Created {
    pub account: Account,
    pub smtp: SmtpSettings,
    pub password: SmtpPassword,
    pub sealed_password: Option<SealedPassword>,
    /// Which issue of the account's credentials these are: 0 for the
    /// create's, one more for each rotation.
    pub credentials_version: u32,
    /// The domain's checks that are not `ok` (a create's only): its mail
    /// goes out, but Gmail, Yahoo or Outlook.com may refuse or junk it.
    pub warnings: Vec<DomainCheck>,
}

/// How long an `Idempotency-Key` answers with the same 201.
const IDEMPOTENCY_TTL: Duration = Duration::hours(24);
/// A request holding its key longer than this has died: beyond the `create`
/// function's 30 s timeout.
const IN_PROGRESS_TIMEOUT: Duration = Duration::seconds(60);

/// What an idempotency record keeps of a 201 or a rotation's 200: the
/// address and which issue of its credentials was handed out (the password
/// itself is kept sealed beside it). A replay answers with that password
/// only while it is still the current one and the account still its
/// owner's.
#[derive(serde::Serialize, serde::Deserialize)]
struct AnsweredRecord {
    email: String,
    #[serde(default)]
    credentials_version: u32,
    /// Whose account it is, when not the caller's (an administrator's rotation).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    owner: Option<String>,
}

/// An answer `at_most_once` can keep and give again: what its record keeps
/// (never a password in clear), and the answer rebuilt from that.
pub(super) trait Replayable: Sized {
    fn record(&self, caller: &UserId) -> String;

    /// The password the answer hands out, sealed for its replays.
    fn sealed_password(&self) -> Option<&SealedPassword> {
        None
    }

    async fn replay(
        service: &Provisioning,
        caller: &UserId,
        record: &str,
        sealed_password: Option<&SealedPassword>,
    ) -> Result<Self, ServiceError>;
}

impl Replayable for Created {
    fn record(&self, caller: &UserId) -> String {
        serde_json::to_string(&AnsweredRecord {
            email: self.account.address.to_string(),
            credentials_version: self.credentials_version,
            owner: (self.account.owner != *caller).then(|| self.account.owner.to_string()),
        })
        .expect("a record of strings serializes")
    }

    fn sealed_password(&self) -> Option<&SealedPassword> {
        self.sealed_password.as_ref()
    }

    /// The account a completed request answered with, and the password it handed out.
    async fn replay(
        service: &Provisioning,
        caller: &UserId,
        record: &str,
        sealed_password: Option<&SealedPassword>,
    ) -> Result<Self, ServiceError> {
        let corrupt = |what: &str| StoreError::Corrupt(format!("idempotency record: bad {what}"));
        let record: AnsweredRecord =
            serde_json::from_str(record).map_err(|_| corrupt("response"))?;
        let address = EmailAddress::parse(&record.email).map_err(|_| corrupt("email"))?;
        let owner = match &record.owner {
            None => caller.clone(),
            Some(owner) => UserId::parse(owner).map_err(|_| corrupt("owner"))?,
        };
        let Some(owned) = service
            .directory
            .store
            .accounts
            .owned_account(&owner, &address)
            .await?
        else {
            // Its credential went with it (or it changed hands): no answer is left to replay.
            return Err(ServiceError::CreatedThenDeleted(record.email));
        };
        if owned.credentials_version != record.credentials_version {
            return Err(ServiceError::CredentialsRotated(record.email));
        }
        // A record completed before passwords were sealed (schema 12).
        let sealed_password =
            sealed_password.ok_or_else(|| ServiceError::PasswordNotKept(record.email.clone()))?;
        let smtp = owned
            .account
            .smtp
            .clone()
            .ok_or_else(|| corrupt("account smtp"))?;
        let context = SealContext {
            address,
            credentials_version: owned.credentials_version,
        };
        let password = service.sealer.open(sealed_password, &context).await?;
        Ok(Created {
            account: owned.account,
            smtp,
            password,
            sealed_password: Some(sealed_password.clone()),
            credentials_version: owned.credentials_version,
            warnings: Vec::new(),
        })
    }
}

pub struct Provisioning {
    pub(super) directory: Directory,
    pub(super) providers: Providers,
    /// Seals the passwords an idempotent request may hand out again.
    pub(super) sealer: Sealer,
    /// Where committed changes are published (`announcements.rs`).
    pub(super) events: Option<Arc<dyn EventSink>>,
    /// Whether a domain's mail can go out and will arrive.
    pub(super) domains: Arc<DomainChecks>,
}

impl Provisioning {
    pub fn new(
        directory: Directory,
        providers: Providers,
        sealer: Sealer,
        domains: DomainChecks,
    ) -> Self {
        Self {
            directory,
            providers,
            sealer,
            events: None,
            domains: Arc::new(domains),
        }
    }

    /// The domain checks, for the routes and the job that report them.
    pub fn domain_checks(&self) -> &DomainChecks {
        &self.domains
    }

    /// The provider an account was made at, to undo or remove it there.
    pub(super) fn provider_named(
        &self,
        kind: ProviderKind,
        domain: &DomainName,
    ) -> Result<&Arc<dyn MailProvider>, ServiceError> {
        self.providers
            .choose(Some(kind), domain)
            .ok_or_else(|| self.not_offered(kind.as_str()))
    }

    fn not_offered(&self, requested: &str) -> ServiceError {
        ServiceError::ProviderNotAvailable {
            requested: requested.to_string(),
            available: self.providers.names(),
        }
    }

    /// The providers this deployment offers.
    pub fn providers(&self) -> &Providers {
        &self.providers
    }

    /// The read side this one builds on.
    pub fn directory(&self) -> &Directory {
        &self.directory
    }

    /// The create flow: reserve (quota + claim + pending account, one
    /// transaction), provision, seal the password when a replay may need it,
    /// activate; each step done registers its undo, and a failure runs them
    /// in reverse (`Undo`).
    async fn create(
        &self,
        command: CreateCommand,
        replayable: bool,
    ) -> Result<Created, ServiceError> {
        let access = &self.directory.policy.access;
        if !access.may_create(&command.groups) {
            return Err(ServiceError::Forbidden(
                "you are not in a group that may create addresses; ask an administrator".into(),
            ));
        }
        let email = EmailAddress::new(
            command.username,
            self.directory.domain_for(command.domain.as_deref())?,
        );
        let requested = match command.provider.as_deref() {
            None => None,
            Some(name) => Some(ProviderKind::parse(name).ok_or_else(|| self.not_offered(name))?),
        };
        let provider = self
            .providers
            .choose(requested, email.domain())
            .ok_or_else(|| self.not_offered(command.provider.as_deref().unwrap_or_default()))?;
        let kind = provider.kind();
        if !access.may_use(kind, &command.groups) {
            return Err(ServiceError::Forbidden(format!(
                "addresses at {} are made by administrators only: its keys can send as any address of the domain",
                kind
            )));
        }
        self.refuse_unavailable(&email, kind).await?;
        self.refuse_at_capacity(provider.as_ref()).await?;
        // The provider's own verdict: a create cannot go on without it.
        let verdict = deadline::bounded(
            self.domains.verdict(email.domain(), provider.as_ref()),
            || out_of_time(kind.as_str()),
        )
        .await?;
        if let Some(reason) = verdict.refusal() {
            return Err(ServiceError::DomainNotReady {
                domain: email.domain().clone(),
                reason: reason.to_string(),
            });
        }
        // The DNS checks run beside the create and only add warnings: mail
        // goes out without them, it just may not arrive.
        let warnings = {
            let domains = Arc::clone(&self.domains);
            let domain = email.domain().clone();
            tokio::spawn(async move { domains.warnings(&domain, kind, &verdict).await })
        };

        let now = self.directory.clock.now();
        let reservation = Reservation {
            owner: command.owner,
            address: email.clone(),
            display_name: command.display_name,
            provider: kind,
            request_id: command.request_id,
            token: new_token(),
            reserved_at: now,
            lease_expires_at: now + CREATE_LEASE,
            daily_limit: self.directory.policy.daily_create_limit,
        };
        let reserved = self
            .directory
            .store
            .reservations
            .reserve(&reservation)
            .await;
        let refusal = match &reserved {
            Err(StoreError::AddressTaken) => Some("address_taken"),
            Err(StoreError::QuotaExceeded) => Some("rate_limited"),
            _ => None,
        };
        if let Some(reason) = refusal {
            if let Err(error) = self
                .directory
                .store
                .reservations
                .audit_rejection(&reservation, reason)
                .await
            {
                tracing::error!(error = ?error, "could not audit a refused create");
            }
        }
        let abandoned = match reserved {
            Ok(abandoned) => abandoned,
            Err(StoreError::AddressTaken) => {
                let suggestions = self.directory.suggestions_for(&email, kind).await?;
                return Err(ServiceError::AddressTaken {
                    address: email,
                    suggestions,
                });
            }
            Err(StoreError::QuotaExceeded) => {
                return Err(ServiceError::RateLimited {
                    limit: self.directory.policy.daily_create_limit,
                    retry_after_seconds: seconds_until_next_utc_day(now),
                })
            }
            Err(other) => return Err(other.into()),
        };
        let mut undo = Undo::new(self);
        undo.reserved(&reservation);
        // This create took the address over from one that died: clear what
        // it left at the provider before making anything.
        if let Some(abandoned) = abandoned {
            if let Err(error) = self.clean_up(&abandoned, &abandoned).await {
                undo.run(&error.to_string()).await;
                return Err(error);
            }
        }

        let mark = Mark::new(&reservation.token);
        undo.calling_provider(provider, &email, &mark);
        let provisioned = match deadline::bounded(
            provider.provision(&email, &reservation.display_name, &mark),
            || out_of_time(kind.as_str()),
        )
        .await
        {
            Ok(provisioned) => provisioned,
            Err(error) => {
                undo.run(&error.to_string()).await;
                return Err(error.into());
            }
        };

        let sealed_password = match self
            .seal_for_replay(replayable, &provisioned.password, &email, 0)
            .await
        {
            Ok(sealed_password) => sealed_password,
            Err(error) => {
                undo.run(&error.to_string()).await;
                return Err(error.into());
            }
        };

        let activation = Activation {
            smtp: provisioned.smtp,
            webmail: provisioned.webmail,
            provider_ref: provisioned.provider_ref,
            activated_at: self.directory.clock.now(),
        };
        if let Err(error) = self
            .directory
            .store
            .reservations
            .activate(&reservation, &activation)
            .await
        {
            undo.run(&error.to_string()).await;
            return Err(error.into());
        }
        self.announce().await;
        let warnings = warnings.await.unwrap_or_else(|error| {
            tracing::error!(%error, "the domain checks of a create failed");
            Vec::new()
        });

        Ok(Created {
            account: Account {
                owner: reservation.owner,
                address: email,
                display_name: reservation.display_name,
                provider: reservation.provider,
                status: AccountStatus::Active,
                suspension: None,
                smtp: Some(activation.smtp.clone()),
                webmail: activation.webmail,
                created_at: reservation.reserved_at,
                stats: SendStats::default(),
            },
            smtp: activation.smtp,
            password: provisioned.password,
            sealed_password,
            credentials_version: 0,
            warnings,
        })
    }

    /// The password sealed for the replays of its request, when it has any
    /// (an `Idempotency-Key`): issue `credentials_version` of `address`.
    pub(super) async fn seal_for_replay(
        &self,
        replayable: bool,
        password: &SmtpPassword,
        address: &EmailAddress,
        credentials_version: u32,
    ) -> Result<Option<SealedPassword>, SecretsError> {
        if !replayable {
            return Ok(None);
        }
        let context = SealContext {
            address: address.clone(),
            credentials_version,
        };
        self.sealer.seal(password, &context).await.map(Some)
    }

    /// Refuses before anything is written an address that is reserved,
    /// that the company's directory already has, or that passes for a
    /// reserved or taken one. The look-alike read is not part of the
    /// reservation's transaction: two look-alikes created in the same
    /// instant could both go through.
    async fn refuse_unavailable(
        &self,
        email: &EmailAddress,
        provider: ProviderKind,
    ) -> Result<(), ServiceError> {
        let directory = &self.directory;
        let reserved = &directory.policy.reserved;
        let lookalike = |original: String, why: &'static str, suggestions| {
            Err(ServiceError::AddressLookalike {
                address: email.clone(),
                original,
                why,
                suggestions,
            })
        };
        if reserved.contains(email.username()) {
            return Err(ServiceError::AddressReserved {
                address: email.clone(),
                suggestions: directory.suggestions_for(email, provider).await?,
            });
        }
        if let Some(original) = reserved.lookalike_of(email.username()) {
            let original = format!("{original}@{}", email.domain());
            let suggestions = directory.suggestions_for(email, provider).await?;
            return lookalike(original, "reserved", suggestions);
        }
        let holds = directory
            .company
            .holds(provider, email)
            .await
            .map_err(|error| ProviderError::Unavailable {
                provider: "directory",
                message: format!(
                    "the company directory could not be asked whether {email} exists: {error}"
                ),
            })?;
        if holds {
            return Err(ServiceError::AddressTaken {
                address: email.clone(),
                suggestions: directory.suggestions_for(email, provider).await?,
            });
        }
        if let Some(original) = directory.taken_lookalike_of(email).await? {
            let suggestions = directory.suggestions_for(email, provider).await?;
            return lookalike(original.to_string(), "taken", suggestions);
        }
        Ok(())
    }

    /// `create`, at most once per `Idempotency-Key`: the same key and body
    /// replay the first 201 (its password unsealed, provider untouched);
    /// `true` says it is a replay. A failed create forgets the key, so the
    /// client may retry with it.
    pub async fn create_once(
        &self,
        command: CreateCommand,
        key: Option<IdempotencyKey>,
    ) -> Result<(Created, bool), ServiceError> {
        let owner = command.owner.clone();
        let hash = request_hash(&command);
        let replayable = key.is_some();
        self.at_most_once(&owner, key, hash, || self.create(command, replayable))
            .await
    }

    /// Runs `request` at most once per `(owner, key)`: a key seen with
    /// another `request_hash` is refused, one still running is "in
    /// progress", one done is replayed. Without a key it just runs.
    pub(super) async fn at_most_once<T, F, Fut>(
        &self,
        owner: &UserId,
        key: Option<IdempotencyKey>,
        request_hash: String,
        request: F,
    ) -> Result<(T, bool), ServiceError>
    where
        T: Replayable,
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, ServiceError>>,
    {
        let Some(key) = key else {
            return Ok((request().await?, false));
        };
        let store = &self.directory.store;
        let now = self.directory.clock.now();
        let record = IdempotencyRecord {
            request_hash,
            state: IdempotencyState::InProgress,
            response: None,
            sealed_password: None,
            expires_at: now + IDEMPOTENCY_TTL,
            in_progress_until: now + IN_PROGRESS_TIMEOUT,
        };
        match store
            .idempotency
            .start_idempotent(owner, &key, &record, now)
            .await?
        {
            IdempotencyStart::Existing(existing)
                if existing.request_hash != record.request_hash =>
            {
                Err(ServiceError::IdempotencyKeyReused)
            }
            IdempotencyStart::Existing(existing) => match existing.response {
                None => Err(ServiceError::RequestInProgress),
                Some(response) => Ok((
                    T::replay(self, owner, &response, existing.sealed_password.as_ref()).await?,
                    true,
                )),
            },
            IdempotencyStart::Started => match request().await {
                Ok(answered) => {
                    let answer = IdempotentAnswer {
                        response: answered.record(owner),
                        sealed_password: answered.sealed_password().cloned(),
                        expires_at: record.expires_at,
                    };
                    if let Err(error) = store
                        .idempotency
                        .complete_idempotent(owner, &key, &answer)
                        .await
                    {
                        // The change is made; a retry will see "in progress" until the record lapses.
                        tracing::error!(error = ?error, "could not record an idempotent request's answer");
                    }
                    Ok((answered, false))
                }
                Err(error) => {
                    if let Err(forget) = store.idempotency.forget_idempotent(owner, &key).await {
                        tracing::error!(error = ?forget, "could not forget a failed idempotent request");
                    }
                    Err(error)
                }
            },
        }
    }

    /// Compensation must not hide the original error: its own failure is
    /// logged, and the lease lets a later create or the reconciler finish it.
    pub(super) async fn release(&self, reservation: &Reservation, error: &str) {
        if let Err(release_error) = self
            .directory
            .store
            .reservations
            .release(reservation, error, self.directory.clock.now())
            .await
        {
            tracing::error!(address = %reservation.address, error = ?release_error, "could not release a failed reservation");
        }
    }

    /// What a scheduled run does: every create that died (pending past its
    /// lease) is seized, cleared at the provider, and released (claim
    /// freed, quota refunded, audited). Returns how many.
    pub async fn recover_abandoned(&self) -> Result<usize, ServiceError> {
        let now = self.directory.clock.now();
        let mut recovered = 0;
        for abandoned in self
            .directory
            .store
            .reservations
            .abandoned_reservations(now)
            .await?
        {
            let seizer = Reservation {
                token: new_token(),
                lease_expires_at: now + CREATE_LEASE,
                ..abandoned.clone()
            };
            if !self
                .directory
                .store
                .reservations
                .seize(&abandoned, &seizer, now)
                .await?
            {
                continue;
            }
            match self.clean_up(&abandoned, &seizer).await {
                Ok(()) => recovered += 1,
                // The seizer's lease runs out in turn: a later run tries again.
                Err(error) => {
                    tracing::error!(address = %abandoned.address, error = ?error, "could not clean up an abandoned create")
                }
            }
        }
        Ok(recovered)
    }

    /// What a scheduled run does too: the sealed passwords of idempotent
    /// requests whose replay window is over are dropped, so no copy of a
    /// password outlives it by more than the schedule's period. Returns how many.
    pub async fn drop_expired_passwords(&self) -> Result<usize, ServiceError> {
        let now = self.directory.clock.now();
        Ok(self
            .directory
            .store
            .idempotency
            .drop_expired_passwords(now)
            .await?)
    }

    /// Removes what the dead create `dead` may have left (at the provider,
    /// only what carries its mark), then releases `reservation` (the dead
    /// one's, or the seizer's).
    async fn clean_up(
        &self,
        dead: &Reservation,
        reservation: &Reservation,
    ) -> Result<(), ServiceError> {
        let provider = self.provider_named(dead.provider, dead.address.domain())?;
        provider
            .deprovision_marked(&dead.address, &Mark::new(&dead.token))
            .await?;
        self.directory
            .store
            .reservations
            .release(
                reservation,
                "abandoned: its create stopped before finishing",
                self.directory.clock.now(),
            )
            .await?;
        Ok(())
    }
}

fn out_of_time(provider: &'static str) -> ProviderError {
    ProviderError::Unavailable {
        provider,
        message: "no time left in this request; nothing was kept".into(),
    }
}

/// The request as the service understood it, so bodies that differ only
/// in case or white space are the same request.
fn request_hash(command: &CreateCommand) -> String {
    hex_digest(&serde_json::json!([
        command.username.as_str(),
        command.display_name.as_str(),
        command.provider,
        command.domain.as_deref().map(str::to_ascii_lowercase),
    ]))
}

/// SHA-256 of a request's canonical JSON, hex.
pub(super) fn hex_digest(canonical: &serde_json::Value) -> String {
    let digest = Sha256::digest(canonical.to_string().as_bytes());
    digest.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// 128 random bits, hex: a reservation's (or a hold's) own mark.
pub(super) fn new_token() -> String {
    let mut bytes = [0u8; 16];
    if getrandom::fill(&mut bytes).is_err() {
        // No OS randomness: fall back to the clock, unique enough for one process.
        let nanos = Utc::now().timestamp_nanos_opt().unwrap_or_default();
        bytes[..8].copy_from_slice(&nanos.to_le_bytes());
    }
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

pub(super) fn seconds_until_next_utc_day(now: DateTime<Utc>) -> i64 {
    let tomorrow = now.date_naive().succ_opt().unwrap_or(now.date_naive());
    let midnight = tomorrow
        .and_hms_opt(0, 0, 0)
        .map(|t| t.and_utc())
        .unwrap_or(now);
    (midnight - now).num_seconds().max(1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn retry_after_points_at_the_next_utc_midnight() {
        let late = Utc.with_ymd_and_hms(2026, 11, 25, 23, 59, 30).unwrap();
        assert_eq!(seconds_until_next_utc_day(late), 30);
        let early = Utc.with_ymd_and_hms(2026, 12, 31, 0, 0, 0).unwrap();
        assert_eq!(seconds_until_next_utc_day(early), 86_400);
    }
}
