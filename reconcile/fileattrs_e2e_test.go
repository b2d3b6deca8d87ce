package reconcile_test

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"

	"github.com/fleetctl/fleetctl/internal/hcloudsim"
	"github.com/fleetctl/fleetctl/reconcile"
)

// managerPath is where the simulated manager keeps a file of its own.
func (e *env) managerPath(p string) string {
	return filepath.Join(e.stateDir, "servers", "runner-manager", filepath.FromSlash(strings.TrimPrefix(p, "/")))
}

// ownerMode is a file's "uid:gid mode" on the simulated manager.
func (e *env) ownerMode(p string) string {
	e.t.Helper()
	info, err := os.Stat(e.managerPath(p))
	if err != nil {
		e.t.Fatal(err)
	}
	st := info.Sys().(*syscall.Stat_t)
	return fmt.Sprintf("%d:%d %s", st.Uid, st.Gid, info.Mode())
}

// mustBeClean fails unless a plan now finds nothing to do.
func (e *env) mustBeClean(t *testing.T, what string) {
	t.Helper()
	if p := e.plan(false); p.HasChanges() || len(p.NotCompared) > 0 {
		t.Fatalf("plan %s is not clean:\n%s", what, planText(t, p))
	}
}

// TestManagerFileOwnersAndModes: a config.toml chowned to another user
// (mode still 0600) and a 0777 /etc/gitlab-runner are planned, repaired by
// apply without rewriting config.toml, and the plan after is clean.
func TestManagerFileOwnersAndModes(t *testing.T) {
	requireSSHHosts(t)
	if os.Getuid() != 0 {
		t.Skip("the simulated manager's files can be chowned only by root")
	}
	t.Parallel()
	e := newEnv(t, hcloudsim.Options{})
	e.mustApply()
	e.mustBeClean(t, "after apply")
	for p, want := range map[string]string{
		"/etc/gitlab-runner":             "0:0 drwx------",
		"/etc/gitlab-runner/config.toml": "0:0 -rw-------",
		"/etc/fleetctl":                  "0:0 drwx------",
		"/etc/fleetctl/fleet.yaml":       "0:0 -rw-------",
		"/var/lib/fleetctl":              "0:0 drwx------",
		"/usr/local/bin/fleetctl":        "0:0 -rwxr-xr-x",
	} {
		if got := e.ownerMode(p); got != want {
			t.Errorf("%s after apply: %s, want %s", p, got, want)
		}
	}

	cfg := e.managerPath("/etc/gitlab-runner/config.toml")
	written, _ := os.Stat(cfg)
	if err := os.Chown(cfg, 1000, 1000); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(e.managerPath("/etc/gitlab-runner"), 0o777); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(e.managerPath("/usr/local/bin/fleetctl"), 0, 1000); err != nil {
		t.Fatal(err)
	}
	p := e.plan(false)
	mustEqual(t, "drift", []string{
		"file.config_toml_dir update", "file.fleetctl_binary update", "file.config_toml update",
	}, changed(p))
	text := planText(t, p)
	t.Logf("plan:\n%s", text)
	for _, want := range []string{
		`~ owner = "1000:1000" -> "0:0"`,
		`~ mode = "0777" -> "0700"`,
		`~ owner = "0:1000" -> "0:0"`,
		"Plan: 0 to add, 3 to change, 0 to destroy.",
	} {
		if !containsWords(text, want) {
			t.Errorf("plan lacks %q:\n%s", want, text)
		}
	}
	restarts := e.restarts()
	e.mustApply()
	if got := e.ownerMode("/etc/gitlab-runner/config.toml"); got != "0:0 -rw-------" {
		t.Errorf("config.toml after apply: %s", got)
	}
	if got := e.ownerMode("/etc/gitlab-runner"); got != "0:0 drwx------" {
		t.Errorf("/etc/gitlab-runner after apply: %s", got)
	}
	if got := e.ownerMode("/usr/local/bin/fleetctl"); got != "0:0 -rwxr-xr-x" {
		t.Errorf("the plugin binary after apply: %s", got)
	}
	if now, _ := os.Stat(cfg); !now.ModTime().Equal(written.ModTime()) {
		t.Error("config.toml was rewritten to repair its owner (gitlab-runner reloads on a new mtime)")
	}
	if e.restarts() != restarts {
		t.Error("gitlab-runner restarted for an owner or mode repair")
	}
	e.mustBeClean(t, "after the repair")
}

// TestManagerFilesThatCannotBeRead: a 1 TiB sparse config.toml is planned as
// too large without being read, a directory in config.toml's place as what
// it is; apply replaces both and the plan after is clean. A directory with
// files in it is moved aside, never deleted.
func TestManagerFilesThatCannotBeRead(t *testing.T) {
	requireSSHHosts(t)
	t.Parallel()
	e := newEnv(t, hcloudsim.Options{})
	e.mustApply()
	cfg := e.managerPath("/etc/gitlab-runner/config.toml")

	t.Run("1 TiB config.toml", func(t *testing.T) {
		if err := os.Truncate(cfg, 1<<40); err != nil {
			t.Fatal(err)
		}
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		p := e.plan(false)
		runtime.ReadMemStats(&after)
		if grown := after.TotalAlloc - before.TotalAlloc; grown > 256<<20 {
			t.Errorf("plan allocated %d MiB", grown>>20)
		} else {
			t.Logf("plan with a 1 TiB config.toml allocated %d MiB in all", grown>>20)
		}
		mustEqual(t, "plan", []string{"file.config_toml update"}, changed(p))
		text := planText(t, p)
		t.Logf("plan:\n%s", text)
		if !strings.Contains(text, "(unreadable: too large, 1099511627776 bytes)") {
			t.Errorf("plan does not say config.toml is too large:\n%s", text)
		}
		e.mustApply()
		if info, err := os.Stat(cfg); err != nil || info.Size() > 1<<20 {
			t.Fatalf("config.toml after apply: %v, %v", info, err)
		}
		e.mustBeClean(t, "after replacing the large file")
	})

	t.Run("a directory with files in it", func(t *testing.T) {
		if err := os.Remove(cfg); err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Join(cfg, "kept"), 0o755); err != nil {
			t.Fatal(err)
		}
		os.Chmod(cfg, 0o755)
		p := e.plan(false)
		mustEqual(t, "plan", []string{"file.config_toml update"}, changed(p))
		text := planText(t, p)
		t.Logf("plan:\n%s", text)
		if !strings.Contains(text, "(unreadable: a directory (drwxr-xr-x))") {
			t.Errorf("plan does not say config.toml is a directory:\n%s", text)
		}
		if strings.Count(text, "/etc/gitlab-runner/config.toml: read") > 0 {
			t.Errorf("plan shows a read error:\n%s", text)
		}
		e.mustApply()
		if info, err := os.Stat(cfg); err != nil || !info.Mode().IsRegular() {
			t.Fatalf("config.toml after apply: %v, %v", info, err)
		}
		moved, _ := filepath.Glob(cfg + ".moved-by-fleetctl-*")
		if len(moved) != 1 {
			t.Fatalf("directory moved aside to %v, want one", moved)
		}
		if _, err := os.Stat(filepath.Join(moved[0], "kept")); err != nil {
			t.Errorf("the moved directory lost its contents: %v", err)
		}
		if !strings.Contains(e.progress.String(), "moved it aside to /etc/gitlab-runner/config.toml.moved-by-fleetctl-") {
			t.Errorf("apply did not say where the directory went:\n%s", e.progress.String())
		}
		e.mustBeClean(t, "after replacing the directory")
	})

	t.Run("an empty directory", func(t *testing.T) {
		if err := os.Remove(cfg); err != nil {
			t.Fatal(err)
		}
		if err := os.Mkdir(cfg, 0o700); err != nil {
			t.Fatal(err)
		}
		e.mustApply()
		if info, err := os.Stat(cfg); err != nil || !info.Mode().IsRegular() {
			t.Fatalf("config.toml after apply: %v, %v", info, err)
		}
		if moved, _ := filepath.Glob(cfg + ".moved-by-fleetctl-*"); len(moved) != 1 {
			t.Errorf("an empty directory was moved aside too: %v", moved)
		}
		e.mustBeClean(t, "after replacing the empty directory")
	})
}

// TestManagerRecordsReplacedByDirectories: fleetctl's own records in
// /var/lib/fleetctl (the restart marker, the binary's digest record)
// replaced by directories, one of them with a file in it, neither block
// plan nor make apply fail: the restart the marker may owe is planned,
// apply writes both records over them (the full directory moved aside,
// nothing lost), and the plan after is clean.
func TestManagerRecordsReplacedByDirectories(t *testing.T) {
	requireSSHHosts(t)
	t.Parallel()
	e := newEnv(t, hcloudsim.Options{})
	e.mustApply()
	for _, p := range []string{reconcile.RestartMarker, reconcile.BinaryDigestRecord} {
		if err := os.Remove(e.managerPath(p)); err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
	}
	if err := os.MkdirAll(e.managerPath(reconcile.RestartMarker), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(e.managerPath(reconcile.BinaryDigestRecord), 0o755); err != nil {
		t.Fatal(err)
	}
	kept := filepath.Join(e.managerPath(reconcile.BinaryDigestRecord), "kept")
	if err := os.WriteFile(kept, []byte("someone's file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	p := e.plan(false)
	if len(p.NotCompared) > 0 || len(p.Errors) > 0 {
		t.Fatalf("plan with the records replaced by directories:\n%s", planText(t, p))
	}
	restart := p.Change(reconcile.AddrRestart)
	if restart == nil || restart.Action != reconcile.Update || !strings.Contains(restart.Reason, "a directory") {
		t.Fatalf("the restart the unreadable marker may owe is not planned:\n%s", planText(t, p))
	}
	e.mustApply()
	e.mustBeClean(t, "after apply")
	for _, p := range []string{reconcile.RestartMarker, reconcile.BinaryDigestRecord} {
		if info, err := os.Stat(e.managerPath(p)); err != nil || !info.Mode().IsRegular() {
			t.Errorf("%s after apply: %v, %v; want a regular file", p, info, err)
		}
	}
	moved, _ := filepath.Glob(e.managerPath(reconcile.BinaryDigestRecord) + ".moved-by-fleetctl-*/kept")
	if len(moved) != 1 {
		t.Errorf("the directory's file was not kept aside: %v", moved)
	}
}
