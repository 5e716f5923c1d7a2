//! The username and display-name parsers on arbitrary input: no panic,
//! idempotent normalization, and no control character ever in a result.
#![no_main]

use libfuzzer_sys::fuzz_target;
use provisioning::domain::{DisplayName, Username};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let support = Username::parse("support").expect("a valid username");
    if let Ok(name) = Username::parse(text) {
        assert_eq!(Username::parse(name.as_str()), Ok(name.clone()));
        assert!(name.as_str().len() <= 64);
    }
    if let Ok(display) = DisplayName::parse(Some(text), &support) {
        assert!(!display.as_str().chars().any(char::is_control));
        assert_eq!(
            DisplayName::parse(Some(display.as_str()), &support),
            Ok(display.clone())
        );
    }
});
