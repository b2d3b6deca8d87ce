package release

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Options say what to build.
type Options struct {
	Repo string // the clone to build, the module root
	Dist string // output directory; replaced
	// Snapshot builds without a release tag, as version
	// <last tag or v0.0.0>-snapshot.<commit>, for local and CI checks; a
	// release build needs HEAD tagged vX.Y.Z and a clean tree.
	Snapshot bool
	Go       string    // the go command; "go" when empty
	Log      io.Writer // progress
}

// Source is what a build is made from, read from git.
type Source struct {
	Version string
	Commit  string
	Time    time.Time // the commit's time: the build date and every archive mtime
	Dirty   bool
	// Previous is the last release tag before HEAD, "" when there is none.
	Previous string
}

// ReadSource reads version, commit and time from the clone at repo.
func ReadSource(ctx context.Context, repo string, snapshot bool) (Source, error) {
	var s Source
	var err error
	if s.Commit, err = git(ctx, repo, "rev-parse", "HEAD"); err != nil {
		return s, err
	}
	epoch, err := git(ctx, repo, "log", "-1", "--format=%ct")
	if err != nil {
		return s, err
	}
	sec, err := strconv.ParseInt(epoch, 10, 64)
	if err != nil {
		return s, fmt.Errorf("commit time %q: %w", epoch, err)
	}
	s.Time = time.Unix(sec, 0).UTC()
	status, err := git(ctx, repo, "status", "--porcelain", "--untracked-files=no")
	if err != nil {
		return s, err
	}
	s.Dirty = status != ""
	tag, _ := git(ctx, repo, "describe", "--tags", "--exact-match", "--match", "v[0-9]*", s.Commit)
	s.Previous, _ = git(ctx, repo, "describe", "--tags", "--abbrev=0", "--match", "v[0-9]*", s.Commit+"^")
	switch {
	case !snapshot && tag == "":
		return s, errors.New("HEAD has no release tag (vX.Y.Z): tag it, or build a snapshot")
	case !snapshot && s.Dirty:
		return s, errors.New("the tree has uncommitted changes: a release is built from its tag alone")
	case !snapshot:
		s.Version = tag
	default:
		base, _ := git(ctx, repo, "describe", "--tags", "--abbrev=0", "--match", "v[0-9]*", s.Commit)
		if base == "" {
			base = "v0.0.0"
		}
		s.Version = base + "-snapshot." + s.Commit[:12]
		if s.Dirty {
			s.Version += ".dirty"
		}
	}
	return s, nil
}

// Build makes a release in opts.Dist: an archive per program and platform,
// the bare Linux fleetctl binaries, checksums.txt and release-notes.md.
func Build(ctx context.Context, opts Options) (Source, error) {
	if opts.Go == "" {
		opts.Go = "go"
	}
	if opts.Log == nil {
		opts.Log = io.Discard
	}
	src, err := ReadSource(ctx, opts.Repo, opts.Snapshot)
	if err != nil {
		return src, err
	}
	if err := os.RemoveAll(opts.Dist); err != nil {
		return src, err
	}
	stage := filepath.Join(opts.Dist, ".build")
	if err := os.MkdirAll(stage, 0o755); err != nil {
		return src, err
	}
	docs := []Member{{Name: "README.md", Path: filepath.Join(opts.Repo, "README.md"), Mode: 0o644}}
	for _, p := range Platforms {
		for _, prog := range Programs {
			bin := filepath.Join(stage, p.OS+"_"+p.Arch, prog)
			fmt.Fprintf(opts.Log, "building %s for %s\n", prog, p)
			if err := goBuild(ctx, opts, src, p, prog, bin); err != nil {
				return src, err
			}
			members := append([]Member{{Name: prog, Path: bin, Mode: 0o755}}, docs...)
			if err := WriteArchive(filepath.Join(opts.Dist, ArchiveName(prog, src.Version, p)), members, src.Time); err != nil {
				return src, err
			}
			if prog == "fleetctl" && p.OS == "linux" {
				if err := copyFile(bin, filepath.Join(opts.Dist, PluginBinaryName(p.Arch))); err != nil {
					return src, err
				}
			}
		}
	}
	if err := os.RemoveAll(stage); err != nil {
		return src, err
	}
	if err := WriteChecksums(opts.Dist, Artifacts(src.Version)); err != nil {
		return src, err
	}
	notes, err := Notes(ctx, opts.Repo, src)
	if err != nil {
		return src, err
	}
	return src, os.WriteFile(filepath.Join(opts.Dist, "release-notes.md"), []byte(notes), 0o644)
}

// LDFlags stamp the version into internal/buildinfo and strip the symbol
// table and DWARF; the build ID is emptied so that only the sources decide
// the bytes.
func LDFlags(src Source) string {
	const pkg = "github.com/fleetctl/fleetctl/internal/buildinfo"
	return fmt.Sprintf("-s -w -buildid= -X %s.version=%s -X %s.commit=%s -X %s.date=%s",
		pkg, src.Version, pkg, src.Commit, pkg, src.Time.Format(time.RFC3339))
}

// goBuild builds a static, stripped binary: CGO off, paths trimmed, and no
// VCS stamp (the commit is stamped by LDFlags, and Go's stamp would change
// with untracked files in the clone).
func goBuild(ctx context.Context, opts Options, src Source, p Platform, prog, out string) error {
	cmd := exec.CommandContext(ctx, opts.Go, "build", "-trimpath", "-buildvcs=false", "-mod=readonly",
		"-ldflags", LDFlags(src), "-o", out, "./cmd/"+prog)
	cmd.Dir = opts.Repo
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS="+p.OS, "GOARCH="+p.Arch,
		"GOAMD64=v1", "GOARM64=v8.0", "GOFLAGS=", "GOEXPERIMENT=")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("go build %s for %s: %w\n%s", prog, p, err, stderr.String())
	}
	return nil
}

// Notes are the release notes: the commits since the previous release tag.
func Notes(ctx context.Context, repo string, src Source) (string, error) {
	rng := src.Commit
	since := "the first commit"
	if src.Previous != "" {
		rng, since = src.Previous+".."+src.Commit, src.Previous
	}
	log, err := git(ctx, repo, "log", "--no-merges", "--format=- %s (%h)", rng)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("# fleetctl %s\n\nCommit %s, %s. Changes since %s:\n\n%s\n\n"+
		"Verify a download with `sha256sum -c --ignore-missing checksums.txt`.\n",
		src.Version, src.Commit, src.Time.Format(time.RFC3339), since, log), nil
}

func git(ctx context.Context, repo string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Dir = repo
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("git %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return strings.TrimSpace(string(out)), nil
}

func copyFile(from, to string) error {
	b, err := os.ReadFile(from)
	if err != nil {
		return err
	}
	return os.WriteFile(to, b, 0o755)
}
