use crate::domain::SmtpPassword;

const LOWER: &[u8] = b"abcdefghijkmnopqrstuvwxyz";
const UPPER: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ";
const DIGITS: &[u8] = b"23456789";
const SYMBOLS: &[u8] = b"-_.!@#%+=";

/// A password from the OS CSPRNG, `length` characters (at least 20), with at
/// least one lower-case letter, upper-case letter, digit and symbol, which
/// meets the complexity rules of every provider we talk to. Look-alike
/// characters (l/1, O/0) are left out for people who copy it by hand.
pub fn generate_password(length: usize) -> Result<SmtpPassword, getrandom::Error> {
    let length = length.max(20);
    let classes = [LOWER, UPPER, DIGITS, SYMBOLS];
    let all: Vec<u8> = classes.concat();
    loop {
        let mut password = String::with_capacity(length);
        for _ in 0..length {
            password.push(char::from(all[uniform_index(all.len())?]));
        }
        let has_every_class = classes
            .iter()
            .all(|class| password.bytes().any(|b| class.contains(&b)));
        if has_every_class {
            return Ok(SmtpPassword::new(password));
        }
    }
}

/// An unbiased index below `bound` (rejection sampling over one random byte).
fn uniform_index(bound: usize) -> Result<usize, getrandom::Error> {
    let bound = u8::try_from(bound).expect("alphabet has fewer than 256 symbols");
    let zone = u8::MAX - (u8::MAX % bound);
    loop {
        let mut byte = [0u8; 1];
        getrandom::fill(&mut byte)?;
        if byte[0] < zone {
            return Ok(usize::from(byte[0] % bound));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_long_complex_and_different() {
        let first = generate_password(24).unwrap();
        let second = generate_password(24).unwrap();
        assert_ne!(first, second);
        for password in [&first, &second] {
            let text = password.expose();
            assert_eq!(text.len(), 24);
            assert!(text.bytes().any(|b| b.is_ascii_lowercase()));
            assert!(text.bytes().any(|b| b.is_ascii_uppercase()));
            assert!(text.bytes().any(|b| b.is_ascii_digit()));
            assert!(text.bytes().any(|b| SYMBOLS.contains(&b)));
        }
        assert_eq!(generate_password(8).unwrap().expose().len(), 20);
    }
}
