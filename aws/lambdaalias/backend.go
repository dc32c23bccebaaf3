package lambdaalias

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/bluegreen-go/bluegreen"
)

// API is the part of *lambda.Client a Backend uses; iam-policy-lambda.json
// allows exactly these actions.
type API interface {
	UpdateFunctionCode(ctx context.Context, in *lambda.UpdateFunctionCodeInput, optFns ...func(*lambda.Options)) (*lambda.UpdateFunctionCodeOutput, error)
	GetFunctionConfiguration(ctx context.Context, in *lambda.GetFunctionConfigurationInput, optFns ...func(*lambda.Options)) (*lambda.GetFunctionConfigurationOutput, error)
	PublishVersion(ctx context.Context, in *lambda.PublishVersionInput, optFns ...func(*lambda.Options)) (*lambda.PublishVersionOutput, error)
	DeleteFunction(ctx context.Context, in *lambda.DeleteFunctionInput, optFns ...func(*lambda.Options)) (*lambda.DeleteFunctionOutput, error)
	ListAliases(ctx context.Context, in *lambda.ListAliasesInput, optFns ...func(*lambda.Options)) (*lambda.ListAliasesOutput, error)
	CreateAlias(ctx context.Context, in *lambda.CreateAliasInput, optFns ...func(*lambda.Options)) (*lambda.CreateAliasOutput, error)
	UpdateAlias(ctx context.Context, in *lambda.UpdateAliasInput, optFns ...func(*lambda.Options)) (*lambda.UpdateAliasOutput, error)
	DeleteAlias(ctx context.Context, in *lambda.DeleteAliasInput, optFns ...func(*lambda.Options)) (*lambda.DeleteAliasOutput, error)
}

// Options configure a Backend.
type Options struct {
	// Client calls Lambda; a *lambda.Client. Required.
	Client API
	// Function returns the function of a service: its name or ARN. The
	// service name if nil. Each service needs a function of its own.
	Function func(service string) string
	// Alias is the production alias: what callers invoke. "live" if empty.
	Alias string
	// TestAlias is the alias of the test route; Alias + "-test" if empty.
	TestAlias string
	// SlotAliasA and SlotAliasB are the aliases that record which version
	// each slot holds; Alias + "-slot-a" and Alias + "-slot-b" if empty.
	SlotAliasA, SlotAliasB string
	// DeleteVersions makes ScaleDown delete the version of the environment
	// it removes, unless another alias still routes to it. Versions are
	// kept by default: they are immutable and cost nothing idle, and a
	// kept version can be deployed again with Spec.Version.
	DeleteVersions bool
	// UpdateTimeout bounds ScaleUp's wait for a code update to finish;
	// 10 minutes if zero. Past it ScaleUp returns a CodeTimeout error, and
	// the Deployer calls it again.
	UpdateTimeout time.Duration
	// PollInterval is the time between reads of a code update in progress;
	// one second if zero.
	PollInterval time.Duration
	// Logger receives a debug record per change (function, alias or
	// version, deployment). Nothing is logged if nil.
	Logger *slog.Logger
}

// Backend deploys Lambda functions: it is the bluegreen.Compute, the
// bluegreen.Router and the bluegreen.Discoverer of Lambda. It is safe for
// concurrent use.
type Backend struct {
	opts Options

	mu     sync.Mutex
	failed map[failKey]string // code updates that failed, by function, slot and deployment
}

type failKey struct{ function, slot, deployment string }

var (
	_ bluegreen.Compute    = (*Backend)(nil)
	_ bluegreen.Router     = (*Backend)(nil)
	_ bluegreen.Discoverer = (*Backend)(nil)
	_ bluegreen.ErrorCoder = (*Backend)(nil)
)

// New returns a Backend.
func New(o Options) (*Backend, error) {
	if o.Client == nil {
		return nil, &bluegreen.ConfigError{Field: "lambdaalias.Options.Client", Problem: "nil", Fix: "pass lambda.NewFromConfig(cfg)"}
	}
	if o.Alias == "" {
		o.Alias = "live"
	}
	if o.TestAlias == "" {
		o.TestAlias = o.Alias + "-test"
	}
	if o.SlotAliasA == "" {
		o.SlotAliasA = o.Alias + "-slot-a"
	}
	if o.SlotAliasB == "" {
		o.SlotAliasB = o.Alias + "-slot-b"
	}
	names := map[string]string{}
	for _, f := range []struct{ field, name string }{
		{"Alias", o.Alias}, {"TestAlias", o.TestAlias}, {"SlotAliasA", o.SlotAliasA}, {"SlotAliasB", o.SlotAliasB},
	} {
		if !validAlias(f.name) {
			return nil, &bluegreen.ConfigError{Field: "lambdaalias.Options." + f.field, Problem: fmt.Sprintf("%q is not an alias name", f.name),
				Fix: "use 1 to 128 letters, digits, '-' and '_', not only digits"}
		}
		if other, dup := names[f.name]; dup {
			return nil, &bluegreen.ConfigError{Field: "lambdaalias.Options." + f.field, Problem: fmt.Sprintf("%q is also %s", f.name, other),
				Fix: "give the four aliases different names"}
		}
		names[f.name] = f.field
	}
	if o.UpdateTimeout < 0 || o.PollInterval < 0 {
		return nil, &bluegreen.ConfigError{Field: "lambdaalias.Options.UpdateTimeout", Problem: "negative UpdateTimeout or PollInterval", Fix: "use 0 for the defaults"}
	}
	if o.UpdateTimeout == 0 {
		o.UpdateTimeout = 10 * time.Minute
	}
	if o.PollInterval == 0 {
		o.PollInterval = time.Second
	}
	if o.Function == nil {
		o.Function = func(service string) string { return service }
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return &Backend{opts: o, failed: map[failKey]string{}}, nil
}

// validAlias reports whether s is a Lambda alias name: (?!^[0-9]+$)([a-zA-Z0-9-_]+), 1 to 128.
func validAlias(s string) bool {
	const chars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_"
	return s != "" && len(s) <= 128 && strings.Trim(s, chars) == "" && strings.Trim(s, "0123456789") != ""
}

// function returns the function of service, checked.
func (b *Backend) function(service string) (string, error) {
	fn := b.opts.Function(service)
	if strings.TrimSpace(fn) == "" {
		return "", &bluegreen.ConfigError{Field: "lambdaalias.Options.Function", Problem: fmt.Sprintf("no function for service %q", service),
			Fix: "return the function's name or ARN for every service deployed"}
	}
	return fn, nil
}

// slotAlias returns the alias that records what slot s holds.
func (b *Backend) slotAlias(s bluegreen.Slot) string {
	if s == bluegreen.SlotB {
		return b.opts.SlotAliasB
	}
	return b.opts.SlotAliasA
}

// shortName is the function's name, from a name or an ARN.
func shortName(fn string) string {
	parts := strings.Split(fn, ":")
	for i, p := range parts {
		if p == "function" && i+1 < len(parts) {
			return parts[i+1]
		}
	}
	return parts[0]
}
