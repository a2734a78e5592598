use super::*;

fn w(line: &str) -> Vec<String> {
    split(line).expect("splits")
}

#[test]
fn words_quotes_and_pipes() {
    assert_eq!(w("  show   vrrp "), ["show", "vrrp"]);
    assert_eq!(w("show|compare"), ["show", "|", "compare"]);
    assert_eq!(
        w(r#"commit comment "new VIP | test""#),
        ["commit", "comment", "new VIP | test"]
    );
    assert_eq!(w(r#"set x "a\"b\\c\n""#), ["set", "x", r#"a"b\c\n"#]);
    assert_eq!(w(r#"set x """#), ["set", "x", ""]);
    assert!(w("").is_empty());
}

#[test]
fn an_open_quote_is_refused_with_its_column() {
    assert_eq!(
        split(r#"set notify "/bin/x"#),
        Err(WordsError::UnterminatedQuote { column: 12 })
    );
}

#[test]
fn quote_round_trips() {
    for word in [
        "plain",
        "",
        "two words",
        "a|b",
        r#"q"uote"#,
        r"back\slash",
        "$6$salt$hash",
    ] {
        assert_eq!(w(&format!("x {}", quote(word))), ["x", word], "{word:?}");
    }
    assert_eq!(quote("$6$abc"), "$6$abc");
}

#[test]
fn the_word_at_the_cursor() {
    assert_eq!(
        before_cursor("set vrrp_i"),
        Some((vec!["set".to_owned()], "vrrp_i".to_owned(), 4))
    );
    assert_eq!(
        before_cursor("set "),
        Some((vec!["set".to_owned()], String::new(), 4))
    );
    assert_eq!(before_cursor(""), Some((vec![], String::new(), 0)));
    assert_eq!(
        before_cursor("show |"),
        Some((vec!["show".to_owned(), "|".to_owned()], String::new(), 6))
    );
    assert_eq!(before_cursor(r#"set x "a b"#), None);
}

#[test]
fn quotes_open_before_the_cursor() {
    assert!(!in_quote("set x"));
    assert!(in_quote(r#"set x "a"#));
    assert!(!in_quote(r#"set x "a""#));
    assert!(in_quote(r#"set x "a\""#));
}
