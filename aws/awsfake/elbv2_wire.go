package awsfake

import (
	"net/url"
	"strconv"
	"strings"
)

// This file holds the AWS query protocol framing of the ELBv2 fake: reading
// form-encoded lists ("Actions.member.1.Type=forward") and writing XML
// responses and errors, with the element names the ELBv2 API uses.

const elbXMLNS = "http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/"

// queryForm is a decoded query-protocol request.
type queryForm url.Values

func (q queryForm) get(key string) string { return url.Values(q).Get(key) }

// has reports whether any key is prefix itself or starts with prefix + ".".
func (q queryForm) has(prefix string) bool {
	for k := range q {
		if k == prefix || strings.HasPrefix(k, prefix+".") {
			return true
		}
	}
	return false
}

// members returns the prefixes of the members of the list at prefix:
// "prefix.member.1", "prefix.member.2", ... The list is nil if absent.
func (q queryForm) members(prefix string) []string {
	var out []string
	for i := 1; ; i++ {
		p := prefix + ".member." + strconv.Itoa(i)
		if !q.has(p) {
			return out
		}
		out = append(out, p)
	}
}

// strings returns the string list at prefix.
func (q queryForm) strings(prefix string) []string {
	var out []string
	for _, p := range q.members(prefix) {
		out = append(out, q.get(p))
	}
	return out
}

// The XML shapes, member lists wrapped in <member> as the query protocol does.

type xmlTargetGroupTuple struct {
	TargetGroupArn string `xml:"TargetGroupArn"`
	Weight         *int   `xml:"Weight,omitempty"`
}

type xmlStickiness struct {
	Enabled         bool `xml:"Enabled"`
	DurationSeconds int  `xml:"DurationSeconds,omitempty"`
}

type xmlForwardConfig struct {
	TargetGroups []xmlTargetGroupTuple `xml:"TargetGroups>member"`
	Stickiness   *xmlStickiness        `xml:"TargetGroupStickinessConfig,omitempty"`
}

type xmlFixedResponse struct {
	StatusCode  string `xml:"StatusCode"`
	ContentType string `xml:"ContentType,omitempty"`
	MessageBody string `xml:"MessageBody,omitempty"`
}

type xmlAction struct {
	Type           string            `xml:"Type"`
	Order          int               `xml:"Order,omitempty"`
	TargetGroupArn string            `xml:"TargetGroupArn,omitempty"`
	ForwardConfig  *xmlForwardConfig `xml:"ForwardConfig,omitempty"`
	FixedResponse  *xmlFixedResponse `xml:"FixedResponseConfig,omitempty"`
}

type xmlValues struct {
	Values []string `xml:"Values>member"`
}

type xmlHTTPHeader struct {
	HTTPHeaderName string   `xml:"HttpHeaderName"`
	Values         []string `xml:"Values>member"`
}

type xmlCondition struct {
	Field       string         `xml:"Field"`
	Values      []string       `xml:"Values>member"`
	HostHeader  *xmlValues     `xml:"HostHeaderConfig,omitempty"`
	PathPattern *xmlValues     `xml:"PathPatternConfig,omitempty"`
	HTTPHeader  *xmlHTTPHeader `xml:"HttpHeaderConfig,omitempty"`
}

type xmlRule struct {
	RuleArn    string         `xml:"RuleArn"`
	Priority   string         `xml:"Priority"`
	Conditions []xmlCondition `xml:"Conditions>member"`
	Actions    []xmlAction    `xml:"Actions>member"`
	IsDefault  bool           `xml:"IsDefault"`
}

type xmlListener struct {
	ListenerArn     string      `xml:"ListenerArn"`
	LoadBalancerArn string      `xml:"LoadBalancerArn"`
	Port            int         `xml:"Port"`
	Protocol        string      `xml:"Protocol"`
	DefaultActions  []xmlAction `xml:"DefaultActions>member"`
}

type xmlTargetGroup struct {
	TargetGroupArn   string   `xml:"TargetGroupArn"`
	TargetGroupName  string   `xml:"TargetGroupName"`
	Protocol         string   `xml:"Protocol"`
	Port             int      `xml:"Port"`
	TargetType       string   `xml:"TargetType"`
	LoadBalancerArns []string `xml:"LoadBalancerArns>member"`
}

type xmlTargetHealthDescription struct {
	Target struct {
		ID   string `xml:"Id"`
		Port int    `xml:"Port,omitempty"`
	} `xml:"Target"`
	HealthCheckPort string `xml:"HealthCheckPort"`
	TargetHealth    struct {
		State       string `xml:"State"`
		Reason      string `xml:"Reason,omitempty"`
		Description string `xml:"Description,omitempty"`
	} `xml:"TargetHealth"`
}

func toXMLActions(actions []ELBAction) []xmlAction {
	out := make([]xmlAction, 0, len(actions))
	for _, a := range actions {
		x := xmlAction{Type: a.Type, Order: a.Order, TargetGroupArn: a.TargetGroupARN}
		if fc := a.Forward; fc != nil {
			x.ForwardConfig = &xmlForwardConfig{Stickiness: &xmlStickiness{}}
			for _, tg := range fc.TargetGroups {
				weight := tg.Weight
				x.ForwardConfig.TargetGroups = append(x.ForwardConfig.TargetGroups, xmlTargetGroupTuple{TargetGroupArn: tg.TargetGroupARN, Weight: &weight})
			}
			if s := fc.Stickiness; s != nil {
				x.ForwardConfig.Stickiness = &xmlStickiness{Enabled: s.Enabled, DurationSeconds: s.DurationSeconds}
			}
		}
		if f := a.FixedResponse; f != nil {
			x.FixedResponse = &xmlFixedResponse{StatusCode: f.StatusCode, ContentType: f.ContentType, MessageBody: f.MessageBody}
		}
		out = append(out, x)
	}
	return out
}

func toXMLConditions(conds []ELBCondition) []xmlCondition {
	out := make([]xmlCondition, 0, len(conds))
	for _, c := range conds {
		x := xmlCondition{Field: c.Field, Values: c.Values}
		if c.HostHeader != nil {
			x.HostHeader = &xmlValues{Values: c.HostHeader}
		}
		if c.PathPattern != nil {
			x.PathPattern = &xmlValues{Values: c.PathPattern}
		}
		if c.HTTPHeaderName != "" {
			x.HTTPHeader = &xmlHTTPHeader{HTTPHeaderName: c.HTTPHeaderName, Values: c.HTTPHeaderValues}
		}
		out = append(out, x)
	}
	return out
}

// parseActions reads the action list at prefix ("Actions", "DefaultActions").
func parseActions(q queryForm, prefix string) ([]ELBAction, error) {
	var out []ELBAction
	for _, p := range q.members(prefix) {
		a := ELBAction{Type: q.get(p + ".Type"), TargetGroupARN: q.get(p + ".TargetGroupArn")}
		if s := q.get(p + ".Order"); s != "" {
			n, err := strconv.Atoi(s)
			if err != nil {
				return nil, clientErr("ValidationError", "%s.Order: %v", p, err)
			}
			a.Order = n
		}
		if q.has(p + ".ForwardConfig") {
			fc := &ELBForwardConfig{}
			for _, tp := range q.members(p + ".ForwardConfig.TargetGroups") {
				tg := ELBWeightedTargetGroup{TargetGroupARN: q.get(tp + ".TargetGroupArn"), Weight: 1}
				if s := q.get(tp + ".Weight"); s != "" {
					n, err := strconv.Atoi(s)
					if err != nil {
						return nil, clientErr("ValidationError", "%s.Weight: %v", tp, err)
					}
					tg.Weight = n
				}
				fc.TargetGroups = append(fc.TargetGroups, tg)
			}
			sp := p + ".ForwardConfig.TargetGroupStickinessConfig"
			if q.has(sp) {
				s := &ELBStickiness{Enabled: q.get(sp+".Enabled") == "true"}
				if d := q.get(sp + ".DurationSeconds"); d != "" {
					n, err := strconv.Atoi(d)
					if err != nil {
						return nil, clientErr("ValidationError", "%s.DurationSeconds: %v", sp, err)
					}
					s.DurationSeconds = n
				}
				fc.Stickiness = s
			}
			a.Forward = fc
		}
		if fp := p + ".FixedResponseConfig"; q.has(fp) {
			a.FixedResponse = &ELBFixedResponse{StatusCode: q.get(fp + ".StatusCode"), ContentType: q.get(fp + ".ContentType"), MessageBody: q.get(fp + ".MessageBody")}
		}
		out = append(out, a)
	}
	return out, nil
}

// parseConditions reads the condition list at prefix.
func parseConditions(q queryForm, prefix string) []ELBCondition {
	var out []ELBCondition
	for _, p := range q.members(prefix) {
		c := ELBCondition{Field: q.get(p + ".Field"), Values: q.strings(p + ".Values")}
		if q.has(p + ".HostHeaderConfig") {
			c.HostHeader = q.strings(p + ".HostHeaderConfig.Values")
		}
		if q.has(p + ".PathPatternConfig") {
			c.PathPattern = q.strings(p + ".PathPatternConfig.Values")
		}
		if q.has(p + ".HttpHeaderConfig") {
			c.HTTPHeaderName = q.get(p + ".HttpHeaderConfig.HttpHeaderName")
			c.HTTPHeaderValues = q.strings(p + ".HttpHeaderConfig.Values")
		}
		out = append(out, c)
	}
	return out
}
