use super::*;

#[test]
fn term_from_the_term_variable() {
    for dumb in [
        None,
        Some(""),
        Some("dumb"),
        Some("unknown"),
        Some(" dumb "),
    ] {
        assert_eq!(Term::from_term(dumb), Term::Dumb, "{dumb:?}");
    }
    for vt in ["vt100", "vt220", "xterm-256color", "linux", "screen"] {
        assert_eq!(Term::from_term(Some(vt)), Term::Vt100, "{vt}");
    }
}
