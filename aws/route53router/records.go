package route53router

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/route53"
	"github.com/aws/aws-sdk-go-v2/service/route53/types"
	"github.com/bluegreen-go/bluegreen"
)

// maxPages bounds the pages read for one name and type: Route 53 allows at
// most 100 weighted records per name and type, and a page holds 100.
const maxPages = 3

// current is what the hosted zone holds for a service now.
type current struct {
	svc   Service
	group []types.ResourceRecordSet // the production name and type
	test  *types.ResourceRecordSet  // the simple test record, if any
}

// read lists the production group and the test record.
func (r *Router) read(ctx context.Context, s Service) (current, error) {
	cur := current{svc: s}
	var err error
	if cur.group, err = r.list(ctx, s, s.Name); err != nil {
		return current{}, err
	}
	if s.TestName == "" {
		return cur, nil
	}
	test, err := r.list(ctx, s, s.TestName)
	if err != nil {
		return current{}, err
	}
	for i := range test {
		if test[i].SetIdentifier == nil {
			cur.test = &test[i]
		}
	}
	return cur, nil
}

// list returns the records of one name and the service's record type.
func (r *Router) list(ctx context.Context, s Service, name string) ([]types.ResourceRecordSet, error) {
	in := &route53.ListResourceRecordSetsInput{HostedZoneId: aws.String(s.HostedZoneID), StartRecordName: aws.String(name),
		StartRecordType: types.RRType(s.recordType()), MaxItems: aws.Int32(100)}
	var out []types.ResourceRecordSet
	for range maxPages {
		page, err := r.client.ListResourceRecordSets(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("route53router: ListResourceRecordSets %s %s: %w", name, s.recordType(), err)
		}
		for _, rec := range page.ResourceRecordSets {
			if !dnsEqual(aws.ToString(rec.Name), name) || string(rec.Type) != s.recordType() {
				return out, nil
			}
			out = append(out, rec)
		}
		if !page.IsTruncated {
			return out, nil
		}
		in.StartRecordName, in.StartRecordType, in.StartRecordIdentifier = page.NextRecordName, page.NextRecordType, page.NextRecordIdentifier
	}
	return out, nil
}

// targetOf returns where a record points.
func targetOf(rec types.ResourceRecordSet) Target {
	if a := rec.AliasTarget; a != nil {
		return Target{Alias: &Alias{DNSName: aws.ToString(a.DNSName), HostedZoneID: aws.ToString(a.HostedZoneId), EvaluateTargetHealth: a.EvaluateTargetHealth}}
	}
	if len(rec.ResourceRecords) == 1 {
		return Target{CNAME: aws.ToString(rec.ResourceRecords[0].Value)}
	}
	return Target{}
}

// slotOf returns the slot a record points at, or "".
func (s Service) slotOf(rec types.ResourceRecordSet) bluegreen.Slot {
	switch targetOf(rec).key() {
	case s.A.key():
		return bluegreen.SlotA
	case s.B.key():
		return bluegreen.SlotB
	}
	return ""
}

// parsed is the production group sorted out by slot.
type parsed struct {
	simple     *types.ResourceRecordSet // a simple (unweighted) record
	simpleSlot bluegreen.Slot
	slot       [2]*types.ResourceRecordSet // the weighted record of slot A and of slot B
	wa, wb     int64
}

func slotIndex(s bluegreen.Slot) int {
	if s == bluegreen.SlotB {
		return 1
	}
	return 0
}

// parse sorts the production group out, or says why the router cannot
// route it: a record that sends traffic to neither slot, or two records of
// one slot.
func (c current) parse() (parsed, error) {
	var p parsed
	var foreign []string
	for i := range c.group {
		rec := &c.group[i]
		slot := c.svc.slotOf(*rec)
		if rec.SetIdentifier == nil {
			if slot == "" {
				return parsed{}, bluegreen.NewError(bluegreen.CodeFailedPrecondition, fmt.Errorf(
					"route53router: the record %s %s points at %s, which is neither slot's target; point it at slot A's or B's target, or delete it",
					aws.ToString(rec.Name), rec.Type, describe(targetOf(*rec))))
			}
			p.simple, p.simpleSlot = rec, slot
			continue
		}
		w := aws.ToInt64(rec.Weight)
		if slot == "" {
			foreign = append(foreign, fmt.Sprintf("%q (weight %d, %s)", aws.ToString(rec.SetIdentifier), w, describe(targetOf(*rec))))
			if w > 0 {
				return parsed{}, bluegreen.NewError(bluegreen.CodeFailedPrecondition, fmt.Errorf(
					"route53router: the weighted record %s %s %q sends traffic (weight %d) to %s, which is neither slot's target; set its weight to 0 or delete it",
					aws.ToString(rec.Name), rec.Type, aws.ToString(rec.SetIdentifier), w, describe(targetOf(*rec))))
			}
			continue
		}
		i := slotIndex(slot)
		if p.slot[i] != nil {
			return parsed{}, bluegreen.NewError(bluegreen.CodeFailedPrecondition, fmt.Errorf(
				"route53router: two weighted records of %s (%q and %q) point at slot %s's target; delete one",
				aws.ToString(rec.Name), aws.ToString(p.slot[i].SetIdentifier), aws.ToString(rec.SetIdentifier), slot))
		}
		p.slot[i] = rec
		if slot == bluegreen.SlotA {
			p.wa = w
		} else {
			p.wb = w
		}
	}
	if p.wa+p.wb == 0 && len(foreign) > 0 && (p.slot[0] != nil || p.slot[1] != nil) {
		return parsed{}, bluegreen.NewError(bluegreen.CodeFailedPrecondition, fmt.Errorf(
			"route53router: every weighted record of %s has weight 0, so Route 53 answers all of them, including %v; delete those or give a slot's record a weight",
			c.svc.Name, foreign))
	}
	return p, nil
}

func describe(t Target) string {
	if t.Alias != nil {
		return "alias " + t.Alias.DNSName
	}
	return t.CNAME
}

// testSlot returns the slot the test record points at, or "".
func (c current) testSlot() bluegreen.Slot {
	if c.test == nil {
		return ""
	}
	return c.svc.slotOf(*c.test)
}

// routes returns the routes the records carry.
func (c current) routes() (bluegreen.Routes, error) {
	p, err := c.parse()
	if err != nil {
		return bluegreen.Routes{}, err
	}
	rt := bluegreen.Routes{Test: c.testSlot()}
	switch {
	case p.simple != nil:
		rt.Production = bluegreen.AllTo(p.simpleSlot)
	case p.slot[0] != nil || p.slot[1] != nil:
		rt.Production = Share(p.wa, p.wb)
	}
	return rt, nil
}

// matches reports whether the records hold exactly what SetRoutes writes for rt.
func (c current) matches(rt bluegreen.Routes) bool {
	p, err := c.parse()
	if err != nil || c.testSlot() != rt.Test && c.svc.TestName != "" {
		return false
	}
	switch {
	case rt.Production.Empty():
		return p.simple == nil && p.slot[0] == nil && p.slot[1] == nil
	case p.simple != nil:
		return rt.Production == bluegreen.AllTo(p.simpleSlot)
	}
	a, b := RecordWeights(rt.Production)
	return p.wa == a && p.wb == b && (a == 0 || p.slot[0] != nil) && (b == 0 || p.slot[1] != nil)
}

// changes returns the changes that make the records carry rt.
func (s Service) changes(cur current, rt bluegreen.Routes) ([]types.Change, error) {
	p, err := cur.parse()
	if err != nil {
		return nil, err
	}
	var out []types.Change
	add := func(action types.ChangeAction, rec types.ResourceRecordSet) {
		out = append(out, types.Change{Action: action, ResourceRecordSet: &rec})
	}
	switch {
	case rt.Production.Empty():
		if p.simple != nil {
			add(types.ChangeActionDelete, *p.simple)
		}
		for _, rec := range p.slot {
			if rec != nil {
				add(types.ChangeActionDelete, *rec)
			}
		}
	case p.simple != nil && rt.Production == bluegreen.AllTo(p.simpleSlot):
		// A simple record already sends everything to that slot.
	case p.simple != nil:
		// Replace the simple record by the two weighted records in one batch.
		add(types.ChangeActionDelete, *p.simple)
		a, b := RecordWeights(rt.Production)
		for _, slot := range []bluegreen.Slot{bluegreen.SlotA, bluegreen.SlotB} {
			rec := s.newWeighted(slot, p.simple.TTL)
			if slot == p.simpleSlot {
				rec = clone(*p.simple)
				rec.SetIdentifier = aws.String(s.setIdentifier(slot))
			}
			rec.Weight = aws.Int64(a)
			if slot == bluegreen.SlotB {
				rec.Weight = aws.Int64(b)
			}
			add(types.ChangeActionCreate, rec)
		}
	default:
		a, b := RecordWeights(rt.Production)
		for i, slot := range []bluegreen.Slot{bluegreen.SlotA, bluegreen.SlotB} {
			want := []int64{a, b}[i]
			switch rec := p.slot[i]; {
			case rec != nil && aws.ToInt64(rec.Weight) != want:
				c := clone(*rec)
				c.Weight = aws.Int64(want)
				add(types.ChangeActionUpsert, c)
			case rec == nil && want > 0:
				rec := s.newWeighted(slot, cur.ttlHint())
				rec.Weight = aws.Int64(want)
				add(types.ChangeActionCreate, rec)
			}
		}
	}
	if s.TestName == "" || cur.testSlot() == rt.Test {
		return out, nil
	}
	switch {
	case rt.Test == "" && cur.test != nil:
		add(types.ChangeActionDelete, *cur.test)
	case rt.Test != "":
		var rec types.ResourceRecordSet
		if cur.test != nil {
			rec = clone(*cur.test)
		} else {
			rec = types.ResourceRecordSet{Name: aws.String(s.TestName), Type: types.RRType(s.recordType())}
			if s.A.Alias == nil {
				rec.TTL = aws.Int64(s.TTL)
				if ttl := cur.ttlHint(); ttl != nil {
					rec.TTL = aws.Int64(*ttl)
				}
			}
		}
		setTarget(&rec, s.target(rt.Test))
		add(types.ChangeActionUpsert, rec)
	}
	return out, nil
}

// newWeighted returns a new weighted record of slot, without its weight.
func (s Service) newWeighted(slot bluegreen.Slot, ttl *int64) types.ResourceRecordSet {
	rec := types.ResourceRecordSet{Name: aws.String(s.Name), Type: types.RRType(s.recordType()), SetIdentifier: aws.String(s.setIdentifier(slot))}
	setTarget(&rec, s.target(slot))
	if s.A.Alias == nil {
		rec.TTL = aws.Int64(s.TTL)
		if ttl != nil {
			rec.TTL = aws.Int64(*ttl)
		}
	}
	return rec
}

// setTarget points rec at t.
func setTarget(rec *types.ResourceRecordSet, t Target) {
	if t.Alias != nil {
		rec.ResourceRecords, rec.TTL = nil, nil
		rec.AliasTarget = &types.AliasTarget{DNSName: aws.String(t.Alias.DNSName), HostedZoneId: aws.String(t.Alias.HostedZoneID),
			EvaluateTargetHealth: t.Alias.EvaluateTargetHealth}
		return
	}
	rec.AliasTarget = nil
	rec.ResourceRecords = []types.ResourceRecord{{Value: aws.String(t.CNAME)}}
}

// clone returns a copy of rec that shares no pointers with it where the
// router changes fields.
func clone(rec types.ResourceRecordSet) types.ResourceRecordSet {
	if rec.Weight != nil {
		rec.Weight = aws.Int64(*rec.Weight)
	}
	return rec
}

// ttlHint returns the TTL of the records the service has already, for a
// record the router creates: the production group's first TTL, else the
// test record's; nil if there are none.
func (c current) ttlHint() *int64 {
	for _, rec := range c.all() {
		if rec.TTL != nil {
			return rec.TTL
		}
	}
	return nil
}

// all returns every record read.
func (c current) all() []types.ResourceRecordSet {
	out := append([]types.ResourceRecordSet(nil), c.group...)
	if c.test != nil {
		out = append(out, *c.test)
	}
	return out
}

func batch(comment string, changes []types.Change) *types.ChangeBatch {
	return &types.ChangeBatch{Comment: aws.String(comment), Changes: changes}
}
