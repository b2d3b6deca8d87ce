package e2e

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/hetznercloud/hcloud-go/v2/hcloud"
	"golang.org/x/crypto/ssh"
)

// Labels every resource of a fleet carries (docs/plan-apply.md, Ownership).
const (
	labelFleet = "fleetctl.io/fleet"
	labelRole  = "fleetctl.io/role"
)

// tutorialInventory is what the project holds once the tutorial fleet is
// applied: every resource once, nothing else (no apply lock left behind).
var tutorialInventory = []string{
	"firewall runner fleet=gitlab-ci role=firewall rules=2 apply_to=[runner] applied_to=[runner-manager]",
	"primary_ip ipv4 assignee=runner-manager auto_delete=true",
	"primary_ip ipv6 assignee=runner-manager auto_delete=true",
	"server runner-manager running cpx11 debian-12 hel1 protection(delete=true rebuild=true) fleet=gitlab-ci role=manager",
	"ssh_key dev fleet=gitlab-ci role=ssh-key key=the fleet's key",
}

// tutorialFiles are the files on the manager once the tutorial fleet is
// applied, with their modes; no temporary file may be left beside them.
var tutorialFiles = []string{
	"etc/fleetctl/fleet.yaml -rw-------",
	"etc/gitlab-runner/config.toml -rw-------",
	"usr/local/bin/fleetctl -rwxr-xr-x",
	"var/lib/fleetctl/fleetctl.sha256 -rw-------",
	"var/lib/fleetctl/restart-gitlab-runner -rw-------",
}

// inventory lists everything in the simulated project, one line per
// resource, sorted: servers, SSH keys, firewalls, primary IPs, volumes and
// placement groups (an apply lock left behind would be one).
func (f *fleet) inventory(ctx context.Context) ([]string, error) {
	c := f.sim.client
	servers, err := c.Server.All(ctx)
	if err != nil {
		return nil, fmt.Errorf("list servers: %w", err)
	}
	keys, err := c.SSHKey.All(ctx)
	if err != nil {
		return nil, fmt.Errorf("list ssh keys: %w", err)
	}
	firewalls, err := c.Firewall.All(ctx)
	if err != nil {
		return nil, fmt.Errorf("list firewalls: %w", err)
	}
	ips, err := c.PrimaryIP.All(ctx)
	if err != nil {
		return nil, fmt.Errorf("list primary ips: %w", err)
	}
	volumes, err := c.Volume.All(ctx)
	if err != nil {
		return nil, fmt.Errorf("list volumes: %w", err)
	}
	groups, err := c.PlacementGroup.All(ctx)
	if err != nil {
		return nil, fmt.Errorf("list placement groups: %w", err)
	}
	serverName := map[int64]string{}
	var out []string
	for _, s := range servers {
		serverName[s.ID] = s.Name
		out = append(out, fmt.Sprintf("server %s %s %s %s %s protection(delete=%t rebuild=%t) fleet=%s role=%s",
			s.Name, s.Status, s.ServerType.Name, s.Image.Name, s.Location.Name, s.Protection.Delete, s.Protection.Rebuild,
			s.Labels[labelFleet], s.Labels[labelRole]))
	}
	pub, _, _, _, err := ssh.ParseAuthorizedKey([]byte(f.readFile("id_ed25519.pub")))
	if err != nil {
		return nil, err
	}
	for _, k := range keys {
		which := "another key"
		if k.Fingerprint == ssh.FingerprintLegacyMD5(pub) {
			which = "the fleet's key"
		}
		out = append(out, fmt.Sprintf("ssh_key %s fleet=%s role=%s key=%s", k.Name, k.Labels[labelFleet], k.Labels[labelRole], which))
	}
	for _, fw := range firewalls {
		var selectors, applied []string
		for _, a := range fw.AppliedTo {
			if a.Type == hcloud.FirewallResourceTypeLabelSelector {
				selectors = append(selectors, a.LabelSelector.Selector)
			}
			for _, r := range a.AppliedToResources {
				if r.Server != nil {
					applied = append(applied, serverName[r.Server.ID])
				}
			}
			if a.Server != nil {
				applied = append(applied, serverName[a.Server.ID])
			}
		}
		slices.Sort(selectors)
		slices.Sort(applied)
		out = append(out, fmt.Sprintf("firewall %s fleet=%s role=%s rules=%d apply_to=%v applied_to=%v",
			fw.Name, fw.Labels[labelFleet], fw.Labels[labelRole], len(fw.Rules), selectors, applied))
	}
	for _, ip := range ips {
		assignee := "none"
		if ip.AssigneeID != 0 {
			assignee = serverName[ip.AssigneeID]
			if assignee == "" {
				assignee = fmt.Sprintf("vanished server %d", ip.AssigneeID)
			}
		}
		out = append(out, fmt.Sprintf("primary_ip %s assignee=%s auto_delete=%t", ip.Type, assignee, ip.AutoDelete))
	}
	for _, v := range volumes {
		out = append(out, fmt.Sprintf("volume %s server=%v", v.Name, v.Server))
	}
	for _, pg := range groups {
		out = append(out, fmt.Sprintf("placement_group %s fleet=%s role=%s", pg.Name, pg.Labels[labelFleet], pg.Labels[labelRole]))
	}
	slices.Sort(out)
	return out, nil
}

func (f *fleet) readFile(name string) string {
	f.t.Helper()
	b, err := os.ReadFile(filepath.Join(f.dir, name))
	if err != nil {
		f.t.Fatal(err)
	}
	return string(b)
}

// temporaryFiles lists the files of interrupted atomic writes on the manager.
func (f *fleet) temporaryFiles() ([]string, error) {
	files, err := f.managerFiles()
	var out []string
	for _, file := range files {
		if strings.Contains(path.Base(file), ".tmp-") {
			out = append(out, file)
		}
	}
	return out, err
}

// managerFiles lists the regular files on the manager with their modes.
func (f *fleet) managerFiles() ([]string, error) {
	root := f.sim.managerDir()
	var out []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		out = append(out, filepath.ToSlash(rel)+" "+info.Mode().String())
		return nil
	})
	slices.Sort(out)
	return out, err
}

// checkConverged checks what a user of the tutorial fleet relies on after
// apply: plan has nothing to do, the project holds every resource exactly
// once and nothing else, and the manager holds exactly the pushed files —
// the current runner token, this fleetctl as the plugin — with gitlab-runner
// restarted after the plugin last changed.
func (f *fleet) checkConverged(ctx context.Context) {
	f.t.Helper()
	if r := f.fleetctl(ctx, "plan", "--detailed-exitcode"); r.code != 0 {
		f.t.Errorf("plan after apply is not clean: %s", r)
	}
	inv, err := f.inventory(ctx)
	if err != nil {
		f.t.Fatal(err)
	}
	want := slices.Clone(tutorialInventory)
	for i, line := range want {
		want[i] = strings.Replace(line, " cpx11 ", " "+f.managerType+" ", 1)
	}
	if d := cmp.Diff(want, inv); d != "" {
		f.t.Errorf("project after apply (-want +got):\n%s", d)
	}
	files, err := f.managerFiles()
	if err != nil {
		f.t.Fatal(err)
	}
	// Temporary files that writes of an earlier, killed apply left behind
	// are TestInterruptedWriteLeavesNoTemporaryFile's subject.
	var kept []string
	for _, file := range files {
		if !strings.Contains(path.Base(file), ".tmp-") {
			kept = append(kept, file)
		}
	}
	if d := cmp.Diff(tutorialFiles, kept); d != "" {
		f.t.Errorf("files on the manager (-want +got):\n%s", d)
	}
	dir := f.sim.managerDir()
	config, _ := os.ReadFile(filepath.Join(dir, "etc", "gitlab-runner", "config.toml"))
	if !strings.Contains(string(config), `token = "`+secretRunnerToken+`"`) {
		f.t.Errorf("config.toml on the manager lacks the runner token")
	}
	local, _ := os.ReadFile(binaries.fleetctl)
	remote, _ := os.ReadFile(filepath.Join(dir, "usr", "local", "bin", "fleetctl"))
	if sha256.Sum256(local) != sha256.Sum256(remote) {
		f.t.Errorf("/usr/local/bin/fleetctl on the manager (%d bytes) is not this fleetctl (%d bytes)", len(remote), len(local))
	}
	// The digest record plan trusts instead of reading the binary must be
	// the binary's: `sha256sum -c` of it passes on the manager.
	record, _ := os.ReadFile(filepath.Join(dir, "var", "lib", "fleetctl", "fleetctl.sha256"))
	sum := sha256.Sum256(local)
	if want := hex.EncodeToString(sum[:]) + "  /usr/local/bin/fleetctl\n"; !strings.HasPrefix(string(record), want) {
		f.t.Errorf("/var/lib/fleetctl/fleetctl.sha256 = %q, want it to start with %q", record, want)
	}
	var pluginChanged time.Time
	for _, p := range f.pluginFiles {
		if info, err := os.Stat(filepath.Join(dir, p)); err == nil && info.ModTime().After(pluginChanged) {
			pluginChanged = info.ModTime()
		}
	}
	var lastRestart time.Time
	for _, c := range f.sim.calls(managerName) {
		if c.Command == "systemctl" && slices.Contains(c.Args, "restart") && slices.Contains(c.Args, "gitlab-runner") {
			lastRestart = c.Time
		}
	}
	if lastRestart.Before(pluginChanged) {
		f.t.Errorf("gitlab-runner last restarted at %s, before the plugin last changed at %s: it runs an old plugin",
			lastRestart.Format(time.RFC3339Nano), pluginChanged.Format(time.RFC3339Nano))
	}
}
