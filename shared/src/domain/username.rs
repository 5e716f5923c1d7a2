use std::fmt;

use super::DomainError;

/// RFC 5321 limits a local part to 64 octets.
pub const MAX_USERNAME_LEN: usize = 64;

/// The local part of a generic address: trimmed, lower-case, ASCII
/// `a-z 0-9 . _ -`, starting and ending with a letter or digit, no `..`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Username(String);

impl Username {
    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        let name = raw.trim().to_ascii_lowercase();
        let invalid = |rule: String| Err(DomainError::InvalidUsername(rule));
        if name.is_empty() {
            return invalid("username must not be empty".into());
        }
        if let Some(bad) = name.chars().find(|c| !is_allowed(*c)) {
            let rule = if bad == '+' {
                "username must not contain '+' (sub-addressing is not supported)".to_string()
            } else if bad == '@' {
                "username is the part before '@': leave out the domain".to_string()
            } else {
                format!(
                    "username may only contain letters a-z, digits 0-9, '.', '_' and '-' (found {bad:?})"
                )
            };
            return invalid(rule);
        }
        if name.len() > MAX_USERNAME_LEN {
            return invalid(format!(
                "username must be at most {MAX_USERNAME_LEN} characters (got {})",
                name.len()
            ));
        }
        let alphanumeric_at = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric());
        if !alphanumeric_at(name.chars().next()) || !alphanumeric_at(name.chars().last()) {
            return invalid("username must start and end with a letter or a digit".into());
        }
        if name.contains("..") {
            return invalid("username must not contain two dots in a row".into());
        }
        Ok(Self(name))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

fn is_allowed(c: char) -> bool {
    c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-')
}

impl fmt::Display for Username {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn rule_of(raw: &str) -> String {
        match Username::parse(raw) {
            Err(DomainError::InvalidUsername(rule)) => rule,
            other => panic!("expected an invalid username for {raw:?}, got {other:?}"),
        }
    }

    #[test]
    fn normalizes_case_and_surrounding_space() {
        assert_eq!(Username::parse("  Support ").unwrap().as_str(), "support");
        assert_eq!(
            Username::parse("Sales.Team_2-x").unwrap().as_str(),
            "sales.team_2-x"
        );
    }

    #[test]
    fn states_the_rule_that_was_broken() {
        assert!(rule_of("").contains("empty"));
        assert!(rule_of("   ").contains("empty"));
        assert!(rule_of(&"a".repeat(65)).contains("at most 64"));
        assert!(rule_of("john+news").contains("'+'"));
        assert!(rule_of("john@example.com").contains("before '@'"));
        assert!(rule_of("jöhn").contains("only contain"));
        assert!(rule_of("john doe").contains("only contain"));
        assert!(rule_of(".john").contains("start and end"));
        assert!(rule_of("john-").contains("start and end"));
        assert!(rule_of("jo..hn").contains("two dots"));
    }

    #[test]
    fn accepts_the_longest_local_part() {
        assert!(Username::parse(&"a".repeat(64)).is_ok());
    }

    proptest! {
        #[test]
        fn parsing_is_idempotent(raw in "\\PC{0,80}") {
            if let Ok(name) = Username::parse(&raw) {
                prop_assert_eq!(Username::parse(name.as_str()), Ok(name.clone()));
            }
        }

        #[test]
        fn valid_names_keep_every_rule(raw in "[ A-Za-z0-9._+-]{0,70}") {
            if let Ok(name) = Username::parse(&raw) {
                let s = name.as_str();
                prop_assert!(!s.is_empty() && s.len() <= MAX_USERNAME_LEN);
                prop_assert!(s.chars().all(is_allowed));
                prop_assert!(!s.contains(".."));
                prop_assert!(s.starts_with(|c: char| c.is_ascii_alphanumeric()));
                prop_assert!(s.ends_with(|c: char| c.is_ascii_alphanumeric()));
            }
        }

        #[test]
        fn never_panics_on_any_input(raw in any::<String>()) {
            let _ = Username::parse(&raw);
        }
    }
}
