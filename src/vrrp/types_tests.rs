//! Unit tests of `types.rs`.

use super::*;

#[test]
fn vrid_zero_is_invalid() {
    assert_eq!(Vrid::new(0), None);
    assert_eq!(Vrid::new(51).map(Vrid::get), Some(51));
    assert_eq!(Vrid::new(255).map(Vrid::get), Some(255));
}

#[test]
fn adver_int_is_twelve_bits_nonzero() {
    assert_eq!(AdverInt::new(0), None);
    assert_eq!(AdverInt::new(4096), None);
    assert_eq!(AdverInt::new(4095).map(AdverInt::get), Some(4095));
}

#[test]
fn v2_secs_conversion() {
    assert_eq!(Centiseconds::from_secs(1), Centiseconds(100));
    assert_eq!(Centiseconds(100).as_v2_secs(), Some(1));
    assert_eq!(Centiseconds(25500).as_v2_secs(), Some(255));
    assert_eq!(Centiseconds(150).as_v2_secs(), None);
    assert_eq!(Centiseconds(0).as_v2_secs(), None);
}

#[test]
fn v2_seed_backup_master_down_is_3_613_ms() {
    // RFC 3768: (256 - 99) / 256 s = 0.61328125 s exactly.
    let skew = skew_time(Version::V2, Priority(99), Centiseconds(100));
    assert_eq!(skew, Duration::from_nanos(613_281_250));
    let down = master_down_interval(Version::V2, Priority(99), Centiseconds(100));
    assert_eq!(down, Duration::from_nanos(3_613_281_250));
    assert_eq!(down.as_millis(), 3613);
}

#[test]
fn v2_skew_does_not_scale_with_interval() {
    let skew = skew_time(Version::V2, Priority(100), Centiseconds(300));
    assert_eq!(skew, Duration::from_nanos(156 * 1_000_000_000 / 256));
    let down = master_down_interval(Version::V2, Priority(100), Centiseconds(300));
    assert_eq!(
        down,
        Duration::from_secs(9) + Duration::from_nanos(609_375_000)
    );
}

#[test]
fn v3_formula_matches_rfc_5798() {
    // 1 s advert, priority 99: same as v2.
    let down = master_down_interval(Version::V3, Priority(99), Centiseconds(100));
    assert_eq!(down, Duration::from_nanos(3_613_281_250));
    // 50 ms advert, priority 99: skew = 157 * 5 / 256 cs = 30.6640625 ms,
    // floored to 30_664_062 ns.
    let skew = skew_time(Version::V3, Priority(99), Centiseconds(5));
    assert_eq!(skew, Duration::from_nanos(30_664_062));
    let down = master_down_interval(Version::V3, Priority(99), Centiseconds(5));
    assert_eq!(down, Duration::from_nanos(180_664_062));
    // Owner: skew = 1/256 of the interval.
    let skew = skew_time(Version::V3, Priority(255), Centiseconds(100));
    assert_eq!(skew, Duration::from_nanos(3_906_250));
}

#[test]
fn skew_formula_agrees_with_real_arithmetic_for_all_priorities() {
    for prio in 1..=255u8 {
        for cs in [1u16, 5, 100, 4095] {
            let skew = skew_time(Version::V3, Priority(prio), Centiseconds(cs));
            let exact = f64::from(256 - u32::from(prio)) * f64::from(cs) * 1e7 / 256.0;
            let got = skew.as_nanos() as f64;
            assert!(got <= exact && exact - got < 1.0, "prio {prio} cs {cs}");
        }
    }
}
