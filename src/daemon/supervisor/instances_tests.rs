use super::*;

fn group(name: &str, id: u64, queue: usize) -> (RunningGroup, mpsc::Receiver<GroupInput>) {
    let (tx, rx) = mpsc::channel(queue);
    let g = RunningGroup {
        members: vec![name.to_owned()],
        tx,
        task: format!("instance {name}"),
        id: TaskId(id),
        statuses: Vec::new(),
    };
    (g, rx)
}

fn link(i: GroupInput) -> (u32, bool) {
    match i {
        GroupInput::Link { index, up } => (index, up),
        _ => panic!("not a link event"),
    }
}

#[tokio::test]
async fn link_events_reach_every_task() {
    let mut t = Instances::default();
    let (a, mut ra) = group("A", 1, 8);
    let (b, mut rb) = group("B", 2, 8);
    t.insert(a);
    t.insert(b);
    t.link(3, false);
    assert_eq!(link(ra.recv().await.unwrap()), (3, false));
    assert_eq!(link(rb.recv().await.unwrap()), (3, false));
}

#[tokio::test]
async fn a_full_queue_keeps_the_order_of_link_events() {
    let mut t = Instances::default();
    let (a, mut ra) = group("A", 1, 1);
    t.insert(a);
    // The first fills the queue; the next two wait, in order.
    t.link(2, false);
    t.link(2, true);
    t.link(2, false);
    let got: Vec<(u32, bool)> = vec![
        link(ra.recv().await.unwrap()),
        link(ra.recv().await.unwrap()),
        link(ra.recv().await.unwrap()),
    ];
    assert_eq!(got, [(2, false), (2, true), (2, false)]);
}

#[test]
fn a_restart_replaces_the_entry_and_an_end_removes_it() {
    let mut t = Instances::default();
    let (a, _ra) = group("A", 1, 1);
    let (a2, _ra2) = group("A", 5, 1);
    t.insert(a);
    t.insert(a2);
    assert_eq!(
        t.list().iter().map(|g| g.id).collect::<Vec<_>>(),
        [TaskId(5)]
    );
    t.remove(TaskId(1));
    assert_eq!(t.list().len(), 1);
    t.remove(TaskId(5));
    assert!(t.list().is_empty());
}
