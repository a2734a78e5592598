//! The config payload as read from flash (after the slot's CRC): decoding
//! arbitrary bytes never panics nor allocates without bound, and whatever
//! decodes encodes back to something that decodes to the same config.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vigil::config::wire;

fuzz_target!(|data: &[u8]| {
    if let Ok(config) = wire::decode(data) {
        let again = wire::encode(&config).expect("a decoded config encodes");
        assert_eq!(wire::decode(&again).expect("re-decode"), config);
    }
});
