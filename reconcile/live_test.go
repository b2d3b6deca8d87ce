package reconcile

import (
	"context"
	"fmt"
	"io/fs"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/fleetctl/fleetctl/spec"
)

// recordingConnector hands out managers with no files and records which
// servers were dialled and which connections closed.
type recordingConnector struct {
	mu     sync.Mutex
	dialed []string
	closed []string
}

func (c *recordingConnector) Connect(_ context.Context, ep Endpoint, _ bool) (Files, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.dialed = append(c.dialed, ep.Addr)
	return &emptyFiles{addr: ep.Addr, c: c}, nil
}

type emptyFiles struct {
	addr string
	c    *recordingConnector
}

func (f *emptyFiles) ReadFile(context.Context, string, int64) ([]byte, fs.FileInfo, error) {
	return nil, nil, fs.ErrNotExist
}
func (f *emptyFiles) Chown(context.Context, string, int, int) error { return fmt.Errorf("read-only") }
func (f *emptyFiles) Chmod(context.Context, string, fs.FileMode) error {
	return fmt.Errorf("read-only")
}
func (f *emptyFiles) RemoveDir(context.Context, string) error           { return fmt.Errorf("read-only") }
func (f *emptyFiles) Rename(context.Context, string, string) error      { return fmt.Errorf("read-only") }
func (f *emptyFiles) Stat(context.Context, string) (fs.FileInfo, error) { return nil, fs.ErrNotExist }
func (f *emptyFiles) WriteFile(context.Context, string, []byte, fs.FileMode) error {
	return fmt.Errorf("read-only")
}
func (f *emptyFiles) Chtimes(context.Context, string, time.Time) error {
	return fmt.Errorf("read-only")
}
func (f *emptyFiles) Run(context.Context, string) ([]byte, []byte, error) {
	return nil, nil, fmt.Errorf("read-only")
}
func (f *emptyFiles) Close() error {
	f.c.mu.Lock()
	defer f.c.mu.Unlock()
	f.c.closed = append(f.c.closed, f.addr)
	return nil
}

// TestEarlyManagerConnection: plan's connection to the manager, opened from
// the lists while the desired state is built, is the one the manager's
// files are read over; one to a server that turns out not to be the
// manager is closed, and the manager is dialled as before.
func TestEarlyManagerConnection(t *testing.T) {
	t.Parallel()
	f := loadDesiredFleet(t, "cpx11")
	d := &Desired{Fleet: f.Name, Manager: DesiredServer{Name: f.Manager.Name},
		Files: []DesiredFile{{Addr: AddrConfigTOML, Path: spec.DefaultConfigPath, Mode: 0o600, Format: FormatTOML}}}
	manager := func(id int64, ip string) Server {
		return Server{ID: id, Name: f.Manager.Name, Status: "running", IPv4: ip,
			Labels: map[string]string{spec.LabelRole: RoleManager, LabelSSHHostKey: "sha256-x"}}
	}
	type result struct {
		Dialed, Closed []string
		Read           bool
	}
	for _, tc := range []struct {
		name string
		// early is the server the lists showed; live the one read.
		early, live Server
		want        result
	}{{
		name: "the manager dialled early is read", early: manager(1, "192.0.2.1"), live: manager(1, "192.0.2.1"),
		want: result{Dialed: []string{"192.0.2.1:22"}, Closed: []string{"192.0.2.1:22"}, Read: true},
	}, {
		name: "another server dialled early is closed", early: manager(1, "192.0.2.1"), live: manager(2, "192.0.2.2"),
		want: result{Dialed: []string{"192.0.2.1:22", "192.0.2.2:22"}, Closed: []string{"192.0.2.1:22", "192.0.2.2:22"}, Read: true},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := &recordingConnector{}
			early := dialManagerEarly(context.Background(), f, &Live{Servers: []Server{tc.early}}, c)
			if early == nil {
				t.Fatal("a running, labelled manager was not dialled early")
			}
			l := &Live{Servers: []Server{tc.live}, Files: map[Addr]LiveFile{}}
			// No lookups by name: every desired resource is listed.
			if err := CompleteLive(context.Background(), nil, d, l, ReadOptions{Connector: c, early: early}); err != nil {
				t.Fatal(err)
			}
			_, read := l.Files[AddrConfigTOML]
			got := result{Dialed: c.dialed, Closed: slices.Sorted(slices.Values(c.closed)), Read: read}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}

	for _, s := range []Server{
		{ID: 1, Name: f.Manager.Name, Status: "off", IPv4: "192.0.2.1", Labels: map[string]string{spec.LabelRole: RoleManager, LabelSSHHostKey: "sha256-x"}},
		{ID: 1, Name: f.Manager.Name, Status: "running", IPv4: "192.0.2.1", Labels: map[string]string{spec.LabelRole: RoleManager}},
		{ID: 1, Name: "other", Status: "running", IPv4: "192.0.2.1", Labels: map[string]string{spec.LabelRole: RoleManager, LabelSSHHostKey: "sha256-x"}},
	} {
		c := &recordingConnector{}
		if early := dialManagerEarly(context.Background(), f, &Live{Servers: []Server{s}}, c); early != nil || len(c.dialed) > 0 {
			t.Errorf("server %+v was dialled early; plan would not connect to it", s)
		}
	}
}
