//! Arbitrary text typed at the console's configuration mode: each line
//! split into words (`console::words`) and, as `set`/`delete` paths, applied
//! to a candidate; Tab's and `?`'s answers asked for every prefix.
//!
//! Properties: nothing panics; an edit that is refused leaves the
//! candidate's text as it was; a candidate's text always reads back
//! through `load` (an accepted edit never makes text the parser cannot
//! read as a tree).

use vigil::console::candidate::{Candidate, Verb, NAME};
use vigil::console::words;

const START: &str = "\
vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 51
    priority 100
    virtual_ipaddress {
        192.168.1.200/24
    }
}
virtual_server 192.168.1.200 80 {
    real_server 192.168.1.102 80 {
        TCP_CHECK {
            connect_timeout 3
        }
    }
}
";

/// One input; panics when a property fails.
pub fn run(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(loaded) = Candidate::load(NAME, START) else {
        return;
    };
    let mut c = loaded.candidate;
    for line in text.lines().take(16) {
        let Ok(w) = words::split(line) else {
            continue;
        };
        let (verb, path) = match w.split_first() {
            Some((v, rest)) if v == "set" => (Verb::Set, rest),
            Some((v, rest)) if v == "delete" => (Verb::Delete, rest),
            _ => continue,
        };
        for n in 0..=path.len() {
            let _ = c.complete(verb, &path[..n], "");
            let _ = c.help(verb, &path[..n], "");
        }
        let before = c.text();
        let done = match verb {
            Verb::Set => c.set(path),
            Verb::Delete => c.delete(path),
        };
        if done.is_err() {
            assert_eq!(c.text(), before, "a refused edit changed the candidate");
        }
        let _ = c.check();
    }
}
