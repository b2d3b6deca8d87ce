package spec

import (
	"path"
	"regexp"
	"strings"
)

// SpecDir is the directory fleetctl owns on the manager: cloud-init creates
// it root-owned and 0700, and nothing but fleetctl writes into it. The
// fleet.yaml copy the plugin reads (manager.spec_path) must be a file
// directly in it, so that no spelling of spec_path can make apply overwrite
// a file it does not own (the plugin binary, config.toml, /etc/passwd,
// root's authorized_keys).
const SpecDir = "/etc/fleetctl"

// specFileName is a plain file name in SpecDir: no hidden names (apply's
// temporary files start with a dot) and a YAML extension, so that it can
// never name a directory.
var specFileName = regexp.MustCompile(`^[A-Za-z0-9_-][A-Za-z0-9._-]*\.ya?ml$`)

// specPathPattern is specFileName anchored in SpecDir, for the JSON Schema.
const specPathPattern = `^/etc/fleetctl/[A-Za-z0-9_-][A-Za-z0-9._-]*\.ya?ml$`

// managedPaths are the files and directories on the manager that fleetctl
// writes or owns, with what each one is. No configurable path may name one.
var managedPaths = map[string]string{
	DefaultConfigPath:                   "the config.toml fleetctl writes",
	path.Dir(DefaultConfigPath):         "gitlab-runner's configuration directory",
	DefaultPluginPath:                   "the fleetctl binary gitlab-runner runs as its plugin",
	SpecDir:                             "the directory fleetctl owns",
	"/var/lib/fleetctl":                 "the directory of fleetctl's records",
	"/var/lib/fleetctl/fleetctl.sha256": "fleetctl's record of the plugin binary's digest",
}

// uncleanPath says how p is not an absolute, clean path on the manager, or
// returns "". An absolute clean path is one path.Clean leaves as it is:
// no "." or ".." elements, no doubled or trailing slash.
func uncleanPath(p string) string {
	switch {
	case !path.IsAbs(p):
		return "must be an absolute path on the manager"
	case strings.HasSuffix(p, "/") && p != "/":
		return "ends in a slash, which names a directory"
	case strings.ContainsAny(p, "\x00\n\r\t"):
		return "holds a control character"
	case path.Clean(p) != p:
		return "is not a clean path (it has //, . or .. elements; cleaned it is " + path.Clean(p) + ")"
	}
	return ""
}

// specPath checks manager.spec_path: the apply writes this file, so it must
// be a file of fleetctl's own in SpecDir.
func (c *checker) specPath(p string) {
	const field = "manager.spec_path"
	allowed := "spec_path must be a file directly in " + SpecDir + ", the directory fleetctl owns on the manager, named *.yaml or *.yml, e.g. " + DefaultSpecPath
	if why := uncleanPath(p); why != "" {
		c.add(field, "%q %s; %s", p, why, allowed)
		return
	}
	if what, ok := managedPaths[p]; ok {
		c.add(field, "%q is %s, which apply would overwrite; %s", p, what, allowed)
		return
	}
	if path.Dir(p) != SpecDir {
		c.add(field, "%q is outside %s, and apply would overwrite whatever is there; %s", p, SpecDir, allowed)
		return
	}
	if !specFileName.MatchString(path.Base(p)) {
		c.add(field, "%q is not a plain *.yaml or *.yml file name; %s", p, allowed)
	}
}

// managerPath checks a path on the manager that gitlab-runner reads or
// writes (connector_config.key_path, state_storage.dir): absolute, clean
// and none of the files and directories fleetctl manages.
func (c *checker) managerPath(field, p, example string) {
	if why := uncleanPath(p); why != "" {
		c.add(field, "%q %s: write an absolute, clean path, e.g. %s", p, why, example)
		return
	}
	if what, ok := managedPaths[p]; ok {
		c.add(field, "%q is %s: use a path of its own, e.g. %s", p, what, example)
		return
	}
	if strings.HasPrefix(p, SpecDir+"/") {
		c.add(field, "%q is in %s, the directory fleetctl owns: use a path of its own, e.g. %s", p, SpecDir, example)
		return
	}
	if systemPath(p) {
		c.add(field, "%q is a system path: use a path of its own, e.g. %s", p, example)
	}
}

// systemDirs are the top-level directories of the manager's system, and
// the trees under them that no configuration should point into.
var (
	systemDirs  = []string{"/", "/bin", "/boot", "/dev", "/etc", "/home", "/lib", "/lib64", "/opt", "/proc", "/root", "/run", "/sbin", "/srv", "/sys", "/tmp", "/usr", "/var"}
	systemTrees = []string{"/bin", "/boot", "/dev", "/lib", "/lib64", "/proc", "/sbin", "/sys", "/usr", "/etc/ssh", "/root/.ssh"}
)

// systemPath reports whether p is one of systemDirs or lies in one of
// systemTrees, or is one of the account databases in /etc.
func systemPath(p string) bool {
	for _, d := range systemDirs {
		if p == d {
			return true
		}
	}
	for _, d := range systemTrees {
		if p == d || strings.HasPrefix(p, d+"/") {
			return true
		}
	}
	switch p {
	case "/etc/passwd", "/etc/shadow", "/etc/group", "/etc/gshadow", "/etc/sudoers":
		return true
	}
	return false
}
