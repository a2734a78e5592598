//! `vigil console`: the box's command line, on the serial console in place
//! of a login shell and on any terminal.
//!
//! Owns: wiring the line editor, the candidate config, the interpreter
//! and the login to a terminal and the control socket. Must not: edit a
//! config file or the store behind the daemon's back: every change is a
//! commit request on the control socket.

pub mod candidate;
pub mod line;
pub mod local;
pub mod login;
pub mod shell;
pub mod words;

use std::io::{self, Write};
use std::path::PathBuf;

use crate::config;
use crate::control::{render, CommitAsk, CommitOutcome, ConfigText, Request, Response};
use line::{Reader, Term};
use local::Local;
use shell::{Backend, Next, Shell};

/// How `vigil console` runs.
#[derive(Debug, Clone)]
pub struct Options {
    /// The daemon's control socket.
    pub control: PathBuf,
    /// Ask for the console password first (the serial getty's mode).
    pub login: bool,
}

/// Exit codes, as the rest of the CLI's.
const EXIT_OK: i32 = 0;
const EXIT_DENIED: i32 = 1;
const EXIT_IO: i32 = 3;

/// How long the login waits for the daemon (a console started at boot
/// comes up before vigil does).
const DAEMON_WAIT: std::time::Duration = std::time::Duration::from_secs(90);

/// Runs the console until `exit` or the end of input.
pub fn run(opts: &Options) -> i32 {
    let mut reader = match Reader::new(Term::from_env()) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("vigil console: cannot use the terminal: {e}");
            return EXIT_IO;
        }
    };
    let mut backend = Local {
        control: opts.control.clone(),
    };
    let tty = tty_name();
    if opts.login {
        match log_in(&mut reader, &mut backend, &tty) {
            Ok(true) => {}
            Ok(false) => return EXIT_DENIED,
            Err(e) => {
                eprintln!("vigil console: {e}");
                return EXIT_IO;
            }
        }
    }
    let mut shell = Shell::new(backend, commit_user(opts.login, &tty));
    say(&format!(
        "vigil {} console on {}: ? lists the commands, Tab completes\n",
        env!("CARGO_PKG_VERSION"),
        shell.backend().system().hostname
    ));
    match commands(&mut reader, &mut shell) {
        Ok(()) => EXIT_OK,
        Err(e) => {
            eprintln!("vigil console: {e}");
            EXIT_IO
        }
    }
}

fn commands<B: Backend>(reader: &mut Reader, shell: &mut Shell<B>) -> io::Result<()> {
    loop {
        let prompt = shell.prompt();
        let Some(line) = reader.read_line(&prompt, &*shell)? else {
            let mut out = String::new();
            shell.hang_up(&mut out);
            say(&out);
            return Ok(());
        };
        let mut out = String::new();
        let next = shell.execute(&line, &mut out);
        say(&out);
        match next {
            Next::Command => {}
            Next::Exit => return Ok(()),
            Next::Shell => root_shell(reader)?,
            Next::Paste => {
                let mut out = String::new();
                match reader.read_block("")? {
                    Some(lines) => shell.pasted(&(lines.join("\n") + "\n"), &mut out),
                    None => out.push_str("paste abandoned; the candidate is unchanged\n"),
                }
                say(&out);
            }
        }
    }
}

/// `start shell`: /bin/sh on this terminal in its saved mode, then the
/// console again.
fn root_shell(reader: &mut Reader) -> io::Result<()> {
    let _paused = reader.pause()?;
    say("a root shell: `exit` comes back to the console\n");
    match std::process::Command::new("/bin/sh").arg("-l").status() {
        Ok(_) => {}
        Err(e) => say(&format!("error: cannot start /bin/sh: {e}\n")),
    }
    Ok(())
}

fn say(text: &str) {
    let mut out = io::stdout().lock();
    let _ = out.write_all(text.as_bytes());
    let _ = out.flush();
}

/// The serial getty's gate: the console password of the running config,
/// or on a factory-fresh box one chosen now and committed. `Ok(false)`:
/// denied (wrong passwords, or no daemon to ask).
fn log_in(reader: &mut Reader, backend: &mut Local, tty: &str) -> io::Result<bool> {
    let host = backend.system().hostname;
    say(&format!("\nvigil console on {host} ({tty})\n"));
    let Some(running) = wait_running(backend) else {
        say("vigil is not answering on its control socket, so the console password cannot be checked; try again in a minute\n");
        return Ok(false);
    };
    let hash = config::import_str("running", &running.text, false)
        .ok()
        .and_then(|imp| login::hash_of(&imp.config).map(str::to_owned));
    match hash {
        Some(hash) => check_password(reader, &hash),
        None => choose_password(reader, backend, &running),
    }
}

fn wait_running(backend: &mut Local) -> Option<ConfigText> {
    let start = std::time::Instant::now();
    let mut said = false;
    loop {
        match backend.query(&Request::Running) {
            Ok(Response::Config(c)) => return Some(c),
            _ if start.elapsed() < DAEMON_WAIT => {
                if !said {
                    say("waiting for vigil to start...\n");
                    said = true;
                }
                std::thread::sleep(std::time::Duration::from_secs(1));
            }
            _ => return None,
        }
    }
}

fn check_password(reader: &mut Reader, hash: &str) -> io::Result<bool> {
    let mut wrong = 0;
    while wrong < login::ATTEMPTS {
        let Some(typed) = reader.read_password("Password: ")? else {
            return Ok(false);
        };
        say("\n");
        if typed.is_empty() {
            continue;
        }
        if login::verify(&typed, hash) {
            return Ok(true);
        }
        wrong += 1;
        std::thread::sleep(login::DELAY);
        say("wrong password\n");
    }
    Ok(false)
}

/// A factory-fresh box: the password is chosen (typed twice) and
/// committed with the running config, before anything else.
fn choose_password(
    reader: &mut Reader,
    backend: &mut Local,
    running: &ConfigText,
) -> io::Result<bool> {
    say(&format!(
        "This box has no console password yet. Choose one now (at least {} characters); it is kept in the config on flash.\n",
        login::MIN_LEN
    ));
    loop {
        let Some(new) = reader.read_password("New password: ")? else {
            return Ok(false);
        };
        say("\n");
        if new.is_empty() {
            continue;
        }
        if let Err(e) = login::acceptable(&new) {
            say(&format!("{e}\n"));
            continue;
        }
        let Some(again) = reader.read_password("Type it again: ")? else {
            return Ok(false);
        };
        say("\n");
        let text =
            match login::choose(&new, &again).and_then(|h| login::with_hash(&running.text, &h)) {
                Ok(t) => t,
                Err(e) => {
                    say(&format!("{e}\n"));
                    continue;
                }
            };
        return commit_password(backend, running, text);
    }
}

fn commit_password(backend: &mut Local, running: &ConfigText, text: String) -> io::Result<bool> {
    let ask = CommitAsk {
        config_text: text,
        comment: Some("console password set".to_owned()),
        user: Some("console".to_owned()),
        confirm: None,
        base_seq: Some(running.seq.unwrap_or(0)),
    };
    match backend.query(&Request::Commit(ask)) {
        Ok(Response::Committed(r)) if r.outcome == CommitOutcome::Committed => {
            say("console password set and committed\n");
            Ok(true)
        }
        Ok(Response::Committed(r)) => {
            let (out, err) = render::commit_report(&r);
            for l in err.iter().chain(&out) {
                say(&format!("{l}\n"));
            }
            say("the password was not set\n");
            Ok(false)
        }
        Ok(Response::Error(e)) => {
            say(&format!(
                "the password was not set: the daemon answered: {e}\n"
            ));
            Ok(false)
        }
        Ok(other) => {
            say(&format!(
                "the password was not set: unexpected answer {other:?}\n"
            ));
            Ok(false)
        }
        Err(e) => {
            say(&format!("the password was not set: {e}\n"));
            Ok(false)
        }
    }
}

/// The terminal's name ("ttyS0", "pts/1"), or "console".
fn tty_name() -> String {
    nix::unistd::ttyname(io::stdin())
        .ok()
        .and_then(|p| {
            p.strip_prefix("/dev")
                .ok()
                .map(|p| p.to_string_lossy().into_owned())
        })
        .unwrap_or_else(|| "console".to_owned())
}

/// Who commits, kept with each commit (the store bounds it): the serial
/// console's user, or the Unix user of a terminal.
fn commit_user(login: bool, tty: &str) -> String {
    let who = if login {
        "console".to_owned()
    } else {
        std::env::var("SUDO_USER")
            .or_else(|_| std::env::var("USER"))
            .unwrap_or_else(|_| "root".to_owned())
    };
    let mut user = format!("{who}@{tty}");
    while user.len() > crate::store::record::MAX_USER {
        user.pop();
    }
    user
}
