package awsfake

import (
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"sync"
	"time"
)

// ELBv2Options configure an ELBv2 fake.
type ELBv2Options struct {
	// HealthDelay is how long a target takes to pass its health checks after
	// it starts running. Zero makes targets healthy at once.
	HealthDelay time.Duration
	// Now is the fake's clock; time.Now if nil.
	Now func() time.Time
}

// TargetSource feeds targets to target groups: the ECS fake's running task
// sets register their tasks in the target group they name.
type TargetSource interface {
	Targets(targetGroupARN string) []Target
}

// ELBv2 is an in-process fake of Elastic Load Balancing v2 serving the AWS
// query protocol (form-encoded POST, Action=<Op>&Version=2015-12-01, XML
// responses): DescribeRules, ModifyRule, DescribeListeners, ModifyListener,
// DescribeTargetGroups and DescribeTargetHealth. Listeners, rules and target
// groups are set up in Go.
type ELBv2 struct {
	// Faults counts calls per operation and injects faults.
	Faults Faults
	// URL is the endpoint to pass as BaseEndpoint.
	URL string

	opts ELBv2Options

	mu        sync.Mutex
	seq       int
	listeners map[string]*ELBListener
	rules     map[string]*ELBRule // non-default rules
	defaults  map[string]string   // default rule ARN -> listener ARN
	groups    map[string]*ELBTargetGroup
	static    map[string][]Target // registered directly, per target group
	unhealthy map[string]string   // target group -> reason its targets fail health checks
	sources   []TargetSource
}

// ELBAction is a listener or rule action.
type ELBAction struct {
	// Type is "forward", "fixed-response", ...
	Type string
	// Order is the action's order; 0 if unset.
	Order int
	// TargetGroupARN is the single target group of a simple forward action.
	TargetGroupARN string
	// Forward is a forward action's weighted target groups and stickiness.
	Forward *ELBForwardConfig
	// FixedResponse is a fixed-response action's answer.
	FixedResponse *ELBFixedResponse
}

// ELBForwardConfig is a forward action's configuration.
type ELBForwardConfig struct {
	TargetGroups []ELBWeightedTargetGroup
	// Stickiness is the target group stickiness; nil is disabled.
	Stickiness *ELBStickiness
}

// ELBWeightedTargetGroup is a target group with its weight (0–999).
type ELBWeightedTargetGroup struct {
	TargetGroupARN string
	Weight         int
}

// ELBStickiness is target group stickiness.
type ELBStickiness struct {
	Enabled         bool
	DurationSeconds int
}

// ELBFixedResponse is a fixed-response action's answer.
type ELBFixedResponse struct {
	StatusCode, ContentType, MessageBody string
}

// ELBCondition is a rule condition.
type ELBCondition struct {
	Field            string
	Values           []string
	HostHeader       []string
	PathPattern      []string
	HTTPHeaderName   string
	HTTPHeaderValues []string
}

// ELBRule is a listener rule. A listener's default rule has IsDefault set,
// Priority "default" and the listener's default actions.
type ELBRule struct {
	ARN, ListenerARN, Priority string
	Conditions                 []ELBCondition
	Actions                    []ELBAction
	IsDefault                  bool
}

// ELBListener is a listener.
type ELBListener struct {
	ARN, LoadBalancerARN string
	Port                 int
	Protocol             string
	DefaultActions       []ELBAction
	defaultRuleARN       string
}

// ELBTargetGroup is a target group.
type ELBTargetGroup struct {
	ARN, Name string
	Port      int
}

// NewELBv2 starts an ELBv2 fake on a loopback server closed by c.
func NewELBv2(c Cleaner, opts ELBv2Options) *ELBv2 {
	f := newELBv2(opts)
	f.URL = ServeTest(c, f)
	return f
}

func newELBv2(opts ELBv2Options) *ELBv2 {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &ELBv2{opts: opts, listeners: map[string]*ELBListener{}, rules: map[string]*ELBRule{},
		defaults: map[string]string{}, groups: map[string]*ELBTargetGroup{}, static: map[string][]Target{}, unhealthy: map[string]string{}}
}

func (f *ELBv2) nextID() string {
	f.seq++
	return fmt.Sprintf("%016x", 0x50dc6c495c0c9188+uint64(f.seq))
}

// CreateTargetGroup creates a target group and returns its ARN.
func (f *ELBv2) CreateTargetGroup(name string, port int) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	arn := fmt.Sprintf("arn:aws:elasticloadbalancing:%s:%s:targetgroup/%s/%s", fakeRegion, fakeAccount, name, f.nextID())
	f.groups[arn] = &ELBTargetGroup{ARN: arn, Name: name, Port: port}
	return arn
}

// CreateListener creates a listener on load balancer lbName with default
// actions and returns its ARN.
func (f *ELBv2) CreateListener(lbName string, port int, defaultActions []ELBAction) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	actions, err := f.normalize(defaultActions)
	if err != nil {
		return "", err
	}
	lbID := "50dc6c495c0c9188"
	id := f.nextID()
	l := &ELBListener{
		ARN:             fmt.Sprintf("arn:aws:elasticloadbalancing:%s:%s:listener/app/%s/%s/%s", fakeRegion, fakeAccount, lbName, lbID, id),
		LoadBalancerARN: fmt.Sprintf("arn:aws:elasticloadbalancing:%s:%s:loadbalancer/app/%s/%s", fakeRegion, fakeAccount, lbName, lbID),
		Port:            port, Protocol: "HTTP", DefaultActions: actions,
	}
	l.defaultRuleARN = fmt.Sprintf("arn:aws:elasticloadbalancing:%s:%s:listener-rule/app/%s/%s/%s/%s", fakeRegion, fakeAccount, lbName, lbID, id, f.nextID())
	f.listeners[l.ARN] = l
	f.defaults[l.defaultRuleARN] = l.ARN
	return l.ARN, nil
}

// CreateRule creates a rule on a listener and returns its ARN.
func (f *ELBv2) CreateRule(listenerARN string, priority int, conditions []ELBCondition, actions []ELBAction) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	l, ok := f.listeners[listenerARN]
	if !ok {
		return "", clientErr("ListenerNotFound", "One or more listeners not found")
	}
	for _, r := range f.rules {
		if r.ListenerARN == listenerARN && r.Priority == strconv.Itoa(priority) {
			return "", clientErr("PriorityInUse", "Priority '%d' is currently in use", priority)
		}
	}
	norm, err := f.normalize(actions)
	if err != nil {
		return "", err
	}
	arn := l.defaultRuleARN[:len(l.defaultRuleARN)-16] + f.nextID()
	f.rules[arn] = &ELBRule{ARN: arn, ListenerARN: listenerARN, Priority: strconv.Itoa(priority), Conditions: slices.Clone(conditions), Actions: norm}
	return arn, nil
}

// Rule returns a rule (a listener's default rule included) as it is now.
func (f *ELBv2) Rule(arn string) (ELBRule, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	r, err := f.rule(arn)
	if err != nil {
		return ELBRule{}, false
	}
	return r, true
}

// Listener returns a listener as it is now.
func (f *ELBv2) Listener(arn string) (ELBListener, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	l, ok := f.listeners[arn]
	if !ok {
		return ELBListener{}, false
	}
	return *l, true
}

// RegisterTargets registers targets in a target group directly.
func (f *ELBv2) RegisterTargets(targetGroupARN string, targets ...Target) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.static[targetGroupARN] = append(f.static[targetGroupARN], targets...)
}

// AddTargetSource adds a source of targets, such as the ECS fake.
func (f *ELBv2) AddTargetSource(s TargetSource) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sources = append(f.sources, s)
}

// FailHealthChecks makes every target of a target group fail its health
// checks with reason; an empty reason heals them.
func (f *ELBv2) FailHealthChecks(targetGroupARN, reason string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if reason == "" {
		delete(f.unhealthy, targetGroupARN)
		return
	}
	f.unhealthy[targetGroupARN] = reason
}

// rule returns a copy of the rule at arn.
func (f *ELBv2) rule(arn string) (ELBRule, error) {
	if r, ok := f.rules[arn]; ok {
		return *r, nil
	}
	if la, ok := f.defaults[arn]; ok {
		l := f.listeners[la]
		return ELBRule{ARN: arn, ListenerARN: la, Priority: "default", Actions: l.DefaultActions, IsDefault: true}, nil
	}
	return ELBRule{}, clientErr("RuleNotFound", "One or more rules not found")
}

// listenerRules returns a listener's rules by priority, the default rule last.
func (f *ELBv2) listenerRules(listenerARN string) []ELBRule {
	var out []ELBRule
	for _, r := range f.rules {
		if r.ListenerARN == listenerARN {
			out = append(out, *r)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		a, _ := strconv.Atoi(out[i].Priority)
		b, _ := strconv.Atoi(out[j].Priority)
		return a < b
	})
	def, _ := f.rule(f.listeners[listenerARN].defaultRuleARN)
	return append(out, def)
}

// normalize validates actions as ELBv2 does and returns them in the form
// ELBv2 reports them: a forward action carries both TargetGroupArn (when it
// has exactly one target group) and a ForwardConfig.
func (f *ELBv2) normalize(actions []ELBAction) ([]ELBAction, error) {
	if len(actions) == 0 {
		return nil, clientErr("ValidationError", "At least one action must be specified")
	}
	out := make([]ELBAction, 0, len(actions))
	for i, a := range actions {
		if a.Order == 0 {
			a.Order = i + 1
		}
		switch a.Type {
		case "forward":
			fc := &ELBForwardConfig{}
			if a.Forward != nil {
				fc.TargetGroups = slices.Clone(a.Forward.TargetGroups)
				if s := a.Forward.Stickiness; s != nil {
					if s.Enabled && (s.DurationSeconds < 1 || s.DurationSeconds > 604800) {
						return nil, clientErr("ValidationError", "Stickiness duration must be between 1 and 604800 seconds")
					}
					c := *s
					fc.Stickiness = &c
				}
			}
			switch {
			case a.TargetGroupARN != "" && len(fc.TargetGroups) == 0:
				fc.TargetGroups = []ELBWeightedTargetGroup{{TargetGroupARN: a.TargetGroupARN, Weight: 1}}
			case a.TargetGroupARN != "" && (len(fc.TargetGroups) != 1 || fc.TargetGroups[0].TargetGroupARN != a.TargetGroupARN):
				return nil, clientErr("ValidationError", "You cannot specify both a target group ARN and a forward config with a different target group")
			case len(fc.TargetGroups) == 0:
				return nil, clientErr("ValidationError", "A forward action must specify a target group")
			}
			if len(fc.TargetGroups) > 5 {
				return nil, clientErr("TooManyTargetGroups", "You have reached the maximum number of target groups per action")
			}
			seen := map[string]bool{}
			for _, tg := range fc.TargetGroups {
				if _, ok := f.groups[tg.TargetGroupARN]; !ok {
					return nil, clientErr("TargetGroupNotFound", "Target groups '%s' not found", tg.TargetGroupARN)
				}
				if seen[tg.TargetGroupARN] {
					return nil, clientErr("ValidationError", "Target group '%s' is specified more than once", tg.TargetGroupARN)
				}
				seen[tg.TargetGroupARN] = true
				if tg.Weight < 0 || tg.Weight > 999 {
					return nil, clientErr("ValidationError", "Target group weight must be between 0 and 999, got %d", tg.Weight)
				}
			}
			a.TargetGroupARN = ""
			if len(fc.TargetGroups) == 1 {
				a.TargetGroupARN = fc.TargetGroups[0].TargetGroupARN
			}
			if fc.Stickiness == nil {
				fc.Stickiness = &ELBStickiness{}
			}
			a.Forward = fc
		case "fixed-response":
			if a.FixedResponse == nil || a.FixedResponse.StatusCode == "" {
				return nil, clientErr("ValidationError", "A fixed-response action must have a status code")
			}
			c := *a.FixedResponse
			a.FixedResponse = &c
		case "":
			return nil, clientErr("ValidationError", "Action type is required")
		}
		out = append(out, a)
	}
	return out, nil
}

// targetHealth reports the health of each target of a target group at now.
func (f *ELBv2) targetHealth(targetGroupARN string) []xmlTargetHealthDescription {
	now := f.opts.Now()
	targets := slices.Clone(f.static[targetGroupARN])
	for _, s := range f.sources {
		targets = append(targets, s.Targets(targetGroupARN)...)
	}
	out := []xmlTargetHealthDescription{}
	for _, t := range targets {
		var d xmlTargetHealthDescription
		d.Target.ID, d.Target.Port = t.ID, t.Port
		d.HealthCheckPort = strconv.Itoa(t.Port)
		h := &d.TargetHealth
		switch reason, failing := f.unhealthy[targetGroupARN]; {
		case t.Draining:
			h.State, h.Reason, h.Description = "draining", "Target.DeregistrationInProgress", "Target deregistration is in progress"
		case now.Before(t.Since.Add(f.opts.HealthDelay)):
			h.State, h.Reason, h.Description = "initial", "Elb.InitialHealthChecking", "Initial health checks in progress"
		case failing:
			h.State, h.Reason, h.Description = "unhealthy", "Target.FailedHealthChecks", reason
		default:
			h.State = "healthy"
		}
		out = append(out, d)
	}
	return out
}

// ServeHTTP serves the ELBv2 query API.
func (f *ELBv2) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	queryAPI{version: "2015-12-01", xmlns: elbXMLNS, faults: &f.Faults, mu: &f.mu, serve: f.serve}.ServeHTTP(w, r)
}
