//! When one username passes for another: `supp0rt` for `support`,
//! `adm1n` for `admin`, `suppport`, `adrnin`. Both reduce to the same
//! skeleton, and a name whose skeleton is another's is refused.

use super::Username;

/// What `username` looks like once the usual substitutions are undone:
/// `rn` read as `m` and `vv` as `w`; `i` read as `l`; digits inside a word
/// read as the letters they pass for (`0` o, `1` l, `3` e, `4` a, `5` s,
/// `7` t, `8` b); a letter doubled or tripled read once. Digits that end
/// a word are a number and stay as they are, so `room1`, `room11` and
/// `sales2` remain names of their own.
pub fn skeleton(username: &Username) -> String {
    let raw: Vec<char> = username.as_str().chars().collect();
    let ends_a_word = |from: usize| {
        raw[from..]
            .iter()
            .find(|c| !c.is_ascii_digit())
            .is_none_or(|c| matches!(c, '.' | '_' | '-'))
    };
    let mut read: Vec<char> = Vec::with_capacity(raw.len());
    let mut at = 0;
    while at < raw.len() {
        let (c, next) = (raw[at], raw.get(at + 1).copied());
        match (c, next) {
            ('r', Some('n')) => {
                read.push('m');
                at += 2;
                continue;
            }
            ('v', Some('v')) => {
                read.push('w');
                at += 2;
                continue;
            }
            _ => {}
        }
        let letter = match c {
            'i' => 'l',
            digit if digit.is_ascii_digit() && !ends_a_word(at) => match digit {
                '0' => 'o',
                '1' => 'l',
                '3' => 'e',
                '4' => 'a',
                '5' => 's',
                '7' => 't',
                '8' => 'b',
                other => other,
            },
            other => other,
        };
        // A letter read twice in a row is read once; a number is kept whole.
        if !(letter.is_ascii_alphabetic() && read.last() == Some(&letter)) {
            read.push(letter);
        }
        at += 1;
    }
    read.into_iter().collect()
}

/// Whether `candidate` passes for `original`: another name with the same skeleton.
pub fn looks_like(candidate: &Username, original: &Username) -> bool {
    candidate != original && skeleton(candidate) == skeleton(original)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn name(raw: &str) -> Username {
        Username::parse(raw).unwrap()
    }

    #[test]
    fn the_usual_disguises_are_seen_through() {
        for (disguise, original) in [
            ("supp0rt", "support"),
            ("adm1n", "admin"),
            ("suppport", "support"),
            ("sup-p0rt", "sup-port"),
            ("adrnin", "admin"),
            ("payro1l", "payroll"),
            ("bi11ing", "billing"),
            ("vvebmaster", "webmaster"),
            ("5ecurity", "security"),
        ] {
            assert!(
                looks_like(&name(disguise), &name(original)),
                "{disguise} should pass for {original}"
            );
        }
    }

    #[test]
    fn different_names_stay_different() {
        for (one, other) in [
            ("room1", "room11"),
            ("payro11", "payroll"),
            ("desk-1", "desk-11"),
            ("sales", "sales1"),
            ("support", "support-team"),
            ("contact", "contract"),
            ("info", "infos"),
            ("support", "support"),
        ] {
            assert!(
                !looks_like(&name(one), &name(other)),
                "{one} and {other} are different names"
            );
        }
    }

    proptest! {
        #[test]
        fn a_skeleton_is_stable_and_never_longer(raw in "[a-z0-9]([a-z0-9._-]{0,62}[a-z0-9])?") {
            let Ok(username) = Username::parse(&raw) else { return Ok(()); };
            let once = skeleton(&username);
            prop_assert!(once.len() <= username.as_str().len());
            prop_assert_eq!(once, skeleton(&username));
        }
    }
}
