package hcloudsim

import (
	"fmt"
	"strings"

	"github.com/fleetctl/fleetctl/internal/labelselector"
)

// checkLabels validates labels of a create or update request.
func checkLabels(labels map[string]string) *apiError {
	for _, k := range sortedKeys(labels) {
		if err := labelselector.CheckKey(k); err != nil {
			return errField("labels", err.Error())
		}
		if strings.HasPrefix(k, "hetzner.cloud/") {
			return errField("labels", fmt.Sprintf("label key %q uses the reserved prefix hetzner.cloud/", k))
		}
		if err := labelselector.CheckValue(labels[k]); err != nil {
			return errField("labels", err.Error())
		}
	}
	return nil
}
