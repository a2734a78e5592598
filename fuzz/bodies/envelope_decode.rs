//! The config payload as read from flash (after the slot's CRC): decoding
//! arbitrary bytes never panics nor allocates without bound, and whatever
//! decodes encodes back to something that decodes to the same config.
use vigil::config::envelope;

/// One input; panics when a property fails.
pub fn run(data: &[u8]) {
    if let Ok(config) = envelope::decode(data) {
        let again = envelope::encode(&config).expect("a decoded config encodes");
        assert_eq!(envelope::decode(&again).expect("re-decode"), config);
    }
}
