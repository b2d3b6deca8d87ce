package reconcile

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/fleetctl/fleetctl/internal/buildinfo"
)

// A saved plan that is not a regular file (a named pipe nobody writes to)
// is refused at once instead of blocking apply, and a huge one is refused
// without being read.
func TestReadPlanFileRefusesSpecialAndHugeFiles(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	fifo := filepath.Join(dir, "plan.json")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	huge := filepath.Join(dir, "huge.json")
	if err := os.WriteFile(huge, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(huge, MaxPlanFileSize+1); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ path, want string }{
		{fifo, "not a regular file but a named pipe (FIFO)"},
		{huge, "over the"},
		{filepath.Join(dir, "missing.json"), "no such file or directory"},
	} {
		done := make(chan error, 1)
		go func() { _, err := ReadPlanFile(tc.path); done <- err }()
		select {
		case err := <-done:
			if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Count(err.Error(), tc.path) != 1 {
				t.Errorf("ReadPlanFile(%s) = %v, want an error naming the file once and saying %q", filepath.Base(tc.path), err, tc.want)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("ReadPlanFile(%s) blocked", filepath.Base(tc.path))
		}
	}
}

// A saved plan says which fleetctl made it, and reads back.
func TestPlanFileRecordsTheFleetctlVersion(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "plan.json")
	if err := WritePlanFile(path, &Plan{Fleet: "gitlab-ci"}); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(path)
	if want := `"fleetctl_version": "` + buildinfo.Version() + `"`; !strings.Contains(string(b), want) {
		t.Errorf("plan file does not record %s:\n%s", want, b)
	}
	if p, err := ReadPlanFile(path); err != nil || p.Fleet != "gitlab-ci" {
		t.Errorf("read back: %v %+v", err, p)
	}
}
