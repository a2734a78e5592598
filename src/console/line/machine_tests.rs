use super::*;
use crate::console::line::{Completion, NoAssist};

/// The fake command tree: first word, then second word after `show`.
struct Fake;

const TOP: &[&str] = &["commit", "configure", "delete", "set", "show"];
const SHOW: &[&str] = &["config", "health", "ipvs", "vrrp"];

impl Assist for Fake {
    fn complete(&self, line: &str) -> Completion {
        let start = line.rfind(' ').map_or(0, |i| i + 1);
        let word = &line[start..];
        let words = match line[..start].trim() {
            "" => TOP,
            "show" => SHOW,
            _ => &[],
        };
        Completion {
            start,
            candidates: words
                .iter()
                .filter(|w| w.starts_with(word))
                .map(|w| w.to_string())
                .collect(),
        }
    }
    fn help(&self, line: &str) -> Vec<String> {
        vec![format!("help for [{line}]"), "  <enter>".into()]
    }
}

/// A one-row model of a terminal: printable chars, CR, BS, LF (a fresh
/// row) and, on a VT100, `ESC [ K`. Anything else fails the test.
struct Screen {
    row: Vec<char>,
    col: usize,
    width: usize,
    vt100: bool,
    /// Rows scrolled off (the text of each).
    above: Vec<String>,
}

impl Screen {
    fn new(term: Term) -> Screen {
        Screen {
            row: Vec::new(),
            col: 0,
            width: DEFAULT_WIDTH,
            vt100: term == Term::Vt100,
            above: Vec::new(),
        }
    }

    fn apply(&mut self, bytes: &[u8]) {
        let text = std::str::from_utf8(bytes).expect("whole UTF-8 chars");
        let mut chars = text.chars();
        while let Some(c) = chars.next() {
            match c {
                '\r' => self.col = 0,
                '\n' => {
                    self.above.push(self.row.iter().collect());
                    self.row.clear();
                }
                '\x08' => self.col = self.col.saturating_sub(1),
                '\x1b' => {
                    assert!(self.vt100, "ESC written to a dumb terminal");
                    assert_eq!((chars.next(), chars.next()), (Some('['), Some('K')));
                    self.row.truncate(self.col);
                }
                c if c.is_control() => panic!("control char {c:?} written"),
                c => {
                    if self.row.len() <= self.col {
                        self.row.resize(self.col + 1, ' ');
                    }
                    self.row[self.col] = c;
                    self.col += 1;
                }
            }
        }
    }

    /// The row shows the view (blanks after it) and the cursor is where
    /// the view says; no char was ever put in the last column.
    fn check(&self, view: &View) {
        let want: Vec<char> = view.prompt.chars().chain(view.text.chars()).collect();
        let got = &self.row;
        assert!(
            got.len() >= want.len(),
            "row {:?} view {view:?}",
            self.line()
        );
        assert_eq!(&got[..want.len()], &want[..], "row {:?}", self.line());
        assert!(
            got[want.len()..].iter().all(|&c| c == ' '),
            "row {:?} view {view:?}",
            self.line()
        );
        assert_eq!(self.col, view.prompt.chars().count() + view.cursor);
        assert!(
            got.len() < self.width,
            "last column written: {:?}",
            self.line()
        );
    }

    fn line(&self) -> String {
        self.row.iter().collect()
    }
}

/// A machine, its terminal, and the lines and ends it produced.
struct Rig {
    m: Machine,
    screen: Screen,
    done: Vec<Action>,
    written: Vec<u8>,
}

impl Rig {
    fn new(term: Term) -> Rig {
        Rig::custom(term, DEFAULT_WIDTH, "vigil> ", Input::Command)
    }

    fn with_input(term: Term, input: Input) -> Rig {
        Rig::custom(term, DEFAULT_WIDTH, "pw: ", input)
    }

    /// The first line reads `input` after `prompt`; the next ones are
    /// commands after `vigil> `.
    fn custom(term: Term, width: usize, prompt: &str, input: Input) -> Rig {
        let mut m = Machine::new(term);
        m.set_width(width);
        m.start(prompt, input);
        let mut screen = Screen::new(term);
        screen.width = width;
        Rig {
            m,
            screen,
            done: Vec::new(),
            written: Vec::new(),
        }
    }

    /// Feeds bytes; after each line's end starts the next line, so queued
    /// input keeps flowing. Checks the screen after every step.
    fn feed_with(&mut self, bytes: &[u8], assist: &dyn Assist) {
        let mut input = bytes;
        loop {
            for action in self.m.handle(input, assist) {
                match action {
                    Action::Write(b) => {
                        self.screen.apply(&b);
                        self.written.extend_from_slice(&b);
                    }
                    other => self.done.push(other),
                }
            }
            input = &[];
            if let Some(view) = self.m.view() {
                self.screen.check(&view);
            }
            if self.m.is_reading() {
                return;
            }
            self.m.start("vigil> ", Input::Command);
        }
    }

    fn feed(&mut self, bytes: &[u8]) {
        self.feed_with(bytes, &Fake);
    }

    fn lines(&self) -> Vec<String> {
        self.done
            .iter()
            .filter_map(|a| match a {
                Action::Line(l) => Some(l.clone()),
                _ => None,
            })
            .collect()
    }

    fn buffer(&self) -> String {
        self.m.buffer().expect("reading")
    }

    /// Bytes written by `bytes` alone.
    fn written_by(&mut self, bytes: &[u8]) -> Vec<u8> {
        let before = self.written.len();
        self.feed(bytes);
        self.written[before..].to_vec()
    }
}

#[test]
fn typing_at_the_end_echoes_just_the_char() {
    let mut rig = Rig::new(Term::Dumb);
    rig.feed(b"");
    assert_eq!(rig.written, b"vigil> ");
    for c in b"show vrrp" {
        assert_eq!(rig.written_by(&[*c]), [*c]);
    }
    assert_eq!(rig.buffer(), "show vrrp");
}

#[test]
fn cr_lf_and_crlf_are_one_enter_each_even_split() {
    let mut rig = Rig::new(Term::Dumb);
    rig.feed(b"a\rb\nc\r");
    rig.feed(b"\nd\r\n");
    assert_eq!(rig.lines(), ["a", "b", "c", "d"]);
    assert_eq!(rig.buffer(), "");
}

#[test]
fn a_pasted_block_yields_each_line_in_order_one_per_start() {
    let mut m = Machine::new(Term::Dumb);
    m.start("> ", Input::Command);
    let actions = m.handle(b"one\r\ntwo\r\nthree", &Fake);
    assert_eq!(actions.last(), Some(&Action::Line("one".into())));
    assert!(!m.is_reading() && m.has_pending());
    // Nothing is decoded between lines: the next line's echo waits for the
    // command's output.
    assert_eq!(m.handle(b"", &Fake), []);
    m.start("> ", Input::Command);
    let actions = m.handle(b"", &Fake);
    assert_eq!(
        actions,
        [
            Action::Write(b"> two\r\n".to_vec()),
            Action::Line("two".into())
        ]
    );
    m.start("> ", Input::Command);
    assert_eq!(m.handle(b"", &Fake), [Action::Write(b"> three".to_vec())]);
    assert_eq!(m.buffer().as_deref(), Some("three"));
}

#[test]
fn editing_keys() {
    let cases: &[(&[u8], &str, usize)] = &[
        (b"abc\x7f", "ab", 2),
        (b"abc\x08", "ab", 2),
        (b"abc\x1b[D\x1b[D\x1b[3~", "ac", 1),
        (b"abc\x1bOD\x1b[C\x1bOC", "abc", 3),
        (b"abc\x02\x02x\x06y", "axbyc", 4),
        (b"abc\x1b[Hx\x1b[Fy", "xabcy", 5),
        (b"abc\x1b[1~x\x1b[4~y", "xabcy", 5),
        (b"abc\x1bOHx\x1bOFy", "xabcy", 5),
        (b"abc\x01x\x05y", "xabcy", 5),
        (b"abc def\x1b[D\x1b[D\x15", "ef", 0),
        (b"abc def\x1b[D\x1b[D\x0b", "abc d", 5),
        (b"set a  b  \x17", "set a  ", 7),
        (b"set a  b  \x17\x17\x17", "", 0),
        (b"ab\x01\x04", "b", 0),
        (b"ab\x04", "ab", 2),
        (b"\x7f\x1b[3~\x1b[D", "", 0),
        (b"a\x0cb", "ab", 2),
        (b"a\x1b[1;5Cb", "ab", 2),
    ];
    for term in [Term::Dumb, Term::Vt100] {
        for (bytes, line, cursor) in cases {
            let mut rig = Rig::new(term);
            rig.feed(bytes);
            assert_eq!(rig.buffer(), *line, "{bytes:?}");
            assert_eq!(rig.m.view().unwrap().cursor, *cursor, "{bytes:?}");
        }
    }
}

#[test]
fn unknown_escape_sequences_are_swallowed_whole() {
    let mut rig = Rig::new(Term::Dumb);
    rig.feed(b"a\x1b[99~\x1b[5;5;5;5;5;5;5;5;5;5~\x1b[Z\x1bOx\x1bxb\x1b[200~c");
    assert_eq!(rig.buffer(), "abc");
}

#[test]
fn ctrl_c_abandons_the_line_and_what_was_queued() {
    let mut m = Machine::new(Term::Dumb);
    m.start("> ", Input::Command);
    let actions = m.handle(b"abc\x03def\r", &Fake);
    assert_eq!(
        actions,
        [Action::Write(b"> abc^C\r\n".to_vec()), Action::Interrupt]
    );
    assert!(!m.has_pending());
}

#[test]
fn ctrl_d_on_an_empty_line_is_eof() {
    let mut m = Machine::new(Term::Dumb);
    m.start("> ", Input::Command);
    let actions = m.handle(b"\x04", &Fake);
    assert_eq!(actions, [Action::Write(b"> \r\n".to_vec()), Action::Eof]);
}

#[test]
fn up_and_down_recall_history_and_come_back_to_the_edited_line() {
    let mut rig = Rig::new(Term::Dumb);
    rig.feed(b"show vrrp\rshow ipvs\rcommit\rcommit\r\r");
    assert_eq!(
        rig.m.history().entries().collect::<Vec<_>>(),
        ["show vrrp", "show ipvs", "commit"]
    );
    rig.feed(b"draft\x1b[A");
    assert_eq!(rig.buffer(), "commit");
    rig.feed(b"\x1bOA\x10");
    assert_eq!(rig.buffer(), "show vrrp");
    rig.feed(b"\x1b[A");
    assert_eq!(rig.buffer(), "show vrrp");
    rig.feed(b"\x1b[B\x0e");
    assert_eq!(rig.buffer(), "commit");
    rig.feed(b"\x1bOB");
    assert_eq!(rig.buffer(), "draft");
    rig.feed(b"\x1b[B");
    assert_eq!(rig.buffer(), "draft");
    rig.feed(b"\x1b[A\r");
    assert_eq!(rig.lines().last().map(String::as_str), Some("commit"));
}

#[test]
fn tab_with_one_candidate_completes_and_adds_a_space() {
    let mut rig = Rig::new(Term::Dumb);
    rig.feed(b"sh\tvr\t");
    assert_eq!(rig.buffer(), "show vrrp ");
}

#[test]
fn tab_with_several_completes_their_common_start_then_lists() {
    let mut rig = Rig::new(Term::Dumb);
    rig.feed(b"co\t");
    assert_eq!(rig.buffer(), "co");
    // Nothing to add: listed at once.
    assert_eq!(
        rig.screen.above.last().unwrap().trim_end(),
        "commit     configure"
    );
    let mut rig = Rig::new(Term::Dumb);
    rig.feed(b"c\t");
    assert_eq!(rig.buffer(), "co");
    let listed = rig.screen.above.len();
    rig.feed(b"\t");
    assert_eq!(rig.screen.above.len(), listed + 2, "{:?}", rig.screen.above);
    assert_eq!(rig.buffer(), "co");
    rig.feed(b"n\t");
    assert_eq!(rig.buffer(), "configure ");
}

#[test]
fn tab_with_no_candidate_does_nothing() {
    let mut rig = Rig::new(Term::Dumb);
    rig.feed(b"xyz");
    assert_eq!(rig.written_by(b"\t"), b"");
    assert_eq!(rig.buffer(), "xyz");
    let mut rig = Rig::new(Term::Dumb);
    rig.feed_with(b"sh\t", &NoAssist);
    assert_eq!(rig.buffer(), "sh");
}

#[test]
fn tab_lists_in_columns_across_the_width() {
    struct Many;
    impl Assist for Many {
        fn complete(&self, line: &str) -> Completion {
            Completion {
                start: line.len(),
                candidates: (0..30).map(|i| format!("name{i:02}")).collect(),
            }
        }
        fn help(&self, _: &str) -> Vec<String> {
            Vec::new()
        }
    }
    let mut rig = Rig::new(Term::Dumb);
    rig.feed_with(b"\t", &Many);
    assert_eq!(rig.buffer(), "name");
    rig.feed_with(b"\t", &Many);
    // 8-char cells in 79 columns: 9 per row, 4 rows, sorted down columns.
    assert_eq!(rig.screen.above.len(), 5, "{:?}", rig.screen.above);
    assert!(rig.screen.above[1].starts_with("name00  name04  name08"));
    assert!(rig.screen.above.iter().all(|l| l.chars().count() < 80));
}

#[test]
fn a_completion_word_out_of_range_is_ignored() {
    struct Bad;
    impl Assist for Bad {
        fn complete(&self, _: &str) -> Completion {
            Completion {
                start: 99,
                candidates: vec!["x".into()],
            }
        }
        fn help(&self, _: &str) -> Vec<String> {
            vec!["\x1b[31mred\x1b[0m".into()]
        }
    }
    let mut rig = Rig::new(Term::Dumb);
    rig.feed_with(b"ab\t?", &Bad);
    assert_eq!(rig.buffer(), "ab");
    assert!(!rig.written.contains(&0x1b));
    assert_eq!(rig.screen.above.last().unwrap(), "?[31mred?[0m");
}

#[test]
fn question_mark_prints_help_below_and_is_not_inserted() {
    let mut rig = Rig::new(Term::Dumb);
    rig.feed(b"show v?");
    assert_eq!(rig.buffer(), "show v");
    let above = &rig.screen.above;
    assert_eq!(above[above.len() - 2..], ["help for [show v]", "  <enter>"]);
    assert_eq!(rig.screen.line(), "vigil> show v");
}

#[test]
fn inside_double_quotes_question_mark_is_a_char_and_tab_does_nothing() {
    let mut rig = Rig::new(Term::Dumb);
    rig.feed(b"set comment \"why?\t");
    assert_eq!(rig.buffer(), "set comment \"why?");
    rig.feed(b"\" ?");
    assert_eq!(rig.buffer(), "set comment \"why?\" ");
    assert_eq!(rig.screen.above.last().unwrap(), "  <enter>");
}

#[test]
fn a_long_line_scrolls_inside_the_width() {
    for term in [Term::Dumb, Term::Vt100] {
        let mut rig = Rig::new(term);
        let long: String = (0..200)
            .map(|i| char::from(b'a' + (i % 26) as u8))
            .collect();
        rig.feed(long.as_bytes());
        let view = rig.m.view().unwrap();
        assert!(view.text.ends_with(&long[long.len() - 30..]));
        assert!(view.prompt.len() + view.text.len() <= 79);
        rig.feed(b"\x01");
        assert!(long.starts_with(&rig.m.view().unwrap().text));
        for _ in 0..150 {
            rig.feed(b"\x1b[C");
        }
        rig.feed(b"X\x7f\x7f");
        rig.feed(b"\x05");
        let mut want = long.clone();
        want.remove(149);
        assert_eq!(rig.buffer(), want);
        rig.feed(b"\r");
        assert_eq!(rig.lines(), [want]);
    }
}

#[test]
fn a_long_prompt_is_cut_to_leave_room_for_the_line() {
    let mut m = Machine::new(Term::Dumb);
    m.set_width(20);
    m.start(&"p".repeat(40), Input::Command);
    let view = m.view().unwrap();
    assert_eq!(view.prompt.len(), 11);
}

#[test]
fn a_prompt_of_several_lines_redraws_only_its_last() {
    let mut rig = Rig::custom(Term::Dumb, 80, "[edit]\nvigil# ", Input::Command);
    rig.feed(b"x?");
    assert!(rig.screen.above.contains(&"[edit]".to_string()));
    assert_eq!(rig.screen.line(), "vigil# x");
}

#[test]
fn vt100_clears_the_tail_with_erase_to_end_of_line() {
    let mut rig = Rig::new(Term::Vt100);
    rig.feed(b"abcdef\x01");
    assert_eq!(rig.written_by(b"\x0b"), b"\x1b[K");
    let mut rig = Rig::new(Term::Dumb);
    rig.feed(b"abcdef\x01");
    assert_eq!(rig.written_by(b"\x0b"), b"      \x08\x08\x08\x08\x08\x08");
}

#[test]
fn a_password_is_not_echoed_or_kept() {
    let mut rig = Rig::with_input(Term::Dumb, Input::Password);
    let before = rig.written.len();
    rig.feed(b"s3cr?t\tx\x7f\x1b[A");
    assert_eq!(rig.written.len() - before, "pw: ".len());
    rig.feed(b"\r");
    assert_eq!(rig.lines(), ["s3cr?t"]);
    assert!(rig.m.history().is_empty());
}

#[test]
fn a_text_line_keeps_tabs_and_question_marks() {
    let mut rig = Rig::with_input(Term::Dumb, Input::Text);
    rig.feed(b"\tvirtual_server 10.0.0.1 80 {?\x1b[A\r");
    assert_eq!(rig.lines(), ["\tvirtual_server 10.0.0.1 80 {?"]);
    assert!(rig.m.history().is_empty());
}

#[test]
fn a_line_stops_at_max_line() {
    let mut rig = Rig::new(Term::Dumb);
    rig.feed(&vec![b'x'; MAX_LINE + 10]);
    assert_eq!(rig.buffer().len(), MAX_LINE);
}

/// Inputs that mix every kind of key, fed whole and split at every point:
/// the outcome and the row are the same.
#[test]
fn splitting_input_anywhere_changes_nothing() {
    let inputs: &[&[u8]] = &[
        b"ab\x1b[Dc\x1b[3~\x1bOC\r\nxy",
        "h\u{e9}llo \u{20ac}\u{1f600}\x1b[1~z\r".as_bytes(),
        b"sh\tv\t\x1b[A\x1b[B?\x7f\x17",
        b"q\x1b[1;5D\x1b\x1b[Cw\r\r\n",
    ];
    for term in [Term::Dumb, Term::Vt100] {
        for input in inputs {
            let mut whole = Rig::new(term);
            whole.feed(input);
            for at in 0..=input.len() {
                let mut split = Rig::new(term);
                split.feed(&input[..at]);
                split.feed(&input[at..]);
                assert_eq!(split.done, whole.done, "{input:?} split at {at}");
                assert_eq!(split.m.buffer(), whole.m.buffer(), "{input:?} at {at}");
                assert_eq!(
                    split.screen.line(),
                    whole.screen.line(),
                    "{input:?} at {at}"
                );
            }
        }
    }
}

/// A small deterministic generator (xorshift64*), so a failure repeats.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Random keys, mostly printable, in random chunks.
fn random_input(rng: &mut Rng, len: usize) -> Vec<u8> {
    const PIECES: &[&[u8]] = &[
        b"\x1b[A",
        b"\x1b[B",
        b"\x1b[C",
        b"\x1b[D",
        b"\x1b[3~",
        b"\x1b[H",
        b"\x1b[F",
        b"\x1bOD",
        b"\x01",
        b"\x05",
        b"\x0b",
        b"\x15",
        b"\x17",
        b"\x0c",
        b"\x7f",
        b"\x08",
        b"\t",
        b"?",
        b"\"",
        b"\r",
        b"\n",
        b"\x04",
        b"\x1b",
        b"\xc3\xa9",
        b"\xe2\x82",
        b"\xff",
        b"\x03",
    ];
    let mut out = Vec::new();
    while out.len() < len {
        match rng.below(10) {
            0..=4 => out.push(b"sho vrpcfig "[rng.below(12)]),
            5 => out.push(rng.next() as u8),
            _ => out.extend_from_slice(PIECES[rng.below(PIECES.len())]),
        }
    }
    out
}

#[test]
fn random_input_on_a_dumb_terminal_never_writes_esc_and_the_row_is_right() {
    let mut rng = Rng(0x5eed_1234_abcd_0042);
    for round in 0..300 {
        let width = match round % 3 {
            0 => 20 + rng.below(100),
            _ => DEFAULT_WIDTH,
        };
        let mut rig = Rig::custom(Term::Dumb, width, "vigil> ", Input::Command);
        let len = 50 + rng.below(400);
        let input = random_input(&mut rng, len);
        let mut rest = &input[..];
        while !rest.is_empty() {
            let n = 1 + rng.below(rest.len().min(16));
            // feed_with checks the row against the view after every chunk.
            rig.feed(&rest[..n]);
            rest = &rest[n..];
        }
        assert!(!rig.written.contains(&0x1b), "round {round}");
    }
}

#[test]
fn random_input_on_a_vt100_keeps_the_row_right() {
    let mut rng = Rng(0x0bad_cafe_0000_0007);
    for _ in 0..100 {
        let mut rig = Rig::new(Term::Vt100);
        let input = random_input(&mut rng, 300);
        for chunk in input.chunks(1 + rng.below(8)) {
            rig.feed(chunk);
        }
    }
}
