package reconcile

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
)

// The manager's files (and gitlab-runner's restart): written over one SSH
// connection once the manager accepts it and cloud-init is done.

// applyFiles writes the manager's changed files in plan order (binary and
// fleet.yaml copy before config.toml), then restarts gitlab-runner once if
// any change asks for it.
func (a *applier) applyFiles(ctx context.Context, changes []Change) error {
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
	if err != nil {
		return fmt.Errorf("ssh %s: %w", srv.Name, err)
	}
	defer files.Close()
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
		if err := files.WriteFile(ctx, RestartMarker, []byte("pending\n"), 0o600); err != nil {
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
		a.op(Op{Addr: ch.Addr, Kind: OpWrite, Path: df.Path, Size: df.ContentSize(), Mode: df.Mode})
		var err error
		if df.DigestRecord != "" {
			err = writeWithDigestRecord(ctx, files, df)
		} else {
			err = writeFile(ctx, files, df)
		}
		if err != nil {
			return fmt.Errorf("%s: %w", ch.Addr, err)
		}
		a.record(ch.Addr, "written")
	}
	if restart {
		a.op(Op{Addr: AddrRestart, Kind: OpRestart, Server: srv.Name})
		if _, _, err := files.Run(ctx, "systemctl restart gitlab-runner"); err != nil {
			return fmt.Errorf("restart gitlab-runner: %w", err)
		}
		if err := files.WriteFile(ctx, RestartMarker, []byte("done\n"), 0o600); err != nil {
			return fmt.Errorf("%s: %w", AddrRestart, err)
		}
		a.record(AddrRestart, "restarted")
	}
	return nil
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
