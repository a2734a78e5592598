fn main() {
    #[cfg(vigil_init_text)]
    init_text();
    std::process::exit(vigil::cli::main());
}

/// Hands `mem` the bounds of the code vigil runs only to start and to
/// read a config (link/hot-text.ld's init section; build.rs sets the cfg
/// only when the script defines both symbols).
#[cfg(vigil_init_text)]
fn init_text() {
    extern "C" {
        static __vigil_init_text_start: u8;
        static __vigil_init_text_end: u8;
    }
    // Only the symbols' addresses are taken (safe: nothing is read).
    let (start, end) = (
        std::ptr::addr_of!(__vigil_init_text_start) as usize,
        std::ptr::addr_of!(__vigil_init_text_end) as usize,
    );
    vigil::mem::set_init_text(start, end);
}
