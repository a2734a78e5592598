//! Unit tests of `envelope.rs`.

use super::*;

fn plain(c: &Config) -> Vec<u8> {
    let mut out = vec![PLAIN];
    out.extend(postcard::to_allocvec(&Stored::V1(c.clone())).unwrap());
    out
}

#[test]
fn plain_payloads_decode_and_are_tagged_v1() {
    let c = Config::default();
    let bytes = plain(&c);
    assert_eq!(bytes[1], 0, "variant index 0 is V1");
    assert_eq!(decode(&bytes).unwrap(), c);
    assert_eq!(decode(&encode(&c).unwrap()).unwrap(), c);
}

#[test]
fn encode_picks_the_smaller_packing() {
    let c = Config::default();
    let bytes = encode(&c).unwrap();
    assert!(bytes.len() <= plain(&c).len());
}

#[test]
fn a_repetitive_config_is_deflated_and_round_trips() {
    let mut c = Config::default();
    c.global.notification_email = vec!["ops@example.com".to_owned(); 16];
    let bytes = encode(&c).unwrap();
    assert_eq!(bytes[0], DEFLATE);
    assert_eq!(decode(&bytes).unwrap(), c);
}

#[test]
fn garbage_trailing_bytes_and_unknown_packing_are_refused() {
    assert!(matches!(decode(&[]), Err(EnvelopeError::Empty)));
    assert!(matches!(
        decode(&[PLAIN, 7, 1, 2]),
        Err(EnvelopeError::Decode(_))
    ));
    assert!(matches!(decode(&[9, 0]), Err(EnvelopeError::Packing(9))));
    assert!(matches!(
        decode(&[DEFLATE, 1, 2, 3]),
        Err(EnvelopeError::Inflate(_))
    ));
    let mut bytes = plain(&Config::default());
    bytes.push(0);
    assert!(matches!(decode(&bytes), Err(EnvelopeError::Trailing(1))));
}

#[test]
fn an_inflation_bomb_is_refused() {
    let zeros = vec![0u8; INFLATED_MAX + 1];
    let mut bomb = vec![DEFLATE];
    bomb.extend(miniz_oxide::deflate::compress_to_vec_zlib(&zeros, 9));
    assert!(bomb.len() < 64 * 1024, "fits a slot: {}", bomb.len());
    assert!(matches!(decode(&bomb), Err(EnvelopeError::TooLarge)));
}
