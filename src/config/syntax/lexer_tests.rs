//! Unit tests of `lexer.rs`.

use super::*;

/// Lexes `text` line by line as the tree builder does (no parameters).
fn run(text: &str) -> (Vec<Lexeme>, Loc, Diagnostics) {
    use super::super::preproc::{ConfigId, Lines, Params};
    let mut d = Diagnostics::default();
    let file = FileName::intern("t.conf");
    let mut params = Params::new(ConfigId::new("t"));
    let mut lines = Lines::new(file, text, None);
    let mut out = Kept(Vec::new(), Diagnostics::default());
    while let Some(line) = lines.next(&mut params, &mut d) {
        lex_line(file, &line, &mut out);
    }
    d.errors.append(&mut out.1.errors);
    d.warnings.append(&mut out.1.warnings);
    (out.0, lines.eof(), d)
}

/// A [`Lexemes`] that keeps what it is given.
struct Kept(Vec<Lexeme>, Diagnostics);

impl Lexemes for Kept {
    fn lexeme(&mut self, lexeme: Lexeme) {
        self.0.push(lexeme);
    }
    fn diags(&mut self) -> &mut Diagnostics {
        &mut self.1
    }
}

fn loc(line: u32, col: u32) -> Loc {
    Loc::new(FileName::intern("t.conf"), line, col)
}

fn w(text: &str, quoted: bool, line: u32, col: u32) -> Lexeme {
    Lexeme::Word(Token {
        text: text.into(),
        quoted,
        loc: loc(line, col),
    })
}

/// Compact form for assertions: words as text, `{`, `}`, `;` for EOL.
fn shape(ls: &[Lexeme]) -> String {
    ls.iter()
        .map(|l| match l {
            Lexeme::Word(t) if t.quoted => format!("\"{}\"", t.text),
            Lexeme::Word(t) => t.text.to_string(),
            Lexeme::Open(_) => "{".into(),
            Lexeme::Close(_) => "}".into(),
            Lexeme::Eol => ";".into(),
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn glued_braces_are_their_own_tokens() {
    let (ls, _, d) = run("a 80{b}}c{{");
    assert!(d.errors.is_empty());
    assert_eq!(shape(&ls), "a 80 { b } } c { { ;");
    assert_eq!(ls[1], w("80", false, 1, 3));
    assert_eq!(ls[2], Lexeme::Open(loc(1, 5)));
    assert_eq!(ls[3], w("b", false, 1, 6));
    assert_eq!(ls[4], Lexeme::Close(loc(1, 7)));
    assert_eq!(ls[5], Lexeme::Close(loc(1, 8)));
}

#[test]
fn comments_at_word_start_only() {
    let (ls, _, _) = run("# all\n! all\na b # c d\na b ! c\npassword ab#c x!y\n{# c\n}! c");
    assert_eq!(shape(&ls), "; ; a b ; a b ; password ab#c x!y ; { ; } ;");
}

#[test]
fn chinese_comment_vanishes_and_columns_count_chars() {
    let (ls, _, _) = run("路由 a  # 路由器标识\n");
    assert_eq!(ls[0], w("路由", false, 1, 1));
    // '路由' is 6 bytes but 2 chars: 'a' is at column 4.
    assert_eq!(ls[1], w("a", false, 1, 4));
    assert_eq!(shape(&ls), "路由 a ; ;");
}

#[test]
fn quoted_strings() {
    let (ls, _, d) = run(r#"a "b c" "{#}" "x\"y\\z\n" "" "p"q"#);
    assert!(d.errors.is_empty());
    assert_eq!(ls[1], w("b c", true, 1, 3));
    assert_eq!(ls[2], w("{#}", true, 1, 9));
    assert_eq!(ls[3], w(r#"x"y\z\n"#, true, 1, 15));
    assert_eq!(ls[4], w("", true, 1, 27));
    // A word ends at a closing quote; a quote inside a bare word is kept.
    assert_eq!(ls[5], w("p", true, 1, 30));
    assert_eq!(ls[6], w("q", false, 1, 33));
    let (ls, _, _) = run(r#"ab"c"#);
    assert_eq!(ls[0], w(r#"ab"c"#, false, 1, 1));
}

#[test]
fn unterminated_quote_is_located_at_the_opening_quote() {
    let (ls, _, d) = run("a\n  b \"c d\ne");
    assert_eq!(ls[3], w("c d", true, 2, 5));
    assert_eq!(shape(&ls), "a ; b \"c d\" ; e ;");
    assert_eq!(d.errors.len(), 1);
    assert_eq!(d.errors[0].loc, loc(2, 5));
    assert_eq!(d.errors[0].kind, ErrorKind::UnterminatedQuote);
    assert_eq!(
        d.errors[0].to_string(),
        "t.conf:2:5: error: unterminated quoted string: expected a closing '\"' before the end of the line"
    );
}

#[test]
fn crlf_and_bom() {
    let (ls, eof, d) = run("\u{feff}a b\r\nc {\r\n}\r\n");
    assert!(d.errors.is_empty());
    assert_eq!(shape(&ls), "a b ; c { ; } ; ;");
    assert_eq!(ls[0], w("a", false, 1, 1));
    assert_eq!(ls[1], w("b", false, 1, 3));
    assert_eq!(ls[6], Lexeme::Close(loc(3, 1)));
    assert_eq!(eof, loc(4, 1));
}

#[test]
fn eof_location() {
    assert_eq!(run("").1, loc(1, 1));
    assert_eq!(run("ab").1, loc(1, 3));
    assert_eq!(run("a\nbé").1, loc(2, 3));
}

#[test]
fn full_width_space_is_part_of_a_word() {
    let (ls, _, _) = run("a\u{3000}b\tc");
    assert_eq!(shape(&ls), "a\u{3000}b c ;");
}

#[test]
fn long_token_is_an_error_and_kept_whole() {
    let ok = "x".repeat(MAX_TOKEN_BYTES);
    let (_, _, d) = run(&ok);
    assert!(d.errors.is_empty());
    let long = format!("k \"{}\"", "é".repeat(MAX_TOKEN_BYTES / 2 + 1));
    let (ls, _, d) = run(&long);
    assert_eq!(d.errors.len(), 1);
    assert_eq!(d.errors[0].loc, loc(1, 3));
    assert_eq!(
        d.errors[0].to_string(),
        "t.conf:1:3: error: word longer than 4096 bytes: expected at most 4096 bytes per word"
    );
    let Lexeme::Word(t) = &ls[1] else {
        panic!("expected a word, got {:?}", ls[1])
    };
    assert_eq!(t.text.len(), MAX_TOKEN_BYTES + 2);
}

/// The byte table marks exactly keepalived's `isspace()` bytes as spaces
/// and the two braces, and nothing else.
#[test]
fn the_byte_table_holds_spaces_and_braces_only() {
    for b in 0..=255u8 {
        let want = match b {
            b' ' | b'\t' | b'\r' | 0x0b | 0x0c => SPACE,
            b'{' | b'}' => BRACE,
            _ => 0,
        };
        assert_eq!(BYTE[usize::from(b)], want, "byte {b:#04x}");
    }
}
