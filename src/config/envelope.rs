//! The versioned envelope a config travels in: on flash and over the
//! control socket.
//!
//! Owns: the top-level enum whose variant index is the format version, the
//! postcard encoding around it, and the optional deflate layer. Must not:
//! change a variant that has shipped. postcard is not self-describing, so a
//! new field in the model means a new variant here and a conversion from
//! the old one.
//!
//! Layout: one byte saying how the rest is packed, then the rest.
//!
//! | first byte | rest                                        |
//! |------------|---------------------------------------------|
//! | 0          | postcard of [`Stored`]                      |
//! | 1          | zlib (RFC 1950) of the postcard of [`Stored`] |
//!
//! `encode` picks whichever is smaller. Inflating is bounded
//! ([`INFLATED_MAX`]), so a hostile payload cannot exhaust memory.

use super::model::Config;
use miniz_oxide::inflate::DecompressError;
use serde::{Deserialize, Serialize};

/// Every config format vigil has written. Append, never reorder.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Stored {
    V1(Config),
}

const PLAIN: u8 = 0;
const DEFLATE: u8 = 1;

/// The largest postcard a payload may inflate to. A config at every bound
/// of `bounds` is far below this.
pub const INFLATED_MAX: usize = 16 << 20;

#[derive(Debug, thiserror::Error)]
pub enum EnvelopeError {
    #[error("config payload is empty")]
    Empty,
    #[error("config payload packing {0} is unknown (0 plain, 1 deflate)")]
    Packing(u8),
    #[error("config payload does not inflate: {0:?}")]
    Inflate(miniz_oxide::inflate::TINFLStatus),
    #[error("config payload inflates beyond {INFLATED_MAX} bytes")]
    TooLarge,
    #[error("config payload does not decode as any known format version: {0}")]
    Decode(#[source] postcard::Error),
    #[error("config payload has {0} trailing bytes after the config")]
    Trailing(usize),
    #[error("config does not encode: {0}")]
    Encode(#[source] postcard::Error),
}

pub fn encode(config: &Config) -> Result<Vec<u8>, EnvelopeError> {
    let plain =
        postcard::to_allocvec(&Stored::V1(config.clone())).map_err(EnvelopeError::Encode)?;
    let packed = miniz_oxide::deflate::compress_to_vec_zlib(&plain, 9);
    let (tag, body) = if packed.len() < plain.len() {
        (DEFLATE, packed)
    } else {
        (PLAIN, plain)
    };
    let mut out = Vec::with_capacity(body.len() + 1);
    out.push(tag);
    out.extend_from_slice(&body);
    Ok(out)
}

/// Decode any known version and bring it to the current model.
pub fn decode(bytes: &[u8]) -> Result<Config, EnvelopeError> {
    let (&tag, body) = bytes.split_first().ok_or(EnvelopeError::Empty)?;
    let inflated;
    let plain = match tag {
        PLAIN => body,
        DEFLATE => {
            inflated = miniz_oxide::inflate::decompress_to_vec_zlib_with_limit(body, INFLATED_MAX)
                .map_err(inflate_error)?;
            &inflated[..]
        }
        other => return Err(EnvelopeError::Packing(other)),
    };
    let (stored, rest) =
        postcard::take_from_bytes::<Stored>(plain).map_err(EnvelopeError::Decode)?;
    if !rest.is_empty() {
        return Err(EnvelopeError::Trailing(rest.len()));
    }
    match stored {
        Stored::V1(c) => Ok(c),
    }
}

fn inflate_error(e: DecompressError) -> EnvelopeError {
    match e.status {
        miniz_oxide::inflate::TINFLStatus::HasMoreOutput => EnvelopeError::TooLarge,
        status => EnvelopeError::Inflate(status),
    }
}

#[cfg(test)]
mod tests {
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
}
