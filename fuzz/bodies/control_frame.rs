//! Control socket frames from arbitrary bytes (`vigil::control`): what a
//! peer on the socket sends the server (a `Request`) and what a client
//! reads back (a `Response`).
//!
//! Properties: `decode_header` and `decode_frame` never panic and never
//! allocate what the header claims before the bytes are there; a frame
//! that decodes used no more bytes than it was given; whatever decodes
//! encodes to a frame that decodes to the same message.
//! Must not: do anything but call the codec.

use vigil::control::{decode_frame, decode_header, encode_frame, Request, Response, HEADER_LEN};

/// Decode as `$ty`; what decodes must re-encode and decode the same. A
/// macro rather than a generic function so this file names no serde
/// bounds (the fuzz crate depends on vigil and libfuzzer-sys only).
macro_rules! round_trip {
    ($ty:ty, $data:expr) => {
        if let Ok((msg, used)) = decode_frame::<$ty>($data) {
            assert!(used >= HEADER_LEN && used <= $data.len(), "used {used}");
            let frame = encode_frame(&msg).expect("a decoded message encodes");
            let (again, n) = decode_frame::<$ty>(&frame).expect("an encoded frame decodes");
            assert_eq!(n, frame.len());
            assert_eq!(again, msg);
        }
    };
}

/// One input; panics when a property fails.
pub fn run(data: &[u8]) {
    if decode_header(data).is_ok() {
        assert!(data.len() >= HEADER_LEN);
    }
    round_trip!(Request, data);
    round_trip!(Response, data);
}
