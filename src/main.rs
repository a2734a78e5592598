fn main() {
    #[cfg(vigil_init_text)]
    start_only();
    std::process::exit(vigil::cli::main());
}

/// Hands `mem` the bounds of what vigil uses only to start: the code it
/// runs only to start and to read a config (link/hot-text.ld's init
/// section) and the relocation table (build.rs sets the cfg only when the
/// script defines all four symbols).
#[cfg(vigil_init_text)]
fn start_only() {
    extern "C" {
        static __vigil_init_text_start: u8;
        static __vigil_init_text_end: u8;
        static __vigil_relocs_start: u8;
        static __vigil_relocs_end: u8;
    }
    // Only the symbols' addresses are taken (safe: nothing is read).
    vigil::mem::set_start_only(vigil::mem::StartOnly {
        text: (
            std::ptr::addr_of!(__vigil_init_text_start) as usize,
            std::ptr::addr_of!(__vigil_init_text_end) as usize,
        ),
        relocations: (
            std::ptr::addr_of!(__vigil_relocs_start) as usize,
            std::ptr::addr_of!(__vigil_relocs_end) as usize,
        ),
    });
}
