//! Figures for the config foundation: how compact the flash encoding is,
//! how fast a large config imports, and what the commit history costs on
//! flash. Run with `make figures`.

use std::time::Instant;
use vigil::config::{envelope, import_file, import_str};
use vigil::store::{Geometry, History, Meta, Source};

/// The text without comments, trailing blanks or empty lines: what an
/// operator would call the config's content.
fn without_comments(text: &str) -> String {
    let mut out = String::new();
    for line in text.lines() {
        let mut kept = String::new();
        for word in line.split_ascii_whitespace() {
            if word.starts_with('#') || word.starts_with('!') {
                break;
            }
            if !kept.is_empty() {
                kept.push(' ');
            }
            kept.push_str(word);
        }
        if !kept.is_empty() {
            out.push_str(&kept);
            out.push('\n');
        }
    }
    out
}

fn big_config(services: usize, reals: usize) -> String {
    let mut s = String::from("global_defs {\n    router_id BENCH\n}\n");
    for v in 0..services {
        let vip = format!("10.{}.{}.1", 100 + v / 250, v % 250);
        s += &format!("virtual_server {vip} 80 {{\n    delay_loop 5\n    lvs_sched wrr\n    lvs_method DR\n    persistence_timeout 3600\n");
        for r in 0..reals {
            s += &format!(
                "    real_server 172.16.{}.{} 80 {{\n        weight 1\n        TCP_CHECK {{\n            connect_timeout 3\n            retry 3\n        }}\n    }}\n",
                r / 250,
                r % 250 + 1
            );
        }
        s += "}\n";
    }
    s
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/seed/master.conf");
    let text = std::fs::read_to_string(path).expect("seed master");
    let imp = import_file(path.as_ref(), false).expect("seed imports");
    let encoded = envelope::encode(&imp.config).expect("encode");
    println!(
        "seed master.conf: {} bytes of text, {} without comments, {} encoded ({:.0}%)",
        text.len(),
        without_comments(&text).len(),
        encoded.len(),
        100.0 * encoded.len() as f64 / without_comments(&text).len() as f64
    );

    let big = big_config(100, 100);
    let mut times = Vec::new();
    let mut size = 0;
    for _ in 0..5 {
        let t = Instant::now();
        let imp = import_str("big.conf", &big, false).expect("big config imports");
        let bytes = envelope::encode(&imp.config).expect("encode");
        times.push(t.elapsed().as_secs_f64());
        size = bytes.len();
    }
    println!(
        "100 virtual_server x 100 real_server: {} bytes of text, import + encode {:.1} ms (median of 5), {} bytes encoded",
        big.len(),
        median(times) * 1e3,
        size
    );
    history_figures(&encoded);
}

/// 16 seed-sized commits into a fresh 1 MiB store file (the lab's flash):
/// bytes written, records taken, time per commit (write, fdatasync, read
/// back, and the scan before it).
fn history_figures(seed: &[u8]) {
    let dir = std::env::temp_dir().join(format!("vigil-figures-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("flash.img");
    let mut h = History::open(&path, Geometry::default(), true).expect("store file");
    let ring = h.ring();
    let mut times = Vec::new();
    let mut written = 0;
    for i in 0..16 {
        let meta = Meta {
            time: 1_700_000_000 + i,
            user: String::new(),
            comment: format!("commit {i}"),
        };
        let t = Instant::now();
        h.commit(seed, Source::Import, &meta).expect("commit");
        times.push(t.elapsed().as_secs_f64());
        written += 64 + meta.comment.len() + seed.len();
    }
    let t = Instant::now();
    let running = h.running().expect("running").expect("a commit");
    let boot = t.elapsed().as_secs_f64();
    println!(
        "history: 16 seed commits ({} bytes each + 64-byte header + comment): {written} bytes written, \
         {} records of {} bytes taken ({} KiB of the 1 MiB file); commit {:.2} ms (median of 16, fdatasync included); \
         boot read {:.2} ms (seq {})",
        seed.len(),
        16,
        ring.record_size,
        16 * ring.record_size / 1024,
        median(times) * 1e3,
        boot * 1e3,
        running.entry.seq()
    );
    let _ = std::fs::remove_dir_all(&dir);
}
