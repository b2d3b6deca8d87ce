package reconcile

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/fleetctl/fleetctl/internal/crash"
)

// panickyCloud panics in every list: a bug in a goroutine reconcile
// starts. The embedded nil Cloud is never reached.
type panickyCloud struct{ Cloud }

func (panickyCloud) ListSSHKeys(context.Context, string) ([]SSHKey, error) { panic("list keys") }
func (panickyCloud) ListFirewalls(context.Context, string) ([]Firewall, error) {
	var fws []Firewall
	return fws[:1], nil // slice bounds out of range
}
func (panickyCloud) ListServers(context.Context, string) ([]Server, error) { return nil, nil }

// A panic in one of the goroutines that list live state comes back as an
// error (which the CLI prints, exit 1) instead of ending the process with
// the Go runtime's exit code 2.
func TestPanicInListingIsAnError(t *testing.T) {
	t.Parallel()
	_, err := ListOwned(context.Background(), panickyCloud{}, "fleet", nil)
	var ce *crash.Error
	if !errors.As(err, &ce) {
		t.Fatalf("err = %v, want a recovered panic", err)
	}
	for _, want := range []string{"a panic of type string", "slice bounds out of range"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
}
