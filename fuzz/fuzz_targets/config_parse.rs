//! Config import from arbitrary bytes: never panics, and whatever imports
//! survives export + re-import unchanged (the canonical text is a fixed
//! point). Seed corpus: fixtures/ (the seed's configs).
#![no_main]

use libfuzzer_sys::fuzz_target;
use vigil::config::{export::export, import_str, envelope};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(imp) = import_str("fuzz.conf", text, false) else {
        return;
    };
    let canonical = export(&imp.config);
    let again = match import_str("canonical.conf", &canonical, false) {
        Ok(again) => again,
        Err(r) => panic!("canonical text does not import: {:?}\n{canonical}", r.errors),
    };
    assert_eq!(again.config, imp.config, "round trip changed the config:\n{canonical}");
    let bytes = envelope::encode(&imp.config).expect("encode");
    assert_eq!(envelope::decode(&bytes).expect("decode"), imp.config);
});
