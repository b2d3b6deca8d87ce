package hcloudsim

import (
	"context"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/hetznercloud/hcloud-go/v2/hcloud"
)

func TestCatalogue(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, Options{})
	ctx := context.Background()

	locs, err := env.client.Location.All(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, l := range locs {
		names = append(names, l.Name)
	}
	if d := cmp.Diff([]string{"fsn1", "nbg1", "hel1", "ash", "hil", "sin"}, names); d != "" {
		t.Errorf("locations (-want +got):\n%s", d)
	}
	hel1, _, err := env.client.Location.GetByID(ctx, 3)
	if err != nil || hel1.Name != "hel1" || hel1.NetworkZone != "eu-central" {
		t.Errorf("location 3 = %+v, %v", hel1, err)
	}
	dcs, err := env.client.Datacenter.All(ctx)
	if err != nil || len(dcs) != 6 {
		t.Fatalf("datacenters: %d, %v", len(dcs), err)
	}
	dc, _, err := env.client.Datacenter.GetByName(ctx, "hel1-dc2")
	if err != nil || dc == nil || dc.Location.Name != "hel1" {
		t.Fatalf("datacenter hel1-dc2 = %+v, %v", dc, err)
	}
	if dc2, _, err := env.client.Datacenter.GetByID(ctx, dc.ID); err != nil || dc2.Name != "hel1-dc2" {
		t.Errorf("datacenter by id: %v %v", dc2, err)
	}

	types, err := env.client.ServerType.All(ctx)
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]*hcloud.ServerType{}
	for _, st := range types {
		byName[st.Name] = st
	}
	for _, name := range []string{"cx23", "cpx11", "cpx21", "cpx22", "cpx31", "cax11", "cax21", "ccx13"} {
		st := byName[name]
		if st == nil {
			t.Errorf("server type %s missing", name)
			continue
		}
		var locNames []string
		for _, p := range st.Pricings {
			locNames = append(locNames, p.Location.Name)
			if p.Monthly.Net == "" || p.Hourly.Gross == "" {
				t.Errorf("%s: price in %s incomplete: %+v", name, p.Location.Name, p)
			}
		}
		wantArch := hcloud.ArchitectureX86
		if name[:3] == "cax" {
			wantArch = hcloud.ArchitectureARM
			if slices.Contains(locNames, "ash") || slices.Contains(locNames, "sin") {
				t.Errorf("%s sold outside Europe: %v", name, locNames)
			}
		}
		if st.Architecture != wantArch || st.Cores == 0 || st.Memory == 0 || st.Disk == 0 {
			t.Errorf("%s = %+v", name, st)
		}
	}
	if cx11 := byName["cx11"]; cx11 == nil || !cx11.IsDeprecated() {
		t.Errorf("cx11 should be listed as deprecated")
	}
	st, _, err := env.client.ServerType.GetByName(ctx, "cax21")
	if err != nil || st.Cores != 4 || st.Memory != 8 {
		t.Errorf("cax21 = %+v, %v", st, err)
	}
	if st2, _, err := env.client.ServerType.GetByID(ctx, st.ID); err != nil || st2.Name != "cax21" {
		t.Errorf("server type by id: %v %v", st2, err)
	}

	img, _, err := env.client.Image.GetForArchitecture(ctx, "debian-12", hcloud.ArchitectureARM)
	if err != nil || img == nil || img.Architecture != hcloud.ArchitectureARM || img.Type != hcloud.ImageTypeSystem {
		t.Fatalf("debian-12 arm = %+v, %v", img, err)
	}
	if byID, _, err := env.client.Image.GetByID(ctx, img.ID); err != nil || byID.Name != img.Name || byID.Architecture != img.Architecture {
		t.Errorf("image by id: %+v %v", byID, err)
	}
	x86, err := env.client.Image.AllWithOpts(ctx, hcloud.ImageListOpts{Type: []hcloud.ImageType{hcloud.ImageTypeSystem}, Architecture: []hcloud.Architecture{hcloud.ArchitectureX86}})
	if err != nil || len(x86) != 5 {
		t.Errorf("x86 system images: %d, %v; want 5 (deprecated hidden)", len(x86), err)
	}
	withDeprecated, err := env.client.Image.AllWithOpts(ctx, hcloud.ImageListOpts{IncludeDeprecated: true, Architecture: []hcloud.Architecture{hcloud.ArchitectureX86}})
	if err != nil || len(withDeprecated) != 6 {
		t.Errorf("x86 images with deprecated: %d, %v; want 6", len(withDeprecated), err)
	}
	snapshots, err := env.client.Image.AllWithOpts(ctx, hcloud.ImageListOpts{Type: []hcloud.ImageType{hcloud.ImageTypeSnapshot}})
	if err != nil || len(snapshots) != 0 {
		t.Errorf("snapshots: %d, %v", len(snapshots), err)
	}
	if _, _, err := env.client.Image.GetByID(ctx, 1); !hcloud.IsError(err, hcloud.ErrorCodeNotFound) && err != nil {
		t.Errorf("image 1: %v", err)
	}
	pricing, _, err := env.client.Pricing.Get(ctx)
	if err != nil || pricing.Image.PerGBMonth.Currency != "EUR" || len(pricing.ServerTypes) != len(types) {
		t.Errorf("pricing = %+v, %v", pricing, err)
	}
}

func TestSSHKeys(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, Options{})
	ctx := context.Background()
	pub := newPublicKey(t)
	key, _, err := env.client.SSHKey.Create(ctx, hcloud.SSHKeyCreateOpts{Name: "dev", PublicKey: pub, Labels: map[string]string{"team": "ci"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(key.Fingerprint) != 47 || key.PublicKey != pub {
		t.Errorf("key = %+v", key)
	}
	_, _, err = env.client.SSHKey.Create(ctx, hcloud.SSHKeyCreateOpts{Name: "dev", PublicKey: newPublicKey(t)})
	mustErrorCode(t, err, hcloud.ErrorCodeUniquenessError)
	_, _, err = env.client.SSHKey.Create(ctx, hcloud.SSHKeyCreateOpts{Name: "other", PublicKey: pub})
	mustErrorCode(t, err, hcloud.ErrorCodeUniquenessError)
	_, _, err = env.client.SSHKey.Create(ctx, hcloud.SSHKeyCreateOpts{Name: "bad", PublicKey: "ssh-ed25519 nonsense"})
	mustErrorCode(t, err, hcloud.ErrorCodeInvalidInput)

	byFP, _, err := env.client.SSHKey.GetByFingerprint(ctx, key.Fingerprint)
	if err != nil || byFP == nil || byFP.ID != key.ID {
		t.Errorf("by fingerprint: %+v %v", byFP, err)
	}
	byName, _, err := env.client.SSHKey.GetByName(ctx, "dev")
	if err != nil || byName == nil || byName.ID != key.ID {
		t.Errorf("by name: %+v %v", byName, err)
	}
	sel, err := env.client.SSHKey.AllWithOpts(ctx, hcloud.SSHKeyListOpts{ListOpts: hcloud.ListOpts{LabelSelector: "team=ci"}})
	if err != nil || len(sel) != 1 {
		t.Errorf("by label: %d %v", len(sel), err)
	}
	updated, _, err := env.client.SSHKey.Update(ctx, key, hcloud.SSHKeyUpdateOpts{Name: "laptop", Labels: map[string]string{}})
	if err != nil || updated.Name != "laptop" || len(updated.Labels) != 0 {
		t.Errorf("update: %+v %v", updated, err)
	}
	if _, err := env.client.SSHKey.Delete(ctx, key); err != nil {
		t.Fatal(err)
	}
	_, err = env.client.SSHKey.Delete(ctx, key)
	mustErrorCode(t, err, hcloud.ErrorCodeNotFound)
	if k, _, err := env.client.SSHKey.GetByID(ctx, key.ID); k != nil || err != nil {
		t.Errorf("deleted key: %v %v", k, err)
	}
}
