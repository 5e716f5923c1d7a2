use super::{username::MAX_USERNAME_LEN, DomainName, ReservedNames, Username};

/// A check or a refused create offers at most this many alternatives.
pub const MAX_SUGGESTIONS: usize = 5;

/// Alternatives to `wanted`, most natural first: deterministic, each a valid
/// username different from `wanted` that neither is, passes for, nor carries
/// a reserved name (no `security-team` for `security`). Which are free is the
/// store's answer, asked for all of them at once.
pub fn suggestion_candidates(
    wanted: &Username,
    domain: &DomainName,
    reserved: &ReservedNames,
) -> Vec<Username> {
    // Anything built on a reserved name is that name with a suffix.
    if reserved.covers(wanted) {
        return Vec::new();
    }
    let company = domain.company();
    let mut patterns: Vec<(String, String)> = vec![
        (String::new(), "-team".into()),
        (String::new(), format!(".{company}")),
        (String::new(), format!("-{company}")),
        (format!("{company}-"), String::new()),
        (String::new(), "-desk".into()),
        (String::new(), "-hq".into()),
    ];
    patterns.extend((1..=9).map(|n| (String::new(), n.to_string())));

    let mut candidates: Vec<Username> = Vec::new();
    for (prefix, suffix) in patterns {
        let room = MAX_USERNAME_LEN.saturating_sub(prefix.len() + suffix.len());
        // Shorten a long name so the suffix still fits; never end the stem on punctuation.
        let stem =
            wanted.as_str()[..wanted.as_str().len().min(room)].trim_end_matches(['.', '_', '-']);
        if stem.is_empty() {
            continue;
        }
        let Ok(candidate) = Username::parse(&format!("{prefix}{stem}{suffix}")) else {
            continue;
        };
        if &candidate != wanted && !reserved.covers(&candidate) && !candidates.contains(&candidate)
        {
            candidates.push(candidate);
        }
    }
    candidates
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn example() -> DomainName {
        DomainName::parse("example.com").unwrap()
    }

    #[test]
    fn natural_alternatives_come_first() {
        let wanted = Username::parse("support").unwrap();
        let names: Vec<String> =
            suggestion_candidates(&wanted, &example(), &ReservedNames::default())
                .iter()
                .map(|u| u.to_string())
                .collect();
        assert_eq!(
            &names[..6],
            [
                "support-team",
                "support.example",
                "support-example",
                "example-support",
                "support-desk",
                "support-hq"
            ]
        );
        assert_eq!(names.last().unwrap(), "support9");
    }

    #[test]
    fn a_reserved_name_gets_no_suggestion_built_on_it() {
        let reserved = ReservedNames::default();
        for wanted in ["security", "adm1n", "mailer-daemon"] {
            let wanted = Username::parse(wanted).unwrap();
            assert_eq!(suggestion_candidates(&wanted, &example(), &reserved), []);
        }
    }

    #[test]
    fn a_name_at_the_length_limit_still_gets_suggestions() {
        let wanted = Username::parse(&"a".repeat(64)).unwrap();
        let candidates = suggestion_candidates(&wanted, &example(), &ReservedNames::default());
        assert!(candidates.len() >= MAX_SUGGESTIONS);
        assert!(candidates.iter().all(|c| c.as_str().len() <= 64));
    }

    proptest! {
        #[test]
        fn every_candidate_is_valid_allowed_and_different(
            raw in "[a-z0-9]([a-z0-9._-]{0,62}[a-z0-9])?",
            extra in proptest::collection::vec("[a-z0-9]{1,8}(-team)?", 0..4),
        ) {
            let Ok(wanted) = Username::parse(&raw) else { return Ok(()); };
            let reserved = ReservedNames::with_extra(extra.iter().filter_map(|e| Username::parse(e).ok()));
            let candidates = suggestion_candidates(&wanted, &example(), &reserved);
            if !reserved.covers(&wanted) {
                prop_assert!(candidates.len() >= MAX_SUGGESTIONS);
            }
            for candidate in &candidates {
                prop_assert_eq!(&Username::parse(candidate.as_str()).unwrap(), candidate);
                prop_assert!(candidate != &wanted);
                prop_assert!(!reserved.covers(candidate));
            }
            prop_assert_eq!(candidates.clone(), suggestion_candidates(&wanted, &example(), &reserved));
        }
    }
}
