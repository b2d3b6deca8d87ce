package reconcile

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseRunningJobs(t *testing.T) {
	t.Parallel()
	metrics := `# HELP gitlab_runner_jobs The current number of running builds.
# TYPE gitlab_runner_jobs gauge
gitlab_runner_jobs{executor_stage="docker_run",runner="xYz12345",runner_name="docker",stage="step_script",state="running",system_id="s_1"} 2
gitlab_runner_jobs{executor_stage="prepare_executor",runner="xYz12345",runner_name="docker",stage="prepare",state="running",system_id="s_1"} 1
gitlab_runner_jobs{executor_stage="docker_run",runner="aBc",runner_name="arm",stage="step_script",state="running",system_id="s_1"} 0
gitlab_runner_jobs_total{runner="xYz12345",runner_name="docker",system_id="s_1"} 97
`
	if d := cmp.Diff(map[string]int{"docker": 3, "arm": 0}, parseRunningJobs(metrics)); d != "" {
		t.Errorf("jobs (-want +got):\n%s", d)
	}
}

func TestInstanceState(t *testing.T) {
	t.Parallel()
	for hetzner, want := range map[string]string{
		"initializing": "creating", "starting": "creating", "running": "running",
		"stopping": "off", "off": "off", "deleting": "deleting", "migrating": "other", "rebuilding": "other", "unknown": "other",
	} {
		if got := instanceState(hetzner); got != want {
			t.Errorf("instanceState(%q) = %q, want %q", hetzner, got, want)
		}
	}
}
