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
#[path = "envelope_tests.rs"]
mod tests;
