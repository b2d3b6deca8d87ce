package reconcile

import (
	"crypto/sha256"
	"debug/elf"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"regexp"
	"runtime"
	"slices"
	"sort"
	"strings"

	"golang.org/x/crypto/ssh"

	"github.com/fleetctl/fleetctl/reconcile/sshremote"
	"github.com/fleetctl/fleetctl/render"
	"github.com/fleetctl/fleetctl/spec"
)

// DesiredOptions tune NewDesired.
type DesiredOptions struct {
	// PluginBinary is the fleetctl binary to install on the manager; ""
	// means the running executable.
	PluginBinary string
	// Secret resolves secret references; nil means spec.Secret.Resolve.
	Secret func(spec.Secret) (string, error)
	// Secrets collects every value Secret resolved (Desired.Secrets);
	// nil means a new set.
	Secrets *Secrets
}

// unknownMarker stands in for a secret that could not be resolved; values
// holding it are not compared.
const unknownMarker = "<fleetctl: unknown secret "

// NewDesired builds the desired state from a loaded fleet: public keys read,
// config.toml rendered with the secrets that can be resolved (the others
// become notes), the fleet.yaml copy read and the plugin binary hashed.
func NewDesired(f *spec.Fleet, opts DesiredOptions) (*Desired, error) {
	resolve := opts.Secret
	if resolve == nil {
		resolve = spec.Secret.Resolve
	}
	secrets := opts.Secrets
	if secrets == nil {
		secrets = NewSecrets()
	}
	resolveAndRecord := func(s spec.Secret) (string, error) {
		v, err := resolve(s)
		if err == nil {
			secrets.Add(v)
		}
		return v, err
	}
	d := &Desired{Fleet: f.Name, UpstreamGroups: UpstreamGroups(f), Secrets: secrets}
	keyFingerprints := map[string]string{}
	for i, k := range f.SSHKeys {
		pub, err := k.PublicKeyValue()
		if err != nil {
			field := "public_key"
			if k.PublicKey == "" {
				field = "public_key_file"
			}
			return nil, &render.FieldError{Path: fmt.Sprintf("ssh_keys[%d].%s", i, field), Err: err}
		}
		d.SSHKeys = append(d.SSHKeys, DesiredSSHKey{Name: k.Name, PublicKey: pub, Labels: ownedLabels(f, k.Labels, RoleSSHKey)})
		if pk, _, _, _, err := ssh.ParseAuthorizedKey([]byte(pub)); err == nil {
			keyFingerprints[k.Name] = ssh.FingerprintSHA256(pk)
		}
	}
	for _, fw := range f.Firewalls {
		df := DesiredFirewall{Name: fw.Name, Labels: ownedLabels(f, fw.Labels, RoleFirewall)}
		for _, r := range fw.Rules {
			df.Rules = append(df.Rules, FirewallRule{
				Description: r.Description, Direction: r.Direction, Protocol: r.Protocol, Port: r.Port,
				SourceIPs: canonicalCIDRs(r.SourceIPs), DestinationIPs: canonicalCIDRs(r.DestinationIPs),
			})
		}
		for _, a := range fw.ApplyTo {
			df.ApplyTo = append(df.ApplyTo, a.LabelSelector)
		}
		sort.Strings(df.ApplyTo)
		d.Firewalls = append(d.Firewalls, df)
	}
	m := f.Manager
	digest, err := render.ManagerCloudInitDigest(f)
	if err != nil {
		return nil, fmt.Errorf("manager cloud-init: %w", err)
	}
	labels := f.ManagerLabels()
	labels[LabelUserData] = digest
	labels[LabelSSHKeys] = sshKeysDigest(m.SSHKeys, keyFingerprints)
	d.Manager = DesiredServer{
		Name: m.Name, ServerType: m.ServerType, Image: m.Image, Location: m.Location,
		SSHKeys: append([]string(nil), m.SSHKeys...), Protection: m.Protection == nil || *m.Protection,
		CreateBeforeDestroy: m.CreateBeforeDestroy,
		Labels:              labels, Architecture: serverTypeArchitecture(m.ServerType),
		SSHUser: m.SSH.User, SSHPort: m.SSH.Port,
	}
	fleet := f
	d.userData = func() ([]byte, string, error) {
		priv, pub, err := sshremote.GenerateHostKey()
		if err != nil {
			return nil, "", err
		}
		ud, err := render.ManagerCloudInit(fleet, render.HostKey{
			PrivateKey: string(priv), PublicKey: strings.TrimSpace(string(ssh.MarshalAuthorizedKey(pub))),
		})
		if err != nil {
			return nil, "", fmt.Errorf("manager cloud-init: %w", err)
		}
		return ud, sshremote.HostKeyLabelValue(pub), nil
	}
	files, notes, err := desiredFiles(f, d.Manager, resolveAndRecord, opts)
	if err != nil {
		return nil, err
	}
	for i := range files {
		files[i].digest = files[i].SHA256()
	}
	d.Files, d.Notes = files, notes
	return d, nil
}

func ownedLabels(f *spec.Fleet, user map[string]string, role string) map[string]string {
	out := map[string]string{}
	for k, v := range user {
		out[k] = v
	}
	for k, v := range f.OwnerLabels() {
		out[k] = v
	}
	out[spec.LabelRole] = role
	return out
}

func canonicalCIDRs(in []string) []string {
	var out []string
	for _, s := range in {
		if _, n, err := net.ParseCIDR(s); err == nil {
			s = n.String()
		}
		out = append(out, s)
	}
	return out
}

// sshKeysDigest digests the manager's SSH keys by name and fingerprint, to
// be recorded as a label (Hetzner does not return a server's keys).
func sshKeysDigest(names []string, fps map[string]string) string {
	var parts []string
	for _, n := range names {
		parts = append(parts, n+"="+fps[n])
	}
	sort.Strings(parts)
	sum := sha256.Sum256([]byte(strings.Join(parts, "\n")))
	return hex.EncodeToString(sum[:16])
}

// serverTypeArchitecture tells a server type's CPU architecture from its
// name: Hetzner's Arm64 (Ampere) types are the cax family.
func serverTypeArchitecture(serverType string) string {
	if strings.HasPrefix(serverType, "cax") {
		return "arm"
	}
	return "x86"
}

var runnerIndex = regexp.MustCompile(`\[\d+\]`)

// writtenBack reports whether a flattened config.toml key is one
// gitlab-runner writes itself (render.RunnerWrittenKeys, "*" for an index).
func writtenBack(key string) bool {
	pattern := runnerIndex.ReplaceAllString(key, ".*")
	return slices.Contains(render.RunnerWrittenKeys, pattern)
}

// configRestartKey reports whether a config.toml key is a plugin setting:
// gitlab-runner starts its fleeting plugin once and does not restart it on
// a config reload, so such changes need `systemctl restart gitlab-runner`.
// The autoscaling policy is read on reload and needs nothing.
var configRestartKey = regexp.MustCompile(`^runners\[\d+\]\.autoscaler\.(?:plugin|plugin_config|connector_config|capacity_per_instance|max_use_count|max_instances|instance_ready_command|instance_acquire_timeout|update_interval|update_interval_when_expecting|delete_instances_on_shutdown|log_internal_ip|log_external_ip|state_storage|scale_throttle)\b`)

// specRestartKey reports whether a key of the fleet.yaml copy is read by
// the plugin when it starts: the instances it creates and how it reaches
// Hetzner.
var specRestartKey = regexp.MustCompile(`^(?:name$|hcloud\.|gitlab_runner\.runners\[\d+\]\.(?:name$|autoscaler\.instances))`)

func desiredFiles(f *spec.Fleet, m DesiredServer, resolve func(spec.Secret) (string, error), opts DesiredOptions) ([]DesiredFile, []Note, error) {
	uses := secretUses(f)
	var notes []Note
	seen := map[string]bool{}
	content, err := render.RunnerConfig(f, func(s spec.Secret) (string, error) {
		v, err := resolve(s)
		if err != nil {
			if !seen[s.String()] {
				seen[s.String()] = true
				for _, use := range uses[s.String()] {
					notes = append(notes, Note{Subject: use, Message: err.Error(), Blocking: true})
				}
			}
			return unknownMarker + s.String() + ">", nil
		}
		return v, nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("render config.toml: %w", err)
	}
	masked, err := render.RunnerConfig(f, render.MaskSecrets)
	if err != nil {
		return nil, nil, fmt.Errorf("render config.toml: %w", err)
	}
	files := []DesiredFile{}
	if usesFleetctlPlugin(f) {
		bin, err := pluginBinary(opts.PluginBinary, m)
		if err != nil {
			return nil, nil, err
		}
		files = append(files, bin)
		if f.Source == "" {
			return nil, nil, fmt.Errorf("the fleet.yaml copy for the plugin: the fleet was not loaded from a file")
		}
		src, err := spec.ReadLocalFile(f.Source, spec.MaxFileSize)
		if err != nil {
			return nil, nil, fmt.Errorf("the fleet.yaml copy for the plugin: %w", err)
		}
		files = append(files, DesiredFile{
			Addr: AddrFleetYAML, Path: f.Manager.SpecPath, Mode: 0o600, Format: FormatYAML,
			Content: src, Masked: src, RestartKey: specRestartKey.MatchString,
		})
	}
	files = append(files, DesiredFile{
		Addr: AddrConfigTOML, Path: spec.DefaultConfigPath, Mode: 0o600, Format: FormatTOML,
		Content: content, Masked: masked, Unknown: unknownMarker, Ignore: writtenBack,
		RestartKey: configRestartKey.MatchString,
	})
	files = append(desiredDirectories(files), files...)
	sort.Slice(notes, func(i, j int) bool { return notes[i].Subject < notes[j].Subject })
	return files, notes, nil
}

func usesFleetctlPlugin(f *spec.Fleet) bool {
	for _, r := range f.GitLabRunner.Runners {
		if r.Autoscaler != nil && r.Autoscaler.UsesFleetctlPlugin() {
			return true
		}
	}
	return false
}

// secretUses maps each secret reference to the fields that use it, so that
// a note names what could not be compared.
func secretUses(f *spec.Fleet) map[string][]string {
	uses := map[string][]string{}
	add := func(s *spec.Secret, path string) {
		if s != nil {
			uses[s.String()] = append(uses[s.String()], path)
		}
	}
	tok := f.HCloud.Token
	if tok == nil {
		tok = &spec.Secret{Env: "HCLOUD_TOKEN"}
	}
	add(tok, "hcloud.token")
	for i := range f.GitLabRunner.Runners {
		r := &f.GitLabRunner.Runners[i]
		p := fmt.Sprintf("gitlab_runner.runners[%d]", i)
		add(&r.Token, p+".token")
		if r.Cache != nil && r.Cache.S3 != nil {
			add(r.Cache.S3.AccessKey, p+".cache.s3.access_key")
			add(r.Cache.S3.SecretKey, p+".cache.s3.secret_key")
		}
	}
	return uses
}

// pluginBinary describes the fleetctl binary to install, without holding
// its bytes: plan needs only its digest, apply reads it when it writes it.
// The manager runs Linux; the binary must match its architecture
// (findPluginBinary says where it is looked for).
func pluginBinary(path string, m DesiredServer) (DesiredFile, error) {
	df := DesiredFile{Addr: AddrBinary, Path: spec.DefaultPluginPath, Mode: 0o755, Format: FormatBytes,
		DigestRecord: BinaryDigestRecord, RestartOnChange: true}
	want := map[string]string{"x86": "amd64", "arm": "arm64"}[m.Architecture]
	flag := path
	path, explicit, reason, err := findPluginBinary(flag, want, m.ServerType)
	if err != nil || reason != "" {
		df.NotManagedReason = reason
		return df, err
	}
	// Opened once, without blocking on anything but a regular file:
	// checked, then hashed.
	f, _, err := spec.OpenLocalFile(path)
	var arch string
	if err == nil {
		defer f.Close()
		arch, err = elfArchitecture(f)
	}
	if err != nil && explicit {
		if flag == "" {
			return df, fmt.Errorf("plugin binary %s: %w", path, err)
		}
		return df, fmt.Errorf("--plugin-binary %s: %w", path, err)
	}
	if err != nil || arch != want {
		have := runtime.GOOS + "/" + runtime.GOARCH
		if explicit {
			have = "linux/" + arch
		}
		df.NotManagedReason = fmt.Sprintf("the manager (%s) runs linux/%s but %s is %s: pass --plugin-binary with a linux/%s build of fleetctl, or a directory holding %s",
			m.ServerType, want, path, have, want, ReleaseBinaryName(want))
		return df, nil
	}
	// Hashed in one streaming pass: plan needs only the digest.
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return df, fmt.Errorf("plugin binary: %w", err)
	}
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return df, fmt.Errorf("plugin binary: %w", err)
	}
	df.Source, df.Size, df.digest = path, n, hex.EncodeToString(h.Sum(nil))
	return df, nil
}

// elfArchitecture returns the GOARCH of a Linux ELF executable.
func elfArchitecture(r io.ReaderAt) (string, error) {
	f, err := elf.NewFile(r)
	if err != nil {
		return "", fmt.Errorf("not a Linux executable: %w", err)
	}
	switch f.Machine {
	case elf.EM_X86_64:
		return "amd64", nil
	case elf.EM_AARCH64:
		return "arm64", nil
	}
	return "", fmt.Errorf("unsupported architecture %s", f.Machine)
}
