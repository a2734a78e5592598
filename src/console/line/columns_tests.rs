use super::*;

fn words(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("w{i}")).collect()
}

#[test]
fn sorts_down_the_columns() {
    // Cells of 4 in 19 columns: 4 columns, 7 words in 2 rows.
    assert_eq!(layout(&words(7), 20), ["w0  w2  w4  w6", "w1  w3  w5"]);
}

#[test]
fn a_word_wider_than_the_screen_gets_its_row() {
    let long = vec!["x".repeat(100), "y".into()];
    assert_eq!(layout(&long, 80), [long[0].clone(), "y".into()]);
}

#[test]
fn nothing_to_lay_out() {
    assert!(layout(&[], 80).is_empty());
}
