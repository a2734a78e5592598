//! Unit tests of `nft.rs`: the framing of a batch.

use super::*;

/// (type, flags, seq) of each message of a batch.
fn headers(bytes: &[u8]) -> Vec<(u16, u16, u32)> {
    let mut out = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        let len = u32::from_ne_bytes(bytes[at..at + 4].try_into().unwrap()) as usize;
        let kind = u16::from_ne_bytes([bytes[at + 4], bytes[at + 5]]);
        let flags = u16::from_ne_bytes([bytes[at + 6], bytes[at + 7]]);
        let seq = u32::from_ne_bytes(bytes[at + 8..at + 12].try_into().unwrap());
        out.push((kind, flags, seq));
        at += (len + 3) & !3;
    }
    out
}

fn table(elements: usize) -> Table {
    Table {
        family: Family::Ip,
        name: "t",
        sets: vec![Set {
            name: "s",
            key_type: 7,
            key_len: 4,
            elements: (0..elements as u32)
                .map(|n| n.to_be_bytes().to_vec())
                .collect(),
        }],
        chains: vec![Chain {
            name: "in",
            hook: 1,
            priority: -1,
            rules: vec![vec![Expr::Verdict(Verdict::Drop)]],
        }],
    }
}

const NFT: u16 = 10 << 8;

#[test]
fn a_batch_is_framed_and_every_message_asks_for_its_ack() {
    let t = table(3);
    let b = transaction(&[(Family::Ip, "t", Some(&t)), (Family::Ip6, "t", None)]);
    let h = headers(b.bytes());
    let kinds: Vec<u16> = h.iter().map(|(k, _, _)| *k).collect();
    let want = [
        0x10,                   // begin
        NFT | NFT_MSG_NEWTABLE, // ip t made sure of
        NFT | NFT_MSG_DELTABLE, // and removed
        NFT | NFT_MSG_NEWTABLE, // made again
        NFT | NFT_MSG_NEWSET,
        NFT | NFT_MSG_NEWSETELEM,
        NFT | NFT_MSG_NEWCHAIN,
        NFT | NFT_MSG_NEWRULE,
        NFT | NFT_MSG_NEWTABLE, // ip6 t made sure of
        NFT | NFT_MSG_DELTABLE, // and removed for good
        0x11,                   // end
    ];
    assert_eq!(kinds, want);
    assert_eq!(b.messages(), want.len() - 2);
    for (n, (_, flags, seq)) in h.iter().enumerate() {
        assert_eq!(
            *seq as usize, n,
            "sequence numbers run from the begin message"
        );
        let inner = n > 0 && n < h.len() - 1;
        assert_eq!(flags & netlink::NLM_F_ACK != 0, inner, "message {n}");
    }
}

#[test]
fn a_large_set_goes_in_several_element_messages() {
    let b = transaction(&[(Family::Ip, "t", Some(&table(2 * ELEMENTS_PER_MESSAGE + 1)))]);
    let elems = headers(b.bytes())
        .iter()
        .filter(|(k, _, _)| *k == NFT | NFT_MSG_NEWSETELEM)
        .count();
    assert_eq!(elems, 3);
    assert!(b.what.iter().any(|w| w == "1 elements of set s"));
}

/// One netlink message as the kernel frames it: header, then `body`.
fn answer(kind: u16, seq: u32, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let len = 16 + body.len();
    out.extend_from_slice(&(len as u32).to_ne_bytes());
    out.extend_from_slice(&kind.to_ne_bytes());
    out.extend_from_slice(&0u16.to_ne_bytes());
    out.extend_from_slice(&seq.to_ne_bytes());
    out.extend_from_slice(&0u32.to_ne_bytes());
    out.extend_from_slice(body);
    out.resize((out.len() + 3) & !3, 0);
    out
}

/// `NLMSG_ERROR` with `errno` (0: an ack), as the kernel sends it: the
/// status, then the request's header.
fn status(seq: u32, errno: i32) -> Vec<u8> {
    let mut body = (-errno).to_ne_bytes().to_vec();
    body.extend_from_slice(&[0; 16]);
    answer(2, seq, &body)
}

#[test]
fn a_table_read_is_one_get_per_table_each_with_its_ack() {
    let bytes = get_tables(&[(Family::Ip, "vigil"), (Family::Ip6, "vigil")]);
    let get = (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_GETTABLE;
    let want_flags = netlink::NLM_F_REQUEST | netlink::NLM_F_ACK;
    assert_eq!(
        headers(&bytes),
        vec![(get, want_flags, 1), (get, want_flags, 2)]
    );
    // nfgenmsg: the family, version 0, resource id 0; then the name.
    assert_eq!(&bytes[16..20], &[2, 0, 0, 0]);
    assert_eq!(
        &bytes[20..30],
        &[10, 0, 1, 0, b'v', b'i', b'g', b'i', b'l', 0]
    );
    let second = bytes.len() / 2;
    assert_eq!(bytes[second + 16], 10, "the second asks of ip6");
}

#[test]
fn a_table_is_found_by_its_description_and_absent_by_enoent() {
    let enoent = nix::errno::Errno::ENOENT as i32;
    // Request 1's table is there (described, then acked), request 2's not.
    let both = [(Family::Ip, "vigil"), (Family::Ip6, "vigil")];
    let mut answered = [false, false];
    let mut found = false;
    let mut buf = answer(0x0a00, 1, &[2, 0, 0, 0]);
    buf.extend(status(1, 0));
    read_tables(&buf, &both, &mut answered, &mut found).unwrap();
    assert_eq!((answered, found), ([true, false], true));
    read_tables(&status(2, enoent), &both, &mut answered, &mut found).unwrap();
    assert_eq!((answered, found), ([true, true], true));

    // Neither there: both answered, nothing found.
    let (mut answered, mut found) = ([false, false], false);
    let mut buf = status(1, enoent);
    buf.extend(status(2, enoent));
    read_tables(&buf, &both, &mut answered, &mut found).unwrap();
    assert_eq!((answered, found), ([true, true], false));

    // Any other refusal is an error (the caller then removes as before);
    // an answer to a request not sent is not counted.
    let one = [(Family::Ip6, "vigil")];
    let (mut answered, mut found) = ([false], false);
    read_tables(&status(7, 0), &one, &mut answered, &mut found).unwrap();
    assert_eq!(answered, [false]);
    let eperm = nix::errno::Errno::EPERM as i32;
    match read_tables(&status(1, eperm), &one, &mut answered, &mut found) {
        Err(NftError::Refused { errno, what }) => {
            assert_eq!(errno, nix::errno::Errno::EPERM);
            assert_eq!(what, "a read of table ip6 vigil");
        }
        other => panic!("want EPERM, got {other:?}"),
    }
}
