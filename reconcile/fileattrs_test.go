package reconcile

import (
	"io/fs"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// withDirectories adds the directories fleetctl owns to testDesired and
// testLive, as root's alone.
func withDirectories(d *Desired, l *Live) {
	dirs := desiredDirectories(d.Files)
	d.Files = append(dirs, d.Files...)
	for _, dir := range dirs {
		l.Files[dir.Addr] = LiveFile{Exists: true, Mode: 0o700, Owner: rootOwner}
	}
	for _, a := range []Addr{AddrBinary, AddrConfigTOML} {
		f := l.Files[a]
		f.Owner = rootOwner
		l.Files[a] = f
	}
}

func TestDiffOwnerModeAndUnreadableFiles(t *testing.T) {
	t.Parallel()
	clean := map[Addr]string{
		"hcloud_ssh_key.dev": "no-op", "hcloud_firewall.runner": "no-op", "hcloud_server.runner-manager": "no-op",
		AddrBinary: "no-op", AddrConfigTOML: "no-op", AddrConfigDir: "no-op", AddrStateDir: "no-op",
	}
	tests := []struct {
		name string
		live func(*Live)
		want map[Addr]string
		// text holds lines the human plan must show.
		text []string
	}{
		{name: "clean", live: func(*Live) {}, want: clean},
		{name: "config.toml chowned to 1000:1000, mode still 0600", live: func(l *Live) {
			f := l.Files[AddrConfigTOML]
			f.Owner = "1000:1000"
			l.Files[AddrConfigTOML] = f
		}, want: map[Addr]string{AddrConfigTOML: "update set_attributes"},
			text: []string{`~ owner = "1000:1000" -> "0:0"`}},
		{name: "/etc/gitlab-runner made 0777", live: func(l *Live) {
			l.Files[AddrConfigDir] = LiveFile{Exists: true, Mode: 0o777, Owner: rootOwner}
		}, want: map[Addr]string{AddrConfigDir: "update set_attributes"},
			text: []string{`~ mode = "0777" -> "0700"`, `file.config_toml_dir`}},
		{name: "state directory owned by another user", live: func(l *Live) {
			l.Files[AddrStateDir] = LiveFile{Exists: true, Mode: 0o700, Owner: "1000:0"}
		}, want: map[Addr]string{AddrStateDir: "update set_attributes"}},
		{name: "a missing directory is no change: its files' writes create it", live: func(l *Live) {
			delete(l.Files, AddrStateDir)
		}, want: map[Addr]string{AddrStateDir: ""}},
		{name: "setuid plugin binary", live: func(l *Live) {
			f := l.Files[AddrBinary]
			f.Mode = 0o755 | fs.ModeSetuid
			l.Files[AddrBinary] = f
		}, want: map[Addr]string{AddrBinary: "update set_attributes"},
			text: []string{`~ mode = "4755" -> "0755"`}},
		{name: "owner not reported is not compared", live: func(l *Live) {
			f := l.Files[AddrConfigTOML]
			f.Owner = ""
			l.Files[AddrConfigTOML] = f
		}, want: clean},
		{name: "config.toml too large", live: func(l *Live) {
			l.Files[AddrConfigTOML] = LiveFile{Exists: true, Mode: 0o600, Owner: rootOwner, Unreadable: "unreadable: too large, 1099511627776 bytes"}
		}, want: map[Addr]string{AddrConfigTOML: "update write,restart_gitlab_runner"},
			text: []string{`(unreadable: too large, 1099511627776 bytes)`}},
		{name: "config.toml is a directory", live: func(l *Live) {
			l.Files[AddrConfigTOML] = LiveFile{Exists: true, Mode: 0o755, Owner: rootOwner, IsDir: true, Unreadable: "unreadable: a directory (drwxr-xr-x)"}
		}, want: map[Addr]string{AddrConfigTOML: "update clear_directory,write,restart_gitlab_runner"},
			text: []string{`(unreadable: a directory (drwxr-xr-x))`}},
		{name: "binary larger than the one to install", live: func(l *Live) {
			l.Files[AddrBinary] = LiveFile{Exists: true, Mode: 0o755, Owner: rootOwner, Unreadable: "not read: 99 bytes, more than the 9 to install"}
		}, want: map[Addr]string{AddrBinary: "update write,restart_gitlab_runner"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			d, l := testDesired(), testLive()
			withDirectories(d, l)
			tt.live(l)
			p := Diff(d, l, false)
			want := map[Addr]string{}
			for k, v := range clean {
				want[k] = v
			}
			for k, v := range tt.want {
				if v == "" {
					delete(want, k)
				} else {
					want[k] = v
				}
			}
			if diff := cmp.Diff(want, actions(p)); diff != "" {
				t.Errorf("actions (-want +got):\n%s", diff)
			}
			if len(p.NotCompared) > 0 {
				t.Errorf("notes: %v", p.NotCompared)
			}
			if len(tt.text) > 0 {
				var b strings.Builder
				for _, ch := range p.Changes {
					if ch.Action == NoOp {
						continue
					}
					b.WriteString(string(ch.Addr) + "\n")
					for k, v := range ch.After {
						if bv, ok := ch.Before[k]; ok && cmp.Equal(bv, v) {
							continue
						}
						b.WriteString("~ " + k + " = " + quote(ch.Before[k]) + " -> " + quote(v) + "\n")
					}
					for k, v := range ch.Before {
						if _, ok := ch.After[k]; !ok {
							b.WriteString("- " + k + " = " + quote(v) + "\n")
						}
					}
				}
				for _, w := range tt.text {
					if !strings.Contains(b.String(), w) {
						t.Errorf("changes lack %q:\n%s", w, b.String())
					}
				}
			}
		})
	}
}

func quote(v any) string {
	if s, ok := v.(string); ok {
		return `"` + s + `"`
	}
	if v == nil {
		return "null"
	}
	return strings.TrimSpace(strings.ReplaceAll(cmp.Diff(nil, v), "\n", " "))
}
