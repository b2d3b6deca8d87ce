package plugin

import (
	"bytes"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/hetznercloud/hcloud-go/v2/hcloud"
	"gitlab.com/gitlab-org/fleeting/fleeting/provider"
	"golang.org/x/crypto/ssh"
)

func TestKeyFileIsReusedAcrossRestarts(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "state", "gitlab-ci-docker.key")
	first, created, err := loadOrCreateKey(path)
	if err != nil || !created {
		t.Fatalf("first start: created=%v err=%v", created, err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("key file mode %v, want 0600", fi.Mode().Perm())
	}
	signer, err := ssh.ParsePrivateKey(first)
	if err != nil {
		t.Fatal(err)
	}
	if got := signer.PublicKey().Type(); got != ssh.KeyAlgoED25519 {
		t.Errorf("key type %s, want ed25519", got)
	}
	second, created, err := loadOrCreateKey(path)
	if err != nil || created {
		t.Fatalf("restart: created=%v err=%v", created, err)
	}
	if !bytes.Equal(first, second) {
		t.Error("a restart generated a new key: instances created before would be unreachable")
	}
}

func TestKeyFileCorrupt(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "k.key")
	if err := os.WriteFile(path, []byte("not a key"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := loadOrCreateKey(path); err == nil {
		t.Fatal("a corrupt key file was accepted (or silently replaced)")
	}
}

func TestStateOf(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name        string
		status      hcloud.ServerStatus
		created     time.Time
		seenRunning bool
		want        provider.State
		wantBroken  bool
	}{
		{name: "initializing", status: hcloud.ServerStatusInitializing, created: now, want: provider.StateCreating},
		{name: "starting", status: hcloud.ServerStatusStarting, created: now, want: provider.StateCreating},
		{name: "running", status: hcloud.ServerStatusRunning, created: now, want: provider.StateRunning},
		{name: "migrating stays running", status: hcloud.ServerStatusMigrating, created: now, want: provider.StateRunning},
		{name: "deleting", status: hcloud.ServerStatusDeleting, created: now, want: provider.StateDeleting},
		{name: "off while booting", status: hcloud.ServerStatusOff, created: now.Add(-time.Minute), want: provider.StateCreating},
		{name: "off after running", status: hcloud.ServerStatusOff, created: now.Add(-time.Minute), seenRunning: true, want: provider.StateDeleting, wantBroken: true},
		{name: "stopping after running", status: hcloud.ServerStatusStopping, created: now.Add(-time.Minute), seenRunning: true, want: provider.StateDeleting, wantBroken: true},
		{name: "off long after create", status: hcloud.ServerStatusOff, created: now.Add(-time.Hour), want: provider.StateDeleting, wantBroken: true},
		{name: "unknown", status: hcloud.ServerStatusUnknown, created: now, want: provider.StateCreating},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			g := &InstanceGroup{known: map[string]provider.State{}, seenRunning: map[int64]bool{}, deleting: map[int64]bool{}}
			s := &hcloud.Server{ID: 7, Name: "ci-docker-0badcafe", Status: tt.status, Created: tt.created}
			g.seenRunning[7] = tt.seenRunning
			got, broken := g.stateOf(s, now)
			if got != tt.want || broken != tt.wantBroken {
				t.Errorf("stateOf = %s, broken %v; want %s, broken %v", got, broken, tt.want, tt.wantBroken)
			}
		})
	}
}

func TestAddresses(t *testing.T) {
	t.Parallel()
	_, v6net, _ := net.ParseCIDR("2001:db8:1:2::/64")
	tests := []struct {
		name         string
		server       hcloud.Server
		wantExternal string
		wantInternal string
	}{
		{
			name: "ipv4 and private network",
			server: hcloud.Server{
				PublicNet:  hcloud.ServerPublicNet{IPv4: hcloud.ServerPublicNetIPv4{IP: net.ParseIP("192.0.2.10")}, IPv6: hcloud.ServerPublicNetIPv6{IP: v6net.IP, Network: v6net}},
				PrivateNet: []hcloud.ServerPrivateNet{{IP: net.ParseIP("10.0.0.5")}},
			},
			wantExternal: "192.0.2.10", wantInternal: "10.0.0.5",
		},
		{
			name:         "ipv6 only, no private network",
			server:       hcloud.Server{PublicNet: hcloud.ServerPublicNet{IPv6: hcloud.ServerPublicNetIPv6{IP: v6net.IP, Network: v6net}}},
			wantExternal: "2001:db8:1:2::1", wantInternal: "2001:db8:1:2::1",
		},
		{
			name:         "private only",
			server:       hcloud.Server{PrivateNet: []hcloud.ServerPrivateNet{{IP: net.ParseIP("10.0.0.6")}}},
			wantExternal: "", wantInternal: "10.0.0.6",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := []string{externalAddr(&tt.server), internalAddr(&tt.server)}
			if d := cmp.Diff([]string{tt.wantExternal, tt.wantInternal}, got); d != "" {
				t.Errorf("external, internal (-want +got):\n%s", d)
			}
		})
	}
}

func TestParseInstanceID(t *testing.T) {
	t.Parallel()
	for id, want := range map[string]int64{"ci-docker-0badcafe:42": 42, "17": 17} {
		got, err := parseInstanceID(id)
		if err != nil || got != want {
			t.Errorf("parseInstanceID(%q) = %d, %v; want %d", id, got, err, want)
		}
	}
	for _, id := range []string{"", "ci-docker:", "ci-docker:x", "a:-1"} {
		if _, err := parseInstanceID(id); err == nil {
			t.Errorf("parseInstanceID(%q) accepted", id)
		}
	}
}
