//! The text of one word of the config, as a [`Token`](super::Token) holds it.
//!
//! Owns: where a word's bytes live. A word of at most [`INLINE`] bytes (a
//! keyword, an address, a number: nearly every word of a config) is held
//! inside the token, so lexing it allocates nothing; a longer one is one
//! exact allocation. Must not: change the text (it is the word as the
//! lexer read it).

use std::fmt;
use std::ops::Deref;

/// The longest word held inside the token, in bytes (an IPv6 address
/// with a prefix, `fe80::1234:5678:9abc:def0/64`, fits).
pub const INLINE: usize = 30;

/// A word's text: a `str` that is cheap to make for a short word.
#[derive(Clone)]
pub struct Text(Repr);

#[derive(Clone)]
enum Repr {
    Inline(heapless::String<INLINE, u8>),
    Heap(Box<str>),
}

impl Text {
    pub fn new(s: &str) -> Self {
        match heapless::String::try_from(s) {
            Ok(inline) => Text(Repr::Inline(inline)),
            Err(_) => Text(Repr::Heap(Box::from(s))),
        }
    }

    pub fn as_str(&self) -> &str {
        match &self.0 {
            Repr::Inline(s) => s.as_str(),
            Repr::Heap(s) => s,
        }
    }
}

impl Deref for Text {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<str> for Text {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl std::borrow::Borrow<str> for Text {
    fn borrow(&self) -> &str {
        self.as_str()
    }
}

impl From<&str> for Text {
    fn from(s: &str) -> Self {
        Text::new(s)
    }
}

impl From<String> for Text {
    fn from(s: String) -> Self {
        if s.len() <= INLINE {
            Text::new(&s)
        } else {
            Text(Repr::Heap(s.into_boxed_str()))
        }
    }
}

impl From<&Text> for String {
    fn from(t: &Text) -> Self {
        t.as_str().to_owned()
    }
}

impl PartialEq for Text {
    fn eq(&self, other: &Text) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for Text {}

impl PartialOrd for Text {
    fn partial_cmp(&self, other: &Text) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Text {
    fn cmp(&self, other: &Text) -> std::cmp::Ordering {
        self.as_str().cmp(other.as_str())
    }
}

impl std::hash::Hash for Text {
    fn hash<H: std::hash::Hasher>(&self, h: &mut H) {
        self.as_str().hash(h);
    }
}

impl PartialEq<str> for Text {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for Text {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl PartialEq<String> for Text {
    fn eq(&self, other: &String) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<Text> for str {
    fn eq(&self, other: &Text) -> bool {
        self == other.as_str()
    }
}

impl PartialEq<Text> for &str {
    fn eq(&self, other: &Text) -> bool {
        *self == other.as_str()
    }
}

impl fmt::Debug for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_and_long_words_read_back_the_same() {
        for s in [
            "",
            "a",
            "路由",
            &"x".repeat(INLINE),
            &"y".repeat(INLINE + 1),
        ] {
            let t = Text::new(s);
            assert_eq!(t.as_str(), s);
            assert_eq!(Text::from(s.to_owned()), t);
            assert!(matches!(t.0, Repr::Inline(_)) == (s.len() <= INLINE));
        }
        // Ordered and compared as their text, whichever way each is held.
        assert!(Text::new(&"a".repeat(INLINE + 1)) > Text::new("a"));
        assert_eq!(Text::new("weight"), "weight");
    }
}
