//! The line editor's sans-IO core: bytes from the terminal in, bytes to
//! write and finished lines out.
//!
//! Owns: the line being edited (chars and cursor), its window on the screen
//! row and the redraw, history browsing, Tab and `?`, and the input still
//! queued after a finished line (a paste of several lines yields them one
//! per [`Machine::start`], in order, each echoed after the previous line's
//! output).
//! Must not: read or write a file descriptor or look at the environment
//! (`tty` does), or write any byte but printable text, CR, LF, BS and, on a
//! VT100 only, `ESC [ K`.
//!
//! The screen model: the prompt's last line, then a window of the line of
//! at most `avail` chars (`width - 1` minus the prompt), so the last column
//! is never written and nothing depends on the terminal's wrapping. The
//! machine remembers what it put on the row (`shown`) and where the
//! terminal's cursor is (`col`); a redraw writes only from the first char
//! that changed, so typing at the end of the line echoes just that char.
//! Every char counts one column (a double-width char would misplace the
//! cursor; the console's commands and config are ASCII).

use std::collections::VecDeque;

use super::columns;
use super::decode::{Decoder, Key};
use super::history::History;
use super::{Assist, Term};

/// The chars a line may hold; keys that would make it longer do nothing.
pub const MAX_LINE: usize = 4096;
/// The width when the terminal does not say (a serial line never does).
pub const DEFAULT_WIDTH: usize = 80;
/// The narrowest width honoured.
pub const MIN_WIDTH: usize = 20;
/// Columns the line keeps however long the prompt (its start is cut).
const MIN_TEXT: usize = 8;

/// What the edge does next, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Bytes for the terminal.
    Write(Vec<u8>),
    /// Enter: the line, without its end.
    Line(String),
    /// Ctrl-D on an empty line.
    Eof,
    /// Ctrl-C: the line is abandoned (and input queued behind it dropped).
    Interrupt,
}

/// What kind of line is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Input {
    /// A command: Tab completes, `?` helps (outside double quotes),
    /// Up/Down recall, and the line joins the history.
    Command,
    /// Nothing echoed (no asterisks either), not kept in the history;
    /// Tab, `?` and Up/Down are not special.
    Password,
    /// Plain text (a pasted keepalived.conf): echoed and editable, Tab is
    /// kept as a tab (shown as a space), `?` is a char, no history.
    Text,
}

/// What the row should show now: the prompt's last line, the window of
/// the line and the cursor's column within that window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct View {
    pub prompt: String,
    pub text: String,
    pub cursor: usize,
}

/// The line editor. See the module header.
#[derive(Debug, Clone)]
pub struct Machine {
    term: Term,
    width: usize,
    decoder: Decoder,
    history: History,
    /// Bytes received and not yet decoded (behind a finished line).
    pending: VecDeque<u8>,
    /// The line being read (`None`: between lines).
    edit: Option<Edit>,
    out: Vec<u8>,
}

/// One line being read and its row on the screen.
#[derive(Debug, Clone)]
struct Edit {
    input: Input,
    /// The prompt's last line, cut at its start to leave `MIN_TEXT`.
    prompt: Vec<char>,
    /// Chars of the line shown at once.
    avail: usize,
    buf: Vec<char>,
    cursor: usize,
    /// The first char of `buf` in the window.
    start: usize,
    /// What is on the row after the prompt.
    shown: Vec<char>,
    /// The terminal's cursor, in columns after the prompt.
    col: usize,
    /// The key before this one was Tab (a second Tab lists).
    after_tab: bool,
}

impl Machine {
    pub fn new(term: Term) -> Machine {
        Machine {
            term,
            width: DEFAULT_WIDTH,
            decoder: Decoder::new(),
            history: History::new(),
            pending: VecDeque::new(),
            edit: None,
            out: Vec::new(),
        }
    }

    pub fn term(&self) -> Term {
        self.term
    }

    /// The terminal's width in columns, from the next line on (at least
    /// `MIN_WIDTH`; 0, what a serial line reports, means the default).
    pub fn set_width(&mut self, columns: usize) {
        self.width = match columns {
            0 => DEFAULT_WIDTH,
            n => n.max(MIN_WIDTH),
        };
    }

    /// Keeps `line` in the history (blank lines and repeats of the newest
    /// are not kept). Command lines are added on Enter already.
    pub fn add_history(&mut self, line: &str) {
        self.history.add(line);
    }

    pub fn history(&self) -> &History {
        &self.history
    }

    /// Begins reading a line: the prompt is written by the next
    /// [`Machine::handle`], which also decodes input still queued. The
    /// prompt may hold several lines; only its last one is redrawn.
    pub fn start(&mut self, prompt: &str, input: Input) {
        self.history.reset();
        let (above, last) = prompt.rsplit_once('\n').unwrap_or(("", prompt));
        for line in above.split('\n').filter(|_| !above.is_empty()) {
            push_text(&mut self.out, &sanitize(line.trim_end_matches('\r')));
            self.out.extend_from_slice(b"\r\n");
        }
        let last = sanitize(last);
        let keep = (self.width - 1 - MIN_TEXT).min(last.len());
        let prompt = last[last.len() - keep..].to_vec();
        push_text(&mut self.out, &prompt);
        self.edit = Some(Edit {
            input,
            avail: self.width - 1 - prompt.len(),
            prompt,
            buf: Vec::new(),
            cursor: 0,
            start: 0,
            shown: Vec::new(),
            col: 0,
            after_tab: false,
        });
    }

    /// Whether a line is being read.
    pub fn is_reading(&self) -> bool {
        self.edit.is_some()
    }

    /// Whether input is queued that no line has read yet.
    pub fn has_pending(&self) -> bool {
        !self.pending.is_empty()
    }

    /// Queues `bytes` and decodes input while a line is being read, up to
    /// and including the key that ends it; what follows stays queued for
    /// the next [`Machine::start`]. Writes come before the action that
    /// ends the line.
    pub fn handle(&mut self, bytes: &[u8], assist: &dyn Assist) -> Vec<Action> {
        self.pending.extend(bytes);
        let mut done = None;
        while done.is_none() && self.edit.is_some() {
            let Some(byte) = self.pending.pop_front() else {
                break;
            };
            if let Some(key) = self.decoder.push(byte) {
                done = self.key(key, assist);
            }
        }
        let mut actions = Vec::new();
        if !self.out.is_empty() {
            actions.push(Action::Write(std::mem::take(&mut self.out)));
        }
        if let Some(action) = done {
            if action == Action::Interrupt {
                self.pending.clear();
                self.decoder = Decoder::new();
            }
            self.edit = None;
            actions.push(action);
        }
        actions
    }

    /// What the row should show (`None` between lines). The tests compare
    /// it with a model of the terminal.
    pub fn view(&self) -> Option<View> {
        let e = self.edit.as_ref()?;
        let shown = e.input != Input::Password;
        Some(View {
            prompt: e.prompt.iter().collect(),
            text: if shown {
                e.window().into_iter().collect()
            } else {
                String::new()
            },
            cursor: if shown { e.cursor - e.start } else { 0 },
        })
    }

    /// The line as edited so far.
    pub fn buffer(&self) -> Option<String> {
        self.edit.as_ref().map(|e| e.buf.iter().collect())
    }

    fn key(&mut self, key: Key, assist: &dyn Assist) -> Option<Action> {
        let edit = self.edit.as_mut()?;
        let mut out = Out {
            term: self.term,
            width: self.width,
            bytes: &mut self.out,
        };
        let done = edit.key(key, &mut self.history, assist, &mut out);
        edit.after_tab = key == Key::Tab;
        if done.is_none() {
            edit.refresh(&mut out);
        }
        done
    }
}

/// Where a redraw writes, and what it may write.
struct Out<'a> {
    term: Term,
    width: usize,
    bytes: &'a mut Vec<u8>,
}

impl Out<'_> {
    fn text(&mut self, chars: &[char]) {
        push_text(self.bytes, chars);
    }
    fn raw(&mut self, bytes: &[u8]) {
        self.bytes.extend_from_slice(bytes);
    }
    fn backspaces(&mut self, n: usize) {
        self.bytes.extend(std::iter::repeat_n(0x08, n));
    }
    /// Blanks `n` columns from the cursor; returns how far the cursor
    /// moved.
    fn clear(&mut self, n: usize) -> usize {
        match self.term {
            Term::Vt100 => {
                self.raw(b"\x1b[K");
                0
            }
            Term::Dumb => {
                self.bytes.extend(std::iter::repeat_n(b' ', n));
                n
            }
        }
    }
}

impl Edit {
    fn echo(&self) -> bool {
        self.input != Input::Password
    }

    fn command(&self) -> bool {
        self.input == Input::Command
    }

    fn text(&self) -> String {
        self.buf.iter().collect()
    }

    /// Inside a double-quoted word: an odd count of quotes before the
    /// cursor.
    fn in_quotes(&self) -> bool {
        self.buf[..self.cursor]
            .iter()
            .filter(|&&c| c == '"')
            .count()
            % 2
            == 1
    }

    fn key(
        &mut self,
        key: Key,
        history: &mut History,
        assist: &dyn Assist,
        out: &mut Out,
    ) -> Option<Action> {
        match key {
            Key::Char('?') if self.command() && !self.in_quotes() => {
                let before: String = self.buf[..self.cursor].iter().collect();
                self.below(&assist.help(&before), out);
            }
            Key::Char(c) => self.insert(&[c]),
            Key::Tab => self.tab(assist, out),
            Key::Enter => return Some(self.enter(history, out)),
            Key::Interrupt => {
                out.raw(b"^C\r\n");
                return Some(Action::Interrupt);
            }
            Key::EndOfFile if self.buf.is_empty() => {
                out.raw(b"\r\n");
                return Some(Action::Eof);
            }
            Key::EndOfFile | Key::Delete if self.cursor < self.buf.len() => {
                self.buf.remove(self.cursor);
            }
            Key::Backspace if self.cursor > 0 => {
                self.cursor -= 1;
                self.buf.remove(self.cursor);
            }
            Key::Left => self.cursor = self.cursor.saturating_sub(1),
            Key::Right => self.cursor = (self.cursor + 1).min(self.buf.len()),
            Key::Home => self.cursor = 0,
            Key::End => self.cursor = self.buf.len(),
            Key::Up | Key::Down if self.command() => self.recall(key, history),
            Key::KillStart => {
                self.buf.drain(..self.cursor);
                self.cursor = 0;
            }
            Key::KillEnd => self.buf.truncate(self.cursor),
            Key::KillWord => self.kill_word(),
            Key::Redraw if self.echo() => self.redraw(out),
            _ => {}
        }
        None
    }

    fn enter(&mut self, history: &mut History, out: &mut Out) -> Action {
        out.raw(b"\r\n");
        let line = self.text();
        if self.command() {
            history.add(&line);
        }
        Action::Line(line)
    }

    /// Inserts at the cursor what fits under `MAX_LINE`.
    fn insert(&mut self, chars: &[char]) {
        let room = MAX_LINE - self.buf.len();
        let chars = &chars[..chars.len().min(room)];
        self.buf
            .splice(self.cursor..self.cursor, chars.iter().copied());
        self.cursor += chars.len();
    }

    fn replace(&mut self, chars: Vec<char>) {
        self.buf = chars;
        self.buf.truncate(MAX_LINE);
        self.cursor = self.buf.len();
    }

    fn kill_word(&mut self) {
        let mut at = self.cursor;
        while at > 0 && self.buf[at - 1].is_whitespace() {
            at -= 1;
        }
        while at > 0 && !self.buf[at - 1].is_whitespace() {
            at -= 1;
        }
        self.buf.drain(at..self.cursor);
        self.cursor = at;
    }

    fn recall(&mut self, key: Key, history: &mut History) {
        let current = self.text();
        let line = match key {
            Key::Up => history.older(&current),
            _ => history.newer(),
        };
        if let Some(line) = line {
            let chars = line.chars().collect();
            self.replace(chars);
        }
    }

    /// Tab: one candidate completes the word and adds a space; several
    /// complete their common start, and list themselves on a second Tab or
    /// when there is nothing to add. Inside quotes it does nothing; in a
    /// text line it is a tab.
    fn tab(&mut self, assist: &dyn Assist, out: &mut Out) {
        match self.input {
            Input::Text => return self.insert(&['\t']),
            Input::Password => return,
            Input::Command if self.in_quotes() => return,
            Input::Command => {}
        }
        let before: String = self.buf[..self.cursor].iter().collect();
        let completion = assist.complete(&before);
        let Some(word) = before.get(completion.start..) else {
            return;
        };
        let word_len = word.chars().count();
        let candidates: Vec<Vec<char>> = completion
            .candidates
            .iter()
            .map(|c| sanitize(c))
            .filter(|c| !c.is_empty())
            .collect();
        let common = common_start(&candidates);
        if candidates.len() == 1 {
            let mut with_space = common;
            with_space.push(' ');
            self.replace_word(word_len, &with_space);
        } else if common.len() > word_len && !self.after_tab {
            self.replace_word(word_len, &common);
        } else if !candidates.is_empty() {
            let words: Vec<String> = candidates.iter().map(|c| c.iter().collect()).collect();
            self.below(&columns::layout(&words, out.width), out);
        }
    }

    /// Replaces the `word_len` chars before the cursor with `chars`.
    fn replace_word(&mut self, word_len: usize, chars: &[char]) {
        let from = self.cursor - word_len;
        let room = MAX_LINE - (self.buf.len() - word_len);
        if chars.len() > room {
            return;
        }
        self.buf.splice(from..self.cursor, chars.iter().copied());
        self.cursor = from + chars.len();
    }

    /// Prints `lines` below the line, then the prompt and line again.
    fn below(&mut self, lines: &[String], out: &mut Out) {
        out.raw(b"\r\n");
        for line in lines {
            out.text(&sanitize(line));
            out.raw(b"\r\n");
        }
        self.draw_anew(out);
    }

    /// Draws prompt and window on a fresh row.
    fn draw_anew(&mut self, out: &mut Out) {
        out.text(&self.prompt);
        self.shown.clear();
        self.col = 0;
        self.refresh(out);
    }

    /// Ctrl-L: the prompt and window again over whatever the row holds.
    fn redraw(&mut self, out: &mut Out) {
        out.raw(b"\r");
        out.text(&self.prompt);
        self.scroll();
        self.shown = self.window();
        out.text(&self.shown);
        self.col = self.shown.len();
        self.col += out.clear(self.avail - self.shown.len());
    }

    /// Moves the window so the cursor is inside it, by half a window at a
    /// time; a line that fits is shown from its start.
    fn scroll(&mut self) {
        if self.buf.len() < self.avail {
            self.start = 0;
        } else if self.cursor < self.start {
            self.start = self.cursor.saturating_sub(self.avail / 2);
        } else if self.cursor >= self.start + self.avail {
            self.start = self.cursor - self.avail / 2;
        }
    }

    fn window(&self) -> Vec<char> {
        let end = self.buf.len().min(self.start + self.avail);
        self.buf[self.start..end].to_vec()
    }

    /// Brings the row up to date from the first char that changed, then
    /// puts the cursor in its place.
    fn refresh(&mut self, out: &mut Out) {
        if !self.echo() {
            return;
        }
        self.scroll();
        let new = self.window();
        let same = self
            .shown
            .iter()
            .zip(&new)
            .take_while(|(a, b)| a == b)
            .count();
        if same < self.shown.len() || same < new.len() {
            self.move_to(same, out);
            out.text(&new[same..]);
            self.col = new.len();
            if self.shown.len() > new.len() {
                self.col += out.clear(self.shown.len() - new.len());
            }
            self.shown = new;
        }
        self.move_to(self.cursor - self.start, out);
    }

    /// Moves the terminal's cursor to column `to` (at most `shown`'s
    /// length): back by BS, or by CR and the prompt when that is shorter;
    /// forward by writing again what is there.
    fn move_to(&mut self, to: usize, out: &mut Out) {
        if to < self.col {
            let back = self.col - to;
            if 1 + self.prompt.len() + to < back {
                out.raw(b"\r");
                out.text(&self.prompt);
                out.text(&self.shown[..to]);
            } else {
                out.backspaces(back);
            }
        } else {
            out.text(&self.shown[self.col..to]);
        }
        self.col = to;
    }
}

/// The chars of `text` that may be written: control chars (ESC among
/// them) become `?`, so no caller's string can put a sequence on the line.
fn sanitize(text: &str) -> Vec<char> {
    text.chars()
        .map(|c| if c.is_control() && c != '\t' { '?' } else { c })
        .collect()
}

/// Writes chars; a tab is shown as one space, so every char is one column.
fn push_text(bytes: &mut Vec<u8>, chars: &[char]) {
    let mut utf8 = [0; 4];
    for &c in chars {
        let c = if c == '\t' { ' ' } else { c };
        bytes.extend_from_slice(c.encode_utf8(&mut utf8).as_bytes());
    }
}

/// The longest start all `words` share.
fn common_start(words: &[Vec<char>]) -> Vec<char> {
    let Some((first, rest)) = words.split_first() else {
        return Vec::new();
    };
    let len = rest.iter().fold(first.len(), |len, w| {
        first
            .iter()
            .zip(w)
            .take(len)
            .take_while(|(a, b)| a == b)
            .count()
    });
    first[..len].to_vec()
}

#[cfg(test)]
#[path = "machine_tests.rs"]
mod tests;
