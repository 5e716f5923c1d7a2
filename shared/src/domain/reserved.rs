use std::collections::HashSet;

use super::Username;

/// RFC 2142 role mailboxes and the names mail systems use for themselves.
/// `info`, `contact`, `support`, `sales` are what users come for: not here.
const ALWAYS_RESERVED: &[&str] = &[
    "postmaster",
    "abuse",
    "hostmaster",
    "webmaster",
    "noc",
    "security",
    "root",
    "admin",
    "administrator",
    "mailer-daemon",
    "nobody",
    "noreply",
    "no-reply",
];

/// Names nobody may create, the built-in ones plus `RESERVED_USERNAMES`.
#[derive(Debug, Clone)]
pub struct ReservedNames(HashSet<String>);

impl ReservedNames {
    pub fn with_extra(extra: impl IntoIterator<Item = Username>) -> Self {
        let mut names: HashSet<String> = ALWAYS_RESERVED.iter().map(|s| s.to_string()).collect();
        names.extend(extra.into_iter().map(|name| name.as_str().to_string()));
        Self(names)
    }

    pub fn contains(&self, username: &Username) -> bool {
        self.0.contains(username.as_str())
    }
}

impl Default for ReservedNames {
    fn default() -> Self {
        Self::with_extra([])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(raw: &str) -> Username {
        Username::parse(raw).unwrap()
    }

    #[test]
    fn role_mailboxes_are_reserved_and_wanted_names_are_not() {
        let reserved = ReservedNames::default();
        for taken in ["postmaster", "Abuse", "mailer-daemon", "no-reply", "admin"] {
            assert!(reserved.contains(&name(taken)), "{taken}");
        }
        for free in ["info", "contact", "support", "sales"] {
            assert!(!reserved.contains(&name(free)), "{free}");
        }
    }

    #[test]
    fn configuration_adds_names() {
        let reserved = ReservedNames::with_extra([name("ceo")]);
        assert!(reserved.contains(&name("CEO")));
        assert!(reserved.contains(&name("abuse")));
    }
}
