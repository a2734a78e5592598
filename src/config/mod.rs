//! The configuration: a typed model, keepalived.conf import and export, and
//! validation with `file:line:col` errors.
//!
//! Text -> [`syntax`] (tokens and a tree of statements) -> `parse` (the
//! typed model) -> [`validate`] (cross-field checks) -> an immutable
//! [`Config`]. An import streams: each top-level statement becomes model
//! as soon as the syntax layer has it, so a load holds the model, the text
//! of one file and the tree of one top-level block, never the whole tree
//! beside the model. [`export`] writes a model back as canonical text; the
//! round trip `import(export(c)) == c` holds for every valid config.
//!
//! Nothing is half-applied: an import either yields a whole valid config
//! or a list of errors, never a config with the bad settings left out.

pub mod bounds;
pub mod envelope;
pub mod error;
pub mod export;
pub mod model;
pub(crate) mod parse;
pub mod summary;
pub mod syntax;
pub mod validate;

pub use error::{Diagnostics, Error, FileOrder, Warning};
pub use model::Config;
pub use syntax::ConfigId;

use std::path::Path;

/// A config that imported, with what deserves a word (in file and line
/// order).
#[derive(Debug)]
pub struct Imported {
    pub config: Config,
    pub warnings: Vec<Warning>,
}

/// Why a config did not import. `unreadable` is set when the main file
/// itself could not be read (an I/O problem, not bad input). Errors and
/// warnings are each in file and line order.
#[derive(Debug)]
pub struct Rejected {
    pub errors: Vec<Error>,
    pub warnings: Vec<Warning>,
    pub unreadable: Option<std::io::Error>,
    files: FileOrder,
}

impl Rejected {
    /// Every error and warning as printed, merged in file and line order.
    pub fn lines(&self) -> Vec<String> {
        self.files.lines(&self.errors, &self.warnings)
    }
}

/// Name of the config read from standard input in locations (`-` on the
/// command line).
pub const STDIN_NAME: &str = "<stdin>";

/// How a config is read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportOptions {
    /// Turn unknown keywords (and undefined parameters) into warnings.
    pub lenient: bool,
    /// What `@ID` lines are matched against (`--config-id`).
    pub config_id: ConfigId,
    /// Where host names (`smtp_server`, `unicast_peer`, `connect_ip`) are
    /// looked up.
    pub resolver: crate::resolve::Resolver,
}

impl ImportOptions {
    /// `lenient`, for this host's config id ([`ConfigId::of_host`]).
    pub fn new(lenient: bool) -> Self {
        ImportOptions {
            lenient,
            config_id: ConfigId::of_host(),
            resolver: crate::resolve::Resolver::default(),
        }
    }
}

/// Import a keepalived.conf (with vigil's `appliance` block) from a file,
/// following its includes, for this host ([`ImportOptions::new`]).
pub fn import_file(path: &Path, lenient: bool) -> Result<Imported, Rejected> {
    import_file_with(path, &ImportOptions::new(lenient))
}

/// [`import_file`] with every option given.
pub fn import_file_with(path: &Path, opts: &ImportOptions) -> Result<Imported, Rejected> {
    let mut d = Diagnostics::new(opts.lenient);
    let mut top = parse::TopLevel::new(&opts.resolver);
    let read = syntax::stream_root(path, &opts.config_id, &mut d, &mut |n, d| {
        top.statement(&n, d)
    });
    match read {
        Ok(()) => finish(top, d),
        Err(e) => {
            d.sort();
            Err(Rejected {
                errors: d.errors,
                warnings: d.warnings,
                unreadable: Some(e),
                files: d.files,
            })
        }
    }
}

/// Import from text in memory; `name` is what locations print as the file.
pub fn import_str(name: &str, text: &str, lenient: bool) -> Result<Imported, Rejected> {
    import_str_with(name, text, &ImportOptions::new(lenient))
}

/// [`import_str`] with every option given.
pub fn import_str_with(name: &str, text: &str, opts: &ImportOptions) -> Result<Imported, Rejected> {
    let mut d = Diagnostics::new(opts.lenient);
    let mut top = parse::TopLevel::new(&opts.resolver);
    let sink: syntax::Sink = &mut |n, d| top.statement(&n, d);
    syntax::stream_str(name, text, None, &opts.config_id, (&mut d, sink));
    finish(top, d)
}

/// Import a config read from standard input (`-`): up to
/// [`syntax::MAX_FILE_BYTES`] are read, and more is the same error as a file
/// too large. Locations print [`STDIN_NAME`]; relative includes resolve
/// against the current directory.
pub fn import_stdin(opts: &ImportOptions) -> Result<Imported, Rejected> {
    use std::io::Read;
    let mut bytes = Vec::new();
    let read = std::io::stdin()
        .lock()
        .take(syntax::MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes);
    let mut d = Diagnostics::new(opts.lenient);
    if let Err(e) = read {
        return Err(Rejected {
            errors: Vec::new(),
            warnings: Vec::new(),
            unreadable: Some(e),
            files: d.files,
        });
    }
    let mut top = parse::TopLevel::new(&opts.resolver);
    let sink: syntax::Sink = &mut |n, d| top.statement(&n, d);
    syntax::stream_bytes(STDIN_NAME, bytes, None, &opts.config_id, (&mut d, sink));
    finish(top, d)
}

fn finish(top: parse::TopLevel, mut d: Diagnostics) -> Result<Imported, Rejected> {
    let (config, places) = top.finish(&mut d);
    if !d.has_errors() {
        validate::validate(&config, &places, &mut d);
    }
    d.sort();
    if d.has_errors() {
        return Err(Rejected {
            errors: d.errors,
            warnings: d.warnings,
            unreadable: None,
            files: d.files,
        });
    }
    Ok(Imported {
        config,
        warnings: d.warnings,
    })
}
