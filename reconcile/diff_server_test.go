package reconcile

import (
	"maps"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// replacementOf is the manager a create-before-destroy of testLive's
// manager (ID 3) created under its temporary name, on image.
func replacementOf(image string) Server {
	labels := maps.Clone(testLive().Servers[0].Labels)
	labels[LabelSSHHostKey] = "sha256-newhostkey"
	labels[LabelReplaces] = "3"
	return Server{ID: 9, Name: "runner-manager-next", Status: "running", ServerType: "cpx11", Architecture: "x86", Image: image,
		Location: "hel1", Labels: labels, Protection: Protection{Delete: true, Rebuild: true}, IPv4: "127.0.0.3"}
}

func TestDiffCreateBeforeDestroy(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name          string
		live          func(*Live)
		want          map[Addr]string
		wantID        int64
		wantDeposed   *DeposedObject
		wantTemporary string
		wantCounts    Counts
		wantErr       string
	}{
		{name: "image change creates the replacement first, under its temporary name",
			want: map[Addr]string{
				"hcloud_server.runner-manager": "create-then-delete create,change_protection,disable_protection,delete,update",
				AddrBinary:                     "create write,restart_gitlab_runner", AddrConfigTOML: "create write,restart_gitlab_runner",
			},
			wantID: 3, wantDeposed: &DeposedObject{ID: 3, Name: "runner-manager"}, wantTemporary: "runner-manager-next",
			wantCounts: Counts{Add: 3, Destroy: 1}},
		{name: "an apply stopped before the delete: the rest of the replace, files compared on the replacement",
			live: func(l *Live) { l.Servers = append(l.Servers, replacementOf("debian-13")) },
			want: map[Addr]string{
				"hcloud_server.runner-manager": "create-then-delete disable_protection,delete,update",
				AddrBinary:                     "no-op", AddrConfigTOML: "no-op",
			},
			wantID: 9, wantDeposed: &DeposedObject{ID: 3, Name: "runner-manager"}, wantTemporary: "runner-manager-next",
			wantCounts: Counts{Change: 1, Destroy: 1}},
		{name: "an apply stopped before protecting the replacement protects it first",
			live: func(l *Live) {
				next := replacementOf("debian-13")
				next.Protection = Protection{}
				l.Servers = append(l.Servers, next)
			},
			want: map[Addr]string{
				"hcloud_server.runner-manager": "create-then-delete change_protection,disable_protection,delete,update",
				AddrBinary:                     "no-op", AddrConfigTOML: "no-op",
			},
			wantID: 9, wantDeposed: &DeposedObject{ID: 3, Name: "runner-manager"}, wantTemporary: "runner-manager-next",
			wantCounts: Counts{Change: 1, Destroy: 1}},
		{name: "an apply stopped after the delete: the replacement is renamed",
			live: func(l *Live) { l.Servers = []Server{replacementOf("debian-13")} },
			want: map[Addr]string{
				"hcloud_server.runner-manager": "update update", AddrBinary: "no-op", AddrConfigTOML: "no-op",
			},
			wantID: 9, wantCounts: Counts{Change: 1}},
		{name: "a replacement that no longer matches fleet.yaml is an error, not a guess",
			live:    func(l *Live) { l.Servers = append(l.Servers, replacementOf("debian-11")) },
			want:    map[Addr]string{AddrBinary: "no-op", AddrConfigTOML: "no-op"},
			wantErr: "the replacement runner-manager-next [id=9] an interrupted apply created no longer matches fleet.yaml (image changed"},
		{name: "a labelled server under the temporary name that replaces nothing is in the way",
			live: func(l *Live) {
				next := replacementOf("debian-13")
				next.Labels[LabelReplaces] = "42"
				l.Servers = append(l.Servers, next)
			},
			want: map[Addr]string{
				"hcloud_server.runner-manager-next": "delete disable_protection,delete", AddrBinary: "no-op", AddrConfigTOML: "no-op",
			},
			wantErr: `create_before_destroy creates the replacement as "runner-manager-next", but a server of that name exists`},
		{name: "an unlabelled server under the temporary name is in the way",
			live: func(l *Live) {
				l.UnlabelledServers = map[string]Server{"runner-manager-next": {ID: 11, Name: "runner-manager-next"}}
			},
			want:    map[Addr]string{AddrBinary: "no-op", AddrConfigTOML: "no-op"},
			wantErr: `create_before_destroy creates the replacement as "runner-manager-next", but a server of that name exists`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			d, l := testDesired(), testLive()
			d.Manager.Image, d.Manager.CreateBeforeDestroy = "debian-13", true
			if tt.live != nil {
				tt.live(l)
			}
			p := Diff(d, l, false)
			got := actions(p)
			delete(got, "hcloud_ssh_key.dev") // unchanged throughout
			delete(got, "hcloud_firewall.runner")
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("actions (-want +got):\n%s", diff)
			}
			if errs := strings.Join(p.Errors, "\n"); (tt.wantErr == "") != (errs == "") || !strings.Contains(errs, tt.wantErr) {
				t.Errorf("errors = %q, want one containing %q", errs, tt.wantErr)
			}
			if tt.wantErr != "" {
				return
			}
			ch := p.Change("hcloud_server.runner-manager")
			if ch.ID != tt.wantID || ch.TemporaryName != tt.wantTemporary {
				t.Errorf("id %d, temporary name %q; want %d, %q", ch.ID, ch.TemporaryName, tt.wantID, tt.wantTemporary)
			}
			if diff := cmp.Diff(tt.wantDeposed, ch.Deposed); diff != "" {
				t.Errorf("deposed (-want +got):\n%s", diff)
			}
			if got := p.Counts(); got != tt.wantCounts {
				t.Errorf("counts %+v, want %+v", got, tt.wantCounts)
			}
		})
	}
}

// TestDiffReplaceKeepsTheDefaultOrder: without create_before_destroy a
// replace deletes first, and names the deposed manager all the same.
func TestDiffReplaceKeepsTheDefaultOrder(t *testing.T) {
	t.Parallel()
	d, l := testDesired(), testLive()
	d.Manager.Image = "debian-13"
	ch := Diff(d, l, false).Change("hcloud_server.runner-manager")
	if ch.Action != DeleteThenCreate || ch.TemporaryName != "" {
		t.Fatalf("change %+v", ch)
	}
	if diff := cmp.Diff(&DeposedObject{ID: 3, Name: "runner-manager"}, ch.Deposed); diff != "" {
		t.Errorf("deposed (-want +got):\n%s", diff)
	}
}
