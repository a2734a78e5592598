//! Unit tests of `preproc.rs`, through the syntax layer's `read_str`: what
//! the tree holds and where each word and error points.

use super::super::{read_str, Node, Token};
use super::*;

fn read_as(id: &str, text: &str, lenient: bool) -> (Vec<Node>, Diagnostics) {
    let mut d = Diagnostics::new(lenient);
    let nodes = read_str("t.conf", text, None, &ConfigId::new(id), &mut d);
    (nodes, d)
}

fn read(id: &str, text: &str) -> (Vec<Node>, Diagnostics) {
    read_as(id, text, false)
}

/// Statements as `kw a b { ... }`.
fn shape(nodes: &[Node]) -> String {
    nodes
        .iter()
        .map(|n| {
            let mut s = n.keyword.text.to_string();
            for a in &n.args {
                s.push(' ');
                s.push_str(&a.text);
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

fn at(t: &Token) -> (u32, u32) {
    (t.loc.line, t.loc.col)
}

const PAIR: &str = "\
global_defs {
@lb1   router_id lb1
@lb2   router_id lb2
}
vrrp_instance VI_1 {
    @lb1 state MASTER
    @^lb1 state BACKUP
    unicast_peer {
@^lb1        10.0.0.1
@^lb2        10.0.0.2
    }
}
";

#[test]
fn conditional_lines_follow_the_config_id() {
    let (n, d) = read("lb1", PAIR);
    assert!(d.errors.is_empty(), "{:?}", errors(&d));
    assert_eq!(
        shape(&n),
        "global_defs { router_id lb1 }; vrrp_instance VI_1 { state MASTER; unicast_peer { 10.0.0.2 } }"
    );
    // A kept line's words stay where they were written.
    let rid = &n[0].block.as_ref().unwrap().nodes[0];
    assert_eq!(at(&rid.keyword), (2, 8));
    let (n, _) = read("lb2", PAIR);
    assert_eq!(
        shape(&n),
        "global_defs { router_id lb2 }; vrrp_instance VI_1 { state BACKUP; unicast_peer { 10.0.0.1 } }"
    );
    // Another id: neither `@` line, both `@^` lines.
    let (n, _) = read("other", PAIR);
    assert_eq!(
        shape(&n),
        "global_defs {  }; vrrp_instance VI_1 { state BACKUP; unicast_peer { 10.0.0.1; 10.0.0.2 } }"
    );
}

#[test]
fn a_dropped_line_keeps_a_brace_on_the_next_line_attached() {
    let (n, d) = read("b", "vrrp_instance X\n@a priority 1\n{\n}\n");
    assert!(d.errors.is_empty(), "{:?}", errors(&d));
    assert_eq!(shape(&n), "vrrp_instance X {  }");
    // `@ID` alone is dropped whatever the id.
    let (n, _) = read("a", "@a\nk v");
    assert_eq!(shape(&n), "k v");
}

#[test]
fn parameters_are_substituted_and_located_at_their_dollar() {
    let text = "$PRIO=150\n$NET=10.1.${SUB}\n$SUB=2\nk $PRIO x${NET}.9 \"${PRIO}\" \"$PRIO\"\n";
    let (n, d) = read("a", text);
    assert!(d.errors.is_empty(), "{:?}", errors(&d));
    // `$PRIO"`: a name must end at whitespace, `,`, `)` or the line end.
    assert_eq!(shape(&n), "k 150 x10.1.2.9 150 $PRIO");
    assert_eq!(at(&n[0].args[0]), (4, 3));
    assert_eq!(at(&n[0].args[1]), (4, 9));
    // Inside quotes too: the quoted word starts at its quote.
    assert!(n[0].args[2].quoted);
    assert_eq!(at(&n[0].args[2]), (4, 19));
}

/// Columns count characters, not bytes, on a line that is not ASCII,
/// whether it is read as written, behind an `@ID` or with a parameter
/// brought in (the line layer keeps byte offsets).
#[test]
fn columns_count_characters_where_a_line_is_not_ascii() {
    let text = "$V=été\n路由 $V 路 y\n@a  é $V \"路\" z\né \"路\n";
    let (n, d) = read("a", text);
    assert_eq!(shape(&n), "路由 été 路 y; é été 路 z; é 路");
    // `路由 ` is 3 characters: `$V` is at column 4, what follows it at
    // the columns written.
    assert_eq!(at(&n[0].args[0]), (2, 4));
    assert_eq!(at(&n[0].args[1]), (2, 7));
    assert_eq!(at(&n[0].args[2]), (2, 9));
    // Behind `@a  `: the columns of the line as written.
    assert_eq!(at(&n[1].keyword), (3, 5));
    assert_eq!(at(&n[1].args[0]), (3, 7));
    assert_eq!(at(&n[1].args[1]), (3, 10));
    assert_eq!(at(&n[1].args[2]), (3, 14));
    assert_eq!(at(&n[2].args[0]), (4, 3));
    assert_eq!(
        errors(&d),
        ["t.conf:4:3: error: unterminated quoted string: expected a closing '\"' before the end of the line"]
    );
}

#[test]
fn a_value_may_hold_several_words_and_braces() {
    let (n, d) = read(
        "a",
        "$VIP=virtual_ipaddress { 10.0.0.9/24 }\nvrrp_instance V {\n  $VIP\n}",
    );
    assert!(d.errors.is_empty(), "{:?}", errors(&d));
    assert_eq!(
        shape(&n),
        "vrrp_instance V { virtual_ipaddress { 10.0.0.9/24 } }"
    );
    let vip = &n[0].block.as_ref().unwrap().nodes[0];
    assert_eq!(at(&vip.keyword), (3, 3));
    assert_eq!(vip.block.as_ref().unwrap().open.col, 3);
}

#[test]
fn definitions_follow_conditionals_and_values_may_be_conditional() {
    let text = "@a $P=200\n@b $P=100\n$IF_A=@a\npriority $P\n$IF_A state MASTER\n";
    let (n, _) = read("a", text);
    assert_eq!(shape(&n), "priority 200; state MASTER");
    let (n, _) = read("b", text);
    assert_eq!(shape(&n), "priority 100");
}

#[test]
fn redefinition_and_comments() {
    let (n, d) = read("a", "$X=1 # one\nk $X\n$X=\nk $X ! gone $Y\n$X=2\nk ${X}");
    assert!(d.errors.is_empty(), "{:?}", errors(&d));
    assert_eq!(shape(&n), "k 1; k; k 2");
}

#[test]
fn a_dollar_not_followed_by_a_name_end_stays() {
    let (n, d) = read("a", "$A=1\nk $A.b $1 $ a$ ${A}b");
    assert!(d.errors.is_empty(), "{:?}", errors(&d));
    assert_eq!(shape(&n), "k $A.b $1 $ a$ 1b");
}

#[test]
fn multi_line_parameters_expand_into_lines() {
    let text = "\
$INST= \\
vrrp_instance VI_${N} { \\
  interface eth${N} \\
@hi priority 130 \\
@lo priority 120 \\
}

$N=0
$INST
$N=1
$INST
";
    let (n, d) = read("hi", text);
    assert!(d.errors.is_empty(), "{:?}", errors(&d));
    assert_eq!(
        shape(&n),
        "vrrp_instance VI_0 { interface eth0; priority 130 }; vrrp_instance VI_1 { interface eth1; priority 130 }"
    );
    // Every word a parameter brought in points at the `$` that named it.
    assert_eq!(at(&n[1].keyword), (11, 1));
    assert_eq!(at(&n[1].block.as_ref().unwrap().nodes[0].args[0]), (11, 1));
}

#[test]
fn a_multi_line_parameter_must_end_its_line() {
    let (_, d) = read("a", "$M=a \\\nb\nk $M x");
    assert_eq!(
        errors(&d),
        ["t.conf:3:3: error: parameter '$M' has several lines: it may only be named at the end of a line"]
    );
}

#[test]
fn undefined_names_are_errors_once_a_parameter_is_defined() {
    // No definition at all: `$` is text, as keepalived leaves it.
    let (n, d) = read("a", "script \"kill -0 $PID \"\nk ${X}");
    assert!(d.errors.is_empty());
    assert_eq!(shape(&n), "script kill -0 $PID ; k $ { X }");
    // With a definition, a name not defined at its use is an error there.
    let (_, d) = read("a", "k ${PRIO}\n$PRIO=1\nk $PRIO $PRI0");
    assert_eq!(
        errors(&d),
        [
            "t.conf:1:3: error: parameter '$PRIO' is not defined here: expected a line '$PRIO=VALUE' before it (keepalived would leave the text as written)",
            "t.conf:3:9: error: parameter '$PRI0' is not defined here: expected a line '$PRI0=VALUE' before it (keepalived would leave the text as written)",
        ]
    );
    let (n, d) = read_as("a", "$A=1\nk $B", true);
    assert!(d.errors.is_empty());
    assert_eq!(shape(&n), "k $B");
    assert_eq!(
        d.warnings[0].to_string(),
        "t.conf:2:3: warning: parameter '$B' is not defined here; left as written (--lenient)"
    );
}

#[test]
fn builtins_and_unsupported_forms() {
    let (n, d) = read("lb1", "router_id ${_INSTANCE}-x");
    assert!(d.errors.is_empty());
    assert_eq!(shape(&n), "router_id lb1-x");
    let (_, d) = read("a", "k ${_RANDOM}\n  ~SEQ(i, 1, 3) k $i");
    assert_eq!(
        errors(&d),
        [
            "t.conf:1:3: error: keepalived's '${_RANDOM}' is not supported by vigil (in parameter substitution)",
            "t.conf:2:3: error: keepalived's '~SEQ' is not supported by vigil (in a config line)",
        ]
    );
}

#[test]
fn a_parameter_naming_itself_is_bounded() {
    let (n, d) = read("a", "$A=${A}\nk $A\nnext");
    assert_eq!(shape(&n), "next");
    assert_eq!(d.errors.len(), 1);
    assert_eq!(d.errors[0].loc.line, 2);
    assert!(matches!(d.errors[0].kind, ErrorKind::ParameterLoop { .. }));
    // Doubling on every level: the line bound stops it.
    let (_, d) = read("a", "$A=xxxxxxxx\n$B=$A$A\n$B=${A}${A}${A}${A}\n$C=${B}${B}${B}${B}\n$D=${C}${C}${C}${C}\n$E=${D}${D}${D}${D}\n$F=${E}${E}${E}${E}\n$G=${F}${F}${F}${F}\n$H=${G}${G}${G}${G}\nk $H");
    assert_eq!(d.errors.len(), 1, "{:?}", errors(&d));
}

#[test]
fn definitions_hold_across_includes() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("defs.conf"), "$PRIO=77\n@a $ROLE=MASTER\n").unwrap();
    let mut d = Diagnostics::default();
    let nodes = read_str(
        "main.conf",
        "include defs.conf\npriority $PRIO\nstate $ROLE\n",
        Some(dir.path()),
        &ConfigId::new("a"),
        &mut d,
    );
    assert!(d.errors.is_empty(), "{:?}", errors(&d));
    assert_eq!(shape(&nodes), "priority 77; state MASTER");
    assert_eq!(&*nodes[0].args[0].loc.file, "main.conf");
}

#[test]
fn config_id_of_host_is_the_first_label() {
    let id = ConfigId::of_host();
    assert!(!id.as_str().contains('.'));
}

/// The line splitter's table: the line end, the five signs of this
/// layer, every byte beyond ASCII, and nothing else.
#[test]
fn the_class_table_marks_what_the_line_layer_looks_for() {
    for b in 0..=255u8 {
        let want = match b {
            b'\n' => NEWLINE,
            b'#' | b'!' | b'@' | b'$' | b'~' => LAYER_SIGN,
            0x80..=0xff => NOT_ASCII,
            _ => 0,
        };
        assert_eq!(CLASS[usize::from(b)], want, "byte {b:#04x}");
    }
}
