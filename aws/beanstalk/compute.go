package beanstalk

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	eb "github.com/aws/aws-sdk-go-v2/service/elasticbeanstalk"
	"github.com/aws/aws-sdk-go-v2/service/elasticbeanstalk/types"
	"github.com/bluegreen-go/bluegreen"
)

// API is the part of the Elastic Beanstalk client this package uses;
// *elasticbeanstalk.Client implements it.
type API interface {
	DescribeEnvironments(ctx context.Context, in *eb.DescribeEnvironmentsInput, optFns ...func(*eb.Options)) (*eb.DescribeEnvironmentsOutput, error)
	CreateEnvironment(ctx context.Context, in *eb.CreateEnvironmentInput, optFns ...func(*eb.Options)) (*eb.CreateEnvironmentOutput, error)
	UpdateEnvironment(ctx context.Context, in *eb.UpdateEnvironmentInput, optFns ...func(*eb.Options)) (*eb.UpdateEnvironmentOutput, error)
	TerminateEnvironment(ctx context.Context, in *eb.TerminateEnvironmentInput, optFns ...func(*eb.Options)) (*eb.TerminateEnvironmentOutput, error)
	DescribeApplicationVersions(ctx context.Context, in *eb.DescribeApplicationVersionsInput, optFns ...func(*eb.Options)) (*eb.DescribeApplicationVersionsOutput, error)
	CreateApplicationVersion(ctx context.Context, in *eb.CreateApplicationVersionInput, optFns ...func(*eb.Options)) (*eb.CreateApplicationVersionOutput, error)
}

// Service is one service's Elastic Beanstalk application and its two
// environments, one per slot.
type Service struct {
	// Application is the Elastic Beanstalk application. Required.
	Application string
	// EnvironmentA and EnvironmentB name the environments of slot A and
	// slot B (4 to 40 characters). Required, and different.
	EnvironmentA, EnvironmentB string
	// CNAMEPrefixA and CNAMEPrefixB are the CNAME prefixes of the
	// environments (…<prefix>.<region>.elasticbeanstalk.com). A new
	// environment takes its slot's prefix, or the other slot's if a CNAME
	// swap left its own with the other environment. Optional for the
	// Compute (Elastic Beanstalk generates one); required by SwapRouter and
	// Route53Service.
	CNAMEPrefixA, CNAMEPrefixB string
	// ProductionCNAMEPrefix is the prefix of the CNAME production traffic
	// uses, for SwapRouter: one of CNAMEPrefixA and CNAMEPrefixB. The first
	// environment created takes it (slot A's, if it is CNAMEPrefixA).
	ProductionCNAMEPrefix string
	// SolutionStackName, PlatformArn or TemplateName is what new
	// environments are created from (a revision's Spec may override it).
	// Set exactly one, unless every revision's Spec names one.
	SolutionStackName, PlatformArn, TemplateName string
	// OptionSettings are given to every new environment (and to updates),
	// before the revision's own.
	OptionSettings []OptionSetting
	// Tags are given to every new environment.
	Tags map[string]string
}

// Options configure a Compute.
type Options struct {
	// Client is the Elastic Beanstalk client, such as
	// elasticbeanstalk.NewFromConfig(cfg). Required.
	Client API
	// Services maps each service name to its application and environments. Required.
	Services map[string]Service
	// Keep makes ScaleDown leave the environment running instead of
	// terminating it (to keep a warm standby, or to terminate it by hand).
	// Its Status then keeps reporting it, and a rollback leaves green running.
	Keep bool
	// Logger receives a line for every environment created, updated or
	// terminated; slog.Default if nil.
	Logger *slog.Logger
}

// Compute is a bluegreen.Compute and bluegreen.Discoverer over the two
// environments of an Elastic Beanstalk application. It keeps no state
// besides its options and is safe for concurrent use.
type Compute struct {
	client   API
	services map[string]Service
	keep     bool
	log      *slog.Logger
}

var (
	_ bluegreen.Compute    = (*Compute)(nil)
	_ bluegreen.Discoverer = (*Compute)(nil)
	_ bluegreen.ErrorCoder = (*Compute)(nil)
)

// New returns a Compute, or an error naming the first option that is wrong.
func New(opts Options) (*Compute, error) {
	if opts.Client == nil {
		return nil, &bluegreen.ConfigError{Field: "beanstalk.Options.Client", Problem: "nil", Fix: "pass elasticbeanstalk.NewFromConfig(cfg)"}
	}
	services, err := validateServices("beanstalk.Options.Services", opts.Services)
	if err != nil {
		return nil, err
	}
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	return &Compute{client: opts.Client, services: services, keep: opts.Keep, log: log}, nil
}

func validateServices(field string, in map[string]Service) (map[string]Service, error) {
	if len(in) == 0 {
		return nil, &bluegreen.ConfigError{Field: field, Problem: "empty", Fix: "add the application and environment names of each service"}
	}
	out := make(map[string]Service, len(in))
	for _, name := range slices.Sorted(maps.Keys(in)) {
		s := in[name]
		if err := s.validate(field + "[" + name + "]"); err != nil {
			return nil, err
		}
		out[name] = s
	}
	return out, nil
}

func (s Service) validate(field string) error {
	bad := func(f, problem, fix string) error {
		return &bluegreen.ConfigError{Field: field + "." + f, Problem: problem, Fix: fix}
	}
	switch {
	case s.Application == "":
		return bad("Application", "empty", "name the Elastic Beanstalk application")
	case len(s.EnvironmentA) < 4 || len(s.EnvironmentA) > 40:
		return bad("EnvironmentA", fmt.Sprintf("%q is not 4 to 40 characters", s.EnvironmentA), "name slot A's environment, such as \"web-a\"")
	case len(s.EnvironmentB) < 4 || len(s.EnvironmentB) > 40:
		return bad("EnvironmentB", fmt.Sprintf("%q is not 4 to 40 characters", s.EnvironmentB), "name slot B's environment, such as \"web-b\"")
	case s.EnvironmentA == s.EnvironmentB:
		return bad("EnvironmentB", "same as EnvironmentA", "each slot needs its own environment")
	case s.CNAMEPrefixA != "" && s.CNAMEPrefixA == s.CNAMEPrefixB:
		return bad("CNAMEPrefixB", "same as CNAMEPrefixA", "each environment needs its own CNAME prefix")
	case s.ProductionCNAMEPrefix != "" && s.ProductionCNAMEPrefix != s.CNAMEPrefixA && s.ProductionCNAMEPrefix != s.CNAMEPrefixB:
		return bad("ProductionCNAMEPrefix", fmt.Sprintf("%q is neither CNAMEPrefixA nor CNAMEPrefixB", s.ProductionCNAMEPrefix),
			"use one of the two prefixes: the environment holding it serves production")
	case count(s.SolutionStackName, s.PlatformArn, s.TemplateName) > 1:
		return bad("SolutionStackName", "more than one of SolutionStackName, PlatformArn and TemplateName", "set one")
	}
	return nil
}

func (s Service) envName(slot bluegreen.Slot) string {
	if slot == bluegreen.SlotB {
		return s.EnvironmentB
	}
	return s.EnvironmentA
}

func (s Service) prefix(slot bluegreen.Slot) string {
	if slot == bluegreen.SlotB {
		return s.CNAMEPrefixB
	}
	return s.CNAMEPrefixA
}

// slotOf returns the slot of an environment name, or "".
func (s Service) slotOf(name string) bluegreen.Slot {
	switch name {
	case s.EnvironmentA:
		return bluegreen.SlotA
	case s.EnvironmentB:
		return bluegreen.SlotB
	}
	return ""
}

func (c *Compute) service(name string) (Service, error) {
	return lookup(c.services, name, "beanstalk.Options.Services")
}

func lookup(services map[string]Service, name, field string) (Service, error) {
	s, ok := services[name]
	if !ok {
		return Service{}, &bluegreen.ConfigError{Field: "service", Problem: fmt.Sprintf("no environments configured for service %q", name),
			Fix: "add it to " + field}
	}
	return s, nil
}

// describer is the call Compute and SwapRouter share.
type describer interface {
	DescribeEnvironments(ctx context.Context, in *eb.DescribeEnvironmentsInput, optFns ...func(*eb.Options)) (*eb.DescribeEnvironmentsOutput, error)
}

// environments returns the live (not terminated) environments of both
// slots, by slot.
func environments(ctx context.Context, client describer, s Service) (map[bluegreen.Slot]types.EnvironmentDescription, error) {
	out, err := client.DescribeEnvironments(ctx, &eb.DescribeEnvironmentsInput{ApplicationName: aws.String(s.Application),
		EnvironmentNames: []string{s.EnvironmentA, s.EnvironmentB}, IncludeDeleted: aws.Bool(false)})
	if err != nil {
		return nil, fmt.Errorf("beanstalk: DescribeEnvironments %s: %w", s.Application, err)
	}
	envs := map[bluegreen.Slot]types.EnvironmentDescription{}
	for _, e := range out.Environments {
		if slot := s.slotOf(aws.ToString(e.EnvironmentName)); slot != "" && e.Status != types.EnvironmentStatusTerminated {
			envs[slot] = e
		}
	}
	return envs, nil
}

// ScaleUp creates slot env.Slot's environment running the revision's
// application version, or updates the environment there to it; if the
// revision names a source bundle and the application has no version of
// that label, it creates the version first. An environment that already
// runs (or is launching, or updating to) the version is left alone, so
// ScaleUp is idempotent. An environment still terminating, or busy with
// another version, is an error with CodeTransient, which the Deployer
// retries.
func (c *Compute) ScaleUp(ctx context.Context, env bluegreen.Environment) error {
	spec, err := ParseSpec(env.Revision)
	if err != nil {
		return err
	}
	s, err := c.service(env.Service)
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if spec.SourceBundle != nil {
		if err := c.ensureVersion(ctx, s, spec); err != nil {
			return err
		}
	}
	envs, err := environments(ctx, c.client, s)
	if err != nil {
		return err
	}
	name := s.envName(env.Slot)
	cur, exists := envs[env.Slot]
	switch {
	case !exists:
		return c.create(ctx, env, s, spec, envs)
	case cur.Status == types.EnvironmentStatusTerminating:
		return bluegreen.NewError(bluegreen.CodeTransient, fmt.Errorf("beanstalk: environment %s is still terminating; it can be created again once it is gone", name))
	case aws.ToString(cur.VersionLabel) == spec.VersionLabel:
		return nil // running, launching or updating to this version already
	case cur.Status != types.EnvironmentStatusReady:
		return bluegreen.NewError(bluegreen.CodeTransient, fmt.Errorf("beanstalk: environment %s is %s with version %s; it can be updated once it is Ready",
			name, cur.Status, aws.ToString(cur.VersionLabel)))
	}
	_, err = c.client.UpdateEnvironment(ctx, &eb.UpdateEnvironmentInput{ApplicationName: aws.String(s.Application),
		EnvironmentName: aws.String(name), VersionLabel: aws.String(spec.VersionLabel),
		Description: aws.String(description(env)), OptionSettings: optionSettings(s, spec)})
	if err != nil {
		return fmt.Errorf("beanstalk: UpdateEnvironment %s to %s: %w", name, spec.VersionLabel, err)
	}
	c.log.InfoContext(ctx, "beanstalk: environment updated", "service", env.Service, "environment", name, "version", spec.VersionLabel,
		"from", aws.ToString(cur.VersionLabel))
	return nil
}

func description(env bluegreen.Environment) string {
	d := fmt.Sprintf("bluegreen: %s of %s, deployment %s", env.Revision.Name, env.Service, env.DeploymentID)
	if len(d) > 200 {
		d = d[:200]
	}
	return d
}

func optionSettings(s Service, spec Spec) []types.ConfigurationOptionSetting {
	var out []types.ConfigurationOptionSetting
	for _, o := range append(slices.Clone(s.OptionSettings), spec.OptionSettings...) {
		out = append(out, types.ConfigurationOptionSetting{Namespace: aws.String(o.Namespace), OptionName: aws.String(o.OptionName), Value: aws.String(o.Value)})
	}
	return out
}

// create creates the slot's environment, with its own CNAME prefix or, if
// a swap left that one with the other environment, the other slot's.
func (c *Compute) create(ctx context.Context, env bluegreen.Environment, s Service, spec Spec, envs map[bluegreen.Slot]types.EnvironmentDescription) error {
	name := s.envName(env.Slot)
	in := &eb.CreateEnvironmentInput{ApplicationName: aws.String(s.Application), EnvironmentName: aws.String(name),
		VersionLabel: aws.String(spec.VersionLabel), Description: aws.String(description(env)), OptionSettings: optionSettings(s, spec)}
	switch {
	case spec.SolutionStackName != "":
		in.SolutionStackName = aws.String(spec.SolutionStackName)
	case spec.PlatformArn != "":
		in.PlatformArn = aws.String(spec.PlatformArn)
	case spec.TemplateName != "":
		in.TemplateName = aws.String(spec.TemplateName)
	case s.SolutionStackName != "":
		in.SolutionStackName = aws.String(s.SolutionStackName)
	case s.PlatformArn != "":
		in.PlatformArn = aws.String(s.PlatformArn)
	case s.TemplateName != "":
		in.TemplateName = aws.String(s.TemplateName)
	default:
		return &bluegreen.ConfigError{Field: "Revision.Spec.solutionStackName", Problem: fmt.Sprintf("environment %s does not exist and nothing says what platform to create it on", name),
			Fix: "set the service's SolutionStackName, PlatformArn or TemplateName, or the revision Spec's"}
	}
	if prefix := c.freePrefix(s, env.Slot, envs); prefix != "" {
		in.CNAMEPrefix = aws.String(prefix)
	}
	for _, k := range slices.Sorted(maps.Keys(s.Tags)) {
		in.Tags = append(in.Tags, types.Tag{Key: aws.String(k), Value: aws.String(s.Tags[k])})
	}
	if _, err := c.client.CreateEnvironment(ctx, in); err != nil {
		return fmt.Errorf("beanstalk: CreateEnvironment %s with %s: %w", name, spec.VersionLabel, err)
	}
	c.log.InfoContext(ctx, "beanstalk: environment created", "service", env.Service, "environment", name, "version", spec.VersionLabel,
		"cnamePrefix", aws.ToString(in.CNAMEPrefix))
	return nil
}

// freePrefix returns the CNAME prefix for a new environment in slot: its
// own, or the other slot's if the other environment holds its own; "" to
// let Elastic Beanstalk choose.
func (c *Compute) freePrefix(s Service, slot bluegreen.Slot, envs map[bluegreen.Slot]types.EnvironmentDescription) string {
	own, other := s.prefix(slot), s.prefix(slot.Other())
	if own == "" {
		return ""
	}
	if o, ok := envs[slot.Other()]; ok && cnamePrefix(aws.ToString(o.CNAME)) == own && other != "" {
		return other
	}
	return own
}

// cnamePrefix returns the first label of an environment's CNAME.
func cnamePrefix(cname string) string {
	prefix, _, _ := strings.Cut(strings.ToLower(cname), ".")
	return prefix
}

// ensureVersion creates the application version from its source bundle if
// the application has no version of that label.
func (c *Compute) ensureVersion(ctx context.Context, s Service, spec Spec) error {
	out, err := c.client.DescribeApplicationVersions(ctx, &eb.DescribeApplicationVersionsInput{ApplicationName: aws.String(s.Application),
		VersionLabels: []string{spec.VersionLabel}})
	if err != nil {
		return fmt.Errorf("beanstalk: DescribeApplicationVersions %s %s: %w", s.Application, spec.VersionLabel, err)
	}
	for _, v := range out.ApplicationVersions {
		if aws.ToString(v.VersionLabel) == spec.VersionLabel {
			return nil
		}
	}
	_, err = c.client.CreateApplicationVersion(ctx, &eb.CreateApplicationVersionInput{ApplicationName: aws.String(s.Application),
		VersionLabel: aws.String(spec.VersionLabel), Process: aws.Bool(true),
		SourceBundle: &types.S3Location{S3Bucket: aws.String(spec.SourceBundle.S3Bucket), S3Key: aws.String(spec.SourceBundle.S3Key)}})
	if err != nil {
		return fmt.Errorf("beanstalk: CreateApplicationVersion %s %s: %w", s.Application, spec.VersionLabel, err)
	}
	c.log.InfoContext(ctx, "beanstalk: application version created", "application", s.Application, "version", spec.VersionLabel)
	return nil
}

// Status reports the slot's environment: an environment Ready with health
// Green running the revision's version is one healthy instance (Desired 1,
// Running 1, Healthy 1); Launching or Updating is not yet healthy; Ready
// with health Red is Failed, with the reason. An environment that is gone
// (terminated) or was never created reports the zero Status, and so does
// one running another version only while it is still being replaced.
// Elastic Beanstalk does not report instance counts here: the environment
// counts as one unit.
func (c *Compute) Status(ctx context.Context, env bluegreen.Environment) (bluegreen.Status, error) {
	spec, err := ParseSpec(env.Revision)
	if err != nil {
		return bluegreen.Status{}, err
	}
	s, err := c.service(env.Service)
	if err != nil {
		return bluegreen.Status{}, err
	}
	envs, err := environments(ctx, c.client, s)
	if err != nil {
		return bluegreen.Status{}, err
	}
	e, ok := envs[env.Slot]
	if !ok {
		return bluegreen.Status{}, nil
	}
	return status(e, spec.VersionLabel), nil
}

// status maps an environment description to a Status for version label.
func status(e types.EnvironmentDescription, label string) bluegreen.Status {
	name, version := aws.ToString(e.EnvironmentName), aws.ToString(e.VersionLabel)
	switch {
	case e.Status == types.EnvironmentStatusTerminating:
		return bluegreen.Status{Running: 1, Reason: fmt.Sprintf("environment %s is terminating", name)}
	case e.Status == types.EnvironmentStatusLaunching:
		return bluegreen.Status{Desired: 1, Reason: fmt.Sprintf("environment %s is launching %s", name, version)}
	case version != label:
		return bluegreen.Status{Desired: 1, Running: 1, Reason: fmt.Sprintf("environment %s is %s with version %s, not %s", name, e.Status, version, label)}
	case e.Status != types.EnvironmentStatusReady:
		return bluegreen.Status{Desired: 1, Running: 1, Reason: fmt.Sprintf("environment %s is %s", name, e.Status)}
	case e.Health == types.EnvironmentHealthRed:
		return bluegreen.Status{Desired: 1, Running: 1, Failed: true,
			Reason: fmt.Sprintf("environment %s running %s has health Red (%s)", name, version, e.HealthStatus)}
	case e.Health != types.EnvironmentHealthGreen:
		return bluegreen.Status{Desired: 1, Running: 1, Reason: fmt.Sprintf("environment %s has health %s (%s)", name, e.Health, e.HealthStatus)}
	}
	return bluegreen.Status{Desired: 1, Running: 1, Healthy: 1}
}

// ScaleDown terminates the slot's environment (TerminateEnvironment), or
// with Options.Keep leaves it running. An environment already terminating
// or gone is left as it is.
func (c *Compute) ScaleDown(ctx context.Context, env bluegreen.Environment) error {
	s, err := c.service(env.Service)
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	name := s.envName(env.Slot)
	if c.keep {
		c.log.InfoContext(ctx, "beanstalk: environment kept (Options.Keep)", "service", env.Service, "environment", name)
		return nil
	}
	envs, err := environments(ctx, c.client, s)
	if err != nil {
		return err
	}
	e, ok := envs[env.Slot]
	if !ok || e.Status == types.EnvironmentStatusTerminating {
		return nil
	}
	if _, err := c.client.TerminateEnvironment(ctx, &eb.TerminateEnvironmentInput{EnvironmentId: e.EnvironmentId}); err != nil {
		return fmt.Errorf("beanstalk: TerminateEnvironment %s: %w", name, err)
	}
	c.log.InfoContext(ctx, "beanstalk: environment terminated", "service", env.Service, "environment", name, "version", aws.ToString(e.VersionLabel))
	return nil
}

// Discover returns the service's environments that exist now, each in its
// slot, running the version it runs (the revision's Name and Spec's
// versionLabel), keyed by its environment ID as DeploymentID. The
// environment holding Service.ProductionCNAMEPrefix, if set, is Primary.
func (c *Compute) Discover(ctx context.Context, service string) ([]bluegreen.Found, error) {
	s, err := c.service(service)
	if err != nil {
		return nil, err
	}
	envs, err := environments(ctx, c.client, s)
	if err != nil {
		return nil, err
	}
	var out []bluegreen.Found
	for _, slot := range []bluegreen.Slot{bluegreen.SlotA, bluegreen.SlotB} {
		e, ok := envs[slot]
		if !ok {
			continue
		}
		label := aws.ToString(e.VersionLabel)
		spec, _ := marshalSpec(Spec{VersionLabel: label})
		out = append(out, bluegreen.Found{
			Environment: bluegreen.Environment{Service: service, Slot: slot, Revision: bluegreen.Revision{Name: label, Spec: spec},
				DeploymentID: aws.ToString(e.EnvironmentId)},
			Status:  status(e, label),
			Primary: s.ProductionCNAMEPrefix != "" && cnamePrefix(aws.ToString(e.CNAME)) == s.ProductionCNAMEPrefix,
		})
	}
	return out, nil
}
