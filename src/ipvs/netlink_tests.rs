//! Unit tests of `netlink.rs`.

use super::*;

/// A kernel answer: `NLMSG_ERROR` with `-errno` and the request's
/// header echoed (as the kernel does), or a data/done message.
fn answer(kind: u16, seq: u32, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    frame(&mut out, kind, 0, seq, body);
    // frame() sets NLM_F_REQUEST; the kernel's answers do not.
    out[6..8].copy_from_slice(&0u16.to_ne_bytes());
    out
}

fn err(seq: u32, errno: i32) -> Vec<u8> {
    let mut body = (-errno).to_ne_bytes().to_vec();
    body.extend_from_slice(&[0u8; NLMSG_HDRLEN]);
    answer(NLMSG_ERROR, seq, &body)
}

#[test]
fn frame_writes_the_header_and_pads() {
    let mut out = Vec::new();
    frame(&mut out, 0x1d, NLM_F_ACK, 7, &[5, 1, 0, 0, 0xaa]);
    assert_eq!(out.len(), 24, "16 + 5 padded to 4");
    assert_eq!(u32_at(&out, 0), 21, "nlmsg_len excludes the padding");
    assert_eq!(u16_at(&out, 4), 0x1d);
    assert_eq!(u16_at(&out, 6), NLM_F_REQUEST | NLM_F_ACK);
    assert_eq!(u32_at(&out, 8), 7);
    assert_eq!(u32_at(&out, 12), 0);
    assert_eq!(&out[16..21], &[5, 1, 0, 0, 0xaa]);
    assert_eq!(&out[21..], &[0, 0, 0]);
    // Two frames back to back parse as two messages.
    frame(&mut out, 0x1d, NLM_F_DUMP, 8, &[4, 1, 0, 0]);
    let m = parse(&out).unwrap();
    assert_eq!(m.len(), 2);
    assert_eq!(m[0].reply, Reply::Data(&[5, 1, 0, 0, 0xaa]));
    assert_eq!((m[1].seq, m[1].flags), (8, NLM_F_REQUEST | NLM_F_DUMP));
}

#[test]
fn parse_tells_acks_errors_done_and_data() {
    let mut buf = err(1, 0);
    buf.extend(err(2, 17));
    buf.extend(answer(0x1d, 3, &[1, 1, 0, 0, 9, 9, 9, 9]));
    buf.extend(answer(NLMSG_DONE, 3, &0i32.to_ne_bytes()));
    buf.extend(answer(NLMSG_DONE, 4, &(-22i32).to_ne_bytes()));
    buf.extend(answer(NLMSG_DONE, 5, &[]));
    buf.extend(answer(NLMSG_NOOP, 6, &[]));
    let m = parse(&buf).unwrap();
    let r: Vec<_> = m.iter().map(|m| (m.seq, m.reply)).collect();
    assert_eq!(
        r,
        vec![
            (1, Reply::Ack),
            (2, Reply::Error(17)),
            (3, Reply::Data(&[1, 1, 0, 0, 9, 9, 9, 9])),
            (3, Reply::Done(0)),
            (4, Reply::Done(22)),
            (5, Reply::Done(0)),
            (6, Reply::Other(NLMSG_NOOP)),
        ]
    );
}

#[test]
fn parse_refuses_truncated_buffers() {
    let whole = err(1, 2);
    assert_eq!(
        parse(&whole[..10]),
        Err(FrameError::ShortHeader {
            offset: 0,
            left: 10
        })
    );
    let mut two = err(1, 0);
    two.extend(err(2, 0));
    let cut = &two[..two.len() - 4];
    assert!(matches!(
        parse(cut),
        Err(FrameError::BadLength { offset: 36, .. })
    ));
    let mut zero = err(1, 0);
    zero[0..4].copy_from_slice(&0u32.to_ne_bytes());
    assert!(matches!(
        parse(&zero),
        Err(FrameError::BadLength { len: 0, .. })
    ));
    let short = answer(NLMSG_ERROR, 1, &[0, 0]);
    assert!(matches!(
        parse(&short),
        Err(FrameError::ShortStatus {
            kind: "NLMSG_ERROR",
            ..
        })
    ));
    assert_eq!(parse(&[]), Ok(vec![]));
}

#[test]
fn parse_never_panics_on_garbage() {
    // A cheap sweep; the fuzz target covers the rest.
    let base: Vec<u8> = [err(1, 0), err(2, 3), answer(0x1d, 3, &[1; 9])].concat();
    for cut in 0..=base.len() {
        let _ = parse(&base[..cut]);
    }
    for i in 0..base.len() {
        let mut b = base.clone();
        b[i] ^= 0xff;
        let _ = parse(&b);
    }
    let mut min = err(1, 0);
    min[16..20].copy_from_slice(&i32::MIN.to_ne_bytes());
    assert_eq!(parse(&min).unwrap()[0].reply, Reply::Error(i32::MAX));
}

#[test]
fn acks_match_by_sequence_number_in_any_order() {
    let mut acks = Acks::new(100, 3);
    let buf = [err(102, 17), err(99, 0), err(100, 0), err(100, 2)].concat();
    let got: Vec<_> = parse(&buf)
        .unwrap()
        .iter()
        .map(|m| acks.record(m))
        .collect();
    // 99 is not ours; the second answer to 100 is a duplicate.
    assert_eq!(got, vec![Some(2), None, Some(0), None]);
    assert_eq!(acks.waiting(), 1);
    assert_eq!(acks.results(), &[Some(0), None, Some(17)]);
    let buf = err(101, 3);
    assert_eq!(acks.record(&parse(&buf).unwrap()[0]), Some(1));
    assert_eq!(acks.waiting(), 0);
    assert_eq!(acks.results(), &[Some(0), Some(3), Some(17)]);
}

#[test]
fn acks_ignore_data_and_wrap_around() {
    let mut acks = Acks::new(u32::MAX, 2);
    let buf = [
        answer(0x1d, u32::MAX, &[1, 1, 0, 0]),
        answer(NLMSG_DONE, u32::MAX, &[0; 4]),
        err(0, 0),
        err(u32::MAX, 22),
    ]
    .concat();
    for m in parse(&buf).unwrap() {
        acks.record(&m);
    }
    assert_eq!(acks.results(), &[Some(22), Some(0)]);
    assert_eq!(acks.waiting(), 0);
}

#[test]
fn add_flags_marks_only_the_given_frame() {
    let mut out = Vec::new();
    frame(&mut out, 0x1d, 0, 1, &[1, 1, 0, 0]);
    let last = out.len();
    frame(&mut out, 0x1d, 0, 2, &[1, 1, 0, 0]);
    add_flags(&mut out[last..], NLM_F_ACK);
    let m = parse(&out).unwrap();
    assert_eq!(m[0].flags, NLM_F_REQUEST);
    assert_eq!(m[1].flags, NLM_F_REQUEST | NLM_F_ACK);
    add_flags(&mut [0u8; 4], NLM_F_ACK); // too short: left alone, no panic
}

#[test]
fn errors_only_batch_ends_at_the_barrier_and_silence_is_success() {
    let mut acks = Acks::errors_only(10, 4);
    assert!(!acks.complete());
    for m in parse(&[err(11, 17), err(9, 0)].concat()).unwrap() {
        acks.record(&m);
    }
    assert!(
        !acks.complete(),
        "an error before the barrier does not end the wait"
    );
    assert_eq!(acks.outcomes(), vec![None, Some(17), None, None]);
    acks.record(&parse(&err(13, 0)).unwrap()[0]);
    assert!(acks.complete());
    assert_eq!(acks.outcomes(), vec![Some(0), Some(17), Some(0), Some(0)]);
    // A refused barrier ends the batch too.
    let mut acks = Acks::errors_only(1, 2);
    acks.record(&parse(&err(2, 22)).unwrap()[0]);
    assert_eq!(acks.outcomes(), vec![Some(0), Some(22)]);
}

#[test]
fn lost_answers_leave_silent_ops_unknown() {
    let mut acks = Acks::errors_only(1, 3);
    acks.record(&parse(&err(1, 2)).unwrap()[0]);
    acks.lost_some();
    acks.record(&parse(&err(3, 0)).unwrap()[0]);
    assert!(acks.complete());
    assert_eq!(acks.outcomes(), vec![Some(2), None, Some(0)]);
    // Every op acked: outcomes are exactly the answers.
    let mut acks = Acks::new(1, 2);
    acks.record(&parse(&err(2, 0)).unwrap()[0]);
    assert!(!acks.complete());
    assert_eq!(acks.outcomes(), vec![None, Some(0)]);
}
