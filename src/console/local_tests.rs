#[test]
fn the_os_name_is_its_pretty_name() {
    let text = "NAME=Buildroot\nPRETTY_NAME=\"Buildroot 2026.05\"\nID=buildroot\n";
    assert_eq!(
        super::pretty_name(text).as_deref(),
        Some("Buildroot 2026.05")
    );
    assert_eq!(super::pretty_name("NAME=x\n"), None);
}
