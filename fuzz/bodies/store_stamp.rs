//! Arbitrary bytes as the check stamp after a commit's payload
//! (`vigil::store::stamp`).
//!
//! Properties: decoding never panics; whatever decodes is exactly what
//! `encode` writes for it (so no two byte strings read as one stamp), and
//! covers the payload it was made for and not one byte more.

use vigil::store::stamp::{Stamp, LEN};

/// One input; panics when a property fails.
pub fn run(data: &[u8]) {
    if let Some(s) = Stamp::decode(data) {
        assert_eq!(&s.encode()[..], &data[..LEN]);
        assert!(s.build.as_bytes().len() <= vigil::store::stamp::MAX_BUILD_ID);
    }
    // Made from the input: a build id and a payload.
    let Some((&n, rest)) = data.split_first() else {
        return;
    };
    let id_len = usize::from(n % 32) + 1;
    let (id, payload) = rest.split_at(id_len.min(rest.len()));
    let Some(build) = vigil::store::BuildId::new(id) else {
        return;
    };
    let s = Stamp::of(&build, payload);
    assert_eq!(Stamp::decode(&s.encode()), Some(s.clone()));
    assert_eq!(s.build_for(payload), Some(&build));
    let mut longer = payload.to_vec();
    longer.push(0);
    assert!(!s.covers(&longer));
}
