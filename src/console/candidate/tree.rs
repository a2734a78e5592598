//! The candidate's statement tree: words and blocks, no locations.
//!
//! Owns: converting the syntax layer's nodes into statements, and writing
//! statements back as keepalived.conf text in export's layout (four spaces
//! per level, a blank line between top-level blocks, export's quoting), so
//! that the tree of an exported config writes back to the same bytes.
//! Must not: know any keyword.

use crate::config::export::needs_quotes;
use crate::config::syntax::Node;

/// One statement: its keyword and arguments (unquoted), and its block.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stmt {
    pub words: Vec<String>,
    pub block: Option<Vec<Stmt>>,
}

impl Stmt {
    pub fn keyword(&self) -> &str {
        self.words.first().map(String::as_str).unwrap_or("")
    }

    pub fn args(&self) -> &[String] {
        self.words.get(1..).unwrap_or(&[])
    }

    /// The statements of its block (none for a plain statement).
    pub fn children(&self) -> &[Stmt] {
        self.block.as_deref().unwrap_or(&[])
    }
}

/// The syntax layer's nodes as statements.
pub fn from_nodes(nodes: &[Node]) -> Vec<Stmt> {
    nodes
        .iter()
        .map(|n| Stmt {
            words: std::iter::once(&n.keyword)
                .chain(&n.args)
                .map(|t| t.text.to_string())
                .collect(),
            block: n.block.as_ref().map(|b| from_nodes(&b.nodes)),
        })
        .collect()
}

/// The first line export writes (a comment, so the parser ignores it).
pub const HEADER: &str = "# vigil canonical config\n";

/// The text of `top`, and the 1-based line of the statement at index path
/// `focus` (indices into each level's statements), when there is one.
pub fn render(top: &[Stmt], focus: Option<&[usize]>) -> (String, Option<u32>) {
    let mut w = Writer {
        out: String::from(HEADER),
        line: 2,
        focus,
        found: None,
        path: Vec::new(),
    };
    for (n, s) in top.iter().enumerate() {
        w.out.push('\n');
        w.line += 1;
        w.path.push(n);
        w.stmt(s, 0);
        w.path.pop();
    }
    (w.out, w.found)
}

struct Writer<'f> {
    out: String,
    /// The line the next statement is written on.
    line: u32,
    focus: Option<&'f [usize]>,
    found: Option<u32>,
    path: Vec<usize>,
}

impl Writer<'_> {
    fn stmt(&mut self, s: &Stmt, depth: usize) {
        if self.focus == Some(self.path.as_slice()) {
            self.found = Some(self.line);
        }
        self.indent(depth);
        for (n, word) in s.words.iter().enumerate() {
            if n > 0 {
                self.out.push(' ');
            }
            push_word(&mut self.out, word);
        }
        let Some(block) = &s.block else {
            self.end_line();
            return;
        };
        self.out.push_str(" {");
        self.end_line();
        for (n, child) in block.iter().enumerate() {
            self.path.push(n);
            self.stmt(child, depth + 1);
            self.path.pop();
        }
        self.indent(depth);
        self.out.push('}');
        self.end_line();
    }

    fn indent(&mut self, depth: usize) {
        for _ in 0..depth {
            self.out.push_str("    ");
        }
    }

    fn end_line(&mut self) {
        self.out.push('\n');
        self.line += 1;
    }
}

/// One word as export writes it: bare, or quoted with `\"` and `\\`.
pub fn push_word(out: &mut String, word: &str) {
    if !needs_quotes(word) {
        out.push_str(word);
        return;
    }
    out.push('"');
    for c in word.chars() {
        if matches!(c, '"' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
}

/// Words joined by spaces, each quoted as needed (a path in a message).
pub fn join_words(words: &[String]) -> String {
    let mut out = String::new();
    for (n, w) in words.iter().enumerate() {
        if n > 0 {
            out.push(' ');
        }
        push_word(&mut out, w);
    }
    out
}
