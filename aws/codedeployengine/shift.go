package codedeployengine

import (
	"fmt"
	"slices"
	"time"

	"github.com/bluegreen-go/bluegreen"
)

// Routing is a CodeDeploy deployment configuration's traffic routing for
// ECS: AllAtOnce, or TimeBasedLinear / TimeBasedCanary with a whole
// percentage and a whole number of minutes.
type Routing struct {
	// Type is "AllAtOnce", "TimeBasedLinear" or "TimeBasedCanary".
	Type string
	// Percentage is the linear step or the canary share, in percent.
	Percentage int
	// IntervalMinutes is the wait after each step but the last.
	IntervalMinutes int
}

// Predefined are CodeDeploy's predefined deployment configurations for
// ECS, by name.
var Predefined = map[string]Routing{
	"CodeDeployDefault.ECSAllAtOnce":                    {Type: "AllAtOnce"},
	"CodeDeployDefault.ECSLinear10PercentEvery1Minutes": {Type: "TimeBasedLinear", Percentage: 10, IntervalMinutes: 1},
	"CodeDeployDefault.ECSLinear10PercentEvery3Minutes": {Type: "TimeBasedLinear", Percentage: 10, IntervalMinutes: 3},
	"CodeDeployDefault.ECSCanary10Percent5Minutes":      {Type: "TimeBasedCanary", Percentage: 10, IntervalMinutes: 5},
	"CodeDeployDefault.ECSCanary10Percent15Minutes":     {Type: "TimeBasedCanary", Percentage: 10, IntervalMinutes: 15},
}

// Shift returns the library's shift for the routing, or an error naming
// what it cannot carry.
func (r Routing) Shift() (bluegreen.Shift, error) {
	wait := time.Duration(r.IntervalMinutes) * time.Minute
	switch r.Type {
	case "AllAtOnce":
		return bluegreen.AllAtOnce(), nil
	case "TimeBasedLinear", "TimeBasedCanary":
		if r.Percentage < 1 || r.Percentage > 99 || r.IntervalMinutes < 1 {
			return bluegreen.Shift{}, fmt.Errorf("%s %d%% every %d minutes: CodeDeploy takes 1 to 99 percent and at least 1 minute", r.Type, r.Percentage, r.IntervalMinutes)
		}
		if r.Type == "TimeBasedLinear" {
			return bluegreen.Linear(float64(r.Percentage), wait), nil
		}
		return bluegreen.Canary(float64(r.Percentage), wait), nil
	}
	return bluegreen.Shift{}, fmt.Errorf("traffic routing type %q: want AllAtOnce, TimeBasedLinear or TimeBasedCanary", r.Type)
}

// RoutingFor returns the CodeDeploy routing that moves traffic in steps,
// or false when CodeDeploy cannot (uneven steps, shares in fractions of a
// percent, waits in fractions of a minute).
func RoutingFor(steps []bluegreen.Step) (Routing, bool) {
	if len(steps) == 1 {
		return Routing{Type: "AllAtOnce"}, len(steps) == 1 && steps[0].Green == bluegreen.Full
	}
	first := steps[0]
	if first.Green%10 != 0 || first.Wait < time.Minute || first.Wait%time.Minute != 0 {
		return Routing{}, false
	}
	r := Routing{Percentage: int(first.Green / 10), IntervalMinutes: int(first.Wait / time.Minute)}
	for _, typ := range []string{"TimeBasedCanary", "TimeBasedLinear"} {
		r.Type = typ
		sh, err := r.Shift()
		if err != nil {
			return Routing{}, false
		}
		if want, err := sh.Resolve("Shift"); err == nil && slices.Equal(want, steps) {
			return r, true
		}
	}
	return Routing{}, false
}

// configName returns the deployment configuration for the spec's shift:
// a predefined one that moves traffic the same way, else
// Options.DeploymentConfigName; a *bluegreen.ConfigError when neither.
func (e *Engine) configName(spec bluegreen.EngineSpec) (string, error) {
	steps := spec.Steps
	if len(steps) == 0 {
		steps = []bluegreen.Step{{Green: bluegreen.Full}}
	}
	names := make([]string, 0, len(Predefined))
	for name := range Predefined {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		sh, _ := Predefined[name].Shift()
		if want, err := sh.Resolve("Shift"); err == nil && slices.Equal(want, steps) {
			return name, nil
		}
	}
	r, ok := RoutingFor(steps)
	if !ok {
		return "", &bluegreen.ConfigError{Field: "Shift", Problem: "CodeDeploy cannot move traffic in these steps: it shifts all at once, or linearly or as a canary in whole percent with waits in whole minutes",
			Fix: "use AllAtOnce, or Linear or Canary with a whole percentage and a wait of whole minutes"}
	}
	if e.opts.DeploymentConfigName != "" {
		return e.opts.DeploymentConfigName, nil
	}
	kind, params := "timeBasedLinear", fmt.Sprintf("linearPercentage=%d, linearInterval=%d", r.Percentage, r.IntervalMinutes)
	if r.Type == "TimeBasedCanary" {
		kind, params = "timeBasedCanary", fmt.Sprintf("canaryPercentage=%d, canaryInterval=%d", r.Percentage, r.IntervalMinutes)
	}
	return "", &bluegreen.ConfigError{Field: "Shift", Problem: "no predefined CodeDeploy ECS deployment configuration moves traffic this way",
		Fix: fmt.Sprintf("create one with CreateDeploymentConfig (computePlatform ECS, trafficRoutingConfig type %s, %s: %s) and name it in codedeployengine.Options.DeploymentConfigName", r.Type, kind, params)}
}
