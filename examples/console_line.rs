//! Try the console's line editor by hand, or drive it under a pty:
//! `TERM=dumb cargo run --example console_line`. A fixed command tree
//! (`show vrrp|ipvs|health|config`, `set`, `commit`, `configure`) answers
//! Tab and `?`; `password` reads a password; `load` reads lines until
//! Ctrl-D; Ctrl-D on an empty line ends.

use vigil::console::line::{Assist, Completion, Reader, Term};

struct Tree;

const TOP: &[&str] = &["commit", "configure", "load", "password", "set", "show"];
const SHOW: &[&str] = &["config", "health", "ipvs", "vrrp"];

impl Tree {
    fn words(before: &str) -> &'static [&'static str] {
        match before.trim() {
            "" => TOP,
            "show" => SHOW,
            _ => &[],
        }
    }
}

impl Assist for Tree {
    fn complete(&self, line: &str) -> Completion {
        let start = line.rfind(' ').map_or(0, |i| i + 1);
        let word = &line[start..];
        Completion {
            start,
            candidates: Tree::words(&line[..start])
                .iter()
                .filter(|w| w.starts_with(word))
                .map(|w| w.to_string())
                .collect(),
        }
    }
    fn help(&self, line: &str) -> Vec<String> {
        let start = line.rfind(' ').map_or(0, |i| i + 1);
        Tree::words(&line[..start])
            .iter()
            .map(|w| format!("  {w}"))
            .chain(std::iter::once("  <[Enter]>".to_string()))
            .collect()
    }
}

fn main() -> std::io::Result<()> {
    let mut reader = Reader::new(Term::from_env())?;
    while let Some(line) = reader.read_line("vigil> ", &Tree)? {
        match line.trim() {
            "password" => {
                let pw = reader.read_password("Password: ")?;
                println!("password of {} chars", pw.map_or(0, |p| p.chars().count()));
            }
            "load" => match reader.read_block("")? {
                Some(lines) => println!("loaded {} lines", lines.len()),
                None => println!("load abandoned"),
            },
            other => println!("you said [{other}]"),
        }
    }
    println!("bye");
    Ok(())
}
