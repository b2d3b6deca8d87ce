package reconcile

import (
	"context"

	"github.com/hetznercloud/hcloud-go/v2/hcloud"
)

// PlacementGroup is a Hetzner placement group, the resource the apply lock
// is made of (see Lock): free, labelled, and unique by name in a project.
type PlacementGroup struct {
	ID     int64
	Name   string
	Labels map[string]string
}

func (c *HetznerCloud) FindPlacementGroup(ctx context.Context, name string) (*PlacementGroup, error) {
	pg, _, err := c.client.PlacementGroup.GetByName(ctx, name)
	if err != nil || pg == nil {
		return nil, wrapErr("placement group "+name+": look up", err)
	}
	v := PlacementGroup{ID: pg.ID, Name: pg.Name, Labels: pg.Labels}
	return &v, nil
}

func (c *HetznerCloud) GetPlacementGroup(ctx context.Context, id int64) (*PlacementGroup, error) {
	pg, _, err := c.client.PlacementGroup.GetByID(ctx, id)
	if err != nil || pg == nil {
		return nil, err
	}
	v := PlacementGroup{ID: pg.ID, Name: pg.Name, Labels: pg.Labels}
	return &v, nil
}

func (c *HetznerCloud) CreatePlacementGroup(ctx context.Context, name string, labels map[string]string) (PlacementGroup, error) {
	res, _, err := c.client.PlacementGroup.Create(ctx, hcloud.PlacementGroupCreateOpts{
		Name: name, Labels: labels, Type: hcloud.PlacementGroupTypeSpread,
	})
	if err != nil {
		return PlacementGroup{}, err
	}
	return PlacementGroup{ID: res.PlacementGroup.ID, Name: res.PlacementGroup.Name, Labels: res.PlacementGroup.Labels}, nil
}

func (c *HetznerCloud) UpdatePlacementGroup(ctx context.Context, id int64, labels map[string]string) error {
	_, _, err := c.client.PlacementGroup.Update(ctx, &hcloud.PlacementGroup{ID: id}, hcloud.PlacementGroupUpdateOpts{Labels: labels})
	return err
}

func (c *HetznerCloud) DeletePlacementGroup(ctx context.Context, id int64) error {
	_, err := c.client.PlacementGroup.Delete(ctx, &hcloud.PlacementGroup{ID: id})
	return err
}
