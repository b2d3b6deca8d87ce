package reconcile

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
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
