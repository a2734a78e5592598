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
