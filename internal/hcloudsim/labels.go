package hcloudsim

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/fleetctl/fleetctl/internal/labelselector"
)

// checkLabels validates the labels of a create or update request (nil: none
// given).
func checkLabels(given *map[string]string) *apiError {
	if given == nil {
		return nil
	}
	labels := *given
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

// givenLabels returns a copy of the labels of a create request, or no labels
// when none were given.
func givenLabels(given *map[string]string) map[string]string {
	if given == nil {
		return map[string]string{}
	}
	return cloneLabels(*given)
}

// admitCreate answers a create request's field errors (422 invalid_input)
// and then its label errors, as Hetzner orders them, and reports whether the
// request may go on.
func admitCreate(w http.ResponseWriter, fields []fieldError, labels *map[string]string) bool {
	if len(fields) > 0 {
		writeError(w, errInvalid(fields...))
		return false
	}
	if e := checkLabels(labels); e != nil {
		writeError(w, e)
		return false
	}
	return true
}
