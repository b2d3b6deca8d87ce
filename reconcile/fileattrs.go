package reconcile

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"path"
	"strings"

	"github.com/fleetctl/fleetctl/reconcile/sshremote"
	"github.com/fleetctl/fleetctl/spec"
)

// MaxManagerFileSize bounds what plan reads of config.toml and the fleet.yaml
// copy on the manager (both are a few kilobytes): a larger file is shown as
// "unreadable: too large" and replaced by apply, never read. The plugin
// binary is read up to the size of the one to install: a larger one differs.
const MaxManagerFileSize = 4 << 20

// maxRecordSize bounds fleetctl's own small records on the manager (the
// restart marker, the binary's digest record).
const maxRecordSize = 4 << 10

// rootOwner is the owner and group of every file and directory fleetctl
// writes on the manager: gitlab-runner runs as root and reads them as root.
const rootOwner = "0:0"

// Addresses of the directories that hold the manager's files. fleetctl owns
// them and keeps them root's alone (0700): config.toml's (which gitlab-runner
// itself creates 0700), the fleet.yaml copy's, and its state directory with
// the restart marker and the binary's digest record. /usr/local/bin, which
// holds the binary, is the system's and is left alone.
const (
	AddrConfigDir    Addr = "file.config_toml_dir"
	AddrFleetYAMLDir Addr = "file.fleet_yaml_dir"
	AddrStateDir     Addr = "file.state_dir"
)

// StateDir is fleetctl's directory on the manager (RestartMarker,
// BinaryDigestRecord).
const StateDir = "/var/lib/fleetctl"

// More steps of file changes.
const (
	// StepSetAttributes sets owner root:root and the desired mode of a file
	// or directory whose content, if any, is right.
	StepSetAttributes Step = "set_attributes"
	// StepClearDirectory removes the directory that sits where a file
	// belongs: removed when empty, otherwise renamed aside (see
	// clearDirectory).
	StepClearDirectory Step = "clear_directory"
)

// fleetctlDir reports whether dir is one fleetctl creates and owns, so that
// its owner and mode are fleetctl's to keep.
func fleetctlDir(dir string) bool {
	for _, own := range []string{path.Dir(spec.DefaultSpecPath), path.Dir(spec.DefaultConfigPath), StateDir} {
		if dir == own || strings.HasPrefix(dir, own+"/") {
			return true
		}
	}
	return false
}

// desiredDirectories are the directories fleetctl owns that hold the given
// files, each once, in the order Apply fixes them (before the files).
func desiredDirectories(files []DesiredFile) []DesiredFile {
	addrs := map[Addr]Addr{AddrConfigTOML: AddrConfigDir, AddrFleetYAML: AddrFleetYAMLDir}
	var out []DesiredFile
	seen := map[string]bool{}
	add := func(addr Addr, dir string) {
		if seen[dir] || !fleetctlDir(dir) {
			return
		}
		seen[dir] = true
		out = append(out, DesiredFile{Addr: addr, Path: dir, Mode: 0o700, Format: FormatDirectory})
	}
	// config.toml's first: its directory is the one gitlab-runner uses.
	for _, want := range []Addr{AddrConfigTOML, AddrFleetYAML} {
		for _, f := range files {
			if f.Addr == want {
				add(addrs[want], path.Dir(f.Path))
			}
		}
	}
	add(AddrStateDir, StateDir)
	return out
}

// ownerOf is the numeric "uid:gid" of a file, "" when unknown.
func ownerOf(info fs.FileInfo) string {
	uid, gid, ok := sshremote.Owner(info)
	if !ok {
		return ""
	}
	return fmt.Sprintf("%d:%d", uid, gid)
}

// modeOf is a file's mode without its type bits; 0 when unknown.
func modeOf(info fs.FileInfo) fs.FileMode {
	if info == nil {
		return 0
	}
	return info.Mode() &^ fs.ModeType
}

// permString is a mode as chmod takes it, setuid, setgid and sticky
// included: "0600", "4755".
func permString(m fs.FileMode) string {
	bits := uint32(m.Perm())
	if m&fs.ModeSetuid != 0 {
		bits |= 0o4000
	}
	if m&fs.ModeSetgid != 0 {
		bits |= 0o2000
	}
	if m&fs.ModeSticky != 0 {
		bits |= 0o1000
	}
	return fmt.Sprintf("%04o", bits)
}

// attrBits are the mode bits fleetctl compares.
const attrBits = fs.ModePerm | fs.ModeSetuid | fs.ModeSetgid | fs.ModeSticky

// attributesDiffer reports whether a live file's owner or mode is not what
// fleetctl writes. An owner the server did not report is not compared.
func attributesDiffer(f DesiredFile, lf LiveFile) bool {
	return lf.Mode&attrBits != f.Mode&attrBits || (lf.Owner != "" && lf.Owner != rootOwner)
}

// unreadFile turns ReadFile's refusals into what plan shows: a file that
// exists but is not one fleetctl could have written, to be replaced.
func unreadFile(f DesiredFile, info fs.FileInfo, err error) (LiveFile, error) {
	var notRegular *sshremote.NotRegularError
	var tooLarge *sshremote.TooLargeError
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return LiveFile{}, nil
	case errors.As(err, &notRegular):
		return LiveFile{Exists: true, Mode: notRegular.Mode &^ fs.ModeType, Owner: ownerOf(info),
			Unreadable: "unreadable: " + sshremote.DescribeType(notRegular.Mode), IsDir: notRegular.Mode.IsDir()}, nil
	case errors.As(err, &tooLarge) && f.Format == FormatBytes:
		return LiveFile{Exists: true, Mode: modeOf(info), Owner: ownerOf(info),
			Unreadable: fmt.Sprintf("not read: %d bytes, more than the %d to install", tooLarge.Size, f.ContentSize())}, nil
	case errors.As(err, &tooLarge):
		return LiveFile{Exists: true, Mode: modeOf(info), Owner: ownerOf(info),
			Unreadable: fmt.Sprintf("unreadable: too large, %d bytes", tooLarge.Size)}, nil
	}
	return LiveFile{}, err
}

// readDirectory reads a directory's owner and mode. Anything else at its
// path is an error: the files in it could not be written.
func readDirectory(ctx context.Context, files Files, f DesiredFile) (LiveFile, error) {
	info, err := files.Stat(ctx, f.Path)
	if errors.Is(err, fs.ErrNotExist) {
		return LiveFile{}, nil
	}
	if err != nil {
		return LiveFile{}, err
	}
	if !info.IsDir() {
		return LiveFile{}, fmt.Errorf("%s is %s, not a directory: move it away so that fleetctl can write the files in it",
			f.Path, sshremote.DescribeType(info.Mode()))
	}
	return LiveFile{Exists: true, Mode: info.Mode() &^ fs.ModeType, Owner: ownerOf(info)}, nil
}

// attributeValues are a file's owner and mode as plans show them.
func attributeValues(lf LiveFile) Values {
	v := Values{"mode": permString(lf.Mode)}
	if lf.Owner != "" {
		v["owner"] = lf.Owner
	}
	return v
}

// diffDirectory plans a directory fleetctl owns. A missing one is no change:
// the writes of its files create it root's alone (see sshremote.WriteFile),
// as cloud-init does on a fresh manager.
func diffDirectory(f DesiredFile, l *Live) (Change, bool) {
	lf, ok := l.Files[f.Addr]
	if !ok || !lf.Exists {
		return Change{}, false
	}
	after := Values{"path": f.Path, "owner": rootOwner, "mode": permString(f.Mode)}
	before := maps.Clone(after)
	maps.Copy(before, attributeValues(lf))
	ch := Change{Addr: f.Addr, Before: before, After: after}
	if attributesDiffer(f, lf) {
		ch.Action, ch.Steps = Update, []Step{StepSetAttributes}
	}
	return ch, true
}

// unreadableFileChange plans the replacement of a file that exists but was
// not read (too large, or not a regular file).
func unreadableFileChange(f DesiredFile, lf LiveFile, after Values) Change {
	before := Values{"path": f.Path}
	maps.Copy(before, attributeValues(lf))
	if f.Format == FormatBytes {
		before["sha256"] = "(" + lf.Unreadable + ")"
	} else {
		before["content"] = "(" + lf.Unreadable + ")"
	}
	var steps []Step
	if lf.IsDir {
		steps = append(steps, StepClearDirectory)
	}
	steps = append(steps, StepWrite)
	if f.RestartOnChange || f.RestartKey != nil {
		steps = append(steps, StepRestartRunner)
	}
	return Change{Addr: f.Addr, Action: Update, Before: before, After: after, Steps: steps,
		Reason: f.Path + " is " + strings.TrimPrefix(strings.TrimPrefix(lf.Unreadable, "unreadable: "), "not read: ") +
			": replaced by the file fleetctl writes"}
}
