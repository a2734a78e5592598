//! Unit tests of `inherit.rs`: precedence checker > real_server >
//! virtual_server > default, through the whole import.

use crate::config::bounds::Millis;
use crate::config::model::{Checker, DEFAULT_CONNECT_TIMEOUT};
use crate::config::{export::export, import_str, Config};

const TEXT: &str = "\
virtual_server 10.0.0.1 80 {
    protocol TCP
    delay_loop 6
    real_server 10.0.1.1 80 {
        retry 2
        delay_loop 9
        TCP_CHECK {
            retry 1
        }
        MISC_CHECK {
            misc_path /bin/true
        }
    }
    real_server 10.0.1.2 80 {
        TCP_CHECK {
            connect_timeout 2
        }
    }
    connect_timeout 7
    retry 4
    delay_before_retry 5
    warmup 3
}
virtual_server 10.0.0.2 80 {
    protocol TCP
    real_server 10.0.1.3 80 {
        TCP_CHECK {
        }
    }
}
";

fn import(text: &str) -> Config {
    let imp = import_str("t.conf", text, false).unwrap_or_else(|r| panic!("{:?}", r.lines()));
    imp.config
}

fn check(c: &Config, vs: usize, rs: usize, n: usize) -> &Checker {
    &c.virtual_servers[vs].real_servers[rs].checkers[n]
}

#[test]
fn the_nearest_level_wins() {
    let c = import(TEXT);
    let tcp = check(&c, 0, 0, 0);
    // Its own retry; the real server's delay_loop; the virtual server's rest.
    assert_eq!(tcp.retry, 1);
    assert_eq!(tcp.delay_loop, Some(Millis::secs(9)));
    assert_eq!(tcp.connect_timeout, Millis::secs(7));
    assert_eq!(tcp.delay_before_retry, Millis::secs(5));
    assert_eq!(tcp.warmup, Some(Millis::secs(3)));
    // MISC_CHECK: the real server's retry, no connect_timeout.
    let misc = check(&c, 0, 0, 1);
    assert_eq!(misc.retry, 2);
    assert_eq!(misc.connect_timeout, DEFAULT_CONNECT_TIMEOUT);
    // The second real server: its checker's own connect_timeout, the
    // virtual server's retry; the virtual server's delay_loop stays its own.
    let second = check(&c, 0, 1, 0);
    assert_eq!(second.connect_timeout, Millis::secs(2));
    assert_eq!(second.retry, 4);
    assert_eq!(second.delay_loop, None);
    assert_eq!(c.virtual_servers[0].delay_loop, Millis::secs(6));
    // Nothing written anywhere: the kind's defaults.
    let plain = check(&c, 1, 0, 0);
    assert_eq!(*plain, Checker::new(plain.kind.clone()));
}

#[test]
fn the_resolved_values_survive_export() {
    let c = import(TEXT);
    assert_eq!(import(&export(&c)), c);
}

#[test]
fn an_inherited_value_is_checked_where_it_is_written() {
    let text = TEXT.replace("    connect_timeout 7\n", "    connect_timeout 0\n");
    let r = import_str("t.conf", &text, false).unwrap_err();
    let e = r.errors[0].to_string();
    assert!(
        e.starts_with("t.conf:19:21: error: 'connect_timeout'"),
        "{e}"
    );
}

#[test]
fn nb_get_retry_counts_only_where_keepalived_reads_it() {
    // keepalived 2.2.7 reads it in HTTP_GET / SSL_GET only; elsewhere it
    // says "Unknown keyword" and the retry stays as it was.
    let text = "\
virtual_server 10.0.0.1 80 {
    protocol TCP
    nb_get_retry 4
    real_server 10.0.1.1 80 {
        nb_get_retry 5
        TCP_CHECK {
            nb_get_retry 6
        }
        HTTP_GET {
            url {
                path /
            }
            nb_get_retry 7
        }
        MISC_CHECK {
            misc_path /bin/true
            nb_get_retry 8
        }
    }
}
";
    let imp = import_str("t.conf", text, false).unwrap_or_else(|r| panic!("{:?}", r.lines()));
    let c = &imp.config;
    let retries: Vec<u32> = (0..3).map(|n| check(c, 0, 0, n).retry).collect();
    assert_eq!(retries, [1, 7, 0]);
    let w: Vec<String> = imp.warnings.iter().map(ToString::to_string).collect();
    let at: Vec<&str> = w
        .iter()
        .map(|w| &w[..w.find(": warning").unwrap_or(0)])
        .collect();
    assert_eq!(
        at,
        [
            "t.conf:3:5",
            "t.conf:5:9",
            "t.conf:7:13",
            "t.conf:13:13",
            "t.conf:17:13"
        ],
        "{w:#?}"
    );
    assert!(w[2].contains("ignores it in TCP_CHECK, and so does vigil: the retry is this checker's 'retry', else one written in its real_server or virtual_server, else 1"), "{w:#?}");
    assert!(w[3].contains("deprecated name for 'retry'"), "{w:#?}");
    assert!(w[4].ends_with("else 0"), "{w:#?}");
}
