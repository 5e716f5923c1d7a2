use std::fmt;

use super::{DomainError, Username};

pub const MAX_DISPLAY_NAME_CHARS: usize = 64;

/// The name shown in the From header: trimmed, inner white space collapsed to
/// one space, at most 64 characters, and free of control characters (CR/LF
/// would allow header injection) and of invisible bidi/zero-width marks
/// (they let a name pretend to be another).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DisplayName(String);

impl DisplayName {
    /// `None` or a blank name gives the default derived from the username.
    pub fn parse(raw: Option<&str>, username: &Username) -> Result<Self, DomainError> {
        let invalid = |rule: String| Err(DomainError::InvalidDisplayName(rule));
        let Some(raw) = raw else {
            return Ok(Self::default_for(username));
        };
        if let Some(bad) = raw
            .chars()
            .find(|c| c.is_control() || is_invisible_format(*c))
        {
            return invalid(format!(
                "display name must not contain control or invisible characters such as line breaks (found U+{:04X})",
                bad as u32
            ));
        }
        let collapsed = raw.split_whitespace().collect::<Vec<_>>().join(" ");
        if collapsed.is_empty() {
            return Ok(Self::default_for(username));
        }
        let length = collapsed.chars().count();
        if length > MAX_DISPLAY_NAME_CHARS {
            return invalid(format!(
                "display name must be at most {MAX_DISPLAY_NAME_CHARS} characters (got {length})"
            ));
        }
        Ok(Self(collapsed))
    }

    /// `sales-team` becomes `Sales Team`.
    pub fn default_for(username: &Username) -> Self {
        let words: Vec<String> = username
            .as_str()
            .split(['.', '_', '-'])
            .filter(|word| !word.is_empty())
            .map(|word| {
                let mut chars = word.chars();
                chars.next().map_or_else(String::new, |first| {
                    first.to_ascii_uppercase().to_string() + chars.as_str()
                })
            })
            .collect();
        Self(words.join(" "))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Unicode format characters that render as nothing or reorder text.
fn is_invisible_format(c: char) -> bool {
    matches!(c,
        '\u{00AD}' | '\u{061C}' | '\u{180E}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}'
        | '\u{2060}'..='\u{2064}' | '\u{2066}'..='\u{2069}' | '\u{FEFF}')
}

impl fmt::Display for DisplayName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn support() -> Username {
        Username::parse("support").unwrap()
    }

    #[test]
    fn defaults_from_the_username() {
        assert_eq!(
            DisplayName::parse(None, &support()).unwrap().as_str(),
            "Support"
        );
        assert_eq!(
            DisplayName::parse(Some("   "), &support())
                .unwrap()
                .as_str(),
            "Support"
        );
        let team = Username::parse("sales-team.eu").unwrap();
        assert_eq!(DisplayName::default_for(&team).as_str(), "Sales Team Eu");
    }

    #[test]
    fn collapses_white_space_and_keeps_unicode_letters() {
        let name = DisplayName::parse(Some("  Équipe \u{00A0}  Support  "), &support()).unwrap();
        assert_eq!(name.as_str(), "Équipe Support");
    }

    #[test]
    fn refuses_header_injection_and_invisible_marks() {
        for bad in [
            "Support\r\nBcc: victim@example.com",
            "a\nb",
            "tab\there",
            "nul\0",
            "ev\u{202E}il",
            "zero\u{200B}width",
        ] {
            assert!(
                matches!(
                    DisplayName::parse(Some(bad), &support()),
                    Err(DomainError::InvalidDisplayName(_))
                ),
                "{bad:?} should be refused"
            );
        }
    }

    #[test]
    fn refuses_names_over_64_characters() {
        assert!(DisplayName::parse(Some(&"é".repeat(64)), &support()).is_ok());
        assert!(DisplayName::parse(Some(&"é".repeat(65)), &support()).is_err());
    }

    proptest! {
        #[test]
        fn never_carries_control_characters(raw in any::<String>()) {
            if let Ok(name) = DisplayName::parse(Some(&raw), &support()) {
                prop_assert!(!name.as_str().chars().any(|c| c.is_control() || is_invisible_format(c)));
                prop_assert!(!name.as_str().contains(['\r', '\n']));
                prop_assert!(name.as_str().chars().count() <= MAX_DISPLAY_NAME_CHARS);
                prop_assert_eq!(name.as_str().trim(), name.as_str());
                prop_assert!(!name.as_str().contains("  "));
            }
        }

        #[test]
        fn parsing_is_idempotent(raw in "\\PC{0,70}") {
            if let Ok(name) = DisplayName::parse(Some(&raw), &support()) {
                prop_assert_eq!(DisplayName::parse(Some(name.as_str()), &support()), Ok(name.clone()));
            }
        }

        #[test]
        fn default_is_always_a_valid_name(raw in "[a-z0-9]([a-z0-9._-]{0,62}[a-z0-9])?") {
            if let Ok(username) = Username::parse(&raw) {
                let name = DisplayName::default_for(&username);
                prop_assert_eq!(DisplayName::parse(Some(name.as_str()), &username), Ok(name.clone()));
            }
        }
    }
}
