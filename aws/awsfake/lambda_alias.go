package awsfake

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// LambdaAlias is an alias of a function.
type LambdaAlias struct {
	// Name is the alias's name.
	Name string
	// FunctionVersion is the version it invokes.
	FunctionVersion string
	// Description is its description.
	Description string
	// AdditionalVersionWeights maps a second version to the share of
	// invocations (0.0 to 1.0) routed to it.
	AdditionalVersionWeights map[string]float64
}

type lambdaAlias struct {
	name, version, description string
	weights                    map[string]float64
	revision                   int
}

// references reports whether the alias routes to version.
func (a *lambdaAlias) references(version string) bool {
	_, weighted := a.weights[version]
	return a.version == version || weighted
}

// SetAlias creates or replaces an alias, as someone else's tooling would.
func (l *Lambda) SetAlias(function string, a LambdaAlias) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	c := l.control()
	fn, ok := c.fns[function]
	if !ok {
		return fmt.Errorf("awsfake: no function %s", function)
	}
	if msg := fn.checkRouting(a.FunctionVersion, a.AdditionalVersionWeights); msg != "" {
		return fmt.Errorf("awsfake: alias %s: %s", a.Name, msg)
	}
	c.revisions++
	fn.aliases[a.Name] = &lambdaAlias{name: a.Name, version: a.FunctionVersion, description: a.Description,
		weights: maps.Clone(a.AdditionalVersionWeights), revision: c.revisions}
	return nil
}

// Aliases returns function's aliases by name.
func (l *Lambda) Aliases(function string) map[string]LambdaAlias {
	l.mu.Lock()
	defer l.mu.Unlock()
	fn, ok := l.control().fns[function]
	if !ok {
		return nil
	}
	out := map[string]LambdaAlias{}
	for name, a := range fn.aliases {
		out[name] = LambdaAlias{Name: name, FunctionVersion: a.version, Description: a.description, AdditionalVersionWeights: maps.Clone(a.weights)}
	}
	return out
}

// lambdaNameRE reports whether s is a valid function name.
func lambdaNameRE(s string) bool {
	return s != "" && len(s) <= 64 && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_") == ""
}

// aliasName reports whether s is a valid alias name: (?!^[0-9]+$)([a-zA-Z0-9-_]+), at most 128.
func aliasName(s string) bool {
	if s == "" || len(s) > 128 || strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_") != "" {
		return false
	}
	return strings.Trim(s, "0123456789") != ""
}

// checkRouting validates an alias's version and routing configuration as
// Lambda does, and returns the problem, if any.
func (fn *lambdaFn) checkRouting(version string, weights map[string]float64) string {
	exists := func(v string) bool {
		n, err := strconv.Atoi(v)
		_, ok := fn.versions[n]
		return err == nil && ok
	}
	if version != "$LATEST" && !exists(version) {
		return "Function not found: " + lambdaARN(fn.name, version)
	}
	if len(weights) > 1 {
		return "Number of items in AdditionalVersionWeights cannot be greater than 1"
	}
	for v, w := range weights {
		switch {
		case version == "$LATEST":
			return "$LATEST is not supported for an alias pointing to more than 1 version"
		case !exists(v):
			return "Function not found: " + lambdaARN(fn.name, v)
		case v == version:
			return "Cannot have the primary version and the additional version be the same: " + v
		case !(w >= 0 && w <= 1):
			return fmt.Sprintf("Invalid weight %v for version %s: weights are between 0.0 and 1.0", w, v)
		}
	}
	return ""
}

// lambdaWireAlias is an AliasConfiguration as the API returns it.
type lambdaWireAlias struct {
	AliasArn        string
	Name            string
	FunctionVersion string
	Description     string                   `json:",omitempty"`
	RoutingConfig   *lambdaWireRoutingConfig `json:",omitempty"`
	RevisionId      string                   //nolint:revive // the wire name
}

type lambdaWireRoutingConfig struct {
	AdditionalVersionWeights map[string]float64
}

func (fn *lambdaFn) wireAlias(a *lambdaAlias) lambdaWireAlias {
	out := lambdaWireAlias{AliasArn: lambdaARN(fn.name, a.name), Name: a.name, FunctionVersion: a.version,
		Description: a.description, RevisionId: revisionID(a.revision)}
	if len(a.weights) > 0 {
		out.RoutingConfig = &lambdaWireRoutingConfig{AdditionalVersionWeights: maps.Clone(a.weights)}
	}
	return out
}

// routing reads the RoutingConfig of a request: set reports whether it was
// given (an empty map clears the routing).
func (q lambdaRequest) routing() (weights map[string]float64, set bool, err error) {
	raw, ok := q.body["RoutingConfig"]
	if !ok || string(raw) == "null" {
		return nil, false, nil
	}
	var rc struct {
		AdditionalVersionWeights map[string]float64
	}
	if err := json.Unmarshal(raw, &rc); err != nil {
		return nil, false, err
	}
	return rc.AdditionalVersionWeights, true, nil
}

func (l *Lambda) listAliases(q lambdaRequest) {
	query := q.r.URL.Query()
	version := query.Get("FunctionVersion")
	maxItems := 50
	if s := query.Get("MaxItems"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 10000 {
			lambdaError(q.w, http.StatusBadRequest, "InvalidParameterValueException", "MaxItems must be between 1 and 10000")
			return
		}
		maxItems = n
	}
	names := slices.Sorted(maps.Keys(q.fn.aliases))
	start := 0
	if m := query.Get("Marker"); m != "" {
		i, found := slices.BinarySearch(names, m)
		if !found {
			lambdaError(q.w, http.StatusBadRequest, "InvalidParameterValueException", "Invalid marker "+m)
			return
		}
		start = i
	}
	out := struct {
		Aliases    []lambdaWireAlias
		NextMarker string `json:",omitempty"`
	}{Aliases: []lambdaWireAlias{}}
	for i := start; i < len(names); i++ {
		a := q.fn.aliases[names[i]]
		if version != "" && a.version != version {
			continue
		}
		if len(out.Aliases) == maxItems {
			out.NextMarker = names[i]
			break
		}
		out.Aliases = append(out.Aliases, q.fn.wireAlias(a))
	}
	lambdaWrite(q.w, http.StatusOK, out)
}

func (l *Lambda) createAlias(q lambdaRequest) {
	name, _ := q.str("Name")
	version, _ := q.str("FunctionVersion")
	desc, _ := q.str("Description")
	weights, _, err := q.routing()
	switch {
	case err != nil:
		lambdaError(q.w, http.StatusBadRequest, "InvalidRequestContentException", "RoutingConfig: "+err.Error())
		return
	case !aliasName(name):
		lambdaError(q.w, http.StatusBadRequest, "ValidationException", "1 validation error detected: Value '"+name+"' at 'name' failed to satisfy constraint")
		return
	case len(desc) > 256:
		lambdaError(q.w, http.StatusBadRequest, "ValidationException", "Value at 'description' failed to satisfy constraint: Member must have length less than or equal to 256")
		return
	}
	if _, ok := q.fn.aliases[name]; ok {
		lambdaError(q.w, http.StatusConflict, "ResourceConflictException", "Alias already exists: "+lambdaARN(q.fn.name, name))
		return
	}
	if msg := q.fn.checkRouting(version, weights); msg != "" {
		lambdaError(q.w, routingStatus(msg), routingCode(msg), msg)
		return
	}
	c := l.control()
	c.revisions++
	a := &lambdaAlias{name: name, version: version, description: desc, weights: weights, revision: c.revisions}
	q.fn.aliases[name] = a
	lambdaWrite(q.w, http.StatusCreated, q.fn.wireAlias(a))
}

func (l *Lambda) updateAlias(q lambdaRequest, name string) {
	a, ok := q.fn.aliases[name]
	if !ok {
		lambdaError(q.w, http.StatusNotFound, "ResourceNotFoundException", "Alias not found: "+lambdaARN(q.fn.name, name))
		return
	}
	if rev, ok := q.str("RevisionId"); ok && rev != revisionID(a.revision) {
		lambdaError(q.w, http.StatusPreconditionFailed, "PreconditionFailedException", "The Revision Id provided does not match the latest Revision Id.")
		return
	}
	version, weights := a.version, a.weights
	if v, ok := q.str("FunctionVersion"); ok {
		version = v
	}
	w, set, err := q.routing()
	if err != nil {
		lambdaError(q.w, http.StatusBadRequest, "InvalidRequestContentException", "RoutingConfig: "+err.Error())
		return
	}
	if set {
		weights = w
	}
	desc := a.description
	if d, ok := q.str("Description"); ok {
		desc = d
	}
	if len(desc) > 256 {
		lambdaError(q.w, http.StatusBadRequest, "ValidationException", "Value at 'description' failed to satisfy constraint: Member must have length less than or equal to 256")
		return
	}
	if msg := q.fn.checkRouting(version, weights); msg != "" {
		lambdaError(q.w, routingStatus(msg), routingCode(msg), msg)
		return
	}
	if len(weights) == 0 {
		weights = nil
	}
	c := l.control()
	c.revisions++
	a.version, a.weights, a.description, a.revision = version, maps.Clone(weights), desc, c.revisions
	lambdaWrite(q.w, http.StatusOK, q.fn.wireAlias(a))
}

func (l *Lambda) deleteAlias(q lambdaRequest, name string) {
	if _, ok := q.fn.aliases[name]; !ok {
		lambdaError(q.w, http.StatusNotFound, "ResourceNotFoundException", "Alias not found: "+lambdaARN(q.fn.name, name))
		return
	}
	delete(q.fn.aliases, name)
	q.w.WriteHeader(http.StatusNoContent)
}

func routingStatus(msg string) int {
	if strings.HasPrefix(msg, "Function not found") {
		return http.StatusNotFound
	}
	return http.StatusBadRequest
}

func routingCode(msg string) string {
	if strings.HasPrefix(msg, "Function not found") {
		return "ResourceNotFoundException"
	}
	return "InvalidParameterValueException"
}
