package reconcile

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// The apply order is derived from applyKinds; this pins what it must be:
// keys and firewalls before the manager that refers to them, the manager
// before its files.
func TestApplyOrder(t *testing.T) {
	t.Parallel()
	want := [][]Kind{{KindSSHKey, KindFirewall}, {KindServer}, {KindFile, KindService}}
	if d := cmp.Diff(want, ApplyOrder); d != "" {
		t.Errorf("ApplyOrder (-want +got):\n%s", d)
	}
}

// Every kind Apply acts on in the cloud has an apply and a delete; kinds on
// the manager are applied together over SSH instead.
func TestApplyKindsComplete(t *testing.T) {
	t.Parallel()
	for i, r := range applyKinds {
		if r.onManager != (r.apply == nil) || r.onManager != (r.delete == nil) {
			t.Errorf("%s: onManager %v, apply set %v, delete set %v", r.kind, r.onManager, r.apply != nil, r.delete != nil)
		}
		if i > 0 && r.phase < applyKinds[i-1].phase {
			t.Errorf("%s: phase %d after phase %d: rows of a phase must be adjacent and in order", r.kind, r.phase, applyKinds[i-1].phase)
		}
		if got, ok := kindOf(r.kind); !ok || got.kind != r.kind {
			t.Errorf("kindOf(%s) = %v, %v", r.kind, got.kind, ok)
		}
	}
}

// Plans list resources in the apply order, files in the order they are
// written.
func TestAddrOrder(t *testing.T) {
	t.Parallel()
	want := []Addr{"hcloud_ssh_key.a", "hcloud_ssh_key.b", "hcloud_firewall.a", "hcloud_server.m", AddrBinary, AddrFleetYAML, AddrConfigTOML, AddrRestart}
	for i := range want {
		for j := range want {
			if got := addrLess(want[i], want[j]); got != (i < j) {
				t.Errorf("addrLess(%s, %s) = %v", want[i], want[j], got)
			}
		}
	}
}
