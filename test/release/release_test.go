// Package release_test checks a built release directory (make
// release-snapshot): every archive and bare binary is there, checksums.txt
// verifies them, each binary is a static, stripped executable of the
// platform its name says, and the ones this machine can run report the
// release's version and commit. It checks the directory
// FLEETCTL_RELEASE_DIST names, and skips without it.
package release_test

import (
	"archive/tar"
	"bufio"
	"compress/gzip"
	"debug/elf"
	"debug/macho"
	"encoding/json"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/fleetctl/fleetctl/internal/release"
	"github.com/fleetctl/fleetctl/reconcile"
)

// distDir is the release to check. Only FLEETCTL_RELEASE_DIST names one
// (make release-check sets it): reading every archive is for after a release
// build, not for each `make test`, and a dist/ left from an older build is
// not this tree's.
func distDir(t *testing.T) string {
	d := os.Getenv("FLEETCTL_RELEASE_DIST")
	if d == "" {
		t.Skip("FLEETCTL_RELEASE_DIST is unset: make release-snapshot release-check builds and checks a release")
	}
	if _, err := os.Stat(filepath.Join(d, release.ChecksumsFile)); err != nil {
		t.Fatalf("no release in %s: %v", d, err)
	}
	return d
}

var archiveName = regexp.MustCompile(`^fleetctl_(v.+)_linux_amd64\.tar\.gz$`)

func TestRelease(t *testing.T) {
	dist := distDir(t)
	sums := readChecksums(t, filepath.Join(dist, release.ChecksumsFile))
	var version string
	for name := range sums {
		if m := archiveName.FindStringSubmatch(name); m != nil {
			version = m[1]
		}
	}
	if version == "" {
		t.Fatalf("checksums.txt lists no fleetctl_VERSION_linux_amd64.tar.gz: %v", sums)
	}
	want := release.Artifacts(version)
	sort.Strings(want)
	got := make([]string, 0, len(sums))
	for name := range sums {
		got = append(got, name)
	}
	sort.Strings(got)
	if d := cmp.Diff(want, got); d != "" {
		t.Fatalf("checksums.txt lists (-want +got):\n%s", d)
	}
	for _, name := range want {
		sum, err := release.FileSHA256(filepath.Join(dist, name))
		if err != nil {
			t.Fatal(err)
		}
		if sum != sums[name] {
			t.Errorf("%s: sha256 %s, checksums.txt says %s", name, sum, sums[name])
		}
	}

	extracted := t.TempDir()
	for _, prog := range release.Programs {
		for _, p := range release.Platforms {
			name := release.ArchiveName(prog, version, p)
			t.Run(name, func(t *testing.T) {
				bin := extract(t, filepath.Join(dist, name), prog, filepath.Join(extracted, p.OS+"_"+p.Arch))
				checkExecutable(t, bin, p)
				if p.OS == runtime.GOOS && p.Arch == runtime.GOARCH {
					checkRuns(t, bin, prog, version)
				}
				if prog == "fleetctl" && p.OS == "linux" {
					a, _ := release.FileSHA256(bin)
					if b := sums[release.PluginBinaryName(p.Arch)]; a != b {
						t.Errorf("%s is not the fleetctl of %s", release.PluginBinaryName(p.Arch), name)
					}
				}
			})
		}
	}
	notes, err := os.ReadFile(filepath.Join(dist, "release-notes.md"))
	if err != nil || !strings.HasPrefix(string(notes), "# fleetctl "+version+"\n") {
		t.Errorf("release-notes.md: %v\n%s", err, notes)
	}
}

func readChecksums(t *testing.T, path string) map[string]string {
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sums := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		sum, name, ok := strings.Cut(sc.Text(), "  ")
		if !ok || len(sum) != 64 {
			t.Fatalf("checksums.txt: %q is not \"SHA256  NAME\"", sc.Text())
		}
		sums[name] = sum
	}
	return sums
}

// extract unpacks the archive's members into dir, checking that they are
// the program and README.md, owned by root, all with one mtime.
func extract(t *testing.T, archive, prog, dir string) string {
	t.Helper()
	f, err := os.Open(archive)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	if !zr.ModTime.IsZero() || zr.Name != "" {
		t.Errorf("gzip header records %q at %v", zr.Name, zr.ModTime)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(zr)
	var names []string
	var mtime time.Time
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		names = append(names, h.Name)
		if h.Uid != 0 || h.Gid != 0 || h.Uname != "" || h.Gname != "" || h.Typeflag != tar.TypeReg {
			t.Errorf("%s: owner %d:%d (%q:%q), type %c; want plain files owned by 0:0", h.Name, h.Uid, h.Gid, h.Uname, h.Gname, h.Typeflag)
		}
		if !mtime.IsZero() && !h.ModTime.Equal(mtime) {
			t.Errorf("%s: mtime %v, others %v", h.Name, h.ModTime, mtime)
		}
		mtime = h.ModTime
		wantMode := int64(0o644)
		if h.Name == prog {
			wantMode = 0o755
		}
		if h.Mode != wantMode {
			t.Errorf("%s: mode %o, want %o", h.Name, h.Mode, wantMode)
		}
		out, err := os.OpenFile(filepath.Join(dir, filepath.Base(h.Name)), os.O_CREATE|os.O_WRONLY|os.O_TRUNC, fs.FileMode(h.Mode))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.Copy(out, tr); err != nil {
			t.Fatal(err)
		}
		out.Close()
	}
	if d := cmp.Diff([]string{"README.md", prog}, names); d != "" {
		t.Errorf("members (-want +got):\n%s", d)
	}
	return filepath.Join(dir, prog)
}

// checkExecutable: the binary is of the platform its archive names, static
// (no ELF interpreter) and stripped (no symbol table, no DWARF).
func checkExecutable(t *testing.T, bin string, p release.Platform) {
	t.Helper()
	switch p.OS {
	case "linux":
		f, err := elf.Open(bin)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		want := map[string]elf.Machine{"amd64": elf.EM_X86_64, "arm64": elf.EM_AARCH64}[p.Arch]
		if f.Machine != want {
			t.Errorf("machine %s, want %s", f.Machine, want)
		}
		for _, prog := range f.Progs {
			if prog.Type == elf.PT_INTERP {
				t.Error("dynamically linked (has an interpreter)")
			}
		}
		for _, s := range []string{".symtab", ".debug_info", ".zdebug_info"} {
			if f.Section(s) != nil {
				t.Errorf("not stripped: has %s", s)
			}
		}
	case "darwin":
		f, err := macho.Open(bin)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		want := map[string]macho.Cpu{"amd64": macho.CpuAmd64, "arm64": macho.CpuArm64}[p.Arch]
		if f.Cpu != want {
			t.Errorf("cpu %s, want %s", f.Cpu, want)
		}
		for _, s := range []string{"__debug_info", "__zdebug_info"} {
			if f.Section(s) != nil {
				t.Errorf("not stripped: has %s", s)
			}
		}
	}
}

// checkRuns runs a binary this machine can execute and checks that it
// reports the release's version and a commit.
func checkRuns(t *testing.T, bin, prog, version string) {
	t.Helper()
	if prog == "hcloudsim" {
		out, err := exec.Command(bin, "-version").Output()
		if err != nil || !strings.HasPrefix(string(out), "hcloudsim "+version+" (commit ") {
			t.Errorf("hcloudsim -version: %v: %q", err, out)
		}
		return
	}
	out, err := exec.Command(bin, "version", "-o", "json").Output()
	if err != nil {
		t.Fatalf("fleetctl version: %v", err)
	}
	var info struct{ Version, Commit, Date, Platform string }
	if err := json.Unmarshal(out, &info); err != nil {
		t.Fatalf("fleetctl version -o json: %v\n%s", err, out)
	}
	if info.Version != version || !regexp.MustCompile(`^[0-9a-f]{40}$`).MatchString(info.Commit) ||
		info.Platform != runtime.GOOS+"/"+runtime.GOARCH {
		t.Errorf("fleetctl version: %+v, want version %s and a commit", info, version)
	}
	if _, err := time.Parse(time.RFC3339, info.Date); err != nil {
		t.Errorf("build date %q: %v", info.Date, err)
	}
}

// The bare binaries a release carries are the names apply looks for in a
// --plugin-binary directory and next to itself.
func TestReleaseNamesThePluginBinariesAsApplyFindsThem(t *testing.T) {
	for _, arch := range []string{"amd64", "arm64"} {
		if a, b := release.PluginBinaryName(arch), reconcile.ReleaseBinaryName(arch); a != b {
			t.Errorf("the release carries %s, apply looks for %s", a, b)
		}
	}
}
