/* publisher */
static const char *subj = "xorb.t-qa.scan.nmap.created";
snprintf(s, sizeof(s), "xorb.%s.evidence.%s.completed", tenant, svc);
js_Publish(js, "xorb.{tenant}.control.scheduler.updated", data, n);
const char *pfx = 'xorb.t-qa.compliance.';
char *url = "xorb.example.com:4222/path"; // xorb-subject-lint: ignore
