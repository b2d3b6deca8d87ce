package release

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestArchivesAreReproducible: the same files give the same archive bytes
// whatever their mtimes, owners or the order they are listed in.
func TestArchivesAreReproducible(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	bin, doc := filepath.Join(dir, "fleetctl"), filepath.Join(dir, "README.md")
	os.WriteFile(bin, []byte("binary"), 0o700)
	os.WriteFile(doc, []byte("# fleetctl\n"), 0o600)
	at := time.Date(2026, 12, 4, 18, 0, 0, 0, time.UTC)
	first := filepath.Join(dir, "a.tar.gz")
	if err := WriteArchive(first, []Member{{"fleetctl", bin, 0o755}, {"README.md", doc, 0o644}}, at); err != nil {
		t.Fatal(err)
	}
	later := time.Now().Add(time.Hour)
	os.Chtimes(bin, later, later)
	second := filepath.Join(dir, "b.tar.gz")
	if err := WriteArchive(second, []Member{{"README.md", doc, 0o644}, {"fleetctl", bin, 0o755}}, at.In(time.FixedZone("CET", 3600))); err != nil {
		t.Fatal(err)
	}
	a, _ := os.ReadFile(first)
	b, _ := os.ReadFile(second)
	if !bytes.Equal(a, b) {
		t.Error("two archives of the same files differ")
	}
	if tarBin, err := exec.LookPath("tar"); err == nil {
		out, err := exec.Command(tarBin, "-tvzf", first).CombinedOutput()
		if err != nil || !strings.Contains(string(out), "-rwxr-xr-x 0/0") || !strings.Contains(string(out), "2026-12-04 18:00") {
			t.Errorf("tar -tvzf: %v\n%s", err, out)
		}
	}
}

// TestChecksumsVerifyWithSha256sum: checksums.txt is in sha256sum's format.
func TestChecksumsVerifyWithSha256sum(t *testing.T) {
	t.Parallel()
	sha256sum, err := exec.LookPath("sha256sum")
	if err != nil {
		t.Skip("no sha256sum")
	}
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "b.tar.gz"), []byte("b"), 0o644)
	os.WriteFile(filepath.Join(dir, "a.tar.gz"), []byte("a"), 0o644)
	if err := WriteChecksums(dir, []string{"b.tar.gz", "a.tar.gz"}); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(sha256sum, "-c", ChecksumsFile)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil || string(out) != "a.tar.gz: OK\nb.tar.gz: OK\n" {
		t.Errorf("sha256sum -c: %v\n%s", err, out)
	}
}
