use std::collections::{HashMap, HashSet};

use super::lookalike::skeleton;
use super::Username;

/// Names nobody creates by default: the operational role mailboxes of
/// RFC 2142 (sections 4 and 5), the names mail systems use for themselves,
/// and the names of people and functions an address could impersonate.
/// RFC 2142's business roles (`info`, `marketing`, `sales`, `support`) and
/// `contact` are what users come for: a deployment reserves them with
/// `RESERVED_USERNAMES` if it wants to.
const ALWAYS_RESERVED: &[&str] = &[
    // RFC 2142, network operations and services.
    "abuse",
    "noc",
    "security",
    "postmaster",
    "hostmaster",
    "usenet",
    "news",
    "webmaster",
    "www",
    "uucp",
    "ftp",
    // Mail systems.
    "mailer-daemon",
    "nobody",
    "noreply",
    "no-reply",
    // People and functions.
    "admin",
    "administrator",
    "root",
    "ceo",
    "cfo",
    "it",
    "helpdesk",
    "payroll",
    "billing",
    "legal",
    "hr",
];

/// Names nobody may create, the built-in ones plus `RESERVED_USERNAMES`,
/// each kept with its skeleton so a look-alike is caught as well.
#[derive(Debug, Clone)]
pub struct ReservedNames {
    names: HashSet<String>,
    /// Skeleton → the reserved name it is of.
    skeletons: HashMap<String, String>,
}

impl ReservedNames {
    pub fn with_extra(extra: impl IntoIterator<Item = Username>) -> Self {
        let names: Vec<Username> = ALWAYS_RESERVED
            .iter()
            .map(|name| Username::parse(name).expect("built-in reserved names are valid"))
            .chain(extra)
            .collect();
        Self {
            skeletons: names
                .iter()
                .map(|name| (skeleton(name), name.as_str().to_string()))
                .collect(),
            names: names.into_iter().map(|name| name.as_str().into()).collect(),
        }
    }

    pub fn contains(&self, username: &Username) -> bool {
        self.names.contains(username.as_str())
    }

    /// A name that passes for a reserved one without being it (`adm1n`).
    pub fn is_lookalike(&self, username: &Username) -> bool {
        self.lookalike_of(username).is_some()
    }

    /// The reserved name `username` passes for, if it is not that name itself.
    pub fn lookalike_of(&self, username: &Username) -> Option<&str> {
        if self.contains(username) {
            return None;
        }
        self.skeletons.get(&skeleton(username)).map(String::as_str)
    }

    /// Whether `username` is reserved, passes for a reserved name, or
    /// carries one as a part between separators (`security-team`,
    /// `example-postmaster`, `mailer-daemon-eu`): never a suggestion.
    pub fn covers(&self, username: &Username) -> bool {
        let text = username.as_str();
        let starts = std::iter::once(0).chain(
            text.match_indices(['.', '_', '-'])
                .map(|(at, separator)| at + separator.len()),
        );
        let ends: Vec<usize> = text
            .match_indices(['.', '_', '-'])
            .map(|(at, _)| at)
            .chain(std::iter::once(text.len()))
            .collect();
        starts
            .flat_map(|start| {
                ends.iter()
                    .filter(move |end| **end > start)
                    .map(move |end| (start, *end))
            })
            .filter_map(|(start, end)| Username::parse(&text[start..end]).ok())
            .any(|part| self.contains(&part) || self.is_lookalike(&part))
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
    fn role_mailboxes_and_impersonations_are_reserved_and_wanted_names_are_not() {
        let reserved = ReservedNames::default();
        for taken in [
            "postmaster",
            "Abuse",
            "mailer-daemon",
            "no-reply",
            "admin",
            "webmaster",
            "www",
            "ceo",
            "payroll",
            "hr",
        ] {
            assert!(reserved.contains(&name(taken)), "{taken}");
        }
        for free in ["info", "contact", "support", "sales", "marketing"] {
            assert!(!reserved.contains(&name(free)), "{free}");
            assert!(!reserved.covers(&name(free)), "{free}");
        }
    }

    #[test]
    fn configuration_adds_names() {
        let reserved = ReservedNames::with_extra([name("board")]);
        assert!(reserved.contains(&name("BOARD")));
        assert!(reserved.contains(&name("abuse")));
        assert!(reserved.is_lookalike(&name("b0ard")));
    }

    #[test]
    fn look_alikes_and_parts_of_reserved_names_are_covered() {
        let reserved = ReservedNames::default();
        assert!(reserved.is_lookalike(&name("adm1n")));
        assert_eq!(reserved.lookalike_of(&name("adrnin")), Some("admin"));
        assert!(
            !reserved.is_lookalike(&name("admin")),
            "reserved, not a look-alike"
        );
        for covered in [
            "security-team",
            "example-postmaster",
            "mailer-daemon-eu",
            "it.desk",
            "adm1n-desk",
            "payroll",
        ] {
            assert!(reserved.covers(&name(covered)), "{covered}");
        }
        for free in ["support-team", "hrefs", "item", "itinerary", "sales.eu"] {
            assert!(!reserved.covers(&name(free)), "{free}");
        }
    }
}
