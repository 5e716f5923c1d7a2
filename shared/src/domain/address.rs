use std::fmt;

use super::{DomainError, Username};

/// A DNS domain we hand out addresses on: lower-case LDH labels, at least two.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DomainName(String);

impl DomainName {
    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        let name = raw.trim().trim_end_matches('.').to_ascii_lowercase();
        let invalid = |rule: &str| Err(DomainError::InvalidDomain(format!("{rule} (got {raw:?})")));
        if name.is_empty() || name.len() > 253 {
            return invalid("domain must be 1 to 253 characters");
        }
        let labels: Vec<&str> = name.split('.').collect();
        if labels.len() < 2 {
            return invalid("domain must have at least two labels, like example.com");
        }
        let label_ok = |label: &&str| {
            (1..=63).contains(&label.len())
                && label
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        };
        if !labels.iter().all(label_ok) {
            return invalid("domain labels must be 1 to 63 letters, digits or inner hyphens");
        }
        Ok(Self(name))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The first label, `example` for `example.com`: what suggestions call the company.
    pub fn company(&self) -> &str {
        self.0.split('.').next().unwrap_or(&self.0)
    }
}

impl fmt::Display for DomainName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Part of an address to search for (`q`): 1 to 64 of the characters an
/// address can hold, lower-cased.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddressFragment(String);

impl AddressFragment {
    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        let fragment = raw.trim().to_ascii_lowercase();
        let allowed = |c: char| c.is_ascii_alphanumeric() || "._+-@".contains(c);
        if (1..=64).contains(&fragment.len()) && fragment.chars().all(allowed) {
            Ok(Self(fragment))
        } else {
            Err(DomainError::InvalidQuery(format!(
                "q must be 1 to 64 letters, digits or . _ + - @ (got {raw:?})"
            )))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// `username@domain`, both parts already valid.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EmailAddress {
    username: Username,
    domain: DomainName,
}

impl EmailAddress {
    pub fn new(username: Username, domain: DomainName) -> Self {
        Self { username, domain }
    }

    /// Reads back an address this service wrote (store keys, cursors).
    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        let (local, domain) = raw.rsplit_once('@').ok_or_else(|| {
            DomainError::InvalidUsername(format!("{raw:?} is not an email address"))
        })?;
        Ok(Self::new(
            Username::parse(local)?,
            DomainName::parse(domain)?,
        ))
    }

    pub fn username(&self) -> &Username {
        &self.username
    }

    pub fn domain(&self) -> &DomainName {
        &self.domain
    }
}

impl fmt::Display for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}", self.username, self.domain)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domain_is_normalized_and_checked() {
        assert_eq!(
            DomainName::parse(" Example.COM. ").unwrap().as_str(),
            "example.com"
        );
        assert_eq!(
            DomainName::parse("mail.example.co.uk").unwrap().company(),
            "mail"
        );
        for bad in [
            "",
            "localhost",
            "exa mple.com",
            "-a.com",
            "a-.com",
            "a..com",
            "ex_ample.com",
        ] {
            assert!(DomainName::parse(bad).is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn address_round_trips_through_text() {
        let address = EmailAddress::parse("Support@Example.com").unwrap();
        assert_eq!(address.to_string(), "support@example.com");
        assert_eq!(EmailAddress::parse(&address.to_string()).unwrap(), address);
        assert!(EmailAddress::parse("no-at-sign").is_err());
    }
}
