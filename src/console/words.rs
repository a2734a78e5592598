//! A console command line split into words.
//!
//! Owns: the command line's lexical rules: words separated by spaces or
//! tabs; `"..."` is one word with the quotes removed (`\"` and `\\` the
//! only escapes, as in a keepalived.conf); `|` is a word of its own
//! outside quotes (`show | compare`). Must not: know any command.

/// Why a line could not be split.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WordsError {
    #[error("unterminated quote starting at column {column}: expected a closing '\"'")]
    UnterminatedQuote { column: usize },
}

/// The words of `line`.
pub fn split(line: &str) -> Result<Vec<String>, WordsError> {
    let mut words = Vec::new();
    let mut chars = line.char_indices().peekable();
    while let Some(&(at, c)) = chars.peek() {
        if c == ' ' || c == '\t' {
            chars.next();
        } else if c == '|' {
            chars.next();
            words.push("|".to_owned());
        } else if c == '"' {
            chars.next();
            words.push(quoted(&mut chars, at)?);
        } else {
            let mut w = String::new();
            while let Some(&(_, c)) = chars.peek() {
                if c == ' ' || c == '\t' || c == '|' || c == '"' {
                    break;
                }
                w.push(c);
                chars.next();
            }
            words.push(w);
        }
    }
    Ok(words)
}

fn quoted(
    chars: &mut std::iter::Peekable<std::str::CharIndices<'_>>,
    at: usize,
) -> Result<String, WordsError> {
    let mut w = String::new();
    while let Some((_, c)) = chars.next() {
        match c {
            '"' => return Ok(w),
            '\\' if matches!(chars.peek(), Some((_, '"' | '\\'))) => {
                if let Some((_, e)) = chars.next() {
                    w.push(e);
                }
            }
            c => w.push(c),
        }
    }
    Err(WordsError::UnterminatedQuote { column: at + 1 })
}

/// Whether the text before the cursor ends inside an open quote (where
/// `?` and Tab are plain characters).
pub fn in_quote(before: &str) -> bool {
    let mut open = false;
    let mut escaped = false;
    for c in before.chars() {
        match c {
            '\\' if open && !escaped => {
                escaped = true;
                continue;
            }
            '"' if !escaped => open = !open,
            _ => {}
        }
        escaped = false;
    }
    open
}

/// The words before the cursor and the partial word at it: `"set vrrp_i"`
/// -> (["set"], "vrrp_i", 4); `"set "` -> (["set"], "", 4). The partial
/// word's byte offset is where a completion replaces from. `None`: the
/// text before the cursor does not split (an open quote).
pub fn before_cursor(before: &str) -> Option<(Vec<String>, String, usize)> {
    let start = before.rfind([' ', '\t', '|']).map_or(0, |i| i + 1);
    let (done, partial) = before.split_at(start);
    let words = split(done).ok()?;
    if partial.contains('"') {
        return None;
    }
    Some((words, partial.to_owned(), start))
}

/// `word` as it must be typed to come back as itself from [`split`].
pub fn quote(word: &str) -> String {
    let plain = !word.is_empty() && !word.contains([' ', '\t', '|', '"', '\\']);
    if plain {
        return word.to_owned();
    }
    let mut q = String::with_capacity(word.len() + 2);
    q.push('"');
    for c in word.chars() {
        if c == '"' || c == '\\' {
            q.push('\\');
        }
        q.push(c);
    }
    q.push('"');
    q
}

#[cfg(test)]
#[path = "words_tests.rs"]
mod tests;
