// Package testenv locates what the tests need beside the checkout: the
// shared folder with the Hetzner Cloud OpenAPI document.
package testenv

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// ModuleRoot returns the directory holding go.mod, searching upwards from the
// working directory (a package directory under go test).
func ModuleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("go.mod not found above the working directory")
		}
		dir = parent
	}
}

// SharedDir returns $FLEETCTL_SHARED, else the folder "shared" beside the
// checkout.
func SharedDir() (string, error) {
	if d := os.Getenv("FLEETCTL_SHARED"); d != "" {
		return d, nil
	}
	root, err := ModuleRoot()
	if err != nil {
		return "", err
	}
	return filepath.Join(filepath.Dir(root), "shared"), nil
}

// HCloudOpenAPI returns the path of the patched Hetzner Cloud OpenAPI
// document. Where it is missing the test fails under CI (CI=true) and is
// skipped elsewhere.
func HCloudOpenAPI(t testing.TB) string {
	t.Helper()
	dir, err := SharedDir()
	if err == nil {
		p := filepath.Join(dir, "hcloud", "cloud.spec.patched.json")
		if _, err = os.Stat(p); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("Hetzner Cloud OpenAPI document not found (set FLEETCTL_SHARED): %v", err)
	}
	t.Skipf("Hetzner Cloud OpenAPI document not found, skipping (set FLEETCTL_SHARED): %v", err)
	return ""
}
