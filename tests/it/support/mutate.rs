//! A small deterministic mutator and the loop that runs a fuzz body over
//! its seeds and mutations of them, for `fuzz_bodies`: stable Rust, no
//! coverage feedback, so it finds shallow panics near the seeds (a length
//! off by one, a truncation, a flipped flag) and keeps the bodies built
//! and run on every `make test`. Deep search is cargo-fuzz's job.
//!
//! Owns: the mutations (bit flips, interesting bytes, truncations,
//! insertions, deletions, duplications, splices of two seeds), the seed
//! loading and the bounds (a count and a time per target). A panicking
//! input is written under `target/fuzz-failures/` and named in the
//! failure, so it can be added to the seeds once fixed.
//! Must not: depend on the clock for what it generates (only for when it
//! stops), or read anything but the seed directories it is given.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::rng::Rng;

/// How much to run one target.
#[derive(Debug, Clone, Copy)]
pub struct Budget {
    pub mutations: usize,
    pub time: Duration,
}

impl Budget {
    /// What `make test` spends per target: 1.5 s at most on a debug
    /// build (the cheap decoders reach the count in well under that).
    pub const TEST: Budget = Budget {
        mutations: 20_000,
        time: Duration::from_millis(1500),
    };
}

/// What one run did.
#[derive(Debug)]
pub struct Report {
    pub seeds: usize,
    pub mutations: usize,
    pub elapsed: Duration,
}

/// Files (not directories) of `dirs`, recursively, sorted; `ext` filters
/// by extension when given. Paths are relative to the repository root.
pub fn seed_files(dirs: &[&str], ext: Option<&str>) -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut out = Vec::new();
    let mut stack: Vec<PathBuf> = dirs.iter().map(|d| root.join(d)).collect();
    while let Some(p) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&p) else {
            continue;
        };
        for e in rd.flatten() {
            let path = e.path();
            if path.is_dir() {
                stack.push(path);
            } else if ext.is_none_or(|x| path.extension().is_some_and(|e| e == x)) {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

/// Runs `body` over every seed, then mutations of them until the budget
/// is spent. Panics (failing the test) naming the saved input when the
/// body panics.
pub fn run(target: &str, seeds: &[PathBuf], budget: Budget, body: fn(&[u8])) -> Report {
    let start = Instant::now();
    let corpus: Vec<Vec<u8>> = seeds
        .iter()
        .map(|p| std::fs::read(p).unwrap_or_else(|e| panic!("{}: {e}", p.display())))
        .collect();
    assert!(!corpus.is_empty(), "{target}: no seeds");
    for (input, path) in corpus.iter().zip(seeds) {
        one(target, body, input, &format!("seed {}", path.display()));
    }
    // The seed of the generator is the target's name: the same mutations
    // on every run and machine; only how many fit in the time varies.
    let mut rng = Rng(target.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    }));
    let mut mutations = 0;
    while mutations < budget.mutations && start.elapsed() < budget.time {
        let input = mutate(&mut rng, &corpus);
        one(target, body, &input, &format!("mutation {mutations}"));
        mutations += 1;
    }
    Report {
        seeds: corpus.len(),
        mutations,
        elapsed: start.elapsed(),
    }
}

fn one(target: &str, body: fn(&[u8]), input: &[u8], what: &str) {
    if catch_unwind(AssertUnwindSafe(|| body(input))).is_ok() {
        return;
    }
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/fuzz-failures");
    let _ = std::fs::create_dir_all(&dir);
    let path = dir.join(format!("{target}-{}", what.replace([' ', '/'], "_")));
    let _ = std::fs::write(&path, input);
    panic!(
        "fuzz body {target} panicked on {what} ({} bytes), saved as {}",
        input.len(),
        path.display()
    );
}

/// Bytes worth writing over others: edges of signed and unsigned ranges,
/// and the characters parsers split on.
const INTERESTING: &[u8] = &[
    0, 1, 0x7f, 0x80, 0xff, b'\n', b' ', b'{', b'}', b'-', b'0', b'9',
];

/// One to four stacked edits of a seed picked from `corpus`.
pub fn mutate(rng: &mut Rng, corpus: &[Vec<u8>]) -> Vec<u8> {
    let mut v = corpus[rng.below(corpus.len())].clone();
    for _ in 0..1 + rng.below(4) {
        edit(rng, corpus, &mut v);
    }
    v
}

fn edit(rng: &mut Rng, corpus: &[Vec<u8>], v: &mut Vec<u8>) {
    let at = rng.below(v.len() + 1);
    let last = v.len().saturating_sub(1);
    match rng.below(8) {
        0 if !v.is_empty() => v[at.min(last)] ^= 1 << rng.below(8),
        1 if !v.is_empty() => v[at.min(last)] = INTERESTING[rng.below(INTERESTING.len())],
        2 => v.truncate(at),
        3 => {
            let n = 1 + rng.below(8);
            let bytes: Vec<u8> = (0..n).map(|_| rng.next() as u8).collect();
            v.splice(at..at, bytes);
        }
        4 => {
            let end = (at + 1 + rng.below(16)).min(v.len());
            v.drain(at.min(end)..end);
        }
        5 => {
            let end = (at + 1 + rng.below(32)).min(v.len());
            let chunk = v[at.min(end)..end].to_vec();
            let to = rng.below(v.len() + 1);
            v.splice(to..to, chunk);
        }
        6 => {
            let other = &corpus[rng.below(corpus.len())];
            let from = rng.below(other.len() + 1);
            v.truncate(at);
            v.extend_from_slice(&other[from..]);
        }
        _ => {
            // A 16- or 32-bit field set to an edge value, big-endian as
            // the wire formats are.
            let edge = [0u32, 1, 0xff, 0xffff, 0x7fff_ffff, 0xffff_ffff][rng.below(6)];
            let width = if rng.below(2) == 0 { 2 } else { 4 };
            let bytes = &edge.to_be_bytes()[4 - width..];
            if at + width <= v.len() {
                v[at..at + width].copy_from_slice(bytes);
            }
        }
    }
}
