"""Consumes evidence events (a sample without violations)."""

SUBSCRIBE = "xorb.t-qa.evidence.*.completed"
REPLAY = "xorb.t-qa.evidence.upload.replay"
