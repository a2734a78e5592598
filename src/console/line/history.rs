//! The lines entered before, for Up/Down.
//!
//! Owns: the bound (oldest dropped first), the rules for what is kept (no
//! empty line, no line equal to the one before it) and the browsing
//! position with the line being edited saved aside.
//! Must not: touch a file; the history lives as long as the console session.

use std::collections::VecDeque;

/// Lines kept.
pub const MAX_ENTRIES: usize = 100;

/// The history and where Up/Down have got to in it.
#[derive(Debug, Clone, Default)]
pub struct History {
    entries: VecDeque<String>,
    /// The entry shown while browsing (`None`: the line being edited).
    at: Option<usize>,
    /// The line being edited when browsing began.
    saved: String,
}

impl History {
    pub fn new() -> History {
        History::default()
    }

    /// Keeps `line` unless it is blank or repeats the newest entry; ends
    /// any browsing.
    pub fn add(&mut self, line: &str) {
        self.reset();
        if line.trim().is_empty() || self.entries.back().is_some_and(|l| l == line) {
            return;
        }
        if self.entries.len() == MAX_ENTRIES {
            self.entries.pop_front();
        }
        self.entries.push_back(line.to_owned());
    }

    /// Forgets the browsing position (a new line begins).
    pub fn reset(&mut self) {
        self.at = None;
        self.saved.clear();
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The entries, oldest first.
    pub fn entries(&self) -> impl Iterator<Item = &str> {
        self.entries.iter().map(String::as_str)
    }

    /// Up: the entry before the one shown; `current` is the line on screen,
    /// saved when browsing begins. `None`: nothing older.
    pub fn older(&mut self, current: &str) -> Option<&str> {
        let at = match self.at {
            None if self.entries.is_empty() => return None,
            None => {
                self.saved = current.to_owned();
                self.entries.len() - 1
            }
            Some(0) => return None,
            Some(i) => i - 1,
        };
        self.at = Some(at);
        Some(&self.entries[at])
    }

    /// Down: the entry after the one shown, then the saved line. `None`:
    /// not browsing.
    pub fn newer(&mut self) -> Option<&str> {
        let i = self.at?;
        if i + 1 < self.entries.len() {
            self.at = Some(i + 1);
            Some(&self.entries[i + 1])
        } else {
            self.at = None;
            Some(&self.saved)
        }
    }
}

#[cfg(test)]
#[path = "history_tests.rs"]
mod tests;
