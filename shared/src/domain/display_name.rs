use std::fmt;

use unicode_properties::{GeneralCategory, UnicodeGeneralCategory};
use unicode_script::Script;
use unicode_security::confusable_detection::skeleton;
use unicode_security::MixedScript;

use super::{DomainError, Username};

pub const MAX_DISPLAY_NAME_CHARS: usize = 64;

/// The name shown in the From header: trimmed, inner white space collapsed to
/// one space, at most 64 characters. It cannot pass for another sender:
/// no control, format, private-use or unassigned characters (CR/LF would
/// inject headers; bidi and zero-width marks reorder or hide text), no
/// blank-looking letters, no address in angle brackets, and no mix of Latin
/// with look-alike letters of another script (`Pаypal` with a Cyrillic `а`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DisplayName(String);

impl DisplayName {
    /// `None` or a blank name gives the default derived from the username.
    pub fn parse(raw: Option<&str>, username: &Username) -> Result<Self, DomainError> {
        let invalid = |rule: String| Err(DomainError::InvalidDisplayName(rule));
        let Some(raw) = raw else {
            return Ok(Self::default_for(username));
        };
        if let Some(bad) = raw.chars().find(|c| is_invisible(*c)) {
            return invalid(format!(
                "display name must not contain control, invisible or unassigned characters such as line breaks (found U+{:04X})",
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
        if carries_an_address(&collapsed) {
            return invalid(
                "display name must not carry an email address: mail clients would show it as the sender"
                    .into(),
            );
        }
        if let Some(lookalike) = latin_lookalike(&collapsed) {
            return invalid(format!(
                "display name mixes Latin with a letter of another script that looks Latin ({lookalike:?}, U+{:04X}): write it in one script",
                lookalike as u32
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

/// Characters that render as nothing, reorder text, or mean nothing yet:
/// Unicode categories Cc, Cf, Co and Cn, the Hangul fillers (letters
/// that draw a blank) and the combining grapheme joiner.
fn is_invisible(c: char) -> bool {
    matches!(
        c.general_category(),
        GeneralCategory::Control
            | GeneralCategory::Format
            | GeneralCategory::PrivateUse
            | GeneralCategory::Unassigned
            | GeneralCategory::Surrogate
    ) || matches!(
        c,
        '\u{115F}' | '\u{1160}' | '\u{3164}' | '\u{FFA0}' | '\u{034F}'
    )
}

/// `Support <ceo@example.com>`, or an address on its own: a mail client
/// would show it in place of the real sender.
fn carries_an_address(name: &str) -> bool {
    let bracketed = name
        .find('<')
        .and_then(|open| name[open..].find('@').map(|at| open + at))
        .is_some_and(|at| name[at..].contains('>'));
    let bare = name.split([' ', '<', '>', '"', '(', ')']).any(|word| {
        word.split_once('@')
            .is_some_and(|(local, domain)| !local.is_empty() && domain.contains('.'))
    });
    bracketed || bare
}

/// The first letter of another script that passes for a Latin one, in a
/// name that mixes it with Latin (UTS #39 mixed-script confusables).
/// A name written in one script alone, whatever the script, is fine.
fn latin_lookalike(name: &str) -> Option<char> {
    if name.is_single_script() {
        return None;
    }
    let is_latin = |c: char| Script::from(c) == Script::Latin;
    if !name.chars().any(|c| c.is_alphabetic() && is_latin(c)) {
        return None;
    }
    name.chars().find(|&c| {
        let script = Script::from(c);
        c.is_alphabetic()
            && !matches!(script, Script::Latin | Script::Common | Script::Inherited)
            && skeleton(c.encode_utf8(&mut [0; 4]))
                .all(|prototype| prototype.is_ascii_alphanumeric())
    })
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
    fn refuses_every_invisible_or_meaningless_character() {
        for bad in [
            "Sup\u{00AD}port",  // soft hyphen, Cf
            "Sup\u{E000}port",  // private use, Co
            "Sup\u{0378}port",  // unassigned, Cn
            "Sup\u{3164}port",  // Hangul filler
            "Sup\u{115F}port",  // Hangul choseong filler
            "Sup\u{FFA0}port",  // halfwidth Hangul filler
            "Sup\u{034F}port",  // combining grapheme joiner
            "Sup\u{2066}port",  // bidi isolate, Cf
            "Sup\u{E0041}port", // tag character, Cf
            "\u{0085}Support",  // next line, Cc
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
    fn refuses_an_address_inside_the_name() {
        for bad in [
            "Support <ceo@example.com>",
            "ceo@example.com",
            "IT (helpdesk@example.com)",
            "<a@b> Team",
        ] {
            assert!(
                matches!(
                    DisplayName::parse(Some(bad), &support()),
                    Err(DomainError::InvalidDisplayName(_))
                ),
                "{bad:?} should be refused"
            );
        }
        assert!(DisplayName::parse(Some("Sales @ Paris"), &support()).is_ok());
        assert!(DisplayName::parse(Some("R&D <Lyon>"), &support()).is_ok());
    }

    #[test]
    fn refuses_latin_mixed_with_look_alike_letters_of_another_script() {
        for bad in [
            "P\u{0430}ypal Support",                                    // Cyrillic а
            "Supp\u{03BF}rt",                                           // Greek ο
            "Support \u{0421}\u{043B}\u{0443}\u{0436}\u{0431}\u{0430}", // Служба
        ] {
            let refused = DisplayName::parse(Some(bad), &support());
            assert!(
                matches!(&refused, Err(DomainError::InvalidDisplayName(rule)) if rule.contains("one script")),
                "{bad:?} should be refused, got {refused:?}"
            );
        }
        for fine in [
            "\u{0421}\u{043B}\u{0443}\u{0436}\u{0431}\u{0430} \u{043F}\u{043E}\u{0434}\u{0434}\u{0435}\u{0440}\u{0436}\u{043A}\u{0438}", // all Cyrillic
            "Équipe Support",
            "Support \u{30B5}\u{30DD}\u{30FC}\u{30C8}", // サポート
            "\u{6771}\u{4EAC} Office",                   // 東京
            "Δelta Desk",
        ] {
            assert!(
                DisplayName::parse(Some(fine), &support()).is_ok(),
                "{fine:?} should be accepted"
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
                prop_assert!(!name.as_str().chars().any(is_invisible));
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
