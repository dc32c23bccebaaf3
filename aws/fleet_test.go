package aws_test

import (
	"bufio"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/bluegreen-go/bluegreen"
	"github.com/bluegreen-go/bluegreen/aws/awsfake"
	"github.com/bluegreen-go/bluegreen/aws/dynamostore"
	"github.com/bluegreen-go/bluegreen/aws/ecscompute"
	"github.com/bluegreen-go/bluegreen/aws/elbrouter"
	"github.com/bluegreen-go/bluegreen/driver"
)

// The fleet test: three replica processes (this test binary, re-executed
// in replica mode) run Deployer.Run over one DynamoDB table, ECS and ELBv2,
// all faked by the test process on loopback; each starts its share of the
// deployments; one is SIGKILLed at a random moment; the survivors adopt its
// deployments and finish them. Each replica logs, as JSON lines written
// with one write(2) each (so a SIGKILL loses at most the line being
// written), every successful Save with the version it wrote (the lease's
// fencing token), every event of every deployment it drives, its
// adoptions and its results. The test then checks the outcomes, that no
// two replicas drove a deployment at once, and measures adoption latency.

var (
	fleetDeployments = flag.Int("fleet.deployments", 60, "deployments of TestFleetProcesses, spread over 3 replica processes (3000 for the full size)")
	fleetSeed        = flag.Uint64("fleet.seed", 0, "seed of TestFleetProcesses' choice of victim and moment; 0 picks one and logs it")
)

// replicaEnv makes the test binary a fleet replica; its value is the path
// of the replica's configuration (replicaConfig as JSON).
const replicaEnv = "BLUEGREEN_FLEET_REPLICA"

func init() {
	if path := os.Getenv(replicaEnv); path != "" {
		os.Exit(runReplica(path))
	}
}

// fleetTiming is the tuning shared by the replicas.
type fleetTiming struct {
	LeaseTTL, CheckInterval, StepWait, Bake time.Duration
}

// replicaConfig is what the test gives a replica process.
type replicaConfig struct {
	Owner    string
	ECS, ELB string // endpoints
	DDB      string
	Table    string
	Services map[string]fleetService
	Mine     []string // the services it starts deployments of
	Log      string   // the JSON lines file it appends to
	Timing   fleetTiming
}

type fleetService struct {
	Compute ecscompute.Service
	Router  elbrouter.Service
}

// fleetLine is one line of a replica's log.
type fleetLine struct {
	T       int64  `json:"t"` // Unix nanoseconds
	Kind    string `json:"kind"`
	Service string `json:"service"`
	// save: the version written and whether the record was unfinished.
	Version    int64 `json:"version,omitempty"`
	Unfinished bool  `json:"unfinished,omitempty"`
	// event: the event's kind; result: the outcome and error.
	Event   string `json:"event,omitempty"`
	Outcome string `json:"outcome,omitempty"`
	Err     string `json:"err,omitempty"`
}

// lineLog appends JSON lines to a file, one write each.
type lineLog struct {
	mu sync.Mutex
	f  *os.File
}

func (l *lineLog) write(line fleetLine) {
	line.T = time.Now().UnixNano()
	b, _ := json.Marshal(line)
	l.mu.Lock()
	defer l.mu.Unlock()
	_, _ = l.f.Write(append(b, '\n'))
}

// loggedStore logs every successful Save of the store it wraps, with the
// version written: the record of who held which fencing token.
type loggedStore struct {
	*dynamostore.Store
	log *lineLog
}

func (s loggedStore) Save(ctx context.Context, rec driver.Record) (int64, error) {
	v, err := s.Store.Save(ctx, rec)
	if err == nil {
		s.log.write(fleetLine{Kind: "save", Service: rec.Service, Version: v, Unfinished: rec.Unfinished})
	}
	return v, err
}

// fleetClientConfig is an SDK configuration for a fake endpoint with
// enough idle connections for hundreds of deployments at once.
func fleetClientConfig(url string) aws.Config {
	c := awsfake.Config(url)
	c.HTTPClient = awshttp.NewBuildableClient().WithTransportOptions(func(tr *http.Transport) {
		tr.MaxIdleConns, tr.MaxIdleConnsPerHost = 512, 512
	})
	return c
}

// runReplica is the replica process: it runs Deployer.Run, starts its
// deployments, logs, and hands its deployments over when stdin closes.
func runReplica(path string) int {
	b, err := os.ReadFile(path)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	var cfg replicaConfig
	if err := json.Unmarshal(b, &cfg); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	f, err := os.OpenFile(cfg.Log, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	log := &lineLog{f: f}
	store, err := dynamostore.New(dynamostore.Options{Client: dynamodb.NewFromConfig(fleetClientConfig(cfg.DDB)), Table: cfg.Table})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	d, err := replicaDeployer(cfg, loggedStore{store, log}, bluegreen.Linear(50, cfg.Timing.StepWait))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	// The test writes "go" to stdin to have the deployments started, and
	// closes it to stop the replica.
	ctx, stop := context.WithCancel(context.Background())
	goLine := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(os.Stdin)
		if sc.Scan() && sc.Text() == "go" {
			close(goLine)
		}
		for sc.Scan() {
		}
		stop()
	}()
	var watchers sync.WaitGroup
	watch := func(dep *bluegreen.Deployment) {
		watchers.Go(func() {
			for ev, err := range dep.Events(context.Background()) {
				if err != nil {
					break
				}
				log.write(fleetLine{Kind: "event", Service: dep.Service(), Event: string(ev.Kind)})
			}
			res, err := dep.Wait(context.Background())
			line := fleetLine{Kind: "result", Service: dep.Service(), Outcome: string(res.Outcome)}
			if err != nil {
				line.Err = err.Error()
			}
			log.write(line)
		})
	}
	runDone := make(chan error, 1)
	go func() {
		runDone <- d.Run(ctx, bluegreen.RunOptions{CheckInterval: cfg.Timing.CheckInterval, HandoverTimeout: 10 * time.Second,
			OnAdopt: func(dep *bluegreen.Deployment) {
				log.write(fleetLine{Kind: "adopt", Service: dep.Service()})
				watch(dep)
			}})
	}()
	fmt.Println("ready")
	select {
	case <-goLine:
	case <-ctx.Done():
	}
	// The deployments start as a platform's requests would come: many at once.
	sem := make(chan struct{}, 16)
	var starts sync.WaitGroup
	for _, svc := range cfg.Mine {
		sem <- struct{}{}
		starts.Go(func() {
			defer func() { <-sem }()
			dep, err := d.Start(context.Background(), svc, revision(svc, 2))
			if err != nil {
				log.write(fleetLine{Kind: "start-failed", Service: svc, Err: err.Error()})
				return
			}
			log.write(fleetLine{Kind: "start", Service: svc})
			watch(dep)
		})
	}
	starts.Wait()
	fmt.Println("started")
	if err := <-runDone; !errors.Is(err, context.Canceled) {
		fmt.Fprintln(os.Stderr, "Run:", err)
		return 3
	}
	watchers.Wait()
	return 0
}

// replicaDeployer wires a replica's Deployer: ECS task sets and ELBv2
// rules, each over its own SDK client, and store.
func replicaDeployer(cfg replicaConfig, store bluegreen.Store, shift bluegreen.Shift) (*bluegreen.Deployer, error) {
	computeServices, routes := map[string]ecscompute.Service{}, map[string]elbrouter.Service{}
	for name, s := range cfg.Services {
		computeServices[name], routes[name] = s.Compute, s.Router
	}
	compute, err := ecscompute.New(ecscompute.Options{ECS: ecs.NewFromConfig(fleetClientConfig(cfg.ECS)),
		ELB: elbv2.NewFromConfig(fleetClientConfig(cfg.ELB)), Services: computeServices, Logger: quiet})
	if err != nil {
		return nil, err
	}
	router, err := elbrouter.New(elbrouter.Options{Client: elbv2.NewFromConfig(fleetClientConfig(cfg.ELB)), Services: routes, Logger: quiet})
	if err != nil {
		return nil, err
	}
	return bluegreen.New(bluegreen.Config{
		Compute: compute, Router: router, Store: store,
		Owner:           cfg.Owner,
		LeaseTTL:        cfg.Timing.LeaseTTL,
		Shift:           shift,
		BakeTime:        cfg.Timing.Bake,
		HealthInterval:  50 * time.Millisecond,
		HealthTimeout:   time.Minute,
		VerifyInterval:  20 * time.Millisecond,
		MonitorInterval: 100 * time.Millisecond,
		Retry:           bluegreen.RetryPolicy{Initial: 20 * time.Millisecond, Max: 200 * time.Millisecond},
		Logger:          quiet,
	})
}

// replicaProc is a running replica process.
type replicaProc struct {
	owner string
	cmd   *exec.Cmd
	stdin io.WriteCloser
	log   string
}

// TestFleetProcesses: see the comment at the top of this file. The short
// form (60 deployments) runs in CI; -fleet.deployments=300 (or 3000) runs
// a larger fleet.
func TestFleetProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	const replicas = 3
	n := *fleetDeployments
	if n < replicas {
		t.Fatalf("-fleet.deployments=%d: want at least %d", n, replicas)
	}
	seed := *fleetSeed
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	t.Logf("seed %d (rerun with -fleet.seed=%d)", seed, seed)
	rng := rand.New(rand.NewPCG(seed, seed>>1))
	timing := fleetTiming{LeaseTTL: 2 * time.Second, CheckInterval: 300 * time.Millisecond, StepWait: 200 * time.Millisecond, Bake: 500 * time.Millisecond}
	began := time.Now()

	// The world: n ECS services with their rules, and the state table made
	// from the store's own CreateTableInput (with the unfinished index).
	w := newWorld(t)
	const fleetTable = "fleet-state"
	ddbURL := aws.ToString(w.ddbClient.Options().BaseEndpoint)
	store, err := dynamostore.New(dynamostore.Options{Client: w.ddbClient, Table: fleetTable})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.ddbClient.CreateTable(t.Context(), store.CreateTableInput()); err != nil {
		t.Fatal(err)
	}
	services := map[string]fleetService{}
	var names []string
	for i := range n {
		s := w.addService(t, fmt.Sprintf("svc-%04d", i), false)
		services[s.name] = fleetService{Compute: s.compute, Router: s.router}
		names = append(names, s.name)
	}
	base := replicaConfig{ECS: w.ecs.URL, ELB: w.elb.URL, DDB: ddbURL, Table: fleetTable, Services: services, Timing: timing}
	baseVersions := seedFleet(t, base, store, names)
	t.Logf("%d services with revision 1 live after %v", n, time.Since(began).Round(time.Millisecond))

	// The replicas.
	dir := t.TempDir()
	procs := make([]*replicaProc, replicas)
	said := make(chan string, 2*replicas)
	for r := range replicas {
		cfg := base
		cfg.Owner = fmt.Sprintf("replica-%d", r)
		cfg.Log = filepath.Join(dir, cfg.Owner+".jsonl")
		for i, name := range names {
			if i%replicas == r {
				cfg.Mine = append(cfg.Mine, name)
			}
		}
		procs[r] = startReplica(t, dir, cfg, said)
	}
	// awaitAll waits until each replica in ps has said word.
	heard := map[string]bool{}
	awaitAll := func(word string, ps ...*replicaProc) {
		t.Helper()
		timeout := time.After(60 * time.Second)
		for {
			missing := slices.ContainsFunc(ps, func(p *replicaProc) bool { return !heard[p.owner+" "+word] })
			if !missing {
				return
			}
			select {
			case line := <-said:
				heard[line] = true
			case <-timeout:
				t.Fatalf("replicas did not say %q within 60s (heard %v)", word, heard)
			}
		}
	}
	awaitAll("ready", procs...)
	startedAt := time.Now()
	for _, p := range procs {
		if _, err := io.WriteString(p.stdin, "go\n"); err != nil {
			t.Fatal(err)
		}
	}

	// One dies at a random moment within 700ms of having started its
	// deployments (each takes longer than that), while they are in flight.
	victim := procs[rng.IntN(replicas)]
	awaitAll("started", victim)
	time.Sleep(time.Duration(rng.IntN(700)) * time.Millisecond) // real time: the replicas run by the wall clock
	killed := time.Now()
	if err := victim.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = victim.cmd.Wait()
	survivors := slices.DeleteFunc(slices.Clone(procs), func(p *replicaProc) bool { return p == victim })
	awaitAll("started", survivors...)
	t.Logf("killed %s %v after the replicas were told to start; the survivors had started theirs %v after it", victim.owner,
		killed.Sub(startedAt).Round(time.Millisecond), time.Since(startedAt).Round(time.Millisecond))

	// Every deployment started ends; the records say how. A service of
	// the victim's whose record shows no deployment of revision 2 was not
	// started before it died.
	mine := func(name string) string { return procs[slices.Index(names, name)%replicas].owner }
	deadline := time.Now().Add(time.Duration(30+n/10) * time.Second)
	var (
		states     map[string]bluegreen.ServiceState
		deployed   []string // the services whose deployment of revision 2 started
		notStarted int
	)
	for {
		states = readStates(t, store, names)
		deployed, notStarted = nil, 0
		unfinished := 0
		for _, name := range names {
			st := states[name]
			switch {
			case st.Deployment == nil || st.Deployment.Green.Revision.Name != name+":2":
				if mine(name) != victim.owner {
					unfinished++ // a survivor said it started it
				} else {
					notStarted++
				}
			case !st.Deployment.Finished:
				unfinished++
				deployed = append(deployed, name)
			default:
				deployed = append(deployed, name)
			}
		}
		if unfinished == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d deployments unfinished after the deadline", unfinished, n)
		}
		time.Sleep(200 * time.Millisecond) // real time: polling the table
	}
	settled := time.Since(killed)
	for _, p := range survivors {
		_ = p.stdin.Close()
	}
	for _, p := range survivors {
		if err := waitProc(p.cmd, 30*time.Second); err != nil {
			t.Errorf("%s: %v", p.owner, err)
		}
	}

	logs := map[string][]fleetLine{}
	for _, p := range procs {
		logs[p.owner] = readLines(t, p.log)
	}
	rep, problems := checkFleet(fleetCheck{names: deployed, states: states, logs: logs, victim: victim.owner, killed: killed,
		baseVersions: baseVersions, leaseTTL: timing.LeaseTTL})
	for _, p := range problems {
		t.Error(p)
	}
	p50, p99, pmax := percentile(rep.latencies, 50), percentile(rep.latencies, 99), percentile(rep.latencies, 100)
	t.Logf("%d deployments over %d replicas (%d of the victim's never recorded a deployment before it died), %s killed: outcomes %v; %d orphans, adopted by %v; adoption latency from the kill p50 %v p99 %v max %v, "+
		"from the lease lapsing p50 %v p99 %v; %d other adoptions; every deployment settled %v after the kill; test ran %v",
		len(deployed), replicas, notStarted, victim.owner, rep.outcomes, len(rep.latencies), rep.adopters, p50, p99, pmax,
		percentile(rep.sinceLapse, 50), percentile(rep.sinceLapse, 99),
		rep.otherAdoptions, settled.Round(time.Millisecond), time.Since(began).Round(time.Millisecond))
	if len(rep.latencies) == 0 {
		t.Errorf("the victim left no deployment to adopt: the test proved nothing")
	}
	for _, note := range slices.Concat(rep.rollbacks, rep.adoptionNotes) {
		t.Log(note)
	}
	if limit := 3*timing.LeaseTTL + 10*time.Second; pmax > limit {
		t.Errorf("an orphan waited %v for adoption, more than %v", pmax, limit)
	}
}

// seedFleet deploys revision 1 of every service (all at once, 32 at a
// time) so that the fleet's deployments have a blue to replace, and
// returns each record's version afterwards.
func seedFleet(t *testing.T, cfg replicaConfig, store *dynamostore.Store, names []string) map[string]int64 {
	t.Helper()
	cfg.Owner = "seeder"
	d, err := replicaDeployer(cfg, store, bluegreen.AllAtOnce())
	if err != nil {
		t.Fatal(err)
	}
	sem := make(chan struct{}, 32)
	var wg sync.WaitGroup
	for _, name := range names {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			if res, err := d.Deploy(t.Context(), name, revision(name, 1)); err != nil {
				t.Errorf("%s: revision 1: %s, %v", name, res.Outcome, err)
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	versions := map[string]int64{}
	for name, st := range readStates(t, store, names) {
		versions[name] = st.Version
	}
	return versions
}

// startReplica starts a replica process, which says "ready" on stdout
// once it runs and "started" once it has started its deployments; the
// process is killed at the end of the test if it still runs.
func startReplica(t *testing.T, dir string, cfg replicaConfig, said chan<- string) *replicaProc {
	t.Helper()
	path := filepath.Join(dir, cfg.Owner+".json")
	b, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), replicaEnv+"="+path)
	cmd.Stderr = &prefixWriter{t: t, prefix: cfg.Owner + ": "}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			said <- cfg.Owner + " " + sc.Text()
		}
	}()
	return &replicaProc{owner: cfg.Owner, cmd: cmd, stdin: stdin, log: cfg.Log}
}

// prefixWriter logs what a replica writes to stderr.
type prefixWriter struct {
	t      *testing.T
	prefix string
	mu     sync.Mutex
}

func (w *prefixWriter) Write(b []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for line := range strings.Lines(string(b)) {
		w.t.Log(w.prefix + strings.TrimRight(line, "\n"))
	}
	return len(b), nil
}

// waitProc waits up to timeout for cmd to exit with status 0.
func waitProc(cmd *exec.Cmd, timeout time.Duration) error {
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		return err
	case <-time.After(timeout):
		_ = cmd.Process.Kill()
		return fmt.Errorf("did not exit within %v of its stdin closing", timeout)
	}
}

func readStates(t *testing.T, store *dynamostore.Store, names []string) map[string]bluegreen.ServiceState {
	t.Helper()
	out := map[string]bluegreen.ServiceState{}
	for _, name := range names {
		st, err := bluegreen.ReadState(t.Context(), store, name)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		out[name] = st
	}
	return out
}

func readLines(t *testing.T, path string) []fleetLine {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []fleetLine
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var l fleetLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Errorf("%s: %q: %v", path, sc.Text(), err)
			continue
		}
		out = append(out, l)
	}
	return out
}

// fleetCheck is what checkFleet checks.
type fleetCheck struct {
	names        []string
	states       map[string]bluegreen.ServiceState
	logs         map[string][]fleetLine // by owner
	victim       string
	killed       time.Time
	baseVersions map[string]int64
	leaseTTL     time.Duration
}

// fleetReport is what checkFleet measured.
type fleetReport struct {
	outcomes       map[bluegreen.Outcome]int
	adopters       map[string]int
	latencies      []time.Duration // from the kill to each orphan's adoption
	sinceLapse     []time.Duration // from each orphan's lease lapsing (its last save plus the TTL) to its adoption
	otherAdoptions int             // adoptions of deployments whose owner lived
	finishedAtKill int             // deployments the victim finished as it died, its log cut
	rollbacks      []string        // why deployments rolled back
	adoptionNotes  []string        // the other adoptions
}

// checkFleet checks, per service: the record's deployment of revision 2
// ended SUCCEEDED or ROLLED_BACK with the lease released, as the last
// replica to drive it reported; the versions written form one run per
// owner (no owner wrote after another took the service over), every
// version after the seed's is accounted for (but the one a SIGKILL may
// have cut from the log); the owners' events do not overlap in time; and
// the victim's unfinished deployments were each adopted by a survivor.
func checkFleet(c fleetCheck) (rep fleetReport, problems []string) {
	fail := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	type save struct {
		owner      string
		version    int64
		unfinished bool
	}
	type span struct{ first, last int64 }
	saves := map[string][]save{}
	spans := map[string]map[string]*span{} // service -> owner -> events' span
	results := map[string][]fleetLine{}
	adoptions := map[string][]fleetLine{}
	for owner, lines := range c.logs {
		for _, l := range lines {
			switch l.Kind {
			case "save":
				saves[l.Service] = append(saves[l.Service], save{owner, l.Version, l.Unfinished})
			case "event":
				if spans[l.Service] == nil {
					spans[l.Service] = map[string]*span{}
				}
				if s := spans[l.Service][owner]; s == nil {
					spans[l.Service][owner] = &span{l.T, l.T}
				} else {
					s.first, s.last = min(s.first, l.T), max(s.last, l.T)
				}
			case "result":
				l.Err = owner // who reported it
				results[l.Service] = append(results[l.Service], l)
			case "adopt":
				l.Err = owner
				adoptions[l.Service] = append(adoptions[l.Service], l)
			case "start-failed":
				fail("%s: %s could not start: %s", l.Service, owner, l.Err)
			}
		}
	}
	rep = fleetReport{outcomes: map[bluegreen.Outcome]int{}, adopters: map[string]int{}}
	for _, name := range c.names {
		st := c.states[name]
		d := st.Deployment
		if d == nil {
			fail("%s: no deployment recorded", name)
			continue
		}
		rep.outcomes[d.Outcome]++
		if d.Outcome != bluegreen.OutcomeSucceeded && d.Outcome != bluegreen.OutcomeRolledBack {
			fail("%s: deployment ended %s", name, d.Outcome)
		}
		if st.LeaseOwner != "" {
			fail("%s: lease still held by %s", name, st.LeaseOwner)
		}

		// Fencing: the versions, in order, change owner at most once per
		// take-over and never return to an earlier owner.
		ss := saves[name]
		slices.SortFunc(ss, func(a, b save) int { return cmp.Compare(a.version, b.version) })
		var owners []string
		for i, s := range ss {
			if i > 0 && s.version == ss[i-1].version {
				fail("%s: version %d written twice, by %s and %s", name, s.version, ss[i-1].owner, s.owner)
			}
			if len(owners) == 0 || owners[len(owners)-1] != s.owner {
				if slices.Contains(owners, s.owner) {
					fail("%s: %s wrote version %d after %s had taken the service over (owners in version order: %v)", name, s.owner, s.version, owners[len(owners)-1], owners)
				}
				owners = append(owners, s.owner)
			}
		}
		missing, finishedAtKill := 0, false
		for v := c.baseVersions[name] + 1; v <= st.Version; v++ {
			if !slices.ContainsFunc(ss, func(s save) bool { return s.version == v }) {
				missing++
				// The victim's last write, cut from its log, finished the deployment.
				finishedAtKill = v == st.Version
				// Only a save of the victim, answered just before the kill, can be missing from its log.
				if v == c.baseVersions[name]+1 || !slices.ContainsFunc(ss, func(s save) bool { return s.version == v-1 && s.owner == c.victim }) {
					fail("%s: version %d is in no replica's log", name, v)
				}
			}
		}
		if missing > 1 {
			fail("%s: %d versions missing from the logs", name, missing)
		}
		if len(ss) == 0 || ss[len(ss)-1].version != st.Version && missing == 0 {
			fail("%s: the record is at version %d; the logs end at %v", name, st.Version, ss)
		}

		// The owners' events do not overlap in time.
		var sp []span
		for _, s := range spans[name] {
			sp = append(sp, *s)
		}
		slices.SortFunc(sp, func(a, b span) int { return cmp.Compare(a.first, b.first) })
		for i := 1; i < len(sp); i++ {
			if sp[i].first <= sp[i-1].last {
				fail("%s: two replicas emitted events at once (%v)", name, spans[name])
			}
		}

		if d.Rollback != nil {
			rep.rollbacks = append(rep.rollbacks, fmt.Sprintf("%s: %s by %s at %s: %s", name, d.Rollback.Trigger, d.Rollback.By, d.Rollback.Stage, d.Rollback.Reason))
		}
		if finishedAtKill {
			rep.finishedAtKill++
			continue // the victim finished it, but its log lost the last lines
		}

		// The last replica to drive it reported its outcome.
		if len(ss) > 0 {
			last := ss[len(ss)-1].owner
			rs := results[name]
			if !slices.ContainsFunc(rs, func(l fleetLine) bool { return l.Err == last && l.Outcome == string(d.Outcome) }) {
				fail("%s: %s drove it last, but its results are %+v (the record says %s)", name, last, rs, d.Outcome)
			}
		}

		// Adoptions: an orphan is a deployment the victim wrote last before
		// a survivor wrote it (or that the victim left unfinished).
		var victimLast *save
		for i, s := range ss {
			if s.owner == c.victim {
				victimLast = &ss[i]
			}
		}
		orphan := victimLast != nil && (victimLast.unfinished || victimLast.version < ss[len(ss)-1].version)
		var adopted []fleetLine
		for _, a := range adoptions[name] {
			if a.Err != c.victim {
				adopted = append(adopted, a)
			}
		}
		switch {
		case orphan && len(adopted) == 0:
			fail("%s: left unfinished by %s and never adopted", name, c.victim)
		case orphan:
			rep.latencies = append(rep.latencies, time.Duration(adopted[0].T-c.killed.UnixNano()))
			rep.sinceLapse = append(rep.sinceLapse, time.Duration(adopted[0].T-victimLastSave(c.logs[c.victim], name))-c.leaseTTL)
			rep.adopters[adopted[0].Err]++
			rep.otherAdoptions += len(adopted) - 1
		default:
			rep.otherAdoptions += len(adopted)
		}
		if len(adopted) > 1 || !orphan && len(adopted) > 0 {
			rep.adoptionNotes = append(rep.adoptionNotes, fmt.Sprintf("%s: owners in version order %v, adopted by %v", name, owners, adopted))
		}
	}
	return rep, problems
}

// victimLastSave returns when the victim last renewed service's lease, in
// Unix nanoseconds: its last save of the record or of its heartbeat (the
// victim's log holds only its own).
func victimLastSave(lines []fleetLine, service string) int64 {
	var last int64
	for _, l := range lines {
		if l.Kind == "save" && (l.Service == service || strings.HasPrefix(l.Service, "replica:")) {
			last = max(last, l.T)
		}
	}
	return last
}

// percentile returns the p-th percentile of ds (nearest rank), 0 if empty.
func percentile(ds []time.Duration, p int) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Sorted(slices.Values(ds))
	i := (p*len(s) + 99) / 100
	return s[max(i, 1)-1].Round(time.Millisecond)
}

// TestCheckFleet checks the fleet test's checker on made-up logs: a
// take-over as it should be passes, and each kind of violation is caught.
func TestCheckFleet(t *testing.T) {
	good := func() fleetCheck {
		return fleetCheck{
			names:        []string{"svc"},
			baseVersions: map[string]int64{"svc": 1},
			victim:       "A",
			killed:       time.Unix(0, 20),
			leaseTTL:     5,
			states: map[string]bluegreen.ServiceState{"svc": {Service: "svc", Version: 5,
				Deployment: &bluegreen.DeploymentState{Finished: true, Outcome: bluegreen.OutcomeSucceeded}}},
			logs: map[string][]fleetLine{
				"A": {{T: 10, Kind: "save", Service: "svc", Version: 2, Unfinished: true}, {T: 11, Kind: "event", Service: "svc"},
					{T: 12, Kind: "save", Service: "svc", Version: 3, Unfinished: true}, {T: 13, Kind: "event", Service: "svc"}},
				"B": {{T: 30, Kind: "adopt", Service: "svc"}, {T: 31, Kind: "save", Service: "svc", Version: 4, Unfinished: true},
					{T: 32, Kind: "event", Service: "svc"}, {T: 33, Kind: "save", Service: "svc", Version: 5},
					{T: 34, Kind: "result", Service: "svc", Outcome: "SUCCEEDED"}},
			},
		}
	}
	rep, problems := checkFleet(good())
	if len(problems) > 0 || !slices.Equal(rep.latencies, []time.Duration{10}) || !slices.Equal(rep.sinceLapse, []time.Duration{13}) || rep.adopters["B"] != 1 {
		t.Fatalf("a clean take-over: problems %q, report %+v", problems, rep)
	}
	tests := []struct {
		name   string
		change func(*fleetCheck)
		want   string
	}{
		{"the old owner writes after the take-over", func(c *fleetCheck) {
			c.logs["A"] = append(c.logs["A"], fleetLine{T: 35, Kind: "save", Service: "svc", Version: 6})
			st := c.states["svc"]
			st.Version = 6
			c.states["svc"] = st
		}, "A wrote version 6 after B had taken the service over"},
		{"a version written twice", func(c *fleetCheck) {
			c.logs["B"] = append(c.logs["B"], fleetLine{T: 31, Kind: "save", Service: "svc", Version: 3})
		}, "version 3 written twice"},
		{"events at once", func(c *fleetCheck) {
			c.logs["A"] = append(c.logs["A"], fleetLine{T: 32, Kind: "event", Service: "svc"})
		}, "two replicas emitted events at once"},
		{"a save of a survivor unlogged", func(c *fleetCheck) { c.logs["B"] = slices.Delete(c.logs["B"], 3, 4) }, "version 5 is in no replica's log"},
		{"an orphan never adopted", func(c *fleetCheck) { c.logs["B"] = c.logs["B"][1:] }, "never adopted"},
		{"a result the record contradicts", func(c *fleetCheck) { c.logs["B"][4].Outcome = "ROLLED_BACK" }, "B drove it last, but its results"},
		{"the lease kept", func(c *fleetCheck) {
			st := c.states["svc"]
			st.LeaseOwner = "B"
			c.states["svc"] = st
		}, "lease still held by B"},
		{"a failed deployment", func(c *fleetCheck) { c.states["svc"].Deployment.Outcome = bluegreen.OutcomeFailed }, "deployment ended FAILED"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := good()
			tt.change(&c)
			_, problems := checkFleet(c)
			if !slices.ContainsFunc(problems, func(p string) bool { return strings.Contains(p, tt.want) }) {
				t.Errorf("problems %q; want one saying %q", problems, tt.want)
			}
		})
	}
}
