//! Links the release `vigil` with link/hot-text.ld: the functions a
//! running daemon executes, placed together at the start of its code.
//!
//! Why: the kernel maps a page fault's neighbours in the same file too
//! (fault-around, 64 KB), so hot functions spread over the whole binary
//! keep most of its code resident. Packed together, the pages mapped
//! around them are hot ones too: in the lab VM a VRRP-only daemon's code
//! in RAM went from 5.9 to 4.8 MB. The script only adds output sections
//! before `.text` (INSERT) and two symbols, so the linker's default
//! layout stays; a function the lists no longer name lands in `.text` as
//! before. `make hot-text` (scripts/hot-text) writes the lists again
//! from profiles of running daemons.
//!
//! Release builds only: a debug build's function names differ and its
//! size does not matter.
//!
//! When the script also has the init section (the code vigil runs only to
//! start and to read a config) and bounds the relocation table, the bin
//! is built with `vigil_init_text`: `main` hands both to `mem`, which
//! unmaps their pages once the daemon runs.
//!
//! Every binary (tests too) is linked with a GNU build id: `build_id`
//! reads it to name the build that checked a stored config.
fn main() {
    println!("cargo:rerun-if-changed=link/hot-text.ld");
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo::rustc-check-cfg=cfg(vigil_init_text)");
    // Every binary carries a GNU build id, whatever the linker's default:
    // it names the build that checked a stored config (`build_id`,
    // `store::stamp`).
    println!("cargo:rustc-link-arg=-Wl,--build-id=sha1");
    if std::env::var("PROFILE").as_deref() == Ok("release") {
        let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("link/hot-text.ld");
        println!("cargo:rustc-link-arg-bin=vigil=-Wl,-T,{}", script.display());
        let text = std::fs::read_to_string(&script).unwrap_or_default();
        let symbols = [
            "init_text_start",
            "init_text_end",
            "relocs_start",
            "relocs_end",
        ];
        if symbols
            .iter()
            .all(|s| text.contains(&format!("__vigil_{s}")))
        {
            println!("cargo:rustc-cfg=vigil_init_text");
        }
    }
}
