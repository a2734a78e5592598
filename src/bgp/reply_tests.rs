//! Unit tests of `reply.rs`, on replies BIRD 2.0.12 gave.

use super::*;

const SHOW: &str = "2002-Name       Proto      Table      State  Since         Info
1002-vigil_10_99_0_254 BGP        ---        up     2026-12-05 01:23:48  Established   
1006-  Description:    vigil neighbor 10.99.0.254
   BGP state:          Established
     Neighbor address: 10.99.0.254
     Source address:   10.99.0.1
   Channel ipv4
     State:          UP
     Routes:         0 imported, 1 exported, 0 preferred
     Route change stats:     received   rejected   filtered    ignored   accepted
1002-vigil_fd00__fe BGP        ---        start  2026-12-05 01:23:44  Active        Socket: Connection refused
1006-  BGP state:          Active
     Neighbor address: fd00::fe
     Last error:       Socket: Connection refused
1002-vigil_v4   Static     master4    up     2026-12-05 01:23:44  
1006-  Channel ipv4
     Routes:         1 imported, 0 exported, 1 preferred
0000 
";

fn decode_all(bytes: &[u8]) -> Vec<Reply> {
    let mut d = Decoder::default();
    let mut out = Vec::new();
    if let Some(r) = d.feed(bytes).unwrap() {
        out.push(r);
    }
    while let Some(r) = d.feed(&[]).unwrap() {
        out.push(r);
    }
    out
}

#[test]
fn a_reply_ends_at_its_last_line_in_whatever_pieces_it_comes() {
    let bytes = format!("0001 BIRD 2.0.12 ready.\n{SHOW}");
    for piece in [1, 3, 7, 4096] {
        let mut d = Decoder::default();
        let mut replies = Vec::new();
        for chunk in bytes.as_bytes().chunks(piece) {
            let mut next = d.feed(chunk).unwrap();
            while let Some(r) = next {
                replies.push(r);
                next = d.feed(&[]).unwrap();
            }
        }
        assert_eq!(replies.len(), 2, "pieces of {piece}");
        assert_eq!(
            (replies[0].code, replies[0].last_text()),
            (1, "BIRD 2.0.12 ready.")
        );
        assert_eq!(replies[1].code, 0);
        assert_eq!(
            replies[1].lines[2].code, 1006,
            "a continuation takes the code before it"
        );
    }
}

#[test]
fn protocols_read_sessions_errors_and_exports() {
    let r = &decode_all(SHOW.as_bytes())[0];
    let p = protocols(r);
    assert_eq!(p.len(), 3);
    assert_eq!(
        (p[0].name.as_str(), p[0].proto.as_str(), p[0].state.as_str()),
        ("vigil_10_99_0_254", "BGP", "up")
    );
    assert_eq!(p[0].bgp_state.as_deref(), Some("Established"));
    assert_eq!(p[0].exported, Some(1));
    assert_eq!(p[0].last_error, None);
    assert_eq!(p[1].bgp_state.as_deref(), Some("Active"));
    assert_eq!(
        p[1].last_error.as_deref(),
        Some("Socket: Connection refused")
    );
    assert_eq!((p[2].proto.as_str(), p[2].exported), ("Static", Some(0)));
}

#[test]
fn errors_and_framing() {
    let r =
        &decode_all(b"0002-Reading configuration from /x\n8002 /x: No such file or directory\n")[0];
    assert!(r.is_error());
    assert_eq!(r.last_text(), "/x: No such file or directory");
    let ok = &decode_all(b"0002-Reading configuration from /x\n0003 Reconfigured\n")[0];
    assert!(!ok.is_error());
    let spont = &decode_all(b"+0023 spontaneous\n0000 \n")[0];
    assert_eq!(
        (spont.code, spont.lines.len(), spont.last_text()),
        (0, 1, "")
    );
    let mut d = Decoder::default();
    assert!(matches!(d.feed(b" orphan\n"), Err(ReplyError::Framing(_))));
    let mut d = Decoder::default();
    assert!(matches!(d.feed(b"12x4 bad\n"), Err(ReplyError::Framing(_))));
    let mut d = Decoder::default();
    assert!(matches!(
        d.feed(b"0001\xff\n"),
        Err(ReplyError::Framing(_)) | Err(ReplyError::NotText)
    ));
    let mut d = Decoder::default();
    let long = vec![b'1'; REPLY_MAX + 1];
    assert_eq!(d.feed(&long), Err(ReplyError::TooLong));
}
