package awsfake

import (
	"slices"
	"sort"
)

// serve runs one ELBv2 operation and returns its <Op>Result body.
func (f *ELBv2) serve(op string, q queryForm) (any, error) {
	switch op {
	case "DescribeRules":
		return f.opDescribeRules(q)
	case "ModifyRule":
		return f.opModifyRule(q)
	case "DescribeListeners":
		return f.opDescribeListeners(q)
	case "ModifyListener":
		return f.opModifyListener(q)
	case "DescribeTargetGroups":
		return f.opDescribeTargetGroups(q)
	case "DescribeTargetHealth":
		return f.opDescribeTargetHealth(q)
	}
	return nil, clientErr("InvalidAction", "the ELBv2 fake does not serve %q", op)
}

type xmlRules struct {
	Rules []xmlRule `xml:"Rules>member"`
}

func toXMLRule(r ELBRule) xmlRule {
	return xmlRule{RuleArn: r.ARN, Priority: r.Priority, Conditions: toXMLConditions(r.Conditions), Actions: toXMLActions(r.Actions), IsDefault: r.IsDefault}
}

func (f *ELBv2) opDescribeRules(q queryForm) (any, error) {
	listener, arns := q.get("ListenerArn"), q.strings("RuleArns")
	if (listener == "") == (len(arns) == 0) {
		return nil, clientErr("ValidationError", "Specify either a listener ARN or rule ARNs")
	}
	var out xmlRules
	if listener != "" {
		if _, ok := f.listeners[listener]; !ok {
			return nil, clientErr("ListenerNotFound", "One or more listeners not found")
		}
		for _, r := range f.listenerRules(listener) {
			out.Rules = append(out.Rules, toXMLRule(r))
		}
		return out, nil
	}
	for _, arn := range arns {
		r, err := f.rule(arn)
		if err != nil {
			return nil, err
		}
		out.Rules = append(out.Rules, toXMLRule(r))
	}
	return out, nil
}

func (f *ELBv2) opModifyRule(q queryForm) (any, error) {
	arn := q.get("RuleArn")
	r, err := f.rule(arn)
	if err != nil {
		return nil, err
	}
	if q.has("Actions") {
		actions, err := parseActions(q, "Actions")
		if err != nil {
			return nil, err
		}
		if r.Actions, err = f.normalize(actions); err != nil {
			return nil, err
		}
	}
	if q.has("Conditions") {
		if r.IsDefault {
			return nil, clientErr("OperationNotPermitted", "Conditions cannot be modified on a default rule")
		}
		r.Conditions = parseConditions(q, "Conditions")
	}
	if r.IsDefault {
		f.listeners[r.ListenerARN].DefaultActions = r.Actions
	} else {
		f.rules[arn] = &r
	}
	return xmlRules{Rules: []xmlRule{toXMLRule(r)}}, nil
}

type xmlListeners struct {
	Listeners []xmlListener `xml:"Listeners>member"`
}

func toXMLListener(l *ELBListener) xmlListener {
	return xmlListener{ListenerArn: l.ARN, LoadBalancerArn: l.LoadBalancerARN, Port: l.Port, Protocol: l.Protocol, DefaultActions: toXMLActions(l.DefaultActions)}
}

func (f *ELBv2) opDescribeListeners(q queryForm) (any, error) {
	arns, lb := q.strings("ListenerArns"), q.get("LoadBalancerArn")
	if (lb == "") == (len(arns) == 0) {
		return nil, clientErr("ValidationError", "Specify either a load balancer ARN or listener ARNs")
	}
	var out xmlListeners
	if lb != "" {
		var ls []*ELBListener
		for _, l := range f.listeners {
			if l.LoadBalancerARN == lb {
				ls = append(ls, l)
			}
		}
		if len(ls) == 0 {
			return nil, clientErr("LoadBalancerNotFound", "One or more load balancers not found")
		}
		sort.Slice(ls, func(i, j int) bool { return ls[i].Port < ls[j].Port })
		for _, l := range ls {
			out.Listeners = append(out.Listeners, toXMLListener(l))
		}
		return out, nil
	}
	for _, arn := range arns {
		l, ok := f.listeners[arn]
		if !ok {
			return nil, clientErr("ListenerNotFound", "One or more listeners not found")
		}
		out.Listeners = append(out.Listeners, toXMLListener(l))
	}
	return out, nil
}

func (f *ELBv2) opModifyListener(q queryForm) (any, error) {
	l, ok := f.listeners[q.get("ListenerArn")]
	if !ok {
		return nil, clientErr("ListenerNotFound", "One or more listeners not found")
	}
	if q.has("DefaultActions") {
		actions, err := parseActions(q, "DefaultActions")
		if err != nil {
			return nil, err
		}
		if l.DefaultActions, err = f.normalize(actions); err != nil {
			return nil, err
		}
	}
	return xmlListeners{Listeners: []xmlListener{toXMLListener(l)}}, nil
}

type xmlTargetGroups struct {
	TargetGroups []xmlTargetGroup `xml:"TargetGroups>member"`
}

// loadBalancersOf lists the load balancers whose listeners or rules forward
// to a target group.
func (f *ELBv2) loadBalancersOf(tgARN string) []string {
	var out []string
	uses := func(actions []ELBAction) bool {
		return slices.ContainsFunc(actions, func(a ELBAction) bool {
			return a.Forward != nil && slices.ContainsFunc(a.Forward.TargetGroups, func(t ELBWeightedTargetGroup) bool { return t.TargetGroupARN == tgARN })
		})
	}
	for _, l := range f.listeners {
		used := uses(l.DefaultActions)
		for _, r := range f.rules {
			used = used || r.ListenerARN == l.ARN && uses(r.Actions)
		}
		if used && !slices.Contains(out, l.LoadBalancerARN) {
			out = append(out, l.LoadBalancerARN)
		}
	}
	sort.Strings(out)
	return out
}

func (f *ELBv2) opDescribeTargetGroups(q queryForm) (any, error) {
	arns, names := q.strings("TargetGroupArns"), q.strings("Names")
	var out xmlTargetGroups
	add := func(g *ELBTargetGroup) {
		out.TargetGroups = append(out.TargetGroups, xmlTargetGroup{TargetGroupArn: g.ARN, TargetGroupName: g.Name, Protocol: "HTTP", Port: g.Port,
			TargetType: "ip", LoadBalancerArns: f.loadBalancersOf(g.ARN)})
	}
	switch {
	case len(arns) > 0:
		for _, arn := range arns {
			g, ok := f.groups[arn]
			if !ok {
				return nil, clientErr("TargetGroupNotFound", "One or more target groups not found")
			}
			add(g)
		}
	case len(names) > 0:
		for _, name := range names {
			found := false
			for _, g := range f.groups {
				if g.Name == name {
					add(g)
					found = true
				}
			}
			if !found {
				return nil, clientErr("TargetGroupNotFound", "One or more target groups not found")
			}
		}
	default:
		keys := make([]string, 0, len(f.groups))
		for k := range f.groups {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			add(f.groups[k])
		}
	}
	return out, nil
}

type xmlTargetHealth struct {
	Descriptions []xmlTargetHealthDescription `xml:"TargetHealthDescriptions>member"`
}

func (f *ELBv2) opDescribeTargetHealth(q queryForm) (any, error) {
	arn := q.get("TargetGroupArn")
	if _, ok := f.groups[arn]; !ok {
		return nil, clientErr("TargetGroupNotFound", "Target groups '%s' not found", arn)
	}
	all := f.targetHealth(arn)
	want := q.members("Targets")
	if len(want) == 0 {
		return xmlTargetHealth{Descriptions: all}, nil
	}
	var out xmlTargetHealth
	for _, p := range want {
		id := q.get(p + ".Id")
		i := slices.IndexFunc(all, func(d xmlTargetHealthDescription) bool { return d.Target.ID == id })
		if i < 0 {
			var d xmlTargetHealthDescription
			d.Target.ID = id
			d.TargetHealth.State, d.TargetHealth.Reason = "unavailable", "Target.NotRegistered"
			out.Descriptions = append(out.Descriptions, d)
			continue
		}
		out.Descriptions = append(out.Descriptions, all[i])
	}
	return out, nil
}
