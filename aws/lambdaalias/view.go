package lambdaalias

import (
	"context"
	"encoding/json"
	"fmt"
	"math"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/bluegreen-go/bluegreen"
)

// slotRecord is what a slot alias's description records: the deployment
// that put its version there, and the revision's name.
type slotRecord struct {
	DeploymentID string `json:"deploymentId"`
	Revision     string `json:"revision"`
}

// maxDescription is Lambda's limit on a description.
const maxDescription = 256

// describe encodes r into at most maxDescription bytes, shortening the
// revision name if it must.
func (r slotRecord) describe() (string, error) {
	for {
		b, err := json.Marshal(r)
		if err != nil {
			return "", err
		}
		if len(b) <= maxDescription {
			return string(b), nil
		}
		if r.Revision == "" {
			return "", &bluegreen.ConfigError{Field: "Environment.DeploymentID", Problem: "too long to record in an alias description",
				Fix: fmt.Sprintf("use deployment ids of at most %d bytes", maxDescription-40)}
		}
		rs := []rune(r.Revision)
		r.Revision = string(rs[:len(rs)*3/4])
	}
}

// routesRecord is what the production alias's description records: the
// routes last set, read back only where versions cannot tell the slots
// apart (both slots hold one version).
type routesRecord struct {
	Routes *bluegreen.Routes `json:"bluegreenRoutes"`
}

// adoptedID is the deployment id of an environment the Backend did not
// create: version v found in a production alias someone else made.
func adoptedID(v string) string { return "adopted-v" + v }

// alias is one alias as listed.
type alias struct {
	version     string
	weights     map[string]float64
	description string
	revisionID  string
}

// view is what the aliases of a function say.
type view struct {
	prod, test *alias
	slots      [2]*alias     // A, B
	records    [2]slotRecord // parsed from the slot aliases' descriptions
	implicit   [2]string     // versions of an adopted production alias, when no slot alias exists
	adopted    bool          // implicit holds
}

func slotIndex(s bluegreen.Slot) int {
	if s == bluegreen.SlotB {
		return 1
	}
	return 0
}

// read lists the aliases of fn.
func (b *Backend) read(ctx context.Context, fn string) (view, error) {
	var v view
	in := &lambda.ListAliasesInput{FunctionName: aws.String(fn), MaxItems: aws.Int32(10000)}
	for page := 0; ; page++ {
		if page == 100 {
			return view{}, fmt.Errorf("lambdaalias: ListAliases %s: more than 100 pages", fn)
		}
		out, err := b.opts.Client.ListAliases(ctx, in)
		if err != nil {
			return view{}, fmt.Errorf("lambdaalias: ListAliases %s: %w", fn, err)
		}
		for _, a := range out.Aliases {
			got := &alias{version: aws.ToString(a.FunctionVersion), description: aws.ToString(a.Description), revisionID: aws.ToString(a.RevisionId)}
			if a.RoutingConfig != nil {
				got.weights = a.RoutingConfig.AdditionalVersionWeights
			}
			switch aws.ToString(a.Name) {
			case b.opts.Alias:
				v.prod = got
			case b.opts.TestAlias:
				v.test = got
			case b.opts.SlotAliasA:
				v.slots[0] = got
			case b.opts.SlotAliasB:
				v.slots[1] = got
			}
		}
		if out.NextMarker == nil || *out.NextMarker == "" {
			break
		}
		in.Marker = out.NextMarker
	}
	for i, s := range v.slots {
		if s != nil {
			_ = json.Unmarshal([]byte(s.description), &v.records[i]) // a foreign description leaves the record empty
		}
	}
	if v.slots[0] == nil && v.slots[1] == nil && v.prod != nil {
		// A production alias the Backend never routed: its primary version
		// is taken to be in slot A, a weighted second version in slot B.
		v.adopted = true
		v.implicit[0] = v.prod.version
		for ver := range v.prod.weights {
			v.implicit[1] = ver
		}
	}
	return v, nil
}

// version returns the version slot s holds, if any.
func (v view) version(s bluegreen.Slot) (string, bool) {
	i := slotIndex(s)
	if a := v.slots[i]; a != nil {
		return a.version, true
	}
	if v.adopted && v.implicit[i] != "" {
		return v.implicit[i], true
	}
	return "", false
}

// deployment returns the deployment id of what slot s holds.
func (v view) deployment(s bluegreen.Slot) string {
	i := slotIndex(s)
	if v.slots[i] != nil {
		return v.records[i].DeploymentID
	}
	if v.adopted && v.implicit[i] != "" {
		return adoptedID(v.implicit[i])
	}
	return ""
}

// toFloat converts a weight in tenths of a percent to Lambda's share of
// invocations: 1 (0.1%) is 0.001, 999 is 0.999.
func toFloat(w bluegreen.Weight) float64 { return float64(w) / float64(bluegreen.Full) }

// fromFloat converts Lambda's share back, to the nearest tenth of a percent.
func fromFloat(f float64) bluegreen.Weight {
	return bluegreen.Weight(math.Round(f * float64(bluegreen.Full)))
}

// versionWeights returns the production weight of each version the alias
// routes to.
func (a *alias) versionWeights() map[string]bluegreen.Weight {
	out := map[string]bluegreen.Weight{}
	rest := bluegreen.Full
	for ver, f := range a.weights {
		w := fromFloat(f)
		out[ver] += w
		rest -= w
	}
	out[a.version] += rest
	return out
}

// routing returns the RoutingConfig of weights, never nil: UpdateAlias
// leaves the routing alone when it is omitted, and an empty map clears it.
func routing(weights map[string]float64) *lambdatypes.AliasRoutingConfiguration {
	if weights == nil {
		weights = map[string]float64{}
	}
	return &lambdatypes.AliasRoutingConfiguration{AdditionalVersionWeights: weights}
}
