//! The tree builder: lexemes of one file -> statements and blocks.
//!
//! Owns: what a statement is, matching braces, attaching a `{` on the next
//! line, the nesting bound. Iterative (an explicit stack of open blocks), so
//! any input is built in bounded stack space. Must not: read files; an
//! `include` statement is handed to [`Reader::include`] and replaced by what
//! it returns. A statement of the top level (outside every block, in the
//! main file or in a file included there) goes to the read's sink once it
//! is complete, so a read holds one top-level block at a time, not the
//! whole tree.
//!
//! The statements of every open block wait on one stack (`nodes`), and
//! the arguments of the statement being read in one buffer (`args`),
//! both reused: a block's statements and a statement's arguments are
//! each moved out once, into a list of their exact size, when they are
//! complete (a `Vec` per statement and per block, grown one push at a
//! time, was 30,000 growths at 10,000 destinations).

use std::mem;

use super::include::{Reader, Source};
use super::lexer::{lex_line, Lexeme, Lexemes};
use super::preproc::Lines;
use super::{Block, Node, Token, MAX_NESTING};
use crate::config::error::{Diagnostics, ErrorKind, Loc};

/// A keyword and its arguments, before we know whether a block follows.
type Header = (Token, Vec<Token>);

/// An open block.
struct Frame {
    /// `None`: a block kept only to match braces (its `{` had no keyword, or
    /// the keyword takes no block); its contents are dropped.
    header: Option<Header>,
    open: Loc,
    /// Where its statements begin on the builder's `nodes`.
    first: usize,
}

struct Builder<'a, 'd> {
    reader: &'a mut Reader<'d>,
    src: &'a Source,
    /// The statements of every open block, outermost first (each frame
    /// says where its own begin), after the statements of this file
    /// outside every block not yet handed on: at the top level only the
    /// last, which a `{` on the next line may still open a block for.
    nodes: Vec<Node>,
    stack: Vec<Frame>,
    /// The keyword of the statement being read; its arguments so far are
    /// `args`.
    stmt: Option<Token>,
    args: Vec<Token>,
    /// Levels of `{` beyond [`MAX_NESTING`] still open; their contents are
    /// dropped.
    skip: usize,
    /// Nothing but whitespace and comments since the last line end.
    line_start: bool,
    /// The last node of the current block is a statement that ended at its
    /// line end, so a `{` starting a later line may open its block.
    attachable: bool,
}

/// Builds the statements of one file's `text`. `src.block_depth` blocks
/// are already open around it (an include inside blocks), for the nesting
/// bound; with none open, its statements go to the reader's sink and the
/// result is empty. Lines are lexed one at a time, so that an `include` is
/// read before the next line (its parameter definitions hold there).
pub(super) fn build(text: &str, reader: &mut Reader<'_>, src: &Source) -> Vec<Node> {
    let mut lines = Lines::new(src.file, text, src.base_dir.as_deref());
    let mut b = Builder {
        reader,
        src,
        nodes: Vec::new(),
        stack: Vec::new(),
        stmt: None,
        args: Vec::new(),
        skip: 0,
        line_start: true,
        attachable: false,
    };
    while let Some(line) = lines.next(&mut b.reader.params, b.reader.diags) {
        lex_line(src.file, &line, &mut b);
        lines.recycle(line);
    }
    b.finish(lines.eof())
}

impl Lexemes for Builder<'_, '_> {
    fn lexeme(&mut self, lexeme: Lexeme) {
        match lexeme {
            Lexeme::Word(t) => self.word(t),
            Lexeme::Open(loc) => self.open(loc),
            Lexeme::Close(loc) => self.close(loc),
            Lexeme::Eol => self.eol(),
        }
    }

    fn diags(&mut self) -> &mut Diagnostics {
        self.reader.diags
    }
}

impl Builder<'_, '_> {
    /// Where the current block's statements begin on `nodes`.
    fn first(&self) -> usize {
        self.stack.last().map_or(0, |f| f.first)
    }

    /// The statement being read, its arguments moved out of the buffer.
    fn take_stmt(&mut self) -> Option<Header> {
        let keyword = self.stmt.take()?;
        Some((keyword, self.args.drain(..).collect()))
    }

    fn word(&mut self, t: Token) {
        self.line_start = false;
        self.attachable = false;
        if self.skip > 0 {
            return;
        }
        match self.stmt {
            Some(_) => self.args.push(t),
            None => self.stmt = Some(t),
        }
    }

    /// Ends the statement being read, without a block. Returns whether it
    /// became the last node of the current block (an include does not).
    fn end_statement(&mut self) -> bool {
        let Some((keyword, args)) = self.take_stmt() else {
            return false;
        };
        if keyword.text == "include" {
            // What came before goes on first: the included statements
            // follow it.
            self.hand_on(0);
            let nodes = self
                .reader
                .include(&keyword, &args, self.src, self.stack.len());
            self.nodes.extend(nodes);
            false
        } else {
            self.push(Node {
                keyword,
                args,
                block: None,
            });
            true
        }
    }

    fn push(&mut self, node: Node) {
        self.nodes.push(node);
        self.hand_on(1);
    }

    /// At the top level, hands every complete statement but the last
    /// `keep` to the sink.
    fn hand_on(&mut self, keep: usize) {
        if !self.stack.is_empty() || self.src.block_depth > 0 {
            return;
        }
        let done = self.nodes.len().saturating_sub(keep);
        for node in self.nodes.drain(..done) {
            (self.reader.sink)(node, self.reader.diags);
        }
    }

    fn eol(&mut self) {
        if self.stmt.is_some() {
            self.attachable = self.end_statement();
        }
        self.line_start = true;
    }

    fn open(&mut self, loc: Loc) {
        let first_on_line = mem::replace(&mut self.line_start, false);
        let attachable = mem::replace(&mut self.attachable, false);
        if self.skip > 0 {
            self.skip += 1;
            return;
        }
        if self.src.block_depth + self.stack.len() >= MAX_NESTING {
            self.reader
                .diags
                .error(&loc, ErrorKind::NestedTooDeep { max: MAX_NESTING });
            self.stmt = None;
            self.args.clear();
            self.skip = 1;
            return;
        }
        let header = match self.take_stmt() {
            Some(h) => Some(h),
            None if first_on_line && attachable && self.nodes.len() > self.first() => {
                self.nodes.pop().map(|n| (n.keyword, n.args))
            }
            None => None,
        };
        let header = match header {
            None => {
                self.reader
                    .diags
                    .error(&loc, ErrorKind::BlockWithoutKeyword);
                None
            }
            Some((keyword, _)) if keyword.text == "include" => {
                self.reader.diags.error(
                    &keyword.loc,
                    ErrorKind::UnexpectedBlock {
                        keyword: keyword.text.to_string(),
                    },
                );
                None
            }
            h => h,
        };
        let first = self.nodes.len();
        self.stack.push(Frame {
            header,
            open: loc,
            first,
        });
    }

    fn close(&mut self, loc: Loc) {
        self.line_start = false;
        self.attachable = false;
        if self.skip > 0 {
            self.skip -= 1;
            return;
        }
        self.end_statement();
        match self.stack.pop() {
            None => self.reader.diags.error(&loc, ErrorKind::UnexpectedClose),
            Some(frame) => self.close_frame(frame, loc),
        }
    }

    fn close_frame(&mut self, frame: Frame, close: Loc) {
        let nodes = self.nodes.drain(frame.first..);
        if let Some((keyword, args)) = frame.header {
            let block = Block {
                open: frame.open,
                close,
                nodes: nodes.collect(),
            };
            self.push(Node {
                keyword,
                args,
                block: Some(block),
            });
        }
    }

    fn finish(mut self, eof: Loc) -> Vec<Node> {
        self.end_statement();
        for frame in &self.stack {
            self.reader.diags.error(
                &eof,
                ErrorKind::UnclosedBlock {
                    opened_at: frame.open,
                },
            );
        }
        // Keep what the unclosed blocks hold, closed at the end of the file.
        while let Some(frame) = self.stack.pop() {
            self.close_frame(frame, eof);
        }
        self.hand_on(0);
        self.nodes
    }
}
