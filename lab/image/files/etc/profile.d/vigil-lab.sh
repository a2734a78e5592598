# LAB-ONLY: make the serial console shell easy for the test harness to drive:
# no kernel messages, no pagers, no colours, no bracketed paste, a wide tty,
# and a ready marker once the shell is up.
if [ "$(tty)" = /dev/ttyS0 ]; then
  dmesg -n 1 2>/dev/null
  stty cols 250 rows 50 2>/dev/null
  export PAGER=cat SYSTEMD_PAGER=cat SYSTEMD_COLORS=0 TERM=dumb
  bind 'set enable-bracketed-paste off' 2>/dev/null
  PS1='\h# '
  # The node's name from the kernel command line (vlab.node=), not the
  # hostname: vigil sets that from flash, and a blank flash keeps the
  # factory one.
  echo "VIGIL-LAB-READY $(sed -n 's/.*vlab\.node=\([^ ]*\).*/\1/p' /proc/cmdline)"
fi
