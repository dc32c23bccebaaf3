package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/bluegreen-go/bluegreen"
	"github.com/bluegreen-go/bluegreen/internal/svcname"
	"github.com/bluegreen-go/bluegreen/local"
)

// commonOptions are the flags of every command that acts on a service.
type commonOptions struct {
	service    string
	stateDir   string
	proxyAdmin string
	tokenFile  string
	leaseTTL   time.Duration
	reconcile  bluegreen.ReconcilePolicy
	verbose    bool
}

// deployOptions are the flags of deploy.
type deployOptions struct {
	commonOptions
	revision      string
	instances     int
	healthPath    string
	healthTimeout time.Duration
	shift         bluegreen.Shift
	bake          time.Duration
	errorRate     float64
	errorWindow   int
	env           map[string]string
	dir           string
	stopTimeout   time.Duration
	onCancel      bluegreen.CancelPolicy
	command       []string
}

// flagError is bad usage: which flag, what is wrong, and how to fix it.
type flagError struct{ flag, problem, fix string }

func (e *flagError) Error() string {
	if e.flag == "" { // the command after the flags
		return fmt.Sprintf("the command after --: %s: %s", e.problem, e.fix)
	}
	return fmt.Sprintf("-%s %s: %s", e.flag, e.problem, e.fix)
}

// flagSet is a flag set that reports errors to its caller rather than
// printing them, and prints the command's flags on -h.
type flagSet struct {
	*flag.FlagSet
	synopsis string
	stdout   io.Writer
}

func newFlagSet(name, synopsis string, stdout io.Writer) *flagSet {
	fs := flag.NewFlagSet("bluegreen "+name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {} // errors are reported by the caller, help by parse
	return &flagSet{FlagSet: fs, synopsis: synopsis, stdout: stdout}
}

// parse parses args, printing the usage on -h.
func (fs *flagSet) parse(args []string) error {
	err := fs.Parse(args)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprintf(fs.stdout, "Usage: %s %s\n\nFlags:\n", fs.Name(), fs.synopsis)
		fs.SetOutput(fs.stdout)
		fs.PrintDefaults()
		fs.SetOutput(io.Discard)
	}
	return err
}

func (o *commonOptions) register(fs *flagSet, withPolicy bool) {
	fs.StringVar(&o.service, "service", "", "the service to act on (required)")
	fs.StringVar(&o.stateDir, "state", "", "state directory: store/, instances/ and logs/ live here (required)")
	fs.StringVar(&o.proxyAdmin, "proxy-admin", "", `the proxy daemon's admin API: "unix:/path/admin.sock" or "127.0.0.1:9090"`)
	fs.StringVar(&o.tokenFile, "proxy-token-file", "", "file holding the daemon's admin token (default $BLUEGREEN_PROXY_TOKEN)")
	o.leaseTTL = time.Minute
	fs.Var((*durationValue)(&o.leaseTTL), "lease-ttl", "how long the service's lease outlives a dead deploy command")
	fs.BoolVar(&o.verbose, "v", false, "log the deployer's and the compute backend's events to stderr")
	if withPolicy {
		fs.Var((*reconcileValue)(&o.reconcile), "reconcile",
			"an unfinished earlier deployment: default (reconcile resumes it; deploy completes it if all production traffic had moved, else rolls it back), resume, rollback, or refuse")
	}
}

// check validates the common flags; needProxy says whether -proxy-admin is required.
func (o *commonOptions) check(needProxy bool) error {
	switch {
	case o.service == "":
		return &flagError{"service", "is required", "name the service, such as -service web"}
	case svcname.Check(o.service) != nil:
		return &flagError{"service", fmt.Sprintf("%q is not a service name: %v", o.service, svcname.Check(o.service)), svcname.Fix}
	case o.stateDir == "":
		return &flagError{"state", "is required", "name the state directory, such as -state /var/lib/bluegreen"}
	case needProxy && o.proxyAdmin == "":
		return &flagError{"proxy-admin", "is required", "give the daemon's admin address, such as -proxy-admin unix:/run/bluegreen/admin.sock"}
	case o.leaseTTL <= 0:
		return &flagError{"lease-ttl", fmt.Sprintf("%v is not positive", o.leaseTTL), "use a duration such as 30s"}
	}
	// Instances record their log files by absolute path.
	abs, err := filepath.Abs(o.stateDir)
	if err != nil {
		return &flagError{"state", err.Error(), "give an absolute path"}
	}
	o.stateDir = abs
	return nil
}

// parseDeploy parses the flags of deploy, and the command after them.
func parseDeploy(args []string, stdout io.Writer) (deployOptions, error) {
	var o deployOptions
	fs := newFlagSet("deploy", "-service NAME -state DIR -proxy-admin ADDR -revision NAME [flags] -- COMMAND [ARGS...]", stdout)
	o.register(fs, true)
	fs.StringVar(&o.revision, "revision", "", "the revision's name, such as v2 (required)")
	fs.IntVar(&o.instances, "instances", local.DefaultInstances, fmt.Sprintf("instances of the revision, 1 to %d", local.MaxInstances))
	fs.StringVar(&o.healthPath, "health-path", "", "readiness path each instance must answer 2xx, such as /healthz (default: a TCP connect)")
	o.healthTimeout = 2 * time.Minute
	fs.Var((*durationValue)(&o.healthTimeout), "health-timeout", "how long green may take to become healthy")
	fs.Var((*shiftValue)(&o.shift), "shift", "production shift: all, linear:PERCENT:WAIT (such as linear:25:2s) or canary:PERCENT:WAIT")
	fs.Var((*durationValue)(&o.bake), "bake", "bake time: both revisions run, monitors watched, after the shift")
	fs.Float64Var(&o.errorRate, "error-rate", 0, "roll back when green's share of 5xx answers exceeds this, such as 0.05 (0: off)")
	fs.IntVar(&o.errorWindow, "error-window", 200, "requests the error rate is computed over; it fires after a fifth of them")
	o.env = map[string]string{}
	fs.Var(envValue(o.env), "env", "KEY=VALUE: an environment variable of the instances (repeatable)")
	fs.StringVar(&o.dir, "dir", "", "working directory of the instances (default: the current one)")
	o.stopTimeout = local.DefaultStopTimeout
	fs.Var((*durationValue)(&o.stopTimeout), "stop-timeout", "how long a stopped instance has between SIGTERM and SIGKILL")
	fs.Var((*cancelValue)(&o.onCancel), "on-cancel", "on SIGINT or SIGTERM: rollback, or detach (leave it for the next deploy or reconcile)")
	if err := fs.parse(args); err != nil {
		return o, err
	}
	o.command = fs.Args()
	if err := o.check(true); err != nil {
		return o, err
	}
	return o, o.checkDeploy()
}

func (o *deployOptions) checkDeploy() error {
	switch {
	case strings.TrimSpace(o.revision) == "":
		return &flagError{"revision", "is required", "name the revision, such as -revision v2"}
	case len(o.command) == 0:
		return &flagError{"", "no command given", "end the flags with -- and the command to run, such as -- /srv/web/bin/web -log json"}
	case strings.HasPrefix(o.command[0], "-"):
		return &flagError{"", fmt.Sprintf("the command %q looks like a flag", o.command[0]), "put flags before --, and the command after it"}
	case o.instances < 1 || o.instances > local.MaxInstances:
		return &flagError{"instances", fmt.Sprintf("%d is out of range", o.instances), fmt.Sprintf("use 1 to %d", local.MaxInstances)}
	case o.healthPath != "" && !strings.HasPrefix(o.healthPath, "/"):
		return &flagError{"health-path", fmt.Sprintf("%q does not start with /", o.healthPath), "use a path such as /healthz"}
	case o.healthTimeout <= 0:
		return &flagError{"health-timeout", "is not positive", "use a duration such as 2m"}
	case o.bake < 0:
		return &flagError{"bake", "is negative", "use a duration such as 3s, or 0 for none"}
	case o.errorRate < 0 || o.errorRate >= 1 || o.errorRate != o.errorRate:
		return &flagError{"error-rate", fmt.Sprintf("%v is not between 0 and 1", o.errorRate), "use a share such as 0.05 for 5%, or 0 to turn the monitor off"}
	case o.errorWindow < 5 || o.errorWindow > 100000:
		return &flagError{"error-window", fmt.Sprintf("%d is out of range", o.errorWindow), "use 5 to 100000 requests"}
	case o.stopTimeout <= 0:
		return &flagError{"stop-timeout", "is not positive", "use a duration such as 10s"}
	}
	// Instances outlive this command and may be adopted by one started
	// elsewhere: record the program by an absolute path.
	if strings.ContainsRune(o.command[0], filepath.Separator) && !filepath.IsAbs(o.command[0]) && o.dir == "" {
		abs, err := filepath.Abs(o.command[0])
		if err != nil {
			return &flagError{"", fmt.Sprintf("command %q: %v", o.command[0], err), "give an absolute path"}
		}
		o.command[0] = abs
	}
	if o.dir != "" {
		abs, err := filepath.Abs(o.dir)
		if err != nil {
			return &flagError{"dir", err.Error(), "give an absolute path"}
		}
		o.dir = abs
	}
	return nil
}

// parseCommon parses the flags of reconcile (withPolicy) or status.
func parseCommon(name string, args []string, needProxy bool, stdout io.Writer) (commonOptions, error) {
	var o commonOptions
	synopsis := "-service NAME -state DIR -proxy-admin ADDR [flags]"
	if !needProxy {
		synopsis = "-service NAME -state DIR [-proxy-admin ADDR]"
	}
	fs := newFlagSet(name, synopsis, stdout)
	o.register(fs, needProxy)
	if err := fs.parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments %q: every setting of %s is a flag, given before any argument", fs.Args(), name)
	}
	return o, o.check(needProxy)
}

// parseFailed reports a parse error and returns the exit code for it.
func parseFailed(name string, err error, stderr io.Writer) int {
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	fmt.Fprintf(stderr, "bluegreen %s: %v\nRun \"bluegreen %s -h\" for the flags.\n", name, err, name)
	return exitUsage
}

// durationValue is a time.Duration flag whose errors say how to write one.
type durationValue time.Duration

func (d *durationValue) String() string { return time.Duration(*d).String() }

func (d *durationValue) Set(s string) error {
	v, err := time.ParseDuration(s)
	if err != nil {
		return errors.New("not a duration: use a value such as 3s or 500ms")
	}
	*d = durationValue(v)
	return nil
}

// shiftValue is the -shift flag.
type shiftValue bluegreen.Shift

func (v *shiftValue) String() string {
	s := bluegreen.Shift(*v)
	switch s.Type {
	case bluegreen.ShiftLinear, bluegreen.ShiftCanary:
		return fmt.Sprintf("%s:%s:%v", strings.ToLower(string(s.Type)), strconv.FormatFloat(s.Percent.Percent(), 'f', -1, 64), s.Wait)
	}
	return "all"
}

func (v *shiftValue) Set(s string) error {
	sh, err := parseShift(s)
	if err != nil {
		return err
	}
	*v = shiftValue(sh)
	return nil
}

const shiftFix = `use "all", "linear:PERCENT:WAIT" (such as linear:25:2s) or "canary:PERCENT:WAIT" (such as canary:10:5s)`

// parseShift reads "all", "linear:PERCENT:WAIT" or "canary:PERCENT:WAIT".
func parseShift(s string) (bluegreen.Shift, error) {
	if s == "all" {
		return bluegreen.AllAtOnce(), nil
	}
	parts := strings.Split(s, ":")
	if len(parts) != 3 || (parts[0] != "linear" && parts[0] != "canary") {
		return bluegreen.Shift{}, fmt.Errorf("not a shift: %s", shiftFix)
	}
	pct, err := strconv.ParseFloat(parts[1], 64)
	if err != nil || pct != pct {
		return bluegreen.Shift{}, fmt.Errorf("the percent %q is not a number: %s", parts[1], shiftFix)
	}
	if bluegreen.Percent(pct) < 1 || bluegreen.Percent(pct) >= bluegreen.Full {
		return bluegreen.Shift{}, errors.New(`the percent must be from 0.1 to 99.9 (use "all" to move everything at once)`)
	}
	wait, err := time.ParseDuration(parts[2])
	if err != nil || wait < 0 {
		return bluegreen.Shift{}, fmt.Errorf("the wait %q is not a duration of zero or more: %s", parts[2], shiftFix)
	}
	sh := bluegreen.Linear(pct, wait)
	if parts[0] == "canary" {
		sh = bluegreen.Canary(pct, wait)
	}
	if _, err := sh.Resolve("-shift"); err != nil {
		return bluegreen.Shift{}, err
	}
	return sh, nil
}

// envValue is the repeatable -env KEY=VALUE flag.
type envValue map[string]string

func (e envValue) String() string {
	keys := make([]string, 0, len(e))
	for k := range e {
		keys = append(keys, k+"="+e[k])
	}
	slices.Sort(keys)
	return strings.Join(keys, ",")
}

func (e envValue) Set(s string) error {
	k, v, ok := strings.Cut(s, "=")
	switch {
	case !ok || k == "":
		return errors.New("use KEY=VALUE, such as FAIL_RATE=0.1")
	case k == "PORT" || strings.HasPrefix(k, "BLUEGREEN_"):
		return fmt.Errorf("%s is set by the backend: read $PORT and $BLUEGREEN_* in the program instead", k)
	case strings.ContainsRune(s, 0):
		return errors.New("remove the NUL byte")
	}
	e[k] = v
	return nil
}

// cancelValue is the -on-cancel flag.
type cancelValue bluegreen.CancelPolicy

func (c *cancelValue) String() string {
	if bluegreen.CancelPolicy(*c) == bluegreen.CancelDetach {
		return "detach"
	}
	return "rollback"
}

func (c *cancelValue) Set(s string) error {
	switch s {
	case "rollback":
		*c = cancelValue(bluegreen.CancelRollback)
	case "detach":
		*c = cancelValue(bluegreen.CancelDetach)
	default:
		return errors.New("use rollback or detach")
	}
	return nil
}

// reconcileValue is the -reconcile flag.
type reconcileValue bluegreen.ReconcilePolicy

func (r *reconcileValue) String() string {
	switch bluegreen.ReconcilePolicy(*r) {
	case bluegreen.ReconcileRollback:
		return "rollback"
	case bluegreen.ReconcileRefuse:
		return "refuse"
	case bluegreen.ReconcileResume:
		return "resume"
	}
	return "default"
}

func (r *reconcileValue) Set(s string) error {
	switch s {
	case "default":
		*r = reconcileValue(bluegreen.ReconcileDefault)
	case "rollback":
		*r = reconcileValue(bluegreen.ReconcileRollback)
	case "refuse":
		*r = reconcileValue(bluegreen.ReconcileRefuse)
	case "resume":
		*r = reconcileValue(bluegreen.ReconcileResume)
	default:
		return errors.New("use default, rollback, refuse or resume")
	}
	return nil
}
