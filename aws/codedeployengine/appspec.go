package codedeployengine

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
)

// AppSpec is the part of an ECS AppSpec file the engine writes and
// ConfigFromAppSpec reads: one AWS::ECS::Service resource and the Lambda
// hooks.
type AppSpec struct {
	// Version is the AppSpec version, "0.0".
	Version string
	// TaskDefinition, ContainerName and ContainerPort are the target
	// service's properties.
	TaskDefinition string
	ContainerName  string
	ContainerPort  int
	// PlatformVersion is the Fargate platform version, if given.
	PlatformVersion string
	// Other names the other properties of the target service
	// (NetworkConfiguration, CapacityProviderStrategy), sorted.
	Other []string
	// Hooks are the Lambda hooks by lifecycle event.
	Hooks LambdaHooks
}

// MarshalJSON writes the AppSpec as CodeDeploy reads it, in JSON.
func (a AppSpec) MarshalJSON() ([]byte, error) {
	type lbInfo struct {
		ContainerName string `json:"ContainerName"`
		ContainerPort int    `json:"ContainerPort"`
	}
	type props struct {
		TaskDefinition   string `json:"TaskDefinition"`
		LoadBalancerInfo lbInfo `json:"LoadBalancerInfo"`
		PlatformVersion  string `json:"PlatformVersion,omitempty"`
	}
	type target struct {
		Type       string `json:"Type"`
		Properties props  `json:"Properties"`
	}
	version := a.Version
	if version == "" {
		version = "0.0"
	}
	doc := struct {
		Version   json.Number         `json:"version"`
		Resources []map[string]target `json:"Resources"`
		Hooks     []map[string]string `json:"Hooks,omitempty"`
	}{Version: json.Number(version),
		Resources: []map[string]target{{"TargetService": {Type: "AWS::ECS::Service", Properties: props{TaskDefinition: a.TaskDefinition,
			LoadBalancerInfo: lbInfo{ContainerName: a.ContainerName, ContainerPort: a.ContainerPort}, PlatformVersion: a.PlatformVersion}}}}}
	for _, h := range a.Hooks.list() {
		doc.Hooks = append(doc.Hooks, map[string]string{h[0]: h[1]})
	}
	if _, err := strconv.ParseFloat(version, 64); err != nil {
		return nil, fmt.Errorf("codedeployengine: AppSpec version %q is not a number", version)
	}
	return json.Marshal(doc)
}

// list returns the hooks set, as (event, function) pairs in lifecycle order.
func (h LambdaHooks) list() [][2]string {
	var out [][2]string
	for _, p := range [][2]string{{"BeforeInstall", h.BeforeInstall}, {"AfterInstall", h.AfterInstall}, {"AfterAllowTestTraffic", h.AfterAllowTestTraffic},
		{"BeforeAllowTraffic", h.BeforeAllowTraffic}, {"AfterAllowTraffic", h.AfterAllowTraffic}} {
		if p[1] != "" {
			out = append(out, p)
		}
	}
	return out
}

// set sets the hook of event; false if event is not an ECS hook event.
func (h *LambdaHooks) set(event, fn string) bool {
	switch event {
	case "BeforeInstall":
		h.BeforeInstall = fn
	case "AfterInstall":
		h.AfterInstall = fn
	case "AfterAllowTestTraffic":
		h.AfterAllowTestTraffic = fn
	case "BeforeAllowTraffic":
		h.BeforeAllowTraffic = fn
	case "AfterAllowTraffic":
		h.AfterAllowTraffic = fn
	default:
		return false
	}
	return true
}

// maxAppSpec bounds the AppSpec ParseAppSpec reads.
const maxAppSpec = 1 << 20

// ParseAppSpec reads an ECS AppSpec, in JSON or in the YAML CodeDeploy's
// documentation writes it in: block mappings and sequences, plain, single-
// and double-quoted scalars, flow sequences of scalars, comments. Other
// YAML (anchors, tags, multi-line scalars, flow mappings) is refused with
// an error saying so.
func ParseAppSpec(b []byte) (*AppSpec, error) {
	if len(b) > maxAppSpec {
		return nil, fmt.Errorf("codedeployengine: AppSpec of %d bytes: at most %d", len(b), maxAppSpec)
	}
	if !utf8.Valid(b) {
		return nil, errors.New("codedeployengine: AppSpec is not UTF-8")
	}
	var tree any
	if t := bytes.TrimSpace(b); len(t) > 0 && t[0] == '{' {
		d := json.NewDecoder(bytes.NewReader(t))
		d.UseNumber()
		if err := d.Decode(&tree); err != nil {
			return nil, fmt.Errorf("codedeployengine: AppSpec JSON: %w", err)
		}
	} else {
		var err error
		if tree, err = parseYAML(string(b)); err != nil {
			return nil, fmt.Errorf("codedeployengine: AppSpec YAML: %w", err)
		}
	}
	return appSpecFromTree(tree)
}

func appSpecFromTree(tree any) (*AppSpec, error) {
	root, ok := tree.(map[string]any)
	if !ok {
		return nil, errors.New("codedeployengine: AppSpec: the document is not a mapping")
	}
	a := &AppSpec{}
	var err error
	if a.Version, err = scalar(root["version"], "version"); err != nil {
		return nil, err
	}
	if v, err := strconv.ParseFloat(a.Version, 64); err != nil || v != 0 {
		return nil, fmt.Errorf("codedeployengine: AppSpec: version %q: CodeDeploy reads version 0.0", a.Version)
	}
	a.Version = "0.0"
	res, ok := root["Resources"].([]any)
	if !ok || len(res) != 1 {
		return nil, errors.New("codedeployengine: AppSpec: Resources must list exactly one ECS service (a TargetService)")
	}
	item, ok := res[0].(map[string]any)
	if !ok || len(item) != 1 {
		return nil, errors.New("codedeployengine: AppSpec: Resources[0] must be one named resource, such as TargetService")
	}
	for _, v := range item {
		svc, ok := v.(map[string]any)
		if !ok {
			return nil, errors.New("codedeployengine: AppSpec: the resource is not a mapping")
		}
		if typ, _ := scalar(svc["Type"], "Type"); typ != "AWS::ECS::Service" {
			return nil, fmt.Errorf("codedeployengine: AppSpec: resource Type %q: this is not an ECS AppSpec (want AWS::ECS::Service)", typ)
		}
		props, ok := svc["Properties"].(map[string]any)
		if !ok {
			return nil, errors.New("codedeployengine: AppSpec: the resource has no Properties mapping")
		}
		if a.TaskDefinition, err = scalar(props["TaskDefinition"], "Properties.TaskDefinition"); err != nil || a.TaskDefinition == "" {
			return nil, errors.New("codedeployengine: AppSpec: Properties.TaskDefinition is required")
		}
		lb, ok := props["LoadBalancerInfo"].(map[string]any)
		if !ok {
			return nil, errors.New("codedeployengine: AppSpec: Properties.LoadBalancerInfo is required")
		}
		if a.ContainerName, err = scalar(lb["ContainerName"], "LoadBalancerInfo.ContainerName"); err != nil || a.ContainerName == "" {
			return nil, errors.New("codedeployengine: AppSpec: LoadBalancerInfo.ContainerName is required")
		}
		port, err := scalar(lb["ContainerPort"], "LoadBalancerInfo.ContainerPort")
		if err != nil {
			return nil, err
		}
		if a.ContainerPort, err = strconv.Atoi(port); err != nil || a.ContainerPort < 1 || a.ContainerPort > 65535 {
			return nil, fmt.Errorf("codedeployengine: AppSpec: LoadBalancerInfo.ContainerPort %q is not a port", port)
		}
		if a.PlatformVersion, err = scalar(props["PlatformVersion"], "Properties.PlatformVersion"); err != nil {
			return nil, err
		}
		for k := range props {
			switch k {
			case "TaskDefinition", "LoadBalancerInfo", "PlatformVersion":
			default:
				a.Other = append(a.Other, k)
			}
		}
		sort.Strings(a.Other)
	}
	if h, ok := root["Hooks"]; ok && h != nil {
		hooks, ok := h.([]any)
		if !ok {
			return nil, errors.New("codedeployengine: AppSpec: Hooks must be a list")
		}
		for i, x := range hooks {
			m, ok := x.(map[string]any)
			if !ok {
				return nil, fmt.Errorf("codedeployengine: AppSpec: Hooks[%d] is not an event: function mapping", i)
			}
			for ev, fn := range m {
				s, err := scalar(fn, "Hooks."+ev)
				if err != nil {
					return nil, err
				}
				if !a.Hooks.set(ev, s) {
					return nil, fmt.Errorf("codedeployengine: AppSpec: Hooks: %q is not a hook event of an ECS deployment (BeforeInstall, AfterInstall, AfterAllowTestTraffic, BeforeAllowTraffic, AfterAllowTraffic)", ev)
				}
			}
		}
	}
	return a, nil
}

// scalar returns a scalar value as a string ("" for a missing one).
func scalar(v any, field string) (string, error) {
	switch x := v.(type) {
	case nil:
		return "", nil
	case string:
		return x, nil
	case json.Number:
		return x.String(), nil
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1e15 {
			return strconv.FormatInt(int64(x), 10), nil
		}
		return strconv.FormatFloat(x, 'g', -1, 64), nil
	case bool:
		return strconv.FormatBool(x), nil
	}
	return "", fmt.Errorf("codedeployengine: AppSpec: %s is not a scalar", field)
}

// yamlLine is a line of YAML without its comment and indentation.
type yamlLine struct {
	n      int // line number, from 1
	indent int
	text   string
}

// parseYAML parses the YAML subset ParseAppSpec reads into maps, slices
// and strings.
func parseYAML(src string) (any, error) {
	var lines []yamlLine
	for i, raw := range strings.Split(strings.ReplaceAll(src, "\r\n", "\n"), "\n") {
		if strings.ContainsRune(raw, '\t') && strings.TrimLeft(raw, " ") != strings.TrimLeft(raw, " \t") {
			return nil, fmt.Errorf("line %d: a tab in the indentation", i+1)
		}
		text := stripComment(raw)
		trimmed := strings.TrimSpace(text)
		if trimmed == "" || trimmed == "---" {
			continue
		}
		if trimmed == "..." {
			break
		}
		lines = append(lines, yamlLine{n: i + 1, indent: len(text) - len(strings.TrimLeft(text, " ")), text: trimmed})
	}
	if len(lines) == 0 {
		return nil, errors.New("empty document")
	}
	p := &yamlParser{lines: lines}
	v, err := p.node(lines[0].indent)
	if err != nil {
		return nil, err
	}
	if p.i < len(p.lines) {
		return nil, fmt.Errorf("line %d: unexpected indentation", p.lines[p.i].n)
	}
	return v, nil
}

// stripComment removes a comment: a '#' at the start or after a space,
// outside quotes.
func stripComment(s string) string {
	var quote byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quote == '"' && c == '\\':
			i++
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '"' || c == '\'':
			if i == 0 || strings.ContainsRune(" \t-:[,{", rune(s[i-1])) {
				quote = c
			}
		case c == '#' && (i == 0 || s[i-1] == ' ' || s[i-1] == '\t'):
			return s[:i]
		}
	}
	return s
}

type yamlParser struct {
	lines []yamlLine
	i     int
	depth int
}

const maxYAMLDepth = 64

func isSeqItem(text string) bool { return text == "-" || strings.HasPrefix(text, "- ") }

// node parses the block node starting at the current line, at indent.
func (p *yamlParser) node(indent int) (any, error) {
	if p.depth++; p.depth > maxYAMLDepth {
		return nil, errors.New("nested too deeply")
	}
	defer func() { p.depth-- }()
	l := p.lines[p.i]
	if isSeqItem(l.text) {
		return p.sequence(indent)
	}
	if _, _, ok := splitKey(l.text); !ok {
		// A lone scalar.
		p.i++
		return parseScalar(l.text, l.n)
	}
	return p.mapping(indent)
}

func (p *yamlParser) sequence(indent int) (any, error) {
	out := []any{}
	for p.i < len(p.lines) {
		l := p.lines[p.i]
		if l.indent < indent {
			break
		}
		if l.indent > indent || !isSeqItem(l.text) {
			if l.indent == indent {
				break
			}
			return nil, fmt.Errorf("line %d: unexpected indentation", l.n)
		}
		rest := strings.TrimLeft(strings.TrimPrefix(l.text, "-"), " ")
		if rest == "" {
			p.i++
			if p.i >= len(p.lines) || p.lines[p.i].indent <= indent {
				out = append(out, nil)
				continue
			}
			v, err := p.node(p.lines[p.i].indent)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
			continue
		}
		// The item's content starts a node at its own column.
		col := indent + len(l.text) - len(rest)
		p.lines[p.i] = yamlLine{n: l.n, indent: col, text: rest}
		v, err := p.node(col)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

func (p *yamlParser) mapping(indent int) (any, error) {
	out := map[string]any{}
	for p.i < len(p.lines) {
		l := p.lines[p.i]
		if l.indent < indent || (l.indent == indent && isSeqItem(l.text)) {
			break
		}
		if l.indent > indent {
			return nil, fmt.Errorf("line %d: unexpected indentation", l.n)
		}
		k, rest, ok := splitKey(l.text)
		if !ok {
			return nil, fmt.Errorf("line %d: want key: value", l.n)
		}
		key, err := parseScalar(k, l.n)
		if err != nil {
			return nil, err
		}
		ks, ok := key.(string)
		if !ok {
			return nil, fmt.Errorf("line %d: a key must be a scalar", l.n)
		}
		if _, dup := out[ks]; dup {
			return nil, fmt.Errorf("line %d: key %q repeated", l.n, ks)
		}
		p.i++
		switch {
		case rest != "":
			if out[ks], err = parseScalar(rest, l.n); err != nil {
				return nil, err
			}
		case p.i < len(p.lines) && p.lines[p.i].indent > indent:
			if out[ks], err = p.node(p.lines[p.i].indent); err != nil {
				return nil, err
			}
		case p.i < len(p.lines) && p.lines[p.i].indent == indent && isSeqItem(p.lines[p.i].text):
			// A sequence may sit at its key's indentation.
			if out[ks], err = p.sequence(indent); err != nil {
				return nil, err
			}
		default:
			out[ks] = nil
		}
	}
	return out, nil
}

// splitKey splits "key: value" (or "key:") at the first ": " outside quotes.
func splitKey(text string) (key, rest string, ok bool) {
	var quote byte
	for i := 0; i < len(text); i++ {
		c := text[i]
		switch {
		case quote == '"' && c == '\\':
			i++
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case (c == '"' || c == '\'') && i == 0:
			quote = c
		case c == '[' || c == '{':
			if i == 0 {
				return "", "", false
			}
		case c == ':' && (i+1 == len(text) || text[i+1] == ' '):
			return strings.TrimSpace(text[:i]), strings.TrimSpace(text[i+1:]), i > 0
		}
	}
	return "", "", false
}

// parseScalar parses a scalar or a flow sequence of scalars.
func parseScalar(s string, line int) (any, error) {
	switch {
	case s == "":
		return nil, nil
	case s[0] == '[':
		if !strings.HasSuffix(s, "]") {
			return nil, fmt.Errorf("line %d: a flow sequence must end on its line", line)
		}
		out := []any{}
		inner := strings.TrimSpace(s[1 : len(s)-1])
		for inner != "" {
			item, rest, err := flowItem(inner, line)
			if err != nil {
				return nil, err
			}
			out = append(out, item)
			inner = strings.TrimSpace(rest)
		}
		return out, nil
	case s[0] == '"':
		v, err := strconv.Unquote(s)
		if err != nil || strings.Contains(s[1:len(s)-1], "\n") {
			return nil, fmt.Errorf("line %d: bad double-quoted scalar %.40q", line, s)
		}
		return v, nil
	case s[0] == '\'':
		if len(s) < 2 || s[len(s)-1] != '\'' {
			return nil, fmt.Errorf("line %d: bad single-quoted scalar %.40q", line, s)
		}
		inner := s[1 : len(s)-1]
		if strings.Count(inner, "'")%2 != 0 || strings.Contains(strings.ReplaceAll(inner, "''", ""), "'") {
			return nil, fmt.Errorf("line %d: bad single-quoted scalar %.40q", line, s)
		}
		return strings.ReplaceAll(inner, "''", "'"), nil
	case strings.ContainsRune("{&*!|>%@`", rune(s[0])):
		return nil, fmt.Errorf("line %d: %q: the AppSpec reader does not take YAML flow mappings, anchors, aliases, tags or block scalars", line, s[0])
	}
	switch s {
	case "~", "null", "Null", "NULL":
		return nil, nil
	}
	return s, nil
}

// flowItem reads one scalar of a flow sequence and what follows its comma.
func flowItem(s string, line int) (any, string, error) {
	end := len(s)
	if s[0] == '"' || s[0] == '\'' {
		q := s[0]
		i := 1
		for ; i < len(s); i++ {
			if q == '"' && s[i] == '\\' {
				i++
				continue
			}
			if s[i] == q {
				if q == '\'' && i+1 < len(s) && s[i+1] == '\'' {
					i++
					continue
				}
				break
			}
		}
		if i >= len(s) {
			return nil, "", fmt.Errorf("line %d: unterminated quote in a flow sequence", line)
		}
		v, err := parseScalar(s[:i+1], line)
		rest := strings.TrimSpace(s[i+1:])
		if rest != "" && rest[0] != ',' {
			return nil, "", fmt.Errorf("line %d: want ',' in a flow sequence", line)
		}
		return v, strings.TrimPrefix(rest, ","), err
	}
	if i := strings.IndexByte(s, ','); i >= 0 {
		end = i
	}
	item := strings.TrimSpace(s[:end])
	if item == "" || strings.ContainsAny(item, "[]{}") {
		return nil, "", fmt.Errorf("line %d: the AppSpec reader takes flow sequences of scalars only", line)
	}
	v, err := parseScalar(item, line)
	if end < len(s) {
		return v, s[end+1:], err
	}
	return v, "", err
}
