//! The SMTP client dialogue (RFC 5321) as a sans-IO state machine.
//!
//! Owns: the order of commands (EHLO, falling back to HELO, MAIL FROM, one
//! RCPT TO per recipient, DATA, the dot-stuffed message, QUIT), the parsing
//! of replies (multi-line `250-...` included) and the check of every reply
//! code. Must not: touch a socket or a clock. The edge (`mailer`) feeds it
//! the reply lines it reads and writes the bytes it is given; timeouts are
//! the edge's business too.
//!
//! Why not a crate: `lettre` brings a builder, MIME, transports, TLS options
//! and a dozen transitive crates for what is here four commands and a reply
//! parser. keepalived does no TLS and no AUTH either, so neither does this.

use std::fmt;

/// Longest reply line accepted (RFC 5321 4.5.3.1.5 allows 512 octets).
pub const MAX_REPLY_LINE: usize = 1024;
/// Most lines in one multi-line reply before the server is called broken.
pub const MAX_REPLY_LINES: usize = 64;

/// Where in the dialogue something happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    Connect,
    Greeting,
    Ehlo,
    Helo,
    MailFrom,
    RcptTo,
    Data,
    Message,
    Quit,
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Stage::Connect => "connect",
            Stage::Greeting => "greeting",
            Stage::Ehlo => "EHLO",
            Stage::Helo => "HELO",
            Stage::MailFrom => "MAIL FROM",
            Stage::RcptTo => "RCPT TO",
            Stage::Data => "DATA",
            Stage::Message => "end of message",
            Stage::Quit => "QUIT",
        })
    }
}

/// A recipient the server refused while others were accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub rcpt: String,
    pub code: u16,
    pub text: String,
}

/// A message the server took responsibility for.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Delivery {
    pub accepted: Vec<String>,
    pub refused: Vec<Refusal>,
    /// The reply code to QUIT, if one came (the message is delivered
    /// either way once the end of message was accepted).
    pub quit_code: Option<u16>,
}

#[derive(Debug, thiserror::Error)]
pub enum SmtpError {
    #[error("connect failed")]
    Connect(#[source] std::io::Error),
    #[error("no reply within {timeout_ms} ms at {stage}")]
    Timeout { stage: Stage, timeout_ms: u64 },
    #[error("i/o error at {stage}")]
    Io {
        stage: Stage,
        #[source]
        source: std::io::Error,
    },
    #[error("server closed the connection at {stage}")]
    Closed { stage: Stage },
    #[error("server answered {code} at {stage}: {text}")]
    Rejected {
        stage: Stage,
        code: u16,
        text: String,
    },
    #[error("malformed reply at {stage}: {line:?}")]
    Malformed { stage: Stage, line: String },
    #[error("every recipient was refused ({} of them)", refused.len())]
    AllRecipientsRefused { refused: Vec<Refusal> },
    #[error("no recipient to send to")]
    NoRecipients,
    #[error("address {addr:?} cannot be put in an SMTP command")]
    BadAddress { addr: String },
}

impl SmtpError {
    /// Worth another attempt later: network trouble and 4xx. A 5xx to the
    /// mail itself will be refused again; a 5xx greeting (554, "no service
    /// here") may be a server still starting, so it is retried.
    pub fn is_transient(&self) -> bool {
        match self {
            SmtpError::Connect(_)
            | SmtpError::Timeout { .. }
            | SmtpError::Io { .. }
            | SmtpError::Closed { .. }
            | SmtpError::Malformed { .. } => true,
            SmtpError::Rejected { stage, code, .. } => {
                *stage == Stage::Greeting || (400..500).contains(code)
            }
            SmtpError::AllRecipientsRefused { refused } => {
                refused.iter().any(|r| (400..500).contains(&r.code))
            }
            SmtpError::BadAddress { .. } | SmtpError::NoRecipients => false,
        }
    }
}

/// One complete reply: its code and its text lines joined with " / ".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub code: u16,
    pub text: String,
}

/// What the edge does next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// The reply is not complete yet (a `250-` line): read another line.
    Read,
    /// Write these bytes, then read the reply.
    Send(Vec<u8>),
    /// The dialogue is over; close the connection.
    Done(Delivery),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Greeting,
    Ehlo,
    Helo,
    MailFrom,
    Rcpt(usize),
    Data,
    Message,
    Quit,
    Finished,
}

impl Phase {
    fn stage(self) -> Stage {
        match self {
            Phase::Greeting => Stage::Greeting,
            Phase::Ehlo => Stage::Ehlo,
            Phase::Helo => Stage::Helo,
            Phase::MailFrom => Stage::MailFrom,
            Phase::Rcpt(_) => Stage::RcptTo,
            Phase::Data => Stage::Data,
            Phase::Message => Stage::Message,
            Phase::Quit | Phase::Finished => Stage::Quit,
        }
    }
}

/// One mail's SMTP dialogue, from the greeting to QUIT.
#[derive(Debug)]
pub struct Dialogue {
    helo_name: String,
    from: String,
    rcpts: Vec<String>,
    data: Vec<u8>,
    phase: Phase,
    partial: Option<Reply>,
    lines: usize,
    delivery: Delivery,
}

impl Dialogue {
    /// `helo_name` is what follows EHLO/HELO (a domain or an address
    /// literal such as `[127.0.0.1]`); `message` is the RFC 5322 text.
    pub fn new(
        helo_name: &str,
        from: &str,
        rcpts: &[String],
        message: &str,
    ) -> Result<Self, SmtpError> {
        for a in std::iter::once(from).chain(rcpts.iter().map(String::as_str)) {
            check_address(a)?;
        }
        if rcpts.is_empty() {
            return Err(SmtpError::NoRecipients);
        }
        Ok(Dialogue {
            helo_name: helo_name.to_string(),
            from: from.to_string(),
            rcpts: rcpts.to_vec(),
            data: dot_stuff(message),
            phase: Phase::Greeting,
            partial: None,
            lines: 0,
            delivery: Delivery::default(),
        })
    }

    /// The stage the dialogue is in (for timeout and close reports).
    pub fn stage(&self) -> Stage {
        self.phase.stage()
    }

    /// The server closed the connection or stopped answering. After the end
    /// of message was accepted that is a delivery, before it a failure.
    pub fn on_eof(&mut self) -> Result<Delivery, SmtpError> {
        match self.phase {
            Phase::Quit | Phase::Finished => {
                self.phase = Phase::Finished;
                Ok(std::mem::take(&mut self.delivery))
            }
            p => Err(SmtpError::Closed { stage: p.stage() }),
        }
    }

    /// Feed one reply line (with or without its CRLF).
    pub fn on_line(&mut self, line: &[u8]) -> Result<Step, SmtpError> {
        let stage = self.phase.stage();
        let malformed = || SmtpError::Malformed {
            stage,
            line: String::from_utf8_lossy(line).into_owned(),
        };
        if self.phase == Phase::Finished {
            return Err(malformed());
        }
        let line = trim_eol(line);
        let (code, last, text) = parse_line(line).ok_or_else(malformed)?;
        self.lines += 1;
        if self.lines > MAX_REPLY_LINES {
            return Err(malformed());
        }
        let reply = match self.partial.take() {
            None => Reply {
                code,
                text: text.to_string(),
            },
            Some(mut r) => {
                if r.code != code {
                    return Err(malformed());
                }
                r.text.push_str(" / ");
                r.text.push_str(text);
                r
            }
        };
        if !last {
            self.partial = Some(reply);
            return Ok(Step::Read);
        }
        self.lines = 0;
        self.on_reply(reply)
    }

    fn on_reply(&mut self, r: Reply) -> Result<Step, SmtpError> {
        let stage = self.phase.stage();
        let reject = |r: Reply| SmtpError::Rejected {
            stage,
            code: r.code,
            text: r.text,
        };
        match self.phase {
            Phase::Greeting if r.code == 220 => {
                self.phase = Phase::Ehlo;
                Ok(self.cmd(format_args!("EHLO {}", self.helo_name)))
            }
            Phase::Ehlo if r.code == 250 => self.mail_from(),
            // RFC 5321 3.2: a server that does not know EHLO answers 5xx;
            // the client then tries HELO.
            Phase::Ehlo if (500..600).contains(&r.code) => {
                self.phase = Phase::Helo;
                Ok(self.cmd(format_args!("HELO {}", self.helo_name)))
            }
            Phase::Helo if r.code == 250 => self.mail_from(),
            Phase::MailFrom if r.code == 250 => self.rcpt(0),
            Phase::Rcpt(i) => {
                let rcpt = self.rcpts[i].clone();
                if r.code == 250 || r.code == 251 {
                    self.delivery.accepted.push(rcpt);
                } else {
                    self.delivery.refused.push(Refusal {
                        rcpt,
                        code: r.code,
                        text: r.text,
                    });
                }
                if i + 1 < self.rcpts.len() {
                    self.rcpt(i + 1)
                } else if self.delivery.accepted.is_empty() {
                    Err(SmtpError::AllRecipientsRefused {
                        refused: std::mem::take(&mut self.delivery.refused),
                    })
                } else {
                    self.phase = Phase::Data;
                    Ok(self.cmd(format_args!("DATA")))
                }
            }
            Phase::Data if r.code == 354 => {
                self.phase = Phase::Message;
                Ok(Step::Send(self.data.clone()))
            }
            Phase::Message if r.code == 250 => {
                self.phase = Phase::Quit;
                Ok(self.cmd(format_args!("QUIT")))
            }
            Phase::Quit => {
                self.phase = Phase::Finished;
                self.delivery.quit_code = Some(r.code);
                Ok(Step::Done(std::mem::take(&mut self.delivery)))
            }
            _ => Err(reject(r)),
        }
    }

    fn mail_from(&mut self) -> Result<Step, SmtpError> {
        self.phase = Phase::MailFrom;
        Ok(self.cmd(format_args!("MAIL FROM:<{}>", self.from)))
    }

    fn rcpt(&mut self, i: usize) -> Result<Step, SmtpError> {
        self.phase = Phase::Rcpt(i);
        Ok(self.cmd(format_args!("RCPT TO:<{}>", self.rcpts[i])))
    }

    fn cmd(&self, args: fmt::Arguments<'_>) -> Step {
        let mut s = args.to_string();
        s.push_str("\r\n");
        Step::Send(s.into_bytes())
    }
}

fn trim_eol(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// `250-text` -> (250, false, "text"); `250 text` or `250` -> (250, true, ..).
fn parse_line(line: &[u8]) -> Option<(u16, bool, &str)> {
    let text = std::str::from_utf8(line).ok()?;
    let digits = text.get(..3)?;
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let code: u16 = digits.parse().ok()?;
    if !(200..600).contains(&code) && code != 354 {
        return None;
    }
    match text.as_bytes().get(3) {
        None => Some((code, true, "")),
        Some(b' ') => Some((code, true, &text[4..])),
        Some(b'-') => Some((code, false, &text[4..])),
        Some(_) => None,
    }
}

/// Addresses go between `<` and `>` in a command line: nothing that could
/// end the command or the path early.
fn check_address(a: &str) -> Result<(), SmtpError> {
    let ok = !a.is_empty()
        && a.len() <= 254
        && a.bytes()
            .all(|b| b.is_ascii_graphic() && b != b'<' && b != b'>');
    if ok {
        Ok(())
    } else {
        Err(SmtpError::BadAddress {
            addr: a.to_string(),
        })
    }
}

/// The DATA payload (RFC 5321 4.5.2): every line ends in CRLF (a lone LF
/// or CR becomes CRLF), a line starting with '.' gets one more '.', and the
/// terminating `.` line follows.
pub fn dot_stuff(message: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(message.len() + 16);
    let mut at_line_start = true;
    let mut bytes = message.bytes().peekable();
    while let Some(b) = bytes.next() {
        if at_line_start && b == b'.' {
            out.push(b'.');
        }
        match b {
            b'\r' => {
                if bytes.peek() == Some(&b'\n') {
                    bytes.next();
                }
                out.extend_from_slice(b"\r\n");
                at_line_start = true;
            }
            b'\n' => {
                out.extend_from_slice(b"\r\n");
                at_line_start = true;
            }
            _ => {
                out.push(b);
                at_line_start = false;
            }
        }
    }
    if !at_line_start {
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b".\r\n");
    out
}

#[cfg(test)]
#[path = "smtp_tests.rs"]
mod tests;
