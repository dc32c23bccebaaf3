package awsfake

import (
	"fmt"
	"math"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"
)

// The fake account and region every fake's ARNs use.
const (
	fakeAccount = "123456789012"
	fakeRegion  = "us-east-1"
)

// ECSOptions configure an ECS fake.
type ECSOptions struct {
	// StartDelay is how long the tasks of a task set take to run after it is
	// created or scaled up. Zero runs them at once.
	StartDelay time.Duration
	// DrainDelay is how long a deleted task set stays visible as DRAINING.
	DrainDelay time.Duration
	// Now is the fake's clock; time.Now if nil. Task set progress is computed
	// from it when read, so a test can step time without sleeping.
	Now func() time.Time
}

// ECS is an in-process fake of Amazon ECS serving the task-set API that
// external deployment controllers use, over AWS JSON 1.1
// (X-Amz-Target: AmazonEC2ContainerServiceV20141113.<Op>): CreateService,
// DescribeServices, CreateTaskSet, DescribeTaskSets, UpdateTaskSet,
// UpdateServicePrimaryTaskSet, DeleteTaskSet, ListTasks and DescribeTasks.
//
// Task sets compute their desired count from the service's desired count and
// their scale (rounded up, as ECS does), run after StartDelay, and feed their
// tasks as targets to the target group they name (see ELBv2.AddTargetSource).
type ECS struct {
	// Faults counts calls per operation and injects faults.
	Faults Faults
	// URL is the endpoint to pass as BaseEndpoint.
	URL string

	opts ECSOptions

	mu       sync.Mutex
	services map[string]*ecsService // by cluster + "/" + name
	tokens   map[string]*ecsTaskSet // client token -> task set
	failing  map[string]string      // task definition -> failure reason
	lose     map[string]int         // operation -> responses still to lose
	seq      int
	sd       ecsDeployments // service deployments (ecs_deployments.go)
}

type ecsService struct {
	cluster, name string
	desired       int
	launchType    string
	controller    string
	taskDef       string
	lbs           []ecsLoadBalancer
	created       time.Time
	taskSets      []*ecsTaskSet // in creation order, deleted ones removed after DrainDelay
	// ECS-controlled deployments (ecs_deployments.go).
	sdConfig    *ecsDeploymentConfiguration
	revisionARN string
	revisionSeq int
}

type ecsTaskSet struct {
	seq        int
	wire       ecsWireTaskSet // static fields; counts are computed by view
	scale      float64
	status     string // PRIMARY, ACTIVE or DRAINING
	changedAt  time.Time
	starts     []time.Time // start times of the tasks running at changedAt
	failReason string
	failedAt   time.Time
}

// NewECS starts an ECS fake on a loopback server closed by c (at the end of
// the test, for a *testing.T).
func NewECS(c Cleaner, opts ECSOptions) *ECS {
	e := newECS(opts)
	e.URL = ServeTest(c, e)
	return e
}

func newECS(opts ECSOptions) *ECS {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &ECS{
		opts:     opts,
		services: map[string]*ecsService{},
		tokens:   map[string]*ecsTaskSet{},
		failing:  map[string]string{},
		lose:     map[string]int{},
	}
}

// LoseResponses makes the next n successful calls of op take effect but
// answer 500 InternalFailure, as if the response was lost on the way: the
// SDK retries a call that already happened.
func (e *ECS) LoseResponses(op string, n int) {
	e.mu.Lock()
	e.lose[op] += n
	e.mu.Unlock()
}

// lost reports whether this response of op is to be lost.
func (e *ECS) lost(op string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.lose[op] == 0 {
		return false
	}
	e.lose[op]--
	return true
}

// ECSService describes a service to create with ECS.CreateService.
type ECSService struct {
	// Cluster is the cluster name; "default" if empty.
	Cluster string
	// Name is the service name. Required.
	Name string
	// DesiredCount is the service's desired count; task sets scale from it.
	DesiredCount int
	// DeploymentController is "ECS", "CODE_DEPLOY" or "EXTERNAL"; "ECS" if empty.
	DeploymentController string
	// LaunchType is the service's launch type, such as "FARGATE".
	LaunchType string
}

// CreateService creates a service (and its cluster) directly, for test setup.
func (e *ECS) CreateService(s ECSService) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	_, err := e.createService(s)
	return err
}

func (e *ECS) createService(s ECSService) (*ecsService, error) {
	if s.Cluster == "" {
		s.Cluster = "default"
	}
	if s.Name == "" {
		return nil, clientErr("InvalidParameterException", "serviceName is required")
	}
	if s.DeploymentController == "" {
		s.DeploymentController = "ECS"
	}
	switch s.DeploymentController {
	case "ECS", "CODE_DEPLOY", "EXTERNAL":
	default:
		return nil, clientErr("InvalidParameterException", "deploymentController.type %q is not one of ECS, CODE_DEPLOY, EXTERNAL", s.DeploymentController)
	}
	key := s.Cluster + "/" + s.Name
	if _, ok := e.services[key]; ok {
		return nil, clientErr("InvalidParameterException", "Creation of service was not idempotent.")
	}
	svc := &ecsService{cluster: s.Cluster, name: s.Name, desired: s.DesiredCount, launchType: s.LaunchType,
		controller: s.DeploymentController, created: e.opts.Now()}
	e.services[key] = svc
	return svc, nil
}

// SetDesiredCount changes a service's desired count, as Application Auto
// Scaling or UpdateService would; its task sets rescale from it.
func (e *ECS) SetDesiredCount(cluster, service string, n int) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	svc, err := e.service(cluster, service)
	if err != nil {
		return err
	}
	now := e.opts.Now()
	for _, ts := range svc.taskSets {
		e.rescale(svc, ts, ts.scale, now)
	}
	svc.desired = n
	return nil
}

// FailTaskDefinition makes the tasks of every task set running taskDef (now
// or later) fail to start with reason, as a missing image or a crashing
// container would; an empty reason heals it.
func (e *ECS) FailTaskDefinition(taskDef, reason string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	now := e.opts.Now()
	if reason == "" {
		delete(e.failing, taskDef)
	} else {
		e.failing[taskDef] = reason
	}
	for _, svc := range e.services {
		for _, ts := range svc.taskSets {
			if ts.wire.TaskDefinition == taskDef {
				e.setFailure(svc, ts, reason, now)
			}
		}
	}
}

func (e *ECS) setFailure(svc *ecsService, ts *ecsTaskSet, reason string, now time.Time) {
	if reason == ts.failReason {
		return
	}
	if reason == "" {
		// Healed: tasks start again from now.
		ts.failReason = ""
		ts.starts, ts.changedAt = nil, now
		return
	}
	e.rescale(svc, ts, ts.scale, now)
	ts.failReason, ts.failedAt = reason, now
}

// ECSTaskSet is what ECS.TaskSets reports about a task set.
type ECSTaskSet struct {
	ID, ARN, ExternalID, TaskDefinition, Status, StabilityStatus string
	TargetGroupARN                                               string
	Scale                                                        float64
	Desired, Running, Pending                                    int
	LaunchType, PlatformVersion                                  string
	// NetworkConfiguration is the raw JSON the task set was created with.
	NetworkConfiguration string
	// CapacityProviders lists "provider:weight:base" for each strategy item.
	CapacityProviders []string
}

// TaskSets returns the task sets of a service as they are now, oldest first,
// including DRAINING ones still visible.
func (e *ECS) TaskSets(cluster, service string) ([]ECSTaskSet, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	svc, err := e.service(cluster, service)
	if err != nil {
		return nil, err
	}
	now := e.opts.Now()
	e.expire(svc, now)
	var out []ECSTaskSet
	for _, ts := range svc.taskSets {
		w := e.view(svc, ts, now)
		info := ECSTaskSet{ID: w.ID, ARN: w.TaskSetArn, ExternalID: w.ExternalID, TaskDefinition: w.TaskDefinition,
			Status: w.Status, StabilityStatus: w.StabilityStatus, Scale: w.Scale.Value,
			Desired: w.ComputedDesiredCount, Running: w.RunningCount, Pending: w.PendingCount,
			LaunchType: w.LaunchType, PlatformVersion: w.PlatformVersion, NetworkConfiguration: string(w.NetworkConfiguration)}
		if len(w.LoadBalancers) > 0 {
			info.TargetGroupARN = w.LoadBalancers[0].TargetGroupArn
		}
		for _, c := range w.CapacityProviderStrategy {
			info.CapacityProviders = append(info.CapacityProviders, fmt.Sprintf("%s:%d:%d", c.CapacityProvider, c.Weight, c.Base))
		}
		out = append(out, info)
	}
	return out, nil
}

// Target is a load balancer target: a running task of a task set, or one
// registered with ELBv2.RegisterTargets.
type Target struct {
	// ID is the task's IP address (target type ip) and Port its container port.
	ID   string
	Port int
	// Since is when the task started running; health checks pass from then
	// plus the load balancer's health delay.
	Since time.Time
	// Draining is set for tasks of a task set being deleted.
	Draining bool
}

// Targets returns the running tasks of every task set that registers in
// targetGroupARN. It implements TargetSource.
func (e *ECS) Targets(targetGroupARN string) []Target {
	e.mu.Lock()
	defer e.mu.Unlock()
	now := e.opts.Now()
	var out []Target
	keys := make([]string, 0, len(e.services))
	for k := range e.services {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		svc := e.services[k]
		e.expire(svc, now)
		for _, ts := range svc.taskSets {
			for _, lb := range ts.wire.LoadBalancers {
				if lb.TargetGroupArn != targetGroupARN {
					continue
				}
				w := e.view(svc, ts, now)
				for i := range w.RunningCount {
					since := ts.changedAt.Add(e.opts.StartDelay)
					if i < len(ts.starts) {
						since = ts.starts[i]
					}
					out = append(out, Target{ID: taskIP(ts.seq, i), Port: lb.ContainerPort, Since: since, Draining: ts.status == "DRAINING"})
				}
			}
		}
	}
	return out
}

// taskIP is the private IP of task i of task set seq: unique per task.
func taskIP(seq, i int) string {
	return fmt.Sprintf("10.%d.%d.%d", seq/256%256, seq%256, i%250+1)
}

func (e *ECS) service(cluster, service string) (*ecsService, error) {
	cluster = lastPart(cluster)
	if cluster == "" {
		cluster = "default"
	}
	if !e.clusterExists(cluster) {
		return nil, clientErr("ClusterNotFoundException", "Cluster not found.")
	}
	svc, ok := e.services[cluster+"/"+lastPart(service)]
	if !ok {
		return nil, clientErr("ServiceNotFoundException", "Service not found.")
	}
	return svc, nil
}

func (e *ECS) clusterExists(cluster string) bool {
	for _, svc := range e.services {
		if svc.cluster == cluster {
			return true
		}
	}
	return false
}

// lastPart returns the name in a short name or an ARN ("…/cluster/name").
func lastPart(s string) string {
	if i := strings.LastIndexByte(s, '/'); i >= 0 && strings.HasPrefix(s, "arn:") {
		return s[i+1:]
	}
	return s
}

func (s *ecsService) arn() string {
	return fmt.Sprintf("arn:aws:ecs:%s:%s:service/%s/%s", fakeRegion, fakeAccount, s.cluster, s.name)
}

func clusterARN(cluster string) string {
	return fmt.Sprintf("arn:aws:ecs:%s:%s:cluster/%s", fakeRegion, fakeAccount, cluster)
}

// computedDesired is the service's desired count times scale, rounded up.
func computedDesired(desired int, scale float64) int {
	return int(math.Ceil(float64(desired) * scale / 100))
}

// view computes the task set as ECS would report it at now.
func (e *ECS) view(svc *ecsService, ts *ecsTaskSet, now time.Time) ecsWireTaskSet {
	w := ts.wire
	w.Status = ts.status
	w.Scale = ecsScale{Unit: "PERCENT", Value: ts.scale}
	desired := computedDesired(svc.desired, ts.scale)
	w.UpdatedAt = epoch(ts.changedAt)
	if ts.status == "DRAINING" {
		// The tasks that ran when it was deleted drain until DrainDelay ends.
		w.ComputedDesiredCount, w.RunningCount, w.PendingCount = 0, len(ts.starts), 0
		w.StabilityStatus, w.StabilityStatusAt = "STEADY_STATE", epoch(ts.changedAt)
		if w.RunningCount > 0 {
			w.StabilityStatus = "STABILIZING"
		}
		return w
	}
	w.ComputedDesiredCount = desired
	readyAt := ts.changedAt.Add(e.opts.StartDelay)
	switch {
	case ts.failReason != "":
		w.RunningCount, w.PendingCount = 0, desired
		w.StabilityStatus, w.StabilityStatusAt = "STABILIZING", epoch(ts.failedAt)
	case !now.Before(readyAt):
		w.RunningCount, w.PendingCount = desired, 0
		w.StabilityStatus, w.StabilityStatusAt = "STEADY_STATE", epoch(readyAt)
	default:
		w.RunningCount = min(len(ts.starts), desired)
		w.PendingCount = desired - w.RunningCount
		w.StabilityStatus, w.StabilityStatusAt = "STABILIZING", epoch(ts.changedAt)
		if w.PendingCount == 0 {
			// Scaling in completes at once.
			w.StabilityStatus = "STEADY_STATE"
		}
	}
	return w
}

// rescale records the task set's state at now and changes its scale.
func (e *ECS) rescale(svc *ecsService, ts *ecsTaskSet, scale float64, now time.Time) {
	w := e.view(svc, ts, now)
	starts := make([]time.Time, 0, w.RunningCount)
	starts = append(starts, ts.starts[:min(len(ts.starts), w.RunningCount)]...)
	for len(starts) < w.RunningCount {
		starts = append(starts, ts.changedAt.Add(e.opts.StartDelay))
	}
	ts.starts = starts
	ts.changedAt = now
	ts.scale = scale
}

// expire removes deleted task sets whose drain time is over.
func (e *ECS) expire(svc *ecsService, now time.Time) {
	kept := svc.taskSets[:0]
	for _, ts := range svc.taskSets {
		if ts.status == "DRAINING" && !now.Before(ts.changedAt.Add(e.opts.DrainDelay)) {
			continue
		}
		kept = append(kept, ts)
	}
	clear(svc.taskSets[len(kept):])
	svc.taskSets = kept
}

func (e *ECS) findTaskSet(svc *ecsService, ref string) *ecsTaskSet {
	for _, ts := range svc.taskSets {
		if ts.wire.ID == ref || ts.wire.TaskSetArn == ref {
			return ts
		}
	}
	return nil
}

// ServeHTTP serves the ECS JSON 1.1 API.
func (e *ECS) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	op, ok := rpc11Accept(w, r, "AmazonEC2ContainerServiceV20141113", &e.Faults)
	if !ok {
		return
	}
	out, err := e.serve(op, r)
	if err != nil {
		if ae, ok := err.(*apiError); ok {
			rpc11Error(w, ae.Fault)
			return
		}
		rpc11Error(w, Fault{Status: http.StatusBadRequest, Code: "SerializationException", Message: err.Error()})
		return
	}
	if e.lost(op) {
		rpc11Error(w, Fault{Status: http.StatusInternalServerError, Code: "InternalFailure", Message: "awsfake: response lost after the call took effect"})
		return
	}
	rpc11Reply(w, out)
}
