use super::*;

/// glibc's crypt(3) of "vigil-test" (`openssl passwd -6 -salt saltsalt
/// vigil-test`).
const SHA512: &str = "$6$saltsalt$oDfPg62CgjzCj.Rg7hg4jg/jDEVCub12Df1Xk7ByI/13rVasXIJowYBNm8wOtXBDIBDaKl6Dpjeny95821rpA.";

#[test]
fn a_hash_checks_its_password_only() {
    let h = hash("correct horse").expect("hashes");
    assert!(h.starts_with("$6$"), "{h}");
    assert!(verify("correct horse", &h));
    assert!(!verify("correct hors", &h));
    assert!(!verify("", &h));
    // A second hash of the same password has another salt.
    assert_ne!(hash("correct horse").expect("hashes"), h);
    // What glibc reads: 16 characters of salt at most.
    let salt = h
        .trim_start_matches("$6$")
        .trim_start_matches("rounds=5000$");
    assert_eq!(salt.split('$').next().map(str::len), Some(16), "{h}");
    // And what the config's parser takes.
    let text = with_hash("", &h).expect("a made hash is a valid config value");
    assert!(text.contains(&h), "{text}");
}

#[test]
fn hashes_made_elsewhere_check() {
    // The same with `-5`.
    let sha256 = "$5$saltsalt$Qk9aHc2r.B8xaPxY2BJ7FyyMIt3mvtFg8KjznG.iku7";
    for h in [SHA512, sha256] {
        assert!(verify("vigil-test", h), "{h}");
        assert!(!verify("vigil-tesT", h), "{h}");
    }
}

#[test]
fn a_broken_hash_matches_nothing() {
    for h in ["", "secret", "$6$", "$1$abc$def", "$6$salt"] {
        assert!(!verify("", h), "{h:?}");
        assert!(!verify("secret", h), "{h:?}");
    }
}

#[test]
fn choosing_a_password() {
    assert_eq!(choose("short", "short"), Err(LoginError::TooShort));
    assert_eq!(
        choose("longenough", "longenougH"),
        Err(LoginError::Mismatch)
    );
    let long = "x".repeat(MAX_LEN + 1);
    assert_eq!(choose(&long, &long), Err(LoginError::TooLong));
    // Eight characters, not eight bytes.
    assert_eq!(choose("ääää", "ääää"), Err(LoginError::TooShort));
    let h = choose("longenough", "longenough").expect("accepted");
    assert!(verify("longenough", &h));
}

#[test]
fn the_hash_goes_into_the_running_config() {
    let factory = crate::config::export::export(&Config::factory_default());
    let text = with_hash(&factory, SHA512).expect("sets");
    let c = crate::config::import_str("t", &text, false)
        .expect("reads back")
        .config;
    assert_eq!(hash_of(&c), Some(SHA512));
    // A config with an appliance block keeps the rest of it.
    let boxed = "appliance {\n    hostname lb1\n}\n";
    let text = with_hash(boxed, SHA512).expect("sets");
    let c = crate::config::import_str("t", &text, false)
        .expect("reads back")
        .config;
    let a = c.appliance.as_ref().expect("appliance");
    assert_eq!(a.hostname.as_deref(), Some("lb1"));
    assert_eq!(a.console_password_hash.as_deref(), Some(SHA512));
    assert!(matches!(
        with_hash("vrrp_instance {", SHA512),
        Err(LoginError::Running(_))
    ));
}
