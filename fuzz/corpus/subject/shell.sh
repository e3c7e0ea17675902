nats pub xorb.$TENANT.scan.nmap.created "{}"
nats sub `xorb.t-qa.>`
