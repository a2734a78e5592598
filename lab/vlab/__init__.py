"""lab/vlab: the lab's test-support library (stdlib only): namespaces and
bridges (net), appliance VMs with serial console and QMP (node, console,
qmp), real servers and clients (echo_server, client), the whole lab (lab),
and the seed's test plan (seed)."""
