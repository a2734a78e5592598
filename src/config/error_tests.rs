//! Unit tests of `error.rs`.

use super::*;

fn at(file: FileName, line: u32, col: u32) -> Loc {
    Loc::new(file, line, col)
}

#[test]
fn diagnostics_print_their_severity_after_the_place() {
    let f = FileName::intern("t.conf");
    let e = Error {
        loc: at(f, 2, 5),
        kind: ErrorKind::UnexpectedClose,
    };
    let w = Warning {
        loc: at(f, 3, 1),
        kind: WarningKind::PassTruncated { len: 9, max: 8 },
    };
    assert_eq!(
        e.to_string(),
        "t.conf:2:5: error: unexpected '}': no block is open here"
    );
    assert_eq!(
        w.to_string(),
        "t.conf:3:1: warning: 'auth_pass' has 9 bytes: only the first 8 are used, as keepalived does (VRRP carries 8)"
    );
}

#[test]
fn sort_and_merge_go_by_file_read_order_then_line() {
    let main = FileName::intern("z.conf");
    let inc = FileName::intern("a.conf");
    let mut d = Diagnostics::new(false);
    // Read order, not name order: z.conf first.
    d.files.note(main);
    d.files.note(inc);
    d.files.note(main);
    d.error(&at(inc, 1, 1), ErrorKind::UnexpectedClose);
    d.error(&at(main, 9, 1), ErrorKind::UnexpectedClose);
    d.warn(&at(main, 9, 1), WarningKind::Note("same place".into()));
    d.warn(&at(main, 2, 3), WarningKind::Note("early".into()));
    d.sort();
    let lines = d.files.lines(&d.errors, &d.warnings);
    assert_eq!(
        lines,
        [
            "z.conf:2:3: warning: early",
            "z.conf:9:1: error: unexpected '}': no block is open here",
            "z.conf:9:1: warning: same place",
            "a.conf:1:1: error: unexpected '}': no block is open here",
        ]
    );
}

#[test]
fn keepalived_keywords_vigil_lacks_are_errors_or_lenient_warnings() {
    let f = FileName::intern("t.conf");
    let mut d = Diagnostics::new(false);
    d.not_in_vigil(&at(f, 1, 1), "track_bfd", "vrrp_instance");
    assert_eq!(
        d.errors[0].to_string(),
        "t.conf:1:1: error: keepalived's 'track_bfd' is not supported by vigil (in vrrp_instance)"
    );
    let mut d = Diagnostics::new(true);
    d.not_in_vigil(&at(f, 1, 1), "track_bfd", "vrrp_instance");
    assert!(d.errors.is_empty());
    assert_eq!(
        d.warnings[0].to_string(),
        "t.conf:1:1: warning: keepalived's 'track_bfd' is not supported by vigil (in vrrp_instance); ignored (--lenient): this setting is lost"
    );
}
