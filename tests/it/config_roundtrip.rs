//! import(export(c)) == c for generated valid configs, and the config
//! envelope (flash and control socket) round-trips them too.

use crate::support::arb_config;

use proptest::prelude::*;
use vigil::config::{envelope, export::export, import_str};

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn import_of_export_is_identity(c in arb_config::arb_config()) {
        let text = export(&c);
        let imp = match import_str("exported.conf", &text, false) {
            Ok(imp) => imp,
            Err(r) => {
                let errs: Vec<String> = r.errors.iter().map(|e| e.to_string()).collect();
                return Err(TestCaseError::fail(format!("{errs:#?}\n{text}")));
            }
        };
        prop_assert!(imp.warnings.is_empty(), "canonical text warns: {:?}", imp.warnings);
        prop_assert_eq!(&imp.config, &c, "\n{}", text);
        let bytes = envelope::encode(&c).unwrap();
        prop_assert_eq!(envelope::decode(&bytes).unwrap(), c);
    }
}
