package reconcile

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fleetctl/fleetctl/internal/testenv"
)

var (
	managerX86 = DesiredServer{ServerType: "cpx11", Architecture: "x86"}
	managerArm = DesiredServer{ServerType: "cax11", Architecture: "arm"}
)

// TestPluginBinaryFromReleaseDirectory: --plugin-binary DIR serves managers
// of both architectures from one directory, and says which file is missing.
func TestPluginBinaryFromReleaseDirectory(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	testenv.WriteLinuxBinary(t, filepath.Join(dir, "fleetctl-linux-amd64"), "amd64", "x86 build")
	testenv.WriteLinuxBinary(t, filepath.Join(dir, "fleetctl-linux-arm64"), "arm64", "arm build")
	for _, tc := range []struct {
		m    DesiredServer
		want string
	}{{managerX86, "fleetctl-linux-amd64"}, {managerArm, "fleetctl-linux-arm64"}} {
		m, want := tc.m, tc.want
		df, err := pluginBinary(dir, m)
		if err != nil || df.NotManagedReason != "" {
			t.Fatalf("%s: %v %q", m.ServerType, err, df.NotManagedReason)
		}
		if df.Source != filepath.Join(dir, want) {
			t.Errorf("%s: installs %s, want %s", m.ServerType, df.Source, want)
		}
	}

	if err := os.Remove(filepath.Join(dir, "fleetctl-linux-arm64")); err != nil {
		t.Fatal(err)
	}
	df, err := pluginBinary(dir, managerArm)
	if err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "fleetctl-linux-arm64") + " does not exist"
	if !strings.Contains(df.NotManagedReason, missing) || !strings.Contains(df.NotManagedReason, "cax11") || df.Source != "" {
		t.Errorf("reason %q, want it to name the manager and say %q", df.NotManagedReason, missing)
	}

	// A file of the wrong architecture under the release name is refused,
	// not pushed.
	testenv.WriteLinuxBinary(t, filepath.Join(dir, "fleetctl-linux-arm64"), "amd64", "mislabelled")
	if df, err := pluginBinary(dir, managerArm); err != nil || !strings.Contains(df.NotManagedReason, "is linux/amd64") {
		t.Errorf("a mislabelled binary: %v %q", err, df.NotManagedReason)
	}
}

// TestPluginBinaryNextToExecutable: without --plugin-binary, the running
// fleetctl is installed when it fits the manager, else the release binary
// next to it; when neither fits, the reason names the file to put there.
func TestPluginBinaryNextToExecutable(t *testing.T) {
	dir := t.TempDir()
	exe := filepath.Join(dir, "fleetctl")
	testenv.WriteLinuxBinary(t, exe, "amd64", "running")
	saved := executable
	executable = func() (string, error) { return exe, nil }
	t.Cleanup(func() { executable = saved })

	df, err := pluginBinary("", managerX86)
	if err != nil || df.Source != exe {
		t.Errorf("x86 manager: %v, installs %q, want the running executable", err, df.Source)
	}
	df, err = pluginBinary("", managerArm)
	sibling := filepath.Join(dir, "fleetctl-linux-arm64")
	if err != nil || !strings.Contains(df.NotManagedReason, sibling+" does not exist") {
		t.Errorf("arm manager, no arm64 binary: %v %q", err, df.NotManagedReason)
	}
	testenv.WriteLinuxBinary(t, sibling, "arm64", "arm build")
	df, err = pluginBinary("", managerArm)
	if err != nil || df.NotManagedReason != "" || df.Source != sibling {
		t.Errorf("arm manager: %v %q, installs %q, want %s", err, df.NotManagedReason, df.Source, sibling)
	}
	os.WriteFile(sibling, []byte("#!/bin/sh\n"), 0o755)
	if _, err := pluginBinary("", managerArm); err == nil || !strings.Contains(err.Error(), sibling) {
		t.Errorf("a non-executable next to fleetctl: %v, want an error naming it", err)
	}
}
