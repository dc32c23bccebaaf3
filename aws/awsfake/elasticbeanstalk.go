package awsfake

import (
	"fmt"
	"slices"
	"sync"
	"time"
)

// ElasticBeanstalkOptions configure an Elastic Beanstalk fake. Each delay
// is measured on the fake's clock; zero makes the transition immediate.
type ElasticBeanstalkOptions struct {
	// LaunchDelay is how long a new environment stays Launching.
	LaunchDelay time.Duration
	// UpdateDelay is how long an environment stays Updating after
	// UpdateEnvironment or SwapEnvironmentCNAMEs.
	UpdateDelay time.Duration
	// TerminateDelay is how long an environment stays Terminating.
	TerminateDelay time.Duration
	// Now is the fake's clock; time.Now (virtual inside a testing/synctest
	// bubble) if nil.
	Now func() time.Time
}

// ElasticBeanstalk is an in-process fake of the AWS Elastic Beanstalk API
// (the AWS query protocol, version 2010-12-01) serving DescribeEnvironments,
// CreateEnvironment, UpdateEnvironment, TerminateEnvironment,
// SwapEnvironmentCNAMEs, CreateApplicationVersion and
// DescribeApplicationVersions. Applications are created in Go.
//
// An environment is Launching (health Grey) for LaunchDelay, then Ready
// with health Green, or Red when the version it runs was marked failing
// with FailVersion; UpdateEnvironment makes it Updating for UpdateDelay;
// TerminateEnvironment makes it Terminating, then Terminated, after which
// its name and CNAME are free again and it is listed only with
// IncludeDeleted.
type ElasticBeanstalk struct {
	// Faults counts calls per operation and injects faults.
	Faults Faults
	// URL is the endpoint to pass as BaseEndpoint (empty when served in process).
	URL string

	opts ElasticBeanstalkOptions

	mu      sync.Mutex
	seq     int
	apps    map[string]*ebApp
	envs    []*EBEnvironment  // in creation order, terminated ones included
	failing map[string]string // "app/label" -> why the version fails its health checks
}

type ebApp struct {
	versions map[string]*EBVersion
}

// EBVersion is an application version.
type EBVersion struct {
	ApplicationName, VersionLabel, Status string
	S3Bucket, S3Key                       string
	Created                               time.Time
}

// EBEnvironment is an environment as the fake holds it.
type EBEnvironment struct {
	ID, Name, ApplicationName, VersionLabel string
	// CNAME is the environment's domain name,
	// "<prefix>.us-east-1.elasticbeanstalk.com".
	CNAME string
	// SolutionStackName, PlatformArn and TemplateName are what it was created from.
	SolutionStackName, PlatformArn, TemplateName string
	// Description is the environment's description.
	Description string
	// Status is Launching, Updating, Ready, Terminating or Terminated (at
	// the time it was last read).
	Status string
	// OptionSettings are the settings given at creation or update, "namespace:option" -> value.
	OptionSettings map[string]string
	// Tags are the tags given at creation.
	Tags             map[string]string
	Created, Updated time.Time
	until            time.Time // end of the current transition
	next             string    // status after it
}

// NewElasticBeanstalk returns an Elastic Beanstalk fake. Serve it with
// ServeTest (setting URL) or in process with InProcessConfig.
func NewElasticBeanstalk(opts ElasticBeanstalkOptions) *ElasticBeanstalk {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &ElasticBeanstalk{opts: opts, apps: map[string]*ebApp{}, failing: map[string]string{}}
}

// CreateApplication creates an application with no versions.
func (f *ElasticBeanstalk) CreateApplication(name string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.apps[name] == nil {
		f.apps[name] = &ebApp{versions: map[string]*EBVersion{}}
	}
}

// CreateVersion creates an application version directly (PROCESSED).
func (f *ElasticBeanstalk) CreateVersion(app, label string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	a, ok := f.apps[app]
	if !ok {
		return clientErr("InvalidParameterValue", "No Application named '%s' found.", app)
	}
	a.versions[label] = &EBVersion{ApplicationName: app, VersionLabel: label, Status: "PROCESSED", Created: f.opts.Now()}
	return nil
}

// FailVersion makes every environment that runs a version report health
// Red once Ready, with reason; an empty reason heals them.
func (f *ElasticBeanstalk) FailVersion(app, label, reason string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if reason == "" {
		delete(f.failing, app+"/"+label)
		return
	}
	f.failing[app+"/"+label] = reason
}

// Environment returns the newest environment of an application with a
// name, terminated or not, as it is now.
func (f *ElasticBeanstalk) Environment(app, name string) (EBEnvironment, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, e := range slices.Backward(f.envs) {
		if e.ApplicationName == app && e.Name == name {
			f.advance(e)
			return *e, true
		}
	}
	return EBEnvironment{}, false
}

// Versions returns the labels of an application's versions.
func (f *ElasticBeanstalk) Versions(app string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	a, ok := f.apps[app]
	if !ok {
		return nil
	}
	var out []string
	for l := range a.versions {
		out = append(out, l)
	}
	slices.Sort(out)
	return out
}

// advance moves e through the transition it is in, if it has ended.
func (f *ElasticBeanstalk) advance(e *EBEnvironment) {
	if e.next != "" && !f.opts.Now().Before(e.until) {
		e.Status, e.next = e.next, ""
		e.Updated = e.until
	}
}

// health returns an environment's Health and HealthStatus.
func (f *ElasticBeanstalk) health(e *EBEnvironment) (string, string) {
	switch e.Status {
	case "Launching", "Terminating", "Terminated":
		return "Grey", "Pending"
	case "Updating":
		return "Grey", "Info"
	}
	if _, failing := f.failing[e.ApplicationName+"/"+e.VersionLabel]; failing {
		return "Red", "Severe"
	}
	return "Green", "Ok"
}

// live returns the non-terminated environment of app with name, if any.
func (f *ElasticBeanstalk) live(app, name string) *EBEnvironment {
	for _, e := range f.envs {
		f.advance(e)
		if e.Name == name && (app == "" || e.ApplicationName == app) && e.Status != "Terminated" {
			return e
		}
	}
	return nil
}

// transition starts a transition of e to next after d.
func (f *ElasticBeanstalk) transition(e *EBEnvironment, status, next string, d time.Duration) {
	e.Status, e.next, e.until = status, next, f.opts.Now().Add(d)
	e.Updated = f.opts.Now()
	f.advance(e)
}

func (f *ElasticBeanstalk) newID() string {
	f.seq++
	return fmt.Sprintf("e-%010d", f.seq)
}
