//! Config import from arbitrary bytes: never panics, and whatever imports
//! survives export + re-import unchanged (the canonical text is a fixed
//! point). Seed corpus: fixtures/ (the seed's configs).
use vigil::config::{envelope, export::export, import_str_with, ImportOptions};
use vigil::resolve::Resolver;

/// One input; panics when a property fails.
pub fn run(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    // No name reaches DNS from a fuzzer: names resolve against an empty
    // table (an error, as an unknown name is).
    let opts = ImportOptions {
        resolver: Resolver::Table(Default::default()),
        ..ImportOptions::new(false)
    };
    let Ok(imp) = import_str_with("fuzz.conf", text, &opts) else {
        return;
    };
    let canonical = export(&imp.config);
    let again = match import_str_with("canonical.conf", &canonical, &opts) {
        Ok(again) => again,
        Err(r) => panic!(
            "canonical text does not import: {:?}\n{canonical}",
            r.errors
        ),
    };
    assert_eq!(
        again.config, imp.config,
        "round trip changed the config:\n{canonical}"
    );
    let bytes = envelope::encode(&imp.config).expect("encode");
    assert_eq!(envelope::decode(&bytes).expect("decode"), imp.config);
}
