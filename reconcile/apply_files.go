package reconcile

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"sort"
	"time"

	"github.com/fleetctl/fleetctl/reconcile/sshremote"
)

// The manager's files (and gitlab-runner's restart): written, given owner
// root:root and their mode, or made way for when a directory sits in a
// file's place, over one SSH connection once the manager accepts it and
// cloud-init is done.

// applyFiles writes the manager's changed files in plan order (binary and
// fleet.yaml copy before config.toml), then restarts gitlab-runner once if
// any change asks for it. While connected anyway, it also repairs the
// digest records the plan found missing or stale.
func (a *applier) applyFiles(ctx context.Context, changes []Change) error {
	changes = append(changes, a.digestRepairs()...)
	srv := a.manager
	if srv == nil {
		if ch := a.plan.Change(NewAddr(KindServer, a.opts.Desired.Manager.Name)); ch != nil && ch.Before != nil {
			srv = &Server{ID: ch.ID, Name: a.opts.Desired.Manager.Name, IPv4: str(ch.Before["ipv4"]),
				Labels: map[string]string{LabelSSHHostKey: str(ch.Before["ssh_host_key"])}}
		}
	}
	if srv == nil || srv.IPv4 == "" || srv.Labels[LabelSSHHostKey] == "" {
		return errors.New("the manager's files: the manager's address or host key is unknown")
	}
	ep := ManagerEndpoint(a.opts.Desired.Manager, *srv)
	a.op(Op{Addr: NewAddr(KindServer, srv.Name), Kind: OpConnect, Server: srv.Name, Endpoint: ep.Addr})
	readyCtx, cancel := context.WithTimeout(ctx, a.opts.ReadyTimeout)
	defer cancel()
	files, err := a.opts.Connector.Connect(readyCtx, ep, true)
	if mismatch := hostKeyMismatch(*srv, ep, err); mismatch != nil {
		return mismatch
	}
	if err != nil {
		return fmt.Errorf("ssh %s: %w", srv.Name, err)
	}
	defer func() { files.Close() }() // the connection last made
	// Each step below is safe to repeat (a write goes to a new temporary
	// file renamed into place), so a connection lost under one is made
	// again and the step repeated.
	retry := func(addr Addr, step func(Files) error) error {
		return a.reconnecting(ctx, &files, ep, addr, step)
	}
	a.op(Op{Addr: NewAddr(KindServer, srv.Name), Kind: OpCloudInit, Server: srv.Name})
	if _, _, err := files.Run(readyCtx, "cloud-init status --wait >/dev/null 2>&1; s=$?; [ $s -eq 0 ] || [ $s -eq 2 ] || { echo \"cloud-init failed (status $s)\" >&2; exit $s; }"); err != nil {
		return fmt.Errorf("%s: cloud-init: %w", srv.Name, err)
	}
	restart := false
	for _, ch := range changes {
		restart = restart || slices.Contains(ch.Steps, StepRestartRunner)
	}
	if restart {
		// Recorded first, so that a restart an interrupted apply owed is
		// planned by the next one.
		if err := retry(AddrRestart, func(files Files) error {
			return writeRecord(ctx, files, RestartMarker, []byte("pending\n"))
		}); err != nil {
			return fmt.Errorf("%s: %w", AddrRestart, err)
		}
	}
	for _, ch := range sortedFileChanges(changes) {
		if ch.Addr.Kind() != KindFile {
			continue
		}
		df, ok := a.desiredFile(ch.Addr)
		if !ok {
			return fmt.Errorf("%s: not in the desired state", ch.Addr)
		}
		if ch.Action == NoOp {
			// Only a digest record to repair, while connected anyway;
			// a failure costs later plans time, not correctness.
			a.op(Op{Addr: ch.Addr, Kind: OpRecordDigest, Path: df.Path, DigestRecord: df.DigestRecord})
			if err := recordDigest(ctx, files, df); err != nil {
				a.opts.Hooks.Notice(Notice{Addr: ch.Addr, Message: err.Error()})
			}
			continue
		}
		if err := retry(ch.Addr, func(files Files) error { return a.applyFileSteps(ctx, files, df, ch) }); err != nil {
			return fmt.Errorf("%s: %w", ch.Addr, err)
		}
	}
	if restart {
		a.op(Op{Addr: AddrRestart, Kind: OpRestart, Server: srv.Name})
		if err := retry(AddrRestart, func(files Files) error {
			_, _, err := files.Run(ctx, "systemctl restart gitlab-runner")
			return err
		}); err != nil {
			return fmt.Errorf("restart gitlab-runner: %w", err)
		}
		if err := retry(AddrRestart, func(files Files) error {
			return writeRecord(ctx, files, RestartMarker, []byte("done\n"))
		}); err != nil {
			return fmt.Errorf("%s: %w", AddrRestart, err)
		}
		a.record(AddrRestart, "restarted")
	}
	return nil
}

// fileAttempts bounds the attempts of one step on the manager whose SSH
// connection is lost each time.
const fileAttempts = 4

// reconnecting runs step on *files; when the SSH connection is lost under
// it, it connects again (replacing *files), says so, and runs the step
// again, up to fileAttempts times in all.
func (a *applier) reconnecting(ctx context.Context, files *Files, ep Endpoint, addr Addr, step func(Files) error) error {
	for attempt := 1; ; attempt++ {
		err := step(*files)
		if err == nil || !sshremote.IsConnectionLost(err) || ctx.Err() != nil || attempt == fileAttempts {
			return err
		}
		a.opts.Hooks.Notice(Notice{Addr: addr, Message: fmt.Sprintf("the SSH connection was lost (%v): connecting again to repeat it (attempt %d of %d)", err, attempt+1, fileAttempts)})
		(*files).Close()
		readyCtx, cancel := context.WithTimeout(ctx, a.opts.ReadyTimeout)
		again, cerr := a.opts.Connector.Connect(readyCtx, ep, true)
		cancel()
		if cerr != nil {
			return fmt.Errorf("%w; connecting again: %w", err, cerr)
		}
		*files = again
	}
}

// applyFileSteps runs the steps of one planned file or directory change,
// except the restart, which applyFiles runs once for all.
func (a *applier) applyFileSteps(ctx context.Context, files Files, df DesiredFile, ch Change) error {
	for _, step := range ch.Steps {
		switch step {
		case StepClearDirectory:
			moved, err := clearDirectory(ctx, files, df.Path, time.Now())
			if err != nil {
				return err
			}
			if moved != "" {
				a.opts.Hooks.Notice(Notice{Addr: ch.Addr, Message: fmt.Sprintf("%s was a directory with files in it; moved it aside to %s", df.Path, moved)})
			} else {
				a.opts.Hooks.Notice(Notice{Addr: ch.Addr, Message: "Removed the empty directory at " + df.Path})
			}
		case StepWrite:
			a.op(Op{Addr: ch.Addr, Kind: OpWrite, Path: df.Path, Size: df.ContentSize(), Mode: df.Mode})
			var err error
			if df.DigestRecord != "" {
				err = writeWithDigestRecord(ctx, files, df)
			} else {
				err = writeFile(ctx, files, df)
			}
			if err != nil {
				return err
			}
		case StepSetAttributes:
			a.op(Op{Addr: ch.Addr, Kind: OpSetAttributes, Path: df.Path, Mode: df.Mode})
			// Owner first: chown clears setuid and setgid bits.
			if err := files.Chown(ctx, df.Path, 0, 0); err != nil {
				return err
			}
			if err := files.Chmod(ctx, df.Path, df.Mode); err != nil {
				return err
			}
		}
	}
	switch {
	case slices.Contains(ch.Steps, StepWrite):
		a.record(ch.Addr, "written")
	case slices.Contains(ch.Steps, StepSetAttributes):
		a.record(ch.Addr, "updated")
	}
	return nil
}

// clearDirectory makes way for a file where a directory sits. An empty one
// is removed; one with anything in it is renamed aside to
// "<path>.moved-by-fleetctl-<UTC time>" in the same parent directory, so
// that nothing is lost, and the new name is returned.
func clearDirectory(ctx context.Context, files Files, p string, now time.Time) (movedTo string, err error) {
	info, err := files.Stat(ctx, p)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return "", nil
	case err != nil:
		return "", err
	case !info.IsDir():
		return "", nil // replaced meanwhile: the write renames over it
	}
	if err := files.RemoveDir(ctx, p); err == nil {
		return "", nil
	}
	to := p + ".moved-by-fleetctl-" + now.UTC().Format("20060102T150405Z")
	if err := files.Rename(ctx, p, to); err != nil {
		return "", fmt.Errorf("%s is a directory and could not be moved aside: %w", p, err)
	}
	return to, nil
}

// writeFile writes a desired file without a digest record.
func writeFile(ctx context.Context, files Files, f DesiredFile) error {
	data, err := f.readContent()
	if err != nil {
		return err
	}
	return files.WriteFile(ctx, f.Path, data, f.Mode)
}

// digestRepairs are the unchanged files whose digest record the plan found
// missing or stale.
func (a *applier) digestRepairs() []Change {
	var out []Change
	for _, ch := range a.plan.Changes {
		if ch.Action == NoOp && slices.Contains(ch.Steps, StepRecordDigest) {
			out = append(out, ch)
		}
	}
	return out
}

func sortedFileChanges(changes []Change) []Change {
	out := append([]Change(nil), changes...)
	sort.SliceStable(out, func(i, j int) bool { return addrLess(out[i].Addr, out[j].Addr) })
	return out
}

func (a *applier) desiredFile(addr Addr) (DesiredFile, bool) {
	for _, f := range a.opts.Desired.Files {
		if f.Addr == addr {
			return f, true
		}
	}
	return DesiredFile{}, false
}
