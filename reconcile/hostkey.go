package reconcile

import (
	"errors"
	"fmt"

	"github.com/fleetctl/fleetctl/reconcile/sshremote"
)

// HostKeyMismatchError is a manager that presented another SSH host key than
// the fingerprint its label records. It is an error of plan and apply, never
// a note: it may be a man-in-the-middle, and a plan that only mentions it
// would let a scheduled drift check stay green.
type HostKeyMismatchError struct {
	Server   string
	ServerID int64
	Addr     string
	// KeyType, Presented and Expected are as sshremote reports them:
	// fingerprints in the label's form.
	KeyType   string
	Presented string
	Expected  string
}

func (e *HostKeyMismatchError) Error() string {
	return fmt.Sprintf("server %s (id %d) at %s presented the SSH host key %s (%s), but its label %s records %s: "+
		"fleetctl did not connect, this may be a man-in-the-middle. "+
		"If the server's host key was changed on purpose and you checked the new fingerprint out of band "+
		"(e.g. with ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub on Hetzner's web console), set the label to it: "+
		"hcloud server add-label --overwrite %s %s=%s; otherwise replace the server",
		e.Server, e.ServerID, e.Addr, e.Presented, e.KeyType, LabelSSHHostKey, e.Expected,
		e.Server, LabelSSHHostKey, e.Presented)
}

// Is makes errors.Is(err, sshremote.ErrHostKeyMismatch) hold.
func (e *HostKeyMismatchError) Is(target error) bool { return target == sshremote.ErrHostKeyMismatch }

// hostKeyMismatch returns err as a HostKeyMismatchError naming the server
// when it is a host key mismatch, and nil otherwise.
func hostKeyMismatch(s Server, ep Endpoint, err error) error {
	var m *sshremote.HostKeyMismatchError
	if !errors.As(err, &m) {
		return nil
	}
	return &HostKeyMismatchError{Server: s.Name, ServerID: s.ID, Addr: ep.Addr,
		KeyType: m.KeyType, Presented: m.Presented, Expected: m.Expected}
}
