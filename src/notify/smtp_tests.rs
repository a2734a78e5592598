//! Unit tests of `smtp.rs`.

use super::*;

fn rcpts(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

fn dialogue(to: &[&str], msg: &str) -> Dialogue {
    Dialogue::new("[127.0.0.1]", "vigil@lb1", &rcpts(to), msg).unwrap()
}

/// Feeds `reply` lines; every line but the last must ask for more.
fn feed(d: &mut Dialogue, reply: &[&str]) -> Result<Step, SmtpError> {
    let (last, first) = reply.split_last().unwrap();
    for l in first {
        assert_eq!(
            d.on_line(format!("{l}\r\n").as_bytes()).unwrap(),
            Step::Read
        );
    }
    d.on_line(format!("{last}\r\n").as_bytes())
}

fn sent(s: Step) -> String {
    match s {
        Step::Send(b) => String::from_utf8(b).unwrap(),
        other => panic!("expected Send, got {other:?}"),
    }
}

#[test]
fn happy_path_with_multiline_ehlo() {
    let mut d = dialogue(&["a@x", "b@x"], "Subject: s\r\n\r\nhi\r\n");
    assert_eq!(
        sent(feed(&mut d, &["220 mx ESMTP"]).unwrap()),
        "EHLO [127.0.0.1]\r\n"
    );
    let s = feed(
        &mut d,
        &["250-mx hello", "250-SIZE 1000", "250-8BITMIME", "250 HELP"],
    );
    assert_eq!(sent(s.unwrap()), "MAIL FROM:<vigil@lb1>\r\n");
    assert_eq!(
        sent(feed(&mut d, &["250 ok"]).unwrap()),
        "RCPT TO:<a@x>\r\n"
    );
    assert_eq!(
        sent(feed(&mut d, &["250 ok"]).unwrap()),
        "RCPT TO:<b@x>\r\n"
    );
    assert_eq!(sent(feed(&mut d, &["251 forwarded"]).unwrap()), "DATA\r\n");
    let body = sent(feed(&mut d, &["354 go ahead"]).unwrap());
    assert_eq!(body, "Subject: s\r\n\r\nhi\r\n.\r\n");
    assert_eq!(sent(feed(&mut d, &["250 queued"]).unwrap()), "QUIT\r\n");
    let done = feed(&mut d, &["221 bye"]).unwrap();
    assert_eq!(
        done,
        Step::Done(Delivery {
            accepted: rcpts(&["a@x", "b@x"]),
            refused: vec![],
            quit_code: Some(221),
        })
    );
}

#[test]
fn falls_back_to_helo_when_ehlo_is_refused() {
    let mut d = dialogue(&["a@x"], "x");
    sent(feed(&mut d, &["220 old"]).unwrap());
    assert_eq!(
        sent(feed(&mut d, &["502 what?"]).unwrap()),
        "HELO [127.0.0.1]\r\n"
    );
    assert_eq!(
        sent(feed(&mut d, &["250 old"]).unwrap()),
        "MAIL FROM:<vigil@lb1>\r\n"
    );
}

#[test]
fn helo_refused_too_is_a_rejection() {
    let mut d = dialogue(&["a@x"], "x");
    sent(feed(&mut d, &["220 old"]).unwrap());
    sent(feed(&mut d, &["500 no"]).unwrap());
    let e = feed(&mut d, &["501 still no"]).unwrap_err();
    assert!(matches!(
        e,
        SmtpError::Rejected {
            stage: Stage::Helo,
            code: 501,
            ..
        }
    ));
    assert!(!e.is_transient());
}

#[test]
fn ehlo_4xx_is_not_a_fallback() {
    let mut d = dialogue(&["a@x"], "x");
    sent(feed(&mut d, &["220 mx"]).unwrap());
    let e = feed(&mut d, &["421 closing"]).unwrap_err();
    assert!(matches!(
        e,
        SmtpError::Rejected {
            stage: Stage::Ehlo,
            code: 421,
            ..
        }
    ));
    assert!(e.is_transient());
}

#[test]
fn one_refused_recipient_does_not_stop_the_others() {
    let mut d = dialogue(&["a@x", "nobody@x", "c@x"], "x");
    sent(feed(&mut d, &["220 mx"]).unwrap());
    sent(feed(&mut d, &["250 mx"]).unwrap());
    sent(feed(&mut d, &["250 ok"]).unwrap());
    assert_eq!(
        sent(feed(&mut d, &["250 ok"]).unwrap()),
        "RCPT TO:<nobody@x>\r\n"
    );
    assert_eq!(
        sent(feed(&mut d, &["550 no such user"]).unwrap()),
        "RCPT TO:<c@x>\r\n"
    );
    assert_eq!(sent(feed(&mut d, &["250 ok"]).unwrap()), "DATA\r\n");
    sent(feed(&mut d, &["354 go"]).unwrap());
    sent(feed(&mut d, &["250 ok"]).unwrap());
    let Step::Done(del) = feed(&mut d, &["221 bye"]).unwrap() else {
        panic!()
    };
    assert_eq!(del.accepted, rcpts(&["a@x", "c@x"]));
    assert_eq!(
        del.refused,
        vec![Refusal {
            rcpt: "nobody@x".into(),
            code: 550,
            text: "no such user".into()
        }]
    );
}

#[test]
fn all_recipients_refused_is_an_error() {
    let mut d = dialogue(&["a@x", "b@x"], "x");
    sent(feed(&mut d, &["220 mx"]).unwrap());
    sent(feed(&mut d, &["250 mx"]).unwrap());
    sent(feed(&mut d, &["250 ok"]).unwrap());
    sent(feed(&mut d, &["550 no"]).unwrap());
    let e = feed(&mut d, &["450 try later"]).unwrap_err();
    let SmtpError::AllRecipientsRefused { refused } = &e else {
        panic!("{e:?}")
    };
    assert_eq!(refused.len(), 2);
    assert!(e.is_transient(), "a 4xx among them is worth a retry");
    assert_eq!(e.to_string(), "every recipient was refused (2 of them)");
}

fn up_to_data(d: &mut Dialogue) {
    sent(feed(d, &["220 mx"]).unwrap());
    sent(feed(d, &["250 mx"]).unwrap());
    sent(feed(d, &["250 ok"]).unwrap());
    assert_eq!(sent(feed(d, &["250 ok"]).unwrap()), "DATA\r\n");
}

#[test]
fn data_4xx_is_transient_and_5xx_is_not() {
    let mut d = dialogue(&["a@x"], "x");
    up_to_data(&mut d);
    let e = feed(&mut d, &["451 local error"]).unwrap_err();
    assert!(matches!(
        e,
        SmtpError::Rejected {
            stage: Stage::Data,
            code: 451,
            ..
        }
    ));
    assert!(e.is_transient());

    let mut d = dialogue(&["a@x"], "x");
    up_to_data(&mut d);
    let e = feed(&mut d, &["554 no"]).unwrap_err();
    assert!(matches!(
        e,
        SmtpError::Rejected {
            stage: Stage::Data,
            code: 554,
            ..
        }
    ));
    assert!(!e.is_transient());
}

#[test]
fn end_of_message_5xx_is_a_rejection() {
    let mut d = dialogue(&["a@x"], "x");
    up_to_data(&mut d);
    sent(feed(&mut d, &["354 go"]).unwrap());
    let e = feed(&mut d, &["552 too big"]).unwrap_err();
    assert!(matches!(
        e,
        SmtpError::Rejected {
            stage: Stage::Message,
            code: 552,
            ..
        }
    ));
}

#[test]
fn dot_stuffing_and_line_endings() {
    let mut d = dialogue(&["a@x"], "Subject: s\n\n.hidden\n..two\nend.\r\n.");
    up_to_data(&mut d);
    let body = sent(feed(&mut d, &["354 go"]).unwrap());
    assert_eq!(
        body,
        "Subject: s\r\n\r\n..hidden\r\n...two\r\nend.\r\n..\r\n.\r\n"
    );
    assert_eq!(dot_stuff(""), b".\r\n");
    assert_eq!(dot_stuff("a\rb"), b"a\r\nb\r\n.\r\n");
}

#[test]
fn malformed_and_inconsistent_replies() {
    let mut d = dialogue(&["a@x"], "x");
    assert!(matches!(
        d.on_line(b"hello\r\n"),
        Err(SmtpError::Malformed {
            stage: Stage::Greeting,
            ..
        })
    ));
    let mut d = dialogue(&["a@x"], "x");
    assert!(matches!(
        d.on_line(b"220x\r\n"),
        Err(SmtpError::Malformed { .. })
    ));
    let mut d = dialogue(&["a@x"], "x");
    sent(feed(&mut d, &["220 mx"]).unwrap());
    assert_eq!(d.on_line(b"250-a\r\n").unwrap(), Step::Read);
    assert!(matches!(
        d.on_line(b"251 b\r\n"),
        Err(SmtpError::Malformed {
            stage: Stage::Ehlo,
            ..
        })
    ));
    // Bare code with no text ends a reply.
    let mut d = dialogue(&["a@x"], "x");
    assert_eq!(sent(d.on_line(b"220").unwrap()), "EHLO [127.0.0.1]\r\n");
}

#[test]
fn endless_multiline_reply_is_cut_off() {
    let mut d = dialogue(&["a@x"], "x");
    let mut last = Ok(Step::Read);
    for _ in 0..=MAX_REPLY_LINES {
        last = d.on_line(b"220-spam\r\n");
        if last.is_err() {
            break;
        }
    }
    assert!(matches!(last, Err(SmtpError::Malformed { .. })));
}

#[test]
fn greeting_rejection_is_retried() {
    let mut d = dialogue(&["a@x"], "x");
    let e = feed(&mut d, &["554 not yet"]).unwrap_err();
    assert!(e.is_transient());
}

#[test]
fn eof_after_end_of_message_is_a_delivery() {
    let mut d = dialogue(&["a@x"], "x");
    up_to_data(&mut d);
    sent(feed(&mut d, &["354 go"]).unwrap());
    sent(feed(&mut d, &["250 ok"]).unwrap());
    let del = d.on_eof().unwrap();
    assert_eq!(del.accepted, rcpts(&["a@x"]));
    assert_eq!(del.quit_code, None);

    let mut d = dialogue(&["a@x"], "x");
    up_to_data(&mut d);
    assert!(matches!(
        d.on_eof(),
        Err(SmtpError::Closed { stage: Stage::Data })
    ));
}

#[test]
fn addresses_that_would_break_a_command_are_refused() {
    for bad in ["a@x>\r\nRCPT TO:<evil@x", "a b@x", "", "a@x\n"] {
        let e = Dialogue::new("h", "vigil@lb1", &rcpts(&[bad]), "x").unwrap_err();
        assert!(matches!(e, SmtpError::BadAddress { .. }), "{bad:?}");
    }
    assert!(Dialogue::new("h", "bad from@x", &rcpts(&["a@x"]), "x").is_err());
    let e = Dialogue::new("h", "vigil@lb1", &[], "x").unwrap_err();
    assert!(matches!(e, SmtpError::NoRecipients));
    assert!(!e.is_transient());
}
