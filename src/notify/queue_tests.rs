//! Unit tests of `queue.rs`.

use super::*;

#[test]
fn overflow_hands_back_the_oldest() {
    let q = Queue::new(2);
    assert_eq!(q.push(1), None);
    assert_eq!(q.push(2), None);
    assert_eq!(q.push(3), Some(1));
    assert_eq!(q.len(), 2);
}

#[tokio::test]
async fn close_drains_then_ends() {
    let q = Queue::new(4);
    q.push(1);
    q.push(2);
    q.close();
    assert_eq!(q.push(3), Some(3));
    assert_eq!(q.pop().await, Some(1));
    assert_eq!(q.pop().await, Some(2));
    assert_eq!(q.pop().await, None);
}
