//! Completion candidates laid out in columns, as `ls` does: sorted down
//! the columns, as many columns as fit the width.
//!
//! Owns: the layout. Must not: write anything (the machine adds CR LF).

/// The rows of `words` in columns, none longer than `width - 1` columns
/// (a word longer than that gets a row of its own). Widths count chars.
pub fn layout(words: &[String], width: usize) -> Vec<String> {
    let longest = words.iter().map(|w| w.chars().count()).max().unwrap_or(0);
    let cell = longest + 2;
    let cols = (width.saturating_sub(1) / cell).max(1);
    let rows = words.len().div_ceil(cols);
    (0..rows)
        .map(|r| {
            let mut line = String::new();
            let mut row = (0..cols).filter_map(|c| words.get(c * rows + r)).peekable();
            while let Some(word) = row.next() {
                line.push_str(word);
                if row.peek().is_some() {
                    let pad = cell - word.chars().count();
                    line.extend(std::iter::repeat_n(' ', pad));
                }
            }
            line
        })
        .collect()
}

#[cfg(test)]
#[path = "columns_tests.rs"]
mod tests;
