"""Publishes scan results (a sample for the xorb-subject-lint tests)."""

VALID = "xorb.t-qa.scan.nmap.created"
ALSO_VALID = 'xorb.tenant-1.evidence.discovery.completed'
SEED_BAD = "xorb.t.scan.nmap.started"
WILDCARD = "xorb.t-qa.>"


def subject(tenant, service):
    return f"xorb.{tenant}.scan.{service}.completed"


def bad_template(tenant):
    return f"xorb.{tenant}.scans.nmap.created"


HOSTNAME = "xorb.example.com"  # xorb-subject-lint: ignore
CONFIG_FILE = "xorb.yaml"
MESSAGE = "xorb.t-qa is not reachable. Retry later."
