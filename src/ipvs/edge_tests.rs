use super::*;

#[tokio::test]
async fn a_panic_in_a_call_is_an_error_and_the_edge_goes_on() {
    let mut edge = Edge::new("test");
    let r: Result<(), Panicked> = edge.call(|_| panic!("bug in the netlink stack")).await;
    let e = r.expect_err("the panic comes back as an error");
    assert!(e.to_string().starts_with("netlink call panicked: "), "{e}");
    // The next call runs, on a fresh unconnected link.
    let connected = edge.call(|link| link.client.is_some()).await;
    assert_eq!(connected, Ok(false));
}

#[tokio::test]
async fn a_link_never_connected_is_not_dumped_from() {
    let mut edge = Edge::new("test");
    let r = edge
        .call(|link| link.if_connected(|c| c.services()).is_none())
        .await;
    assert_eq!(r, Ok(true), "if_connected does not connect");
}
