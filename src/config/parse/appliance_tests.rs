//! Unit tests of `appliance.rs`.

#[test]
fn sha_crypt_shapes() {
    let h6 = format!("$6$saltsalt${}", "a".repeat(86));
    assert!(super::is_sha_crypt(&h6));
    let r = format!("$5$rounds=5000$salt${}", "b".repeat(43));
    assert!(super::is_sha_crypt(&r));
    assert!(!super::is_sha_crypt("$1$md5$bad"));
    assert!(!super::is_sha_crypt("plaintext"));
    assert!(!super::is_sha_crypt("$6$$short"));
}
