package lambdaalias

import (
	"context"
	"encoding/json"

	"github.com/bluegreen-go/bluegreen"
)

// Discover returns the versions service's slots hold: those the slot
// aliases record, or, for a production alias someone else made (no slot
// alias yet), its FunctionVersion in slot A and its weighted additional
// version in slot B, with the deployment id "adopted-v" + version. The one
// the production alias's FunctionVersion names is Primary. Each Found's
// revision is named after its slot alias's record (function:version when
// adopted) and its Spec is {"version": "N"}, so that it can be deployed
// again as it is.
func (b *Backend) Discover(ctx context.Context, service string) ([]bluegreen.Found, error) {
	fn, err := b.function(service)
	if err != nil {
		return nil, err
	}
	v, err := b.read(ctx, fn)
	if err != nil {
		return nil, err
	}
	var out []bluegreen.Found
	for _, slot := range []bluegreen.Slot{bluegreen.SlotA, bluegreen.SlotB} {
		version, ok := v.version(slot)
		if !ok {
			continue
		}
		name := v.records[slotIndex(slot)].Revision
		if name == "" {
			name = shortName(fn) + ":" + version
		}
		spec, _ := json.Marshal(Spec{Version: version})
		st, err := b.versionStatus(ctx, fn, version)
		if err != nil {
			return nil, err
		}
		out = append(out, bluegreen.Found{
			Environment: bluegreen.Environment{Service: service, Slot: slot, Revision: bluegreen.Revision{Name: name, Spec: spec},
				DeploymentID: v.deployment(slot)},
			Status:  st,
			Primary: v.prod != nil && v.prod.version == version,
		})
	}
	return out, nil
}
