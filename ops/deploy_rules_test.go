// These tests check the files in deploy/ against the tools that
// read them: promtool for the alerting rules, a real Prometheus scraping
// real nodes for the dashboard and the rules' expressions.

package ops_test

import (
	"os"
	"os/exec"
	"testing"
)

// tool returns the path of a Prometheus binary. Without it the test is
// skipped with a message, except under CI=true, where .ci/run installs
// Debian's prometheus package and absence is a failure.
func tool(t *testing.T, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is not installed (apt-get install prometheus; .ci/run does)", name)
		}
		t.Skipf("%s is not installed (apt-get install prometheus): skipped", name)
	}
	return path
}

// TestAlertRules: alerts.yml is valid and its unit tests in
// alerts_test.yml pass (each alert fires when it should, stays quiet when
// it should, with the labels and text an operator sees).
func TestAlertRules(t *testing.T) {
	t.Parallel()
	promtool := tool(t, "promtool")
	for _, args := range [][]string{{"check", "rules", "../deploy/alerts.yml"}, {"test", "rules", "../deploy/alerts_test.yml"}} {
		out, err := exec.Command(promtool, args...).CombinedOutput()
		if err != nil {
			t.Errorf("promtool %v: %v\n%s", args, err, out)
		}
	}
}
