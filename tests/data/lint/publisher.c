/* A sample for the xorb-subject-lint tests. */
static const char *const subjects[] = {
	"xorb.t-qa.scan.nmap.created",
	"xorb.t-qa.scan.-nmap.failed",
	"xorb.tenant-b.evidence.upload.replay",
	"xorb.t-qa.scan.nmap.created.",
};
static const char prefix[] = "xorb.t-qa.compliance.";
