//! SMTP server replies from arbitrary bytes (`vigil::notify::smtp`): the
//! input is what a mail server sends, one reply line per `\n`, fed to a
//! `Dialogue` as the mail edge feeds it; and the same bytes, as text, as
//! a message body through `dot_stuff`.
//!
//! Properties: `on_line` never panics; every `Send` is a whole command
//! (ends in CRLF) or the DATA payload; nothing follows an error or the
//! end, and a finished dialogue refuses more lines; `on_eof` never panics. The
//! DATA payload has CRLF line ends only, and its one `.` line is the last.
//! Must not: do anything but call the dialogue.

use vigil::notify::smtp::{dot_stuff, Dialogue, Step};

const MESSAGE: &str = "Subject: vigil\r\n\r\n.hidden dot\r\nbody\r\n";

/// One input; panics when a property fails.
pub fn run(data: &[u8]) {
    let rcpts = ["ops@example.com".to_string(), "b@example.com".to_string()];
    let mut d = Dialogue::new("[127.0.0.1]", "vigil@example.com", &rcpts, MESSAGE)
        .expect("fixed addresses are valid");
    // The edge drops a dialogue at its first error; only a finished one
    // is promised to refuse more.
    let mut over = false;
    let mut done = false;
    for line in data.split_inclusive(|&b| b == b'\n') {
        match d.on_line(line) {
            Ok(Step::Read) => assert!(!over),
            Ok(Step::Send(bytes)) => {
                assert!(!over);
                assert!(bytes.ends_with(b"\r\n"), "{bytes:?}");
            }
            Ok(Step::Done(_)) => {
                assert!(!over, "done twice");
                over = true;
                done = true;
            }
            Err(_) => break,
        }
    }
    if done {
        assert!(
            d.on_line(b"250 ok\r\n").is_err(),
            "a finished dialogue went on"
        );
    }
    let _ = d.on_eof();
    check_stuffed(&String::from_utf8_lossy(data));
}

fn check_stuffed(message: &str) {
    let out = dot_stuff(message);
    assert!(out.ends_with(b".\r\n"));
    let body = &out[..out.len() - 3];
    for (i, &b) in body.iter().enumerate() {
        match b {
            b'\n' => assert!(i > 0 && body[i - 1] == b'\r', "bare LF at {i}"),
            b'\r' => assert_eq!(body.get(i + 1), Some(&b'\n'), "bare CR at {i}"),
            _ => {}
        }
    }
    for line in body.split(|&b| b == b'\n') {
        assert_ne!(line, b".\r", "a lone dot ends the message early");
    }
}
