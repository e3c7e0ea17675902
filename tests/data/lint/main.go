// A sample for the xorb-subject-lint tests.
package main

import "fmt"

const streamSubjects = `xorb.t-qa.evidence.>`

func publish(tenant string) {
	fmt.Println(fmt.Sprintf("xorb.%s.compliance.audit.updated", tenant))
	fmt.Println("xorb.t-qa.control.policy.deleted")
	fmt.Println("xorb.t-qa.scan.nmap_v2.created")
}
