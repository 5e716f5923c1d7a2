//! An account's life after its create: new credentials, sending stopped
//! and restarted, deletion. Each change holds the account first, so two
//! changes of one account never interleave, and a failure at the provider
//! leaves the account as it was.

use std::sync::Arc;

use crate::domain::{
    utc_day, Account, AccountStatus, EmailAddress, IdempotencyKey, SuspensionReason, UserId,
};
use crate::providers::{Credential, MailProvider, Mark};
use crate::store::{
    AccountChange, AccountHold, ClaimState, HoldRequest, NewCredentials, Operation, OwnedAccount,
    StoreError,
};
use chrono::{DateTime, Duration, Utc};

use super::guard_rails::counted_again_from;
use super::provisioning::{hex_digest, new_token, seconds_until_next_utc_day};
use super::{Created, Provisioning, ServiceError};

/// How long a change holds its account: past it, a change that died may be
/// retried (every step of each can run twice).
const HOLD_LEASE: Duration = Duration::minutes(5);

/// A change to one of the caller's accounts, or, for an administrator, to anyone's.
#[derive(Debug, Clone)]
pub struct AccountCommand {
    /// Who asks: the verified caller, named in the audit trail as actor.
    pub caller: UserId,
    /// The caller is an administrator: the address may be anyone's, and
    /// stays its owner's.
    pub as_admin: bool,
    /// As the request gave it: an address that does not parse is nobody's.
    pub address: String,
    pub request_id: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deleted {
    pub address: EmailAddress,
    pub available_again_at: DateTime<Utc>,
}

impl Provisioning {
    /// Deletes the owner's account: the provider resource first, then the
    /// account (its claim kept as quarantined). A failure
    /// leaves the account in the table, as it was, never the other way round.
    pub async fn delete(&self, command: AccountCommand) -> Result<Deleted, ServiceError> {
        let (owned, hold) = self.hold(&command, Operation::Delete).await?;
        if let Err(error) = self.remove_resources(&owned).await {
            return Err(self.let_go(&hold, error).await);
        }
        let available_again_at = hold.request.started_at + self.directory.policy.quarantine;
        self.directory
            .store
            .changes
            .finish_removal(&hold, available_again_at)
            .await?;
        self.announce().await;
        Ok(Deleted {
            address: hold.request.address,
            available_again_at,
        })
    }

    /// New SMTP credentials for the owner's account: issued at the provider
    /// (their password sealed when a replay may need it), written to the
    /// table, and only then the old credential revoked, so the account
    /// always has one that works. Each counts against the caller's daily
    /// rotation limit (given back when it fails).
    async fn rotate_credentials(
        &self,
        command: AccountCommand,
        replayable: bool,
    ) -> Result<Created, ServiceError> {
        let (owned, hold) = self.hold(&command, Operation::RotateCredentials).await?;
        if owned.account.status == AccountStatus::Disabled {
            let refusal = ServiceError::AccountDisabled(owned.account.address.to_string());
            return Err(self.let_go(&hold, refusal).await);
        }
        let store = &self.directory.store;
        let limit = self.directory.policy.daily_rotation_limit;
        let day = utc_day(hold.request.started_at);
        // The limit guards against a caller's stolen session: it is the caller's.
        if let Err(error) = store
            .changes
            .count_rotation(&hold.request.actor, &day, limit)
            .await
        {
            let refusal = match error {
                StoreError::QuotaExceeded => ServiceError::RotationsLimited {
                    limit,
                    retry_after_seconds: seconds_until_next_utc_day(hold.request.started_at),
                },
                other => other.into(),
            };
            return Err(self.let_go(&hold, refusal).await);
        }
        let rotated = self
            .rotate_held(owned, &hold, AccountChange::CredentialsRotated, replayable)
            .await;
        if let Err(error) = &rotated {
            // Past the table write the rotation is done, even if the old credential stayed.
            if !matches!(error, ServiceError::OldCredentialKept(_)) {
                if let Err(refund) = store
                    .changes
                    .refund_rotation(&hold.request.actor, &day)
                    .await
                {
                    tracing::error!(error = %refund, "could not give back a failed rotation's count");
                }
            }
        }
        rotated
    }

    /// Issues new credentials for a held account and finishes the hold
    /// with `finish` of them; the old credential is revoked only once the
    /// table has the new one.
    pub(super) async fn rotate_held(
        &self,
        owned: OwnedAccount,
        hold: &AccountHold,
        finish: impl FnOnce(NewCredentials) -> AccountChange,
        replayable: bool,
    ) -> Result<Created, ServiceError> {
        let hold = hold.clone();
        let (provider, current) = match self.credential_of(&owned) {
            Ok(found) => found,
            Err(error) => return Err(self.let_go(&hold, error).await),
        };
        let address = &owned.account.address;
        let mark = Mark::new(&hold.request.token);
        let issued = match provider.issue_credential(address, &current, &mark).await {
            Ok(issued) => issued,
            Err(error) => return Err(self.let_go(&hold, error.into()).await),
        };
        // A suspended address stays stopped with its new credential.
        if owned.account.status == AccountStatus::Suspended {
            if let Err(error) = provider
                .set_sending(address, &issued.credential, false)
                .await
            {
                self.revoke(provider, address, &issued.credential).await;
                return Err(self.let_go(&hold, error.into()).await);
            }
        }
        let credentials_version = owned.credentials_version + 1;
        let sealed_password = match self
            .seal_for_replay(replayable, &issued.password, address, credentials_version)
            .await
        {
            Ok(sealed_password) => sealed_password,
            Err(error) => {
                self.revoke(provider, address, &issued.credential).await;
                return Err(self.let_go(&hold, error.into()).await);
            }
        };
        let change = finish(NewCredentials {
            smtp_username: issued.credential.smtp_username.clone(),
            provider_ref: issued.credential.provider_ref.clone(),
        });
        // If the table does not take the new credential, both keep working
        // and the next rotation removes the spare.
        self.finish(&hold, &change).await?;
        provider
            .revoke_credential(address, &current)
            .await
            .map_err(ServiceError::OldCredentialKept)?;
        let mut account = owned.account;
        let mut smtp = account.smtp.take().ok_or_else(missing_smtp)?;
        smtp.username = issued.credential.smtp_username;
        account.smtp = Some(smtp.clone());
        Ok(Created {
            account,
            smtp,
            password: issued.password,
            sealed_password,
            credentials_version,
            warnings: Vec::new(),
        })
    }

    /// `rotate_credentials`, at most once per `Idempotency-Key`, like `create_once`.
    pub async fn rotate_credentials_once(
        &self,
        command: AccountCommand,
        key: Option<IdempotencyKey>,
    ) -> Result<(Created, bool), ServiceError> {
        let caller = command.caller.clone();
        let hash = operation_hash("rotate-credentials", &command.address);
        let replayable = key.is_some();
        self.at_most_once(&caller, key, hash, || {
            self.rotate_credentials(command, replayable)
        })
        .await
    }

    /// Stops (`allowed: false`) or restarts the account's sending at the
    /// provider, its credentials unchanged; asking for the state it is in
    /// changes nothing. A suspended account is not disabled (its sending is
    /// stopped already); enabling it resumes it, for an administrator, or
    /// for its owner past a rotation where `ADDRESS_SELF_RESUME` allows.
    pub async fn set_sending(
        &self,
        command: AccountCommand,
        allowed: bool,
    ) -> Result<Account, ServiceError> {
        let (operation, change, status) = if allowed {
            (
                Operation::Enable,
                AccountChange::Enabled,
                AccountStatus::Active,
            )
        } else {
            (
                Operation::Disable,
                AccountChange::Disabled,
                AccountStatus::Disabled,
            )
        };
        let (owned, hold) = self.hold(&command, operation).await?;
        if owned.account.status == status {
            self.directory
                .store
                .changes
                .release_hold(&hold, None)
                .await?;
            return Ok(owned.account);
        }
        if let Some(suspension) = owned.account.suspension {
            let rails = &self.directory.policy.guard_rails;
            let owner_may = rails.self_resume
                && suspension.reason != SuspensionReason::SendLimit
                && owned.credentials_version > suspension.credentials_version;
            if !allowed || !(command.as_admin || owner_may) {
                let refusal = ServiceError::AccountSuspended {
                    address: owned.account.address.to_string(),
                    reason: suspension.reason,
                    lift: rails.lift(suspension.reason, suspension.since),
                };
                return Err(self.let_go(&hold, refusal).await);
            }
            let counted_from = counted_again_from(hold.request.started_at);
            self.resume(&owned, &hold, suspension, Some(counted_from))
                .await?;
        } else {
            self.change_sending(&owned, &hold, allowed, &change).await?;
        }
        Ok(Account {
            status,
            suspension: None,
            ..owned.account
        })
    }

    /// Stops or restarts the held account's sending at the provider, then
    /// writes `change`; if the table does not take it, the provider is put
    /// back as it was. Either way the hold is let go.
    pub(super) async fn change_sending(
        &self,
        owned: &OwnedAccount,
        hold: &AccountHold,
        allowed: bool,
        change: &AccountChange,
    ) -> Result<(), ServiceError> {
        let (provider, current) = match self.credential_of(owned) {
            Ok(found) => found,
            Err(error) => return Err(self.let_go(hold, error).await),
        };
        let address = &owned.account.address;
        if let Err(error) = provider.set_sending(address, &current, allowed).await {
            return Err(self.let_go(hold, error.into()).await);
        }
        if let Err(error) = self
            .directory
            .store
            .changes
            .finish_change(hold, change)
            .await
        {
            if let Err(undo) = provider.set_sending(address, &current, !allowed).await {
                tracing::error!(%address, error = %undo, "could not undo a change the table did not take");
            }
            return Err(self.let_go(hold, error.into()).await);
        }
        self.announce().await;
        Ok(())
    }

    /// The created account at `command.address` (the caller's, or for an
    /// administrator anyone's), held for `operation`, as it is once held.
    pub(super) async fn hold(
        &self,
        command: &AccountCommand,
        operation: Operation,
    ) -> Result<(OwnedAccount, AccountHold), ServiceError> {
        let not_found = || ServiceError::AccountNotFound(command.address.clone());
        let address = EmailAddress::parse(&command.address).map_err(|_| not_found())?;
        let owner = if command.as_admin {
            self.owner_of(&address).await?.ok_or_else(not_found)?
        } else {
            command.caller.clone()
        };
        let now = self.directory.clock.now();
        let request = HoldRequest {
            owner,
            actor: command.caller.clone(),
            address,
            operation,
            request_id: command.request_id.clone(),
            token: new_token(),
            started_at: now,
            lease_expires_at: now + HOLD_LEASE,
        };
        let owned = match self.directory.store.changes.hold_account(&request).await {
            Err(StoreError::AccountNotFound) => return Err(not_found()),
            held => held?,
        };
        let hold = AccountHold {
            request,
            provider: owned.account.provider,
        };
        Ok((owned, hold))
    }

    /// Writes `change` under the hold; if the table does not take it, lets go.
    pub(super) async fn finish(
        &self,
        hold: &AccountHold,
        change: &AccountChange,
    ) -> Result<(), ServiceError> {
        match self
            .directory
            .store
            .changes
            .finish_change(hold, change)
            .await
        {
            Ok(()) => {
                self.announce().await;
                Ok(())
            }
            Err(error) => Err(self.let_go(hold, error.into()).await),
        }
    }

    /// Whose the address is: the owner its active claim names.
    pub(super) async fn owner_of(
        &self,
        address: &EmailAddress,
    ) -> Result<Option<UserId>, ServiceError> {
        let claims = self
            .directory
            .store
            .claims
            .claims(std::slice::from_ref(address))
            .await?;
        Ok(claims
            .into_iter()
            .find(|claim| claim.state == ClaimState::Active)
            .map(|claim| claim.owner))
    }

    /// A change that failed lets go of its account (audited with `error`),
    /// and `error` is the answer.
    pub(super) async fn let_go(&self, hold: &AccountHold, error: ServiceError) -> ServiceError {
        if let Err(release) = self
            .directory
            .store
            .changes
            .release_hold(hold, Some(&error.to_string()))
            .await
        {
            tracing::error!(address = %hold.request.address, error = %release, "a failed change could not let go of its account; its lease will");
        }
        error
    }

    fn credential_of<'a>(
        &'a self,
        owned: &OwnedAccount,
    ) -> Result<(&'a Arc<dyn MailProvider>, Credential), ServiceError> {
        let account = &owned.account;
        let provider = self.provider_named(account.provider, account.address.domain())?;
        let credential = Credential {
            provider_ref: owned.provider_ref.clone().ok_or_else(missing_smtp)?,
            smtp_username: account
                .smtp
                .as_ref()
                .ok_or_else(missing_smtp)?
                .username
                .clone(),
        };
        Ok((provider, credential))
    }

    async fn revoke(
        &self,
        provider: &Arc<dyn MailProvider>,
        address: &EmailAddress,
        issued: &Credential,
    ) {
        if let Err(error) = provider.revoke_credential(address, issued).await {
            tracing::error!(%address, error = %error, "could not revoke a credential issued by a failed rotation");
        }
    }

    async fn remove_resources(&self, owned: &OwnedAccount) -> Result<(), ServiceError> {
        let account = &owned.account;
        let provider = self.provider_named(account.provider, account.address.domain())?;
        let provider_ref = owned.provider_ref.as_deref().ok_or_else(|| {
            ServiceError::from(StoreError::Corrupt(
                "a created account without its provider resource".into(),
            ))
        })?;
        provider.deprovision(&account.address, provider_ref).await?;
        Ok(())
    }
}

fn missing_smtp() -> ServiceError {
    StoreError::Corrupt("a created account without its SMTP login".into()).into()
}

/// Names an operation on one address, for its `Idempotency-Key` record.
pub(super) fn operation_hash(operation: &str, address: &str) -> String {
    hex_digest(&serde_json::json!([
        operation,
        address.to_ascii_lowercase()
    ]))
}
