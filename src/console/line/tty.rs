//! The line editor's edge: stdin and stdout.
//!
//! Owns: the terminal's mode and the reads and writes. When stdin is a
//! terminal, it is in raw mode for the [`Reader`]'s whole life (input: no
//! canonical lines, no kernel echo, no signal keys, CR not turned into LF;
//! `VMIN` 1), so typeahead and a paste arriving while a command runs are
//! neither echoed by the kernel nor cut into signals, and reach the
//! machine intact. Output processing (`OPOST`, `ONLCR`) is left as it was:
//! the console's ordinary `println!` output between reads keeps working,
//! and the machine's CR LF goes out as CR CR LF, harmless. The saved mode
//! comes back when the Reader is dropped (also while a panic unwinds), and
//! while a [`Paused`] guard lives (for a child process that wants the
//! terminal). When stdin is not a terminal (a pipe, a test), lines are read
//! plainly: the prompt is printed, nothing is echoed or redrawn.
//! Must not: decide anything about keys or the screen (`machine` does).

use std::io::{self, BufRead, Read, Write};

use nix::sys::termios::{self, LocalFlags, SetArg, SpecialCharacterIndices, Termios};

use super::machine::{Action, Input, Machine};
use super::{Assist, NoAssist, Term};

/// How a read ended.
enum Outcome {
    Line(String),
    Eof,
    Interrupt,
}

/// Reads lines from stdin for the console; see the module header.
pub struct Reader {
    machine: Machine,
    /// The terminal's saved mode, when stdin is one (then in raw mode).
    raw: Option<RawMode>,
}

impl Reader {
    /// A reader for the terminal `term` (see [`Term::from_env`]); puts
    /// stdin in raw mode when it is a terminal.
    pub fn new(term: Term) -> io::Result<Reader> {
        let raw = if nix::unistd::isatty(io::stdin()).unwrap_or(false) {
            Some(RawMode::enter()?)
        } else {
            None
        };
        Ok(Reader {
            machine: Machine::new(term),
            raw,
        })
    }

    /// Whether stdin is a terminal (line editing on).
    pub fn is_terminal(&self) -> bool {
        self.raw.is_some()
    }

    /// One command line, with Tab, `?` and history; Ctrl-C starts it
    /// again. `None`: Ctrl-D on an empty line, or the end of input.
    pub fn read_line(&mut self, prompt: &str, assist: &dyn Assist) -> io::Result<Option<String>> {
        self.read_until_done(prompt, Input::Command, assist)
    }

    /// A password: nothing echoed, not kept in the history.
    pub fn read_password(&mut self, prompt: &str) -> io::Result<Option<String>> {
        self.read_until_done(prompt, Input::Password, &NoAssist)
    }

    /// Lines of text (a pasted keepalived.conf) until Ctrl-D on an empty
    /// line, or the end of input; each line is prompted with `prompt`
    /// (which may be empty). Tabs are kept; `?` is a char. `None`: Ctrl-C
    /// abandoned the block. Without a terminal, a line holding only the
    /// Ctrl-D byte (0x04) also ends the block, so a script can go on after
    /// it.
    pub fn read_block(&mut self, prompt: &str) -> io::Result<Option<Vec<String>>> {
        let mut lines = Vec::new();
        loop {
            match self.read(prompt, Input::Text, &NoAssist)? {
                Outcome::Line(line) if self.raw.is_none() && line == "\x04" => break,
                Outcome::Line(line) => lines.push(line),
                Outcome::Eof => break,
                Outcome::Interrupt => return Ok(None),
            }
        }
        Ok(Some(lines))
    }

    /// Keeps `line` in the history (command lines are kept on Enter).
    pub fn add_history(&mut self, line: &str) {
        self.machine.add_history(line);
    }

    /// The terminal's saved mode until the guard is dropped (for a child
    /// process, a pager); a no-op without a terminal.
    pub fn pause(&mut self) -> io::Result<Paused<'_>> {
        if let Some(raw) = &self.raw {
            raw.restore()?;
        }
        Ok(Paused { raw: &self.raw })
    }

    fn read_until_done(
        &mut self,
        prompt: &str,
        input: Input,
        assist: &dyn Assist,
    ) -> io::Result<Option<String>> {
        loop {
            match self.read(prompt, input, assist)? {
                Outcome::Line(line) => return Ok(Some(line)),
                Outcome::Eof => return Ok(None),
                Outcome::Interrupt => {}
            }
        }
    }

    fn read(&mut self, prompt: &str, input: Input, assist: &dyn Assist) -> io::Result<Outcome> {
        if self.raw.is_none() {
            return read_plain(prompt);
        }
        self.machine.set_width(terminal_width());
        self.machine.start(prompt, input);
        let mut stdout = io::stdout().lock();
        let mut stdin = io::stdin().lock();
        let mut chunk = [0u8; 1024];
        let mut got = 0;
        loop {
            for action in self.machine.handle(&chunk[..got], assist) {
                match action {
                    Action::Write(bytes) => {
                        stdout.write_all(&bytes)?;
                        stdout.flush()?;
                    }
                    Action::Line(line) => return Ok(Outcome::Line(line)),
                    Action::Eof => return Ok(Outcome::Eof),
                    Action::Interrupt => return Ok(Outcome::Interrupt),
                }
            }
            got = match stdin.read(&mut chunk) {
                Ok(0) => return Ok(Outcome::Eof),
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => 0,
                Err(e) => return Err(e),
            };
        }
    }
}

/// Reads one line without a terminal: the prompt, then bytes up to LF (a
/// CR before it dropped; invalid UTF-8 replaced).
fn read_plain(prompt: &str) -> io::Result<Outcome> {
    let mut stdout = io::stdout().lock();
    stdout.write_all(prompt.as_bytes())?;
    stdout.flush()?;
    let mut bytes = Vec::new();
    if io::stdin().lock().read_until(b'\n', &mut bytes)? == 0 {
        return Ok(Outcome::Eof);
    }
    let line = bytes.strip_suffix(b"\n").unwrap_or(&bytes);
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    Ok(Outcome::Line(String::from_utf8_lossy(line).into_owned()))
}

nix::ioctl_read_bad!(get_winsize, nix::libc::TIOCGWINSZ, nix::libc::winsize);

/// The terminal's columns as the kernel knows them (0: unknown, as on a
/// serial line; the machine then takes 80).
fn terminal_width() -> usize {
    use std::os::fd::AsRawFd;
    let mut size = nix::libc::winsize {
        ws_row: 0,
        ws_col: 0,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCGWINSZ writes one winsize into the struct it is given.
    match unsafe { get_winsize(io::stdout().as_raw_fd(), &mut size) } {
        Ok(_) => usize::from(size.ws_col),
        Err(_) => 0,
    }
}

/// Stdin's mode before raw mode, put back on drop.
struct RawMode {
    saved: Termios,
}

impl RawMode {
    fn enter() -> io::Result<RawMode> {
        let saved = termios::tcgetattr(io::stdin())?;
        let mode = RawMode { saved };
        mode.apply()?;
        Ok(mode)
    }

    /// Raw input, output processing untouched (see the module header).
    fn apply(&self) -> io::Result<()> {
        let mut raw = self.saved.clone();
        raw.local_flags &= !(LocalFlags::ICANON
            | LocalFlags::ECHO
            | LocalFlags::ECHONL
            | LocalFlags::ISIG
            | LocalFlags::IEXTEN);
        raw.input_flags &= !(termios::InputFlags::ICRNL
            | termios::InputFlags::INLCR
            | termios::InputFlags::IGNCR
            | termios::InputFlags::ISTRIP);
        raw.control_chars[SpecialCharacterIndices::VMIN as usize] = 1;
        raw.control_chars[SpecialCharacterIndices::VTIME as usize] = 0;
        // TCSANOW, not TCSAFLUSH: typeahead (a paste) must survive.
        termios::tcsetattr(io::stdin(), SetArg::TCSANOW, &raw)?;
        Ok(())
    }

    fn restore(&self) -> io::Result<()> {
        termios::tcsetattr(io::stdin(), SetArg::TCSANOW, &self.saved)?;
        Ok(())
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        let _ = self.restore();
    }
}

/// The terminal in its saved mode; raw again when dropped.
pub struct Paused<'a> {
    raw: &'a Option<RawMode>,
}

impl Drop for Paused<'_> {
    fn drop(&mut self) {
        if let Some(raw) = self.raw {
            let _ = raw.apply();
        }
    }
}
