package reconcile

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// ReleaseBinaryName is the name of the Linux fleetctl for an architecture in
// a release directory (and in a release's assets): fleetctl-linux-amd64,
// fleetctl-linux-arm64, as gitlab-runner names its binaries.
func ReleaseBinaryName(goarch string) string { return "fleetctl-linux-" + goarch }

// findPluginBinary picks the file to install as the plugin on a manager that
// runs linux/want. flag is --plugin-binary: a file is used as it is, a
// directory must hold ReleaseBinaryName(want). Without it the running
// executable is used when it is a linux/want build, else
// ReleaseBinaryName(want) next to it, so that a CI job on amd64 with both
// release binaries installed side by side serves an Arm manager too.
//
// named reports that the file was chosen by name, so that one that is not
// an executable is an error rather than a mismatch. A non-empty reason says
// which file is missing; the binary then cannot be managed.
func findPluginBinary(flag, want, serverType string) (path string, named bool, reason string, err error) {
	if flag != "" {
		info, err := os.Stat(flag)
		if err != nil || !info.IsDir() {
			return flag, true, "", nil // opened, and any error reported, by the caller
		}
		p := filepath.Join(flag, ReleaseBinaryName(want))
		if ok, err := exists(p); err != nil || ok {
			return p, true, "", err
		}
		return "", false, fmt.Sprintf("the manager (%s) runs linux/%s but --plugin-binary %s holds no %s: %s does not exist",
			serverType, want, flag, ReleaseBinaryName(want), p), nil
	}
	exe, err := executable()
	if err != nil {
		return "", false, "", fmt.Errorf("plugin binary: %w", err)
	}
	if arch, _ := fileArchitecture(exe); arch == want {
		return exe, false, "", nil
	}
	p := filepath.Join(filepath.Dir(exe), ReleaseBinaryName(want))
	if ok, err := exists(p); err != nil || ok {
		return p, true, "", err
	}
	return "", false, fmt.Sprintf("the manager (%s) runs linux/%s but this fleetctl (%s) is not a linux/%s build and %s does not exist: "+
		"install the linux/%s release binary there, or pass --plugin-binary with it or with a directory holding %s",
		serverType, want, exe, want, p, want, ReleaseBinaryName(want)), nil
}

// fileArchitecture is the GOARCH of the Linux executable at path; "" with an
// error for anything else.
func fileArchitecture(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	return elfArchitecture(f)
}

func exists(path string) (bool, error) {
	_, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("plugin binary: %w", err)
	}
	return true, nil
}

// executable is os.Executable, replaced in tests.
var executable = os.Executable
