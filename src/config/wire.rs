//! The versioned envelope a config travels in: on flash and over the
//! control socket.
//!
//! Owns: the top-level enum whose variant index is the format version, and
//! the postcard encode/decode around it. Must not: change a variant that
//! has shipped. postcard is not self-describing, so a new field in the
//! model means a new variant here and a conversion from the old one.

use super::model::Config;
use serde::{Deserialize, Serialize};

/// Every config format vigil has written. Append, never reorder.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Stored {
    V1(Config),
}

#[derive(Debug, thiserror::Error)]
pub enum WireError {
    #[error("config payload does not decode as any known format version: {0}")]
    Decode(#[source] postcard::Error),
    #[error("config payload has {0} trailing bytes after the config")]
    Trailing(usize),
    #[error("config does not encode: {0}")]
    Encode(#[source] postcard::Error),
}

pub fn encode(config: &Config) -> Result<Vec<u8>, WireError> {
    postcard::to_allocvec(&Stored::V1(config.clone())).map_err(WireError::Encode)
}

/// Decode any known version and bring it to the current model.
pub fn decode(bytes: &[u8]) -> Result<Config, WireError> {
    let (stored, rest) = postcard::take_from_bytes::<Stored>(bytes).map_err(WireError::Decode)?;
    if !rest.is_empty() {
        return Err(WireError::Trailing(rest.len()));
    }
    match stored {
        Stored::V1(c) => Ok(c),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_round_trips_and_is_tagged_v1() {
        let c = Config::default();
        let bytes = encode(&c).unwrap();
        assert_eq!(bytes[0], 0, "variant index 0 is V1");
        assert_eq!(decode(&bytes).unwrap(), c);
    }

    #[test]
    fn garbage_and_trailing_bytes_are_refused() {
        assert!(matches!(decode(&[7, 1, 2]), Err(WireError::Decode(_))));
        let mut bytes = encode(&Config::default()).unwrap();
        bytes.push(0);
        assert!(matches!(decode(&bytes), Err(WireError::Trailing(1))));
    }
}
