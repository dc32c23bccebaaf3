package lambdaalias

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/bluegreen-go/bluegreen"
)

// Routes reads the production alias and the test alias of service's
// function and maps the versions they route to back to the slots that hold
// them: the production alias's FunctionVersion and its one additional
// version, weighted, and the test alias's version. Where both slots hold
// one version (a redeployment of unchanged code), the production weights
// the production alias's description records, and the slot the test
// alias's description records, tell them apart. A production
// alias that routes to a version no slot holds (changed by hand) is an
// error with CodeFailedPrecondition: the routes cannot be told.
func (b *Backend) Routes(ctx context.Context, service string) (bluegreen.Routes, error) {
	fn, err := b.function(service)
	if err != nil {
		return bluegreen.Routes{}, err
	}
	v, err := b.read(ctx, fn)
	if err != nil {
		return bluegreen.Routes{}, err
	}
	return b.routesOf(fn, v)
}

func (b *Backend) routesOf(fn string, v view) (bluegreen.Routes, error) {
	va, okA := v.version(bluegreen.SlotA)
	vb, okB := v.version(bluegreen.SlotB)
	tie := okA && okB && va == vb
	var recorded *bluegreen.Routes
	if v.prod != nil {
		var rec routesRecord
		if json.Unmarshal([]byte(v.prod.description), &rec) == nil && rec.Routes != nil && rec.Routes.Validate() == nil {
			recorded = rec.Routes
		}
	}
	var r bluegreen.Routes
	if v.prod != nil {
		weights := v.prod.versionWeights()
		switch {
		case tie && recorded != nil && !recorded.Production.Empty():
			r.Production = recorded.Production
		case tie:
			r.Production = bluegreen.AllTo(bluegreen.SlotA)
		default:
			if okA {
				r.Production.A = weights[va]
			}
			if okB {
				r.Production.B = weights[vb]
			}
		}
		if r.Production.A+r.Production.B != bluegreen.Full {
			return bluegreen.Routes{}, bluegreen.NewError(bluegreen.CodeFailedPrecondition, fmt.Errorf(
				"lambdaalias: alias %s of %s routes to versions %v, but slot A holds %s and slot B %s: route it back to the slots' versions, or delete aliases %s and %s to have its version adopted",
				b.opts.Alias, fn, weights, orNone(va, okA), orNone(vb, okB), b.opts.SlotAliasA, b.opts.SlotAliasB))
		}
	}
	if v.test != nil {
		switch {
		case tie && v.test.version == va && strings.HasPrefix(v.test.description, testPrefix):
			r.Test = bluegreen.Slot(strings.TrimPrefix(v.test.description, testPrefix))
			if !r.Test.Valid() {
				r.Test = bluegreen.SlotA
			}
		case okA && v.test.version == va:
			r.Test = bluegreen.SlotA
		case okB && v.test.version == vb:
			r.Test = bluegreen.SlotB
		}
	}
	return r, nil
}

func orNone(v string, ok bool) string {
	if !ok {
		return "nothing"
	}
	return "version " + v
}

// SetRoutes points the production alias at the versions of the slots with
// production weight and the test alias at the test slot's version, creating
// either if missing; with no test slot it deletes the test alias, and with
// no production weights the production alias. The production alias keeps
// its FunctionVersion (blue, until green has all the traffic) and carries
// the other slot's version in AdditionalVersionWeights at weight/1000; at
// 100% it points at that slot's version alone. Each alias already as wanted
// is left alone (no call), so a repeated SetRoutes is one ListAliases.
func (b *Backend) SetRoutes(ctx context.Context, service string, r bluegreen.Routes) error {
	if err := r.Validate(); err != nil {
		return err
	}
	fn, err := b.function(service)
	if err != nil {
		return err
	}
	v, err := b.read(ctx, fn)
	if err != nil {
		return err
	}
	need := func(s bluegreen.Slot) (string, error) {
		ver, ok := v.version(s)
		if !ok {
			return "", bluegreen.NewError(bluegreen.CodeFailedPrecondition,
				fmt.Errorf("lambdaalias: slot %s of %s holds no version (no alias %s): scale it up before routing to it", s, fn, b.slotAlias(s)))
		}
		return ver, nil
	}
	desc, err := json.Marshal(routesRecord{Routes: &bluegreen.Routes{Production: r.Production}})
	if err != nil {
		return err
	}
	if r.Production.Empty() {
		if v.prod != nil {
			if err := b.deleteAlias(ctx, fn, b.opts.Alias); err != nil {
				return err
			}
		}
	} else {
		primary, second := bluegreen.SlotA, bluegreen.SlotB
		switch {
		case r.Production.B == bluegreen.Full:
			primary, second = bluegreen.SlotB, bluegreen.SlotA
		case r.Production.A == bluegreen.Full:
		default:
			// Both slots take traffic: keep the alias's primary version
			// where it is, so that a shift moves only the weight.
			cur := ""
			if v.prod != nil {
				cur = v.prod.version
			}
			if vb, ok := v.version(bluegreen.SlotB); ok && cur == vb {
				primary, second = bluegreen.SlotB, bluegreen.SlotA
			} else if va, ok := v.version(bluegreen.SlotA); !ok || cur != va {
				if r.Production.B > r.Production.A {
					primary, second = bluegreen.SlotB, bluegreen.SlotA
				}
			}
		}
		version, err := need(primary)
		if err != nil {
			return err
		}
		var weights map[string]float64
		if w := r.Production.Of(second); w > 0 {
			other, err := need(second)
			if err != nil {
				return err
			}
			if other != version {
				weights = map[string]float64{other: toFloat(w)}
			}
		}
		if err := b.putAlias(ctx, fn, b.opts.Alias, v.prod, version, weights, string(desc)); err != nil {
			return err
		}
	}
	if r.Test == "" {
		if v.test != nil {
			return b.deleteAlias(ctx, fn, b.opts.TestAlias)
		}
		return nil
	}
	version, err := need(r.Test)
	if err != nil {
		return err
	}
	testDesc := testPrefix + string(r.Test)
	if err := b.putAlias(ctx, fn, b.opts.TestAlias, v.test, version, nil, testDesc); err != nil {
		return err
	}
	b.opts.Logger.DebugContext(ctx, "lambda routes set", "function", fn, "routes", r.String())
	return nil
}

// testPrefix starts the test alias's description, followed by the slot.
const testPrefix = "bluegreen test route to slot "
