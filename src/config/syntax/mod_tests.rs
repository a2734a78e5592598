//! Tests of the syntax layer through its public API: the seed configs, the
//! tree, every error with its exact place and text, includes, bounds.

use std::fs;
use std::path::{Path, PathBuf};

use proptest::prelude::*;

use super::*;
use crate::config::error::{FileName, WarningKind};

fn parse(text: &str) -> (Vec<Node>, Diagnostics) {
    let mut d = Diagnostics::default();
    let nodes = read_str("t.conf", text, None, &ConfigId::new("t"), &mut d);
    (nodes, d)
}

fn at(file: &str, line: u32, col: u32) -> Loc {
    Loc::new(FileName::intern(file), line, col)
}

fn tok(file: &str, text: &str, line: u32, col: u32) -> Token {
    Token {
        text: text.into(),
        quoted: false,
        loc: at(file, line, col),
    }
}

/// The tree in one line: `kw args { inner; ... }; next`.
fn shape(nodes: &[Node]) -> String {
    nodes
        .iter()
        .map(|n| {
            let mut s = n.keyword.text.to_string();
            for a in &n.args {
                s.push(' ');
                if a.quoted {
                    s.push_str(&format!("\"{}\"", a.text));
                } else {
                    s.push_str(&a.text);
                }
            }
            if let Some(b) = &n.block {
                s.push_str(&format!(" {{ {} }}", shape(&b.nodes)));
            }
            s
        })
        .collect::<Vec<_>>()
        .join("; ")
}

fn errors(d: &Diagnostics) -> Vec<String> {
    d.errors.iter().map(ToString::to_string).collect()
}

fn warnings(d: &Diagnostics) -> Vec<String> {
    d.warnings.iter().map(ToString::to_string).collect()
}

fn block(n: &Node) -> &Block {
    n.block.as_ref().expect("node has a block")
}

fn all_tokens<'a>(nodes: &'a [Node], out: &mut Vec<&'a Token>) {
    for n in nodes {
        out.push(&n.keyword);
        out.extend(&n.args);
        if let Some(b) = &n.block {
            all_tokens(&b.nodes, out);
        }
    }
}

fn depth(nodes: &[Node]) -> usize {
    nodes
        .iter()
        .filter_map(|n| n.block.as_ref())
        .map(|b| 1 + depth(&b.nodes))
        .max()
        .unwrap_or(0)
}

fn seed(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/seed")
        .join(name)
}

// --- the seed configs --------------------------------------------------------

#[test]
fn seed_master() {
    let path = seed("master.conf");
    let f = path.display().to_string();
    let f = f.as_str();
    let mut d = Diagnostics::default();
    let nodes = read_file(&path, &ConfigId::new("t"), &mut d);
    assert!(d.errors.is_empty() && d.warnings.is_empty(), "{d:?}");
    assert_eq!(nodes.len(), 3);

    // global_defs {
    //     notification_email {
    //         your_email@example.com  # 务必...
    //     }
    let g = &nodes[0];
    assert_eq!(g.keyword, tok(f, "global_defs", 1, 1));
    assert!(g.args.is_empty());
    let gb = block(g);
    assert_eq!((gb.open, gb.close), (at(f, 1, 13), at(f, 9, 1)));
    let email = &gb.nodes[0];
    assert_eq!(email.keyword, tok(f, "notification_email", 2, 5));
    assert_eq!(block(email).open, at(f, 2, 24));
    assert_eq!(block(email).close, at(f, 4, 5));
    let addr = &block(email).nodes[0];
    assert_eq!(addr.keyword, tok(f, "your_email@example.com", 3, 9));
    assert!(addr.args.is_empty(), "the Chinese comment vanished");
    assert_eq!(gb.nodes[4].keyword, tok(f, "router_id", 8, 5));
    assert_eq!(gb.nodes[4].args, vec![tok(f, "LVS1", 8, 15)]);

    // vrrp_instance VI_1 {
    let v = &nodes[1];
    assert_eq!(v.keyword, tok(f, "vrrp_instance", 11, 1));
    assert_eq!(v.args, vec![tok(f, "VI_1", 11, 15)]);
    let state = &block(v).nodes[0];
    assert_eq!(state.keyword, tok(f, "state", 12, 5));
    assert_eq!(state.args, vec![tok(f, "MASTER", 12, 11)]);

    // virtual_server 192.168.1.200 80 {  # VIP 和端口...
    let vs = &nodes[2];
    assert_eq!(vs.keyword, tok(f, "virtual_server", 26, 1));
    assert_eq!(
        vs.args,
        vec![tok(f, "192.168.1.200", 26, 16), tok(f, "80", 26, 30)]
    );
    let vb = block(vs);
    assert_eq!((vb.open, vb.close), (at(f, 26, 33), at(f, 49, 1)));
    let kws: Vec<&str> = vb.nodes.iter().map(|n| n.keyword.text.as_str()).collect();
    assert_eq!(
        kws,
        [
            "lb_algo",
            "lb_kind",
            "persistence_timeout",
            "persistence_granularity",
            "protocol",
            "real_server",
            "real_server"
        ]
    );
    assert_eq!(vb.nodes[0].args, vec![tok(f, "wrr", 27, 13)]);
    let rs = &vb.nodes[5];
    assert_eq!(rs.keyword, tok(f, "real_server", 33, 5));
    assert_eq!(
        rs.args,
        vec![tok(f, "192.168.1.102", 33, 17), tok(f, "80", 33, 31)]
    );
    let check = &block(rs).nodes[1];
    assert_eq!(check.keyword, tok(f, "TCP_CHECK", 35, 9));
    assert_eq!(
        shape(std::slice::from_ref(check)),
        "TCP_CHECK { connect_timeout 3; nb_get_replies 3; delay_loop 5 }"
    );

    assert_eq!(
        shape(&nodes),
        "global_defs { notification_email { your_email@example.com }; \
         notification_email_from keepalived@localhost; smtp_server 127.0.0.1; \
         smtp_connect_timeout 30; router_id LVS1 }; \
         vrrp_instance VI_1 { state MASTER; interface eth0; virtual_router_id 51; \
         priority 100; advert_interval 1; authentication { type PASS; password 1111 }; \
         virtual_ipaddress { 192.168.1.200/24 } }; \
         virtual_server 192.168.1.200 80 { lb_algo wrr; lb_kind DR; \
         persistence_timeout 3600; persistence_granularity SOURCE_IP; protocol TCP; \
         real_server 192.168.1.102 80 { weight 1; TCP_CHECK { connect_timeout 3; \
         nb_get_replies 3; delay_loop 5 } }; \
         real_server 192.168.1.103 80 { weight 1; TCP_CHECK { connect_timeout 3; \
         nb_get_replies 3; delay_loop 5 } } }"
    );
    let mut toks = Vec::new();
    all_tokens(&nodes, &mut toks);
    assert!(toks
        .iter()
        .all(|t| t.text.is_ascii() && t.loc.file.as_ref() == f));
}

#[test]
fn seed_backup_reads_cleanly() {
    let mut d = Diagnostics::default();
    let nodes = read_file(&seed("backup.conf"), &ConfigId::new("t"), &mut d);
    assert!(d.errors.is_empty() && d.warnings.is_empty(), "{d:?}");
    assert_eq!(nodes.len(), 3);
    let mut toks = Vec::new();
    all_tokens(&nodes, &mut toks);
    assert!(toks.iter().all(|t| t.text.is_ascii()));
}

// --- statements and blocks ---------------------------------------------------

#[test]
fn one_line_block() {
    let (nodes, d) = parse("virtual_ipaddress { 1.2.3.4 }");
    assert!(d.errors.is_empty());
    assert_eq!(shape(&nodes), "virtual_ipaddress { 1.2.3.4 }");
    let b = block(&nodes[0]);
    assert_eq!(b.open, at("t.conf", 1, 19));
    assert_eq!(b.close, at("t.conf", 1, 29));
    assert_eq!(b.nodes[0].keyword, tok("t.conf", "1.2.3.4", 1, 21));
}

#[test]
fn glued_braces_and_statements_after_close() {
    let (nodes, d) = parse("a 80{b 1}c{d{e}}} f\ng");
    assert_eq!(
        errors(&d),
        ["t.conf:1:17: error: unexpected '}': no block is open here"]
    );
    assert_eq!(shape(&nodes), "a 80 { b 1 }; c { d { e } }; f; g");
    assert_eq!(nodes[2].keyword, tok("t.conf", "f", 1, 19));
}

#[test]
fn statement_ends_at_line_end_and_braces() {
    let (nodes, _) = parse("a b\nc { d e } f g { h }\n  i");
    assert_eq!(shape(&nodes), "a b; c { d e }; f g { h }; i");
}

#[test]
fn brace_on_the_next_line_opens_the_previous_statement() {
    let (nodes, d) = parse("vrrp_instance X\n{\n  state MASTER\n}\n");
    assert!(d.errors.is_empty());
    assert_eq!(shape(&nodes), "vrrp_instance X { state MASTER }");
    assert_eq!(block(&nodes[0]).open, at("t.conf", 2, 1));
    // Blank and comment lines between are fine; so is indentation.
    let (nodes, d) = parse("a\n\n# c\n   { b }");
    assert!(d.errors.is_empty());
    assert_eq!(shape(&nodes), "a { b }");
}

#[test]
fn block_without_keyword() {
    // After a statement that already has a block.
    let (nodes, d) = parse("a {\n}\n{ x }\nb");
    assert_eq!(
        errors(&d),
        ["t.conf:3:1: error: '{' must follow a keyword on the same line"]
    );
    assert_eq!(
        shape(&nodes),
        "a {  }; b",
        "the keyword-less block is dropped"
    );
    // At the start of the file, after a '}' on the same line, after an include.
    let (_, d) = parse("{\n}\na { } { }");
    assert_eq!(
        errors(&d),
        [
            "t.conf:1:1: error: '{' must follow a keyword on the same line",
            "t.conf:3:7: error: '{' must follow a keyword on the same line"
        ]
    );
    let (_, d) = parse("x\n y {\n}\n");
    assert!(d.errors.is_empty());
}

#[test]
fn comments_at_line_start_trailing_and_inside_words() {
    let (nodes, d) = parse(
        "# whole line\n! whole line\npassword ab#c # trailing\nkey x!y ! trailing\na {# c\n}! c\n",
    );
    assert!(d.errors.is_empty());
    assert_eq!(shape(&nodes), "password ab#c; key x!y; a {  }");
    assert_eq!(nodes[0].args, vec![tok("t.conf", "ab#c", 3, 10)]);
}

#[test]
fn quoted_words() {
    let (nodes, d) = parse("notify \"/bin/x  a#b { }\" \"q\\\"\\\\\" \"\\n\"");
    assert!(d.errors.is_empty());
    assert_eq!(nodes[0].args.len(), 3);
    assert_eq!(
        nodes[0].args[0],
        Token {
            text: "/bin/x  a#b { }".into(),
            quoted: true,
            loc: at("t.conf", 1, 8),
        }
    );
    assert_eq!(nodes[0].args[1].text, "q\"\\");
    assert_eq!(nodes[0].args[2].text, "\\n");
}

#[test]
fn crlf_and_bom() {
    let (nodes, d) = parse("\u{feff}a {\r\n  b 1\r\n}\r\n");
    assert!(d.errors.is_empty());
    assert_eq!(shape(&nodes), "a { b 1 }");
    assert_eq!(nodes[0].keyword, tok("t.conf", "a", 1, 1));
    assert_eq!(
        block(&nodes[0]).nodes[0].args,
        vec![tok("t.conf", "1", 2, 5)]
    );
    assert_eq!(block(&nodes[0]).close, at("t.conf", 3, 1));
}

// --- every lexing and tree error, with its place and text --------------------

#[test]
fn unterminated_quote() {
    let (nodes, d) = parse("a {\n  b \"c d\n}");
    assert_eq!(d.errors[0].loc, at("t.conf", 2, 5));
    assert_eq!(d.errors[0].kind, ErrorKind::UnterminatedQuote);
    assert_eq!(
        errors(&d),
        ["t.conf:2:5: error: unterminated quoted string: expected a closing '\"' before the end of the line"]
    );
    assert_eq!(shape(&nodes), "a { b \"c d\" }");
}

#[test]
fn unexpected_close() {
    let (nodes, d) = parse("a\n  }\nb");
    assert_eq!(d.errors[0].loc, at("t.conf", 2, 3));
    assert_eq!(d.errors[0].kind, ErrorKind::UnexpectedClose);
    assert_eq!(
        errors(&d),
        ["t.conf:2:3: error: unexpected '}': no block is open here"]
    );
    assert_eq!(shape(&nodes), "a; b");
}

#[test]
fn unclosed_blocks_are_reported_at_eof_and_kept() {
    let (nodes, d) = parse("a {\n b {\n  c\n");
    assert_eq!(
        d.errors[0].kind,
        ErrorKind::UnclosedBlock {
            opened_at: at("t.conf", 1, 3)
        }
    );
    assert_eq!(
        errors(&d),
        [
            "t.conf:4:1: error: block opened with '{' at t.conf:1:3 is never closed: expected '}'",
            "t.conf:4:1: error: block opened with '{' at t.conf:2:4 is never closed: expected '}'"
        ]
    );
    assert_eq!(shape(&nodes), "a { b { c } }");
    assert_eq!(block(&nodes[0]).close, at("t.conf", 4, 1));
}

#[test]
fn token_too_long() {
    let text = format!("a\npassword {}", "x".repeat(MAX_TOKEN_BYTES + 1));
    let (nodes, d) = parse(&text);
    assert_eq!(d.errors[0].loc, at("t.conf", 2, 10));
    assert_eq!(
        errors(&d),
        ["t.conf:2:10: error: word longer than 4096 bytes: expected at most 4096 bytes per word"]
    );
    assert_eq!(
        nodes[1].args[0].text.len(),
        MAX_TOKEN_BYTES + 1,
        "not truncated"
    );
}

#[test]
fn text_too_large() {
    let text = "#".repeat(usize::try_from(MAX_FILE_BYTES).unwrap() + 1);
    let (nodes, d) = parse(&text);
    assert!(nodes.is_empty());
    let max = MAX_FILE_BYTES;
    assert_eq!(
        errors(&d),
        [format!("t.conf:1:1: error: t.conf is larger than {max} bytes: expected a configuration file of at most {max} bytes")]
    );
}

#[test]
fn deep_nesting_is_bounded_and_does_not_overflow() {
    let n = 10_000;
    let text = format!("{}{}", "a {\n".repeat(n), "}\n".repeat(n));
    let (nodes, d) = parse(&text);
    assert_eq!(
        errors(&d),
        ["t.conf:65:3: error: blocks nested deeper than 64 levels: expected at most 64 nested '{'"]
    );
    assert_eq!(depth(&nodes), MAX_NESTING);

    // Never closed: one NestedTooDeep and one UnclosedBlock per kept block.
    let (nodes, d) = parse(&"a {".repeat(n));
    assert_eq!(d.errors.len(), 1 + MAX_NESTING);
    assert_eq!(d.errors[0].loc, at("t.conf", 1, 64 * 3 + 3));
    assert_eq!(depth(&nodes), MAX_NESTING);
    assert!(d.errors[1..]
        .iter()
        .all(|e| matches!(e.kind, ErrorKind::UnclosedBlock { .. })));

    // Braces deeper than the bound still match: what follows is kept.
    let text = format!("{}{} b", "a {".repeat(100), "}".repeat(100));
    let (nodes, _) = parse(&text);
    assert_eq!(nodes.last().map(|n| n.keyword.text.as_str()), Some("b"));
}

#[test]
fn not_utf8() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("x.conf");
    fs::write(&path, b"a b\nc \xe8\xb7 \xff d\n").unwrap();
    let mut d = Diagnostics::default();
    let nodes = read_file(&path, &ConfigId::new("t"), &mut d);
    let f = path.display().to_string();
    assert_eq!(d.errors[0].kind, ErrorKind::NotUtf8 { line: 2 });
    assert_eq!(
        errors(&d),
        [format!(
            "{f}:2:3: error: line 2 is not valid UTF-8 text: expected a UTF-8 file (convert it, e.g. with iconv)"
        )]
    );
    assert_eq!(shape(&nodes), "a b; c \u{fffd} \u{fffd} d", "read on");
}

#[test]
fn root_that_cannot_be_read() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nope.conf");
    let f = path.display().to_string();
    let mut d = Diagnostics::default();
    let err = read_root(&path, &ConfigId::new("t"), &mut d).unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::NotFound);
    assert!(d.errors.is_empty());

    let nodes = read_file(&path, &ConfigId::new("t"), &mut d);
    assert!(nodes.is_empty());
    assert_eq!(d.errors[0].loc, at(&f, 1, 1));
    assert_eq!(
        errors(&d),
        [format!(
            "{f}:1:1: error: cannot read {f}: No such file or directory (os error 2)"
        )]
    );
}

// --- include -----------------------------------------------------------------

/// A directory of files from `(relative path, text)` pairs.
fn tree_of(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in files {
        let p = dir.path().join(name);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(p, text).unwrap();
    }
    dir
}

fn read_in(dir: &Path, name: &str) -> (Vec<Node>, Diagnostics, String) {
    let mut d = Diagnostics::default();
    let path = dir.join(name);
    let nodes = read_file(&path, &ConfigId::new("t"), &mut d);
    (nodes, d, path.display().to_string())
}

#[test]
fn include_relative_to_the_including_file_at_any_level() {
    let dir = tree_of(&[
        ("main.conf", "a {\n  include sub/b.conf\n}\nz"),
        ("sub/b.conf", "b 1\n include c.conf\n"),
        ("sub/c.conf", "c { d }"),
    ]);
    let (nodes, d, _) = read_in(dir.path(), "main.conf");
    assert!(d.errors.is_empty() && d.warnings.is_empty(), "{d:?}");
    assert_eq!(shape(&nodes), "a { b 1; c { d } }; z");
    let b = &block(&nodes[0]).nodes;
    let fb = dir.path().join("sub/b.conf").display().to_string();
    let fc = dir.path().join("sub/c.conf").display().to_string();
    assert_eq!(b[0].keyword, tok(&fb, "b", 1, 1));
    assert_eq!(b[1].keyword, tok(&fc, "c", 1, 1));
    assert_eq!(block(&b[1]).nodes[0].keyword, tok(&fc, "d", 1, 5));

    // In memory: against base_dir, or the current directory.
    let mut d = Diagnostics::default();
    let nodes = read_str(
        "mem",
        "include sub/c.conf",
        Some(dir.path()),
        &ConfigId::new("t"),
        &mut d,
    );
    assert_eq!(shape(&nodes), "c { d }");
    let nodes = read_str(
        "mem",
        "include fixtures/seed/master.conf",
        None,
        &ConfigId::new("t"),
        &mut d,
    );
    assert_eq!(nodes.len(), 3);
    assert_eq!(
        nodes[0].keyword.loc.file.as_ref(),
        "fixtures/seed/master.conf"
    );
    assert!(d.errors.is_empty());
}

#[test]
fn include_glob_in_sorted_order() {
    let dir = tree_of(&[
        ("main.conf", "first\ninclude conf.d/*.conf\nlast"),
        ("conf.d/c.conf", "c"),
        ("conf.d/a.conf", "a"),
        ("conf.d/b.conf", "b1\nb2"),
        ("conf.d/.hidden.conf", "hidden"),
        ("conf.d/x.txt", "txt"),
        ("conf.d/dir.conf/y.conf", "in_dir"),
    ]);
    let (nodes, d, _) = read_in(dir.path(), "main.conf");
    assert!(d.errors.is_empty() && d.warnings.is_empty(), "{d:?}");
    assert_eq!(shape(&nodes), "first; a; b1; b2; c; last");
    let fb = dir.path().join("conf.d/b.conf").display().to_string();
    assert_eq!(nodes[3].keyword, tok(&fb, "b2", 2, 1));
}

#[test]
fn include_glob_under_a_directory_with_glob_characters() {
    let dir = tree_of(&[
        ("we[ir]d/main.conf", "include *.inc"),
        ("we[ir]d/a.inc", "a"),
    ]);
    let (nodes, d, _) = read_in(dir.path(), "we[ir]d/main.conf");
    assert!(d.errors.is_empty() && d.warnings.is_empty(), "{d:?}");
    assert_eq!(shape(&nodes), "a");
}

#[test]
fn include_glob_matching_nothing_is_a_warning() {
    let dir = tree_of(&[("main.conf", "a\ninclude  none/*.conf\nb")]);
    let (nodes, d, f) = read_in(dir.path(), "main.conf");
    assert!(d.errors.is_empty());
    assert_eq!(
        d.warnings[0].kind,
        WarningKind::IncludeEmpty {
            pattern: "none/*.conf".into()
        }
    );
    assert_eq!(
        warnings(&d),
        [format!(
            "{f}:2:10: warning: include none/*.conf: the pattern matched no file"
        )]
    );
    assert_eq!(shape(&nodes), "a; b");
}

#[test]
fn include_bad_glob() {
    let dir = tree_of(&[("main.conf", "include conf.d/[a.conf")]);
    let (_, d, f) = read_in(dir.path(), "main.conf");
    assert_eq!(
        errors(&d),
        [format!(
            "{f}:1:9: error: include conf.d/[a.conf: bad pattern: invalid range pattern"
        )]
    );
}

#[test]
fn include_missing_literal_is_an_error() {
    let dir = tree_of(&[("main.conf", "a {\n    include nope.conf\n}")]);
    let (nodes, d, f) = read_in(dir.path(), "main.conf");
    assert_eq!(
        d.errors[0].kind,
        ErrorKind::IncludeMissing {
            pattern: "nope.conf".into()
        }
    );
    assert_eq!(d.errors[0].loc, at(&f, 2, 13));
    assert_eq!(
        errors(&d),
        [format!("{f}:2:13: error: include nope.conf: no such file")]
    );
    assert_eq!(shape(&nodes), "a {  }");
}

#[test]
fn include_of_a_directory_is_a_read_error() {
    let dir = tree_of(&[("main.conf", "include sub"), ("sub/x", "")]);
    let (_, d, f) = read_in(dir.path(), "main.conf");
    let sub = dir.path().join("sub").display().to_string();
    assert_eq!(
        errors(&d),
        [format!(
            "{f}:1:9: error: cannot read {sub}: Is a directory (os error 21)"
        )]
    );
}

#[test]
fn include_cycle() {
    let dir = tree_of(&[
        ("a.conf", "a\ninclude b.conf"),
        ("b.conf", "b\ninclude ./a.conf\ninclude b.conf"),
    ]);
    let (nodes, d, _) = read_in(dir.path(), "a.conf");
    let fb = dir.path().join("b.conf").display().to_string();
    let a_again = dir.path().join("./a.conf").display().to_string();
    assert_eq!(
        d.errors[0].kind,
        ErrorKind::IncludeCycle {
            path: dir.path().join("./a.conf")
        }
    );
    assert_eq!(
        errors(&d),
        [
            format!("{fb}:2:9: error: include of {a_again} would include itself (cycle)"),
            format!("{fb}:3:9: error: include of {fb} would include itself (cycle)"),
        ]
    );
    assert_eq!(shape(&nodes), "a; b");
}

#[test]
fn include_same_file_twice_side_by_side_is_fine() {
    let dir = tree_of(&[
        ("main.conf", "include x.conf\ninclude x.conf"),
        ("x.conf", "x"),
    ]);
    let (nodes, d, _) = read_in(dir.path(), "main.conf");
    assert!(d.errors.is_empty());
    assert_eq!(shape(&nodes), "x; x");
}

#[test]
fn include_depth_is_bounded() {
    let files: Vec<(String, String)> = (0..=10)
        .map(|i| {
            (
                format!("f{i}.conf"),
                format!("n{i}\ninclude f{}.conf", i + 1),
            )
        })
        .collect();
    let refs: Vec<(&str, &str)> = files
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    let dir = tree_of(&refs);
    let (nodes, d, _) = read_in(dir.path(), "f0.conf");
    let f8 = dir.path().join("f8.conf").display().to_string();
    assert_eq!(d.errors[0].kind, ErrorKind::IncludeTooDeep { max: 8 });
    assert_eq!(
        errors(&d),
        [format!(
            "{f8}:2:9: error: include nested deeper than 8 levels"
        )]
    );
    assert_eq!(shape(&nodes), "n0; n1; n2; n3; n4; n5; n6; n7; n8");
}

#[test]
fn include_statement_shape_errors() {
    let (nodes, d) = parse("include\ninclude a b\ninclude a {\n x\n}\nk");
    assert_eq!(
        errors(&d),
        [
            "t.conf:1:1: error: 'include' needs a file path or glob pattern",
            "t.conf:2:11: error: 'include': unexpected 'b', expected one file path or glob pattern",
            "t.conf:3:1: error: 'include' takes no block",
        ]
    );
    assert_eq!(shape(&nodes), "k");
}

#[test]
fn braces_do_not_cross_files_and_nesting_counts_across_includes() {
    let dir = tree_of(&[
        ("main.conf", "a {\ninclude x.conf\n}"),
        ("x.conf", "b }\nc {"),
    ]);
    let (nodes, d, _) = read_in(dir.path(), "main.conf");
    let fx = dir.path().join("x.conf").display().to_string();
    assert_eq!(
        errors(&d),
        [
            format!("{fx}:1:3: error: unexpected '}}': no block is open here"),
            format!("{fx}:2:4: error: block opened with '{{' at {fx}:2:3 is never closed: expected '}}'"),
        ]
    );
    assert_eq!(shape(&nodes), "a { b; c {  } }");

    let outer = format!(
        "{}include in.conf\n{}",
        "a {\n".repeat(60),
        "}\n".repeat(60)
    );
    let dir = tree_of(&[("main.conf", &outer), ("in.conf", &"b {\n".repeat(10))]);
    let (_, d, _) = read_in(dir.path(), "main.conf");
    let fin = dir.path().join("in.conf").display().to_string();
    assert_eq!(
        d.errors[0].to_string(),
        format!("{fin}:5:3: error: blocks nested deeper than 64 levels: expected at most 64 nested '{{'")
    );
}

#[test]
fn included_files_are_bounded() {
    // Three of these make more than the total: the third is refused.
    let big = "#".repeat(usize::try_from(MAX_TOTAL_BYTES / 3).unwrap() + 1);
    let huge = "#".repeat(usize::try_from(MAX_FILE_BYTES).unwrap() + 1);
    let main = "include big.conf\n".repeat(3) + "include huge.conf\n";
    let dir = tree_of(&[
        ("main.conf", &main),
        ("big.conf", &big),
        ("huge.conf", &huge),
    ]);
    let (_, d, f) = read_in(dir.path(), "main.conf");
    let fh = dir.path().join("huge.conf").display().to_string();
    let (total, file) = (MAX_TOTAL_BYTES, MAX_FILE_BYTES);
    assert_eq!(
        errors(&d),
        [
            format!(
                "{f}:3:9: error: the configuration with its includes is larger than {total} bytes: expected at most {total} bytes in all"
            ),
            format!(
                "{f}:4:9: error: {fh} is larger than {file} bytes: expected a configuration file of at most {file} bytes"
            ),
        ]
    );
}

// --- robustness --------------------------------------------------------------

const FRAGMENTS: &[&str] = &[
    "a",
    "b",
    "80",
    "{",
    "}",
    "#",
    "!",
    "\"",
    "\\",
    "\\\"",
    "\n",
    "\r\n",
    "\r",
    " ",
    "\t",
    "include",
    "include *",
    "include x",
    "é",
    "路由",
    "\u{feff}",
    "x#y",
    "\u{3000}",
    "\0",
];

proptest! {
    #[test]
    fn token_soups_never_panic(
        parts in proptest::collection::vec(proptest::sample::select(FRAGMENTS), 0..300),
        noise in any::<String>(),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let text = parts.concat() + &noise;
        let lines = u32::try_from(text.split('\n').count()).unwrap();
        let mut d = Diagnostics::default();
        let nodes = read_str("t.conf", &text, Some(dir.path()), &ConfigId::new("t"), &mut d);
        prop_assert!(depth(&nodes) <= MAX_NESTING);
        let mut toks = Vec::new();
        all_tokens(&nodes, &mut toks);
        for loc in toks.iter().map(|t| &t.loc).chain(d.errors.iter().map(|e| &e.loc)) {
            prop_assert!(loc.line >= 1 && loc.line <= lines && loc.col >= 1, "{loc}");
        }
        for t in toks {
            prop_assert!(t.quoted || !t.text.is_empty());
        }
    }
}

/// A read hands each top-level statement on once it is complete, before
/// the lines after it are read: here the sink writes the file that the
/// next statement includes, which a read that built the whole tree first
/// would find missing. A statement that may still get its block from a
/// `{` on the next line is held until that line is read.
#[test]
fn top_level_statements_go_to_the_sink_before_the_next_lines_are_read() {
    let dir = tree_of(&[(
        "main.conf",
        "vrrp_instance A\n{\n}\nglobal_defs { router_id x }\ninclude later.conf\nvirtual_server 10.0.0.1 80 { }\n",
    )]);
    let later = dir.path().join("later.conf");
    let mut d = Diagnostics::default();
    let mut seen = Vec::new();
    let sink: Sink = &mut |n, _| {
        if n.keyword.text == "global_defs" {
            fs::write(&later, "vrrp_script s {\n}\n").unwrap();
        }
        seen.push(shape(std::slice::from_ref(&n)));
    };
    stream_root(
        &dir.path().join("main.conf"),
        &ConfigId::new("t"),
        &mut d,
        sink,
    )
    .unwrap();
    assert!(d.errors.is_empty(), "{:?}", errors(&d));
    assert_eq!(
        seen,
        [
            "vrrp_instance A {  }",
            "global_defs { router_id x }",
            "vrrp_script s {  }",
            "virtual_server 10.0.0.1 80 {  }",
        ]
    );
}
