def test_show_journal(lab):
    n = lab["lb1"]
    r = n.run("journalctl -u vigil --no-pager -b | tail -40; systemctl status vigil --no-pager | tail -20", timeout=60)
    print("JOURNAL>>>", r)
    assert False
