package awsfake

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"
)

// Route53Options configure a Route 53 fake.
type Route53Options struct {
	// PropagationDelay is how long a change stays PENDING before GetChange
	// reports it INSYNC. Zero makes changes INSYNC at once.
	PropagationDelay time.Duration
	// Now is the fake's clock; time.Now (virtual inside a testing/synctest
	// bubble) if nil.
	Now func() time.Time
}

// Route53 is an in-process fake of the Amazon Route 53 API (REST-XML,
// version 2013-04-01) serving ListResourceRecordSets,
// ChangeResourceRecordSets and GetChange. Hosted zones and existing records
// are set up in Go. A change batch is validated as a whole and applied
// atomically, or not at all (InvalidChangeBatch); it stays PENDING for
// PropagationDelay, then GetChange reports it INSYNC.
type Route53 struct {
	// Faults counts calls per operation and injects faults.
	Faults Faults
	// URL is the endpoint to pass as BaseEndpoint (empty when served in process).
	URL string

	opts Route53Options

	mu      sync.Mutex
	seq     int
	zones   map[string]*r53Zone
	changes map[string]r53Change
}

type r53Zone struct {
	name    string
	records []R53Record
}

type r53Change struct {
	submitted time.Time
	comment   string
}

// R53Record is a resource record set.
type R53Record struct {
	// Name is the domain name; the fake stores it lower-case with a trailing dot.
	Name string
	// Type is the record type, such as "CNAME" or "A".
	Type string
	// SetIdentifier tells the records of a weighted group apart; empty for a simple record.
	SetIdentifier string
	// Weight is the weight of a weighted record (0–255); nil for a simple record.
	Weight *int64
	// TTL is the time to live in seconds; nil for an alias record.
	TTL *int64
	// Values are the record's values (one for a weighted record); nil for an alias record.
	Values []string
	// Alias is the alias target of an alias record.
	Alias *R53Alias
	// HealthCheckID is the health check associated with the record, if any.
	HealthCheckID string
}

// R53Alias is an alias target.
type R53Alias struct {
	HostedZoneID         string
	DNSName              string
	EvaluateTargetHealth bool
}

// NewRoute53 returns a Route 53 fake. Serve it with ServeTest (setting URL)
// or in process with InProcessConfig.
func NewRoute53(opts Route53Options) *Route53 {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Route53{opts: opts, zones: map[string]*r53Zone{}, changes: map[string]r53Change{}}
}

// CreateHostedZone creates a hosted zone for name and returns its ID (such
// as "Z0123456789ABCDEFGHIJ", without the "/hostedzone/" prefix).
func (f *Route53) CreateHostedZone(name string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.seq++
	id := fmt.Sprintf("Z%020d", f.seq)
	f.zones[id] = &r53Zone{name: fqdn(name)}
	return id
}

// PutRecord creates or replaces a record in a zone directly, as another
// tool would have: records in a brownfield zone. It applies the same
// checks as ChangeResourceRecordSets.
func (f *Route53) PutRecord(zoneID string, rec R53Record) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	z, ok := f.zones[zoneID]
	if !ok {
		return clientErr("NoSuchHostedZone", "No hosted zone found with ID: %s", zoneID)
	}
	_, err := z.apply([]r53Op{{action: "UPSERT", rec: rec}})
	return err
}

// Records returns the records of a zone, in the order
// ListResourceRecordSets lists them.
func (f *Route53) Records(zoneID string) []R53Record {
	f.mu.Lock()
	defer f.mu.Unlock()
	z, ok := f.zones[zoneID]
	if !ok {
		return nil
	}
	out := make([]R53Record, len(z.records))
	for i, r := range z.records {
		out[i] = r.clone()
	}
	return out
}

// Record returns the record of a zone with a name, type and set identifier.
func (f *Route53) Record(zoneID, name, typ, setID string) (R53Record, bool) {
	for _, r := range f.Records(zoneID) {
		if r.Name == fqdn(name) && r.Type == typ && r.SetIdentifier == setID {
			return r, true
		}
	}
	return R53Record{}, false
}

// fqdn returns name lower-cased with a trailing dot, as Route 53 stores names.
func fqdn(name string) string {
	name = strings.ToLower(name)
	if !strings.HasSuffix(name, ".") {
		name += "."
	}
	return name
}

func (r R53Record) clone() R53Record {
	r.Values = slices.Clone(r.Values)
	if r.Weight != nil {
		w := *r.Weight
		r.Weight = &w
	}
	if r.TTL != nil {
		t := *r.TTL
		r.TTL = &t
	}
	if r.Alias != nil {
		a := *r.Alias
		r.Alias = &a
	}
	return r
}

// key identifies a record set: name, type and set identifier.
func (r R53Record) key() string { return r.Name + " " + r.Type + " " + r.SetIdentifier }

// describe prints a record set as Route 53's error messages do.
func (r R53Record) describe() string {
	s := fmt.Sprintf("[name='%s', type='%s'", r.Name, r.Type)
	if r.SetIdentifier != "" {
		s += fmt.Sprintf(", set-identifier='%s'", r.SetIdentifier)
	}
	return s + "]"
}

// equal reports whether two records hold the same values, as a DELETE must match.
func (r R53Record) equal(o R53Record) bool {
	eq := func(a, b *int64) bool { return (a == nil) == (b == nil) && (a == nil || *a == *b) }
	al := func(a, b *R53Alias) bool {
		return (a == nil) == (b == nil) && (a == nil || (fqdn(a.DNSName) == fqdn(b.DNSName) &&
			a.HostedZoneID == b.HostedZoneID && a.EvaluateTargetHealth == b.EvaluateTargetHealth))
	}
	return r.key() == o.key() && eq(r.Weight, o.Weight) && eq(r.TTL, o.TTL) && slices.Equal(r.Values, o.Values) &&
		al(r.Alias, o.Alias) && r.HealthCheckID == o.HealthCheckID
}

// reversedName is name's labels in reverse order, the order Route 53 lists records in.
func reversedName(name string) string {
	labels := strings.Split(strings.TrimSuffix(name, "."), ".")
	slices.Reverse(labels)
	return strings.Join(labels, ".")
}

func compareRecords(a, b R53Record) int {
	return cmp.Or(cmp.Compare(reversedName(a.Name), reversedName(b.Name)), cmp.Compare(a.Type, b.Type),
		cmp.Compare(a.SetIdentifier, b.SetIdentifier))
}

// r53Op is one change of a batch.
type r53Op struct {
	action string
	rec    R53Record
}

// validate checks one record set as Route 53 does.
func (z *r53Zone) validate(r R53Record) []string {
	var errs []string
	if r.Name != z.name && !strings.HasSuffix(r.Name, "."+z.name) {
		errs = append(errs, fmt.Sprintf("RRSet with DNS name %s is not permitted in zone %s", r.Name, z.name))
	}
	switch {
	case r.Alias != nil && (r.TTL != nil || len(r.Values) > 0):
		errs = append(errs, fmt.Sprintf("RRSet %s: an alias target cannot have a TTL or resource records", r.describe()))
	case r.Alias == nil && (r.TTL == nil || len(r.Values) == 0):
		errs = append(errs, fmt.Sprintf("RRSet %s must have a TTL and at least one resource record", r.describe()))
	}
	if r.TTL != nil && (*r.TTL < 0 || *r.TTL > 2147483647) {
		errs = append(errs, fmt.Sprintf("TTL %d is out of range", *r.TTL))
	}
	if (r.SetIdentifier == "") != (r.Weight == nil) {
		errs = append(errs, fmt.Sprintf("RRSet %s: a weighted record needs both a SetIdentifier and a Weight", r.describe()))
	}
	if r.Weight != nil {
		if *r.Weight < 0 || *r.Weight > 255 {
			errs = append(errs, fmt.Sprintf("Weight %d is out of range [0, 255]", *r.Weight))
		}
		if len(r.Values) > 1 {
			errs = append(errs, fmt.Sprintf("RRSet %s: a weighted record can have only one resource record", r.describe()))
		}
	}
	if r.Type == "CNAME" && len(r.Values) > 1 {
		errs = append(errs, fmt.Sprintf("RRSet of type CNAME with DNS name %s contains more than one value", r.Name))
	}
	return errs
}

// apply validates a batch against the zone and applies it atomically,
// returning the messages of an InvalidChangeBatch error if any check fails.
func (z *r53Zone) apply(ops []r53Op) ([]string, error) {
	records := slices.Clone(z.records)
	find := func(r R53Record) int {
		return slices.IndexFunc(records, func(o R53Record) bool { return o.key() == r.key() })
	}
	var msgs []string
	seen := map[string]bool{}
	for _, op := range ops {
		r := op.rec.clone()
		r.Name = fqdn(r.Name)
		if seen[r.key()] {
			msgs = append(msgs, fmt.Sprintf("The request contains an invalid set of changes for a resource record set %s", r.describe()))
			continue
		}
		seen[r.key()] = true
		i := find(r)
		switch op.action {
		case "CREATE", "UPSERT":
			if errs := z.validate(r); len(errs) > 0 {
				msgs = append(msgs, errs...)
				continue
			}
			if op.action == "CREATE" && i >= 0 {
				msgs = append(msgs, fmt.Sprintf("Tried to create resource record set %s but it already exists", r.describe()))
				continue
			}
			if i >= 0 {
				records[i] = r
			} else {
				records = append(records, r)
			}
		case "DELETE":
			switch {
			case i < 0:
				msgs = append(msgs, fmt.Sprintf("Tried to delete resource record set %s but it was not found", r.describe()))
			case !records[i].equal(r):
				msgs = append(msgs, fmt.Sprintf("Tried to delete resource record set %s but the values provided do not match the current values", r.describe()))
			default:
				records = slices.Delete(records, i, i+1)
			}
		default:
			msgs = append(msgs, fmt.Sprintf("Unknown change action %q", op.action))
		}
	}
	msgs = append(msgs, conflicts(records)...)
	if len(msgs) > 0 {
		return msgs, clientErr("InvalidChangeBatch", "%s", strings.Join(msgs, "; "))
	}
	slices.SortFunc(records, compareRecords)
	z.records = records
	return nil, nil
}

// conflicts returns the messages for record sets that cannot live together:
// a CNAME and any other record at one name, and a simple record beside
// weighted ones of the same name and type.
func conflicts(records []R53Record) []string {
	var msgs []string
	types := map[string]map[string]bool{}
	simple := map[string]bool{}
	weighted := map[string]bool{}
	for _, r := range records {
		if types[r.Name] == nil {
			types[r.Name] = map[string]bool{}
		}
		types[r.Name][r.Type] = true
		if r.SetIdentifier == "" {
			simple[r.Name+" "+r.Type] = true
		} else {
			weighted[r.Name+" "+r.Type] = true
		}
	}
	for _, name := range slices.Sorted(maps.Keys(types)) {
		if types[name]["CNAME"] && len(types[name]) > 1 {
			msgs = append(msgs, fmt.Sprintf("RRSet of type CNAME with DNS name %s is not permitted as it conflicts with other records with the same DNS name in zone", name))
		}
	}
	for _, k := range slices.Sorted(maps.Keys(simple)) {
		if weighted[k] {
			msgs = append(msgs, fmt.Sprintf("RRSet %s is not permitted because a conflicting RRSet of the same name and type with a different routing policy already exists", k))
		}
	}
	return msgs
}

// changeStatus returns PENDING or INSYNC for a change at now.
func (f *Route53) changeStatus(c r53Change) string {
	if f.opts.Now().Before(c.submitted.Add(f.opts.PropagationDelay)) {
		return "PENDING"
	}
	return "INSYNC"
}
