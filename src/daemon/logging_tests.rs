//! The vocabulary, checked over the source: every tracing call site of the
//! crate is read and its field names compared with the names journald
//! owns and the synonyms the vocabulary retired.

use std::path::{Path, PathBuf};

/// journald's own fields (and tracing-journald's): a user field of the
/// same name, sent without a prefix, would sit beside or override it.
const RESERVED: &[&str] = &[
    "priority",
    "message",
    "target",
    "errno",
    "unit",
    "user_unit",
    "tid",
    "code_file",
    "code_line",
    "code_func",
    "documentation",
    "message_id",
    "invocation_id",
    "user_invocation_id",
];

/// Names the vocabulary replaced: a line using one would not be found by
/// the filter on the right one.
const RETIRED: &[(&str, &str)] = &[
    ("service", "virtual_server"),
    ("real", "real_server"),
    ("watchdog", "device"),
    ("to", "state"),
];

#[test]
fn no_call_site_uses_a_reserved_or_retired_field_name() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut bad = Vec::new();
    let mut sites = 0;
    for file in rust_files(&src) {
        let text = std::fs::read_to_string(&file).expect("read a source file");
        for (line, args) in call_sites(&text) {
            sites += 1;
            for name in field_names(&args) {
                let low = name.to_ascii_lowercase();
                if RESERVED.contains(&low.as_str()) || low.starts_with("syslog_") {
                    bad.push(format!("{}:{line}: `{name}` is journald's", file.display()));
                }
                if let Some((_, good)) = RETIRED.iter().find(|(old, _)| *old == low) {
                    bad.push(format!("{}:{line}: `{name}`: say `{good}`", file.display()));
                }
            }
        }
    }
    assert!(
        sites > 100,
        "found only {sites} tracing call sites: the scan is broken"
    );
    assert!(
        bad.is_empty(),
        "field names off the vocabulary:\n{}",
        bad.join("\n")
    );
}

#[test]
fn the_scan_reads_the_forms_of_a_field() {
    let text = r#"
        tracing::info!(instance = %m.name, vrid = 5, ?reason, %real, "vrrp state change {x}", x = 1);
        warn!(
            virtual_server = %vs,
            "a, b"
        );
    "#;
    let sites = call_sites(text);
    assert_eq!(sites.len(), 2);
    assert_eq!(sites[0].0, 2);
    assert_eq!(
        field_names(&sites[0].1),
        ["instance", "vrid", "reason", "real"]
    );
    assert_eq!(field_names(&sites[1].1), ["virtual_server"]);
}

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).expect("read src") {
        let path = entry.expect("dir entry").path();
        if path.is_dir() {
            out.extend(rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs")
            && !path.to_string_lossy().ends_with("_tests.rs")
        {
            out.push(path);
        }
    }
    out
}

/// Each `level!(...)` call: its line number and the text between its
/// parentheses.
fn call_sites(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    for level in ["trace!(", "debug!(", "info!(", "warn!(", "error!("] {
        let mut from = 0;
        while let Some(at) = text[from..].find(level) {
            let start = from + at + level.len();
            from = start;
            let before = text[..start - level.len()].chars().next_back();
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
                continue; // `my_error!(`: another macro
            }
            let line = text[..start].matches('\n').count() + 1;
            if let Some(len) = closing(&text[start..]) {
                out.push((line, text[start..start + len].to_owned()));
            }
        }
    }
    out.sort();
    out
}

/// The length up to the bracket closing one opened before `s`.
fn closing(s: &str) -> Option<usize> {
    outside_strings(s)
        .into_iter()
        .find(|&(_, c, depth)| depth == 0 && matches!(c, ')' | ']' | '}'))
        .map(|(i, _, _)| i)
}

/// The field names of a call's arguments: those before the message
/// string (`name = v`, `name = %v`, `%name`, `?name`, `name`).
fn field_names(args: &str) -> Vec<String> {
    let mut names = Vec::new();
    for arg in top_level(args) {
        let arg = arg.trim();
        if arg.starts_with('"') {
            break;
        }
        let head = match arg.split_once('=') {
            Some((h, rest)) if !rest.starts_with('=') => h,
            _ => arg.trim_start_matches(['%', '?']),
        };
        let name = head.trim();
        if !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_alphanumeric() || "_.".contains(c))
        {
            names.push(name.to_owned());
        }
    }
    names
}

/// The arguments split at commas outside brackets and strings.
fn top_level(args: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    for (i, c, depth) in outside_strings(args) {
        if c == ',' && depth == 0 {
            out.push(&args[start..i]);
            start = i + 1;
        }
    }
    out.push(&args[start..]);
    out
}

/// The characters of `s` outside string literals (a literal's quotes
/// included), each with its byte offset and the bracket depth before it.
fn outside_strings(s: &str) -> Vec<(usize, char, i32)> {
    let mut out = Vec::new();
    let (mut depth, mut in_str, mut escaped) = (0, false, false);
    for (i, c) in s.char_indices() {
        if in_str {
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => in_str = false,
                _ => {}
            }
            continue;
        }
        out.push((i, c, depth));
        match c {
            '"' => in_str = true,
            '(' | '[' | '{' => depth += 1,
            ')' | ']' | '}' => depth -= 1,
            _ => {}
        }
    }
    out
}
