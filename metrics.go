package bluegreen

import (
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
)

// deployerMetrics are the Deployer's counters, updated as deployments run.
type deployerMetrics struct {
	started, adopted, handedOver, conflicts, heartbeats atomic.Int64

	mu        sync.Mutex
	outcomes  map[Outcome]int64
	rollbacks map[Trigger]int64
}

func (m *deployerMetrics) ended(o Outcome, rb *RollbackInfo) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.outcomes == nil {
		m.outcomes, m.rollbacks = map[Outcome]int64{}, map[Trigger]int64{}
	}
	m.outcomes[o]++
	if o == OutcomeRolledBack && rb != nil {
		m.rollbacks[rb.Trigger]++
	}
}

// Metrics is a snapshot of what a Deployer has done, for operators.
type Metrics struct {
	// InFlight counts the deployments this Deployer drives now, by the
	// stage each is in.
	InFlight map[Stage]int `json:"inFlight"`
	// Started counts deployments started (Start, Deploy, StartReconcile).
	Started int64 `json:"started"`
	// Adopted counts deployments Run adopted from owners that were gone.
	Adopted int64 `json:"adopted"`
	// HandedOver counts deployments given up to other owners at a graceful
	// shutdown.
	HandedOver int64 `json:"handedOver"`
	// Ended counts ended deployments by outcome.
	Ended map[Outcome]int64 `json:"ended"`
	// Rollbacks counts rolled-back deployments by what triggered them.
	Rollbacks map[Trigger]int64 `json:"rollbacks"`
	// StoreConflicts counts writes refused because another owner had
	// changed the record: leases lost.
	StoreConflicts int64 `json:"storeConflicts"`
	// Heartbeats counts heartbeat records written: one every third of
	// LeaseTTL while the Deployer drives deployments, however many.
	Heartbeats int64 `json:"heartbeats"`
}

// Metrics returns a snapshot of the Deployer's metrics.
func (d *Deployer) Metrics() Metrics {
	m := Metrics{InFlight: map[Stage]int{}, Started: d.metrics.started.Load(), Adopted: d.metrics.adopted.Load(),
		HandedOver: d.metrics.handedOver.Load(), StoreConflicts: d.metrics.conflicts.Load(),
		Heartbeats: d.metrics.heartbeats.Load(),
		Ended:      map[Outcome]int64{}, Rollbacks: map[Trigger]int64{}}
	d.mu.Lock()
	for _, dep := range d.active {
		m.InFlight[Stage(dep.stage.Load())]++
	}
	d.mu.Unlock()
	d.metrics.mu.Lock()
	for k, v := range d.metrics.outcomes {
		m.Ended[k] = v
	}
	for k, v := range d.metrics.rollbacks {
		m.Rollbacks[k] = v
	}
	d.metrics.mu.Unlock()
	return m
}

// WritePrometheus writes the Deployer's metrics in the Prometheus text
// exposition format, each series labeled with the Deployer's owner.
func (d *Deployer) WritePrometheus(w io.Writer) error {
	m := d.Metrics()
	owner := promLabel(d.cfg.Owner)
	var b strings.Builder
	series := func(name, help, typ string, samples [][2]string) {
		fmt.Fprintf(&b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, typ)
		for _, s := range samples {
			fmt.Fprintf(&b, "%s{owner=%s%s} %s\n", name, owner, s[0], s[1])
		}
	}
	num := func(n int64) string { return fmt.Sprint(n) }
	var inFlight [][2]string
	for _, s := range Stages() {
		inFlight = append(inFlight, [2]string{`,stage="` + s.String() + `"`, num(int64(m.InFlight[s]))})
	}
	series("bluegreen_deployments_in_flight", "Deployments this Deployer drives now, by stage.", "gauge", inFlight)
	series("bluegreen_deployments_started_total", "Deployments started.", "counter", [][2]string{{"", num(m.Started)}})
	series("bluegreen_deployments_adopted_total", "Deployments adopted from owners that were gone.", "counter", [][2]string{{"", num(m.Adopted)}})
	series("bluegreen_deployments_handed_over_total", "Deployments given up to other owners at a graceful shutdown.", "counter", [][2]string{{"", num(m.HandedOver)}})
	var ended [][2]string
	for _, o := range []Outcome{OutcomeSucceeded, OutcomeRolledBack, OutcomeFailed} {
		ended = append(ended, [2]string{`,outcome="` + string(o) + `"`, num(m.Ended[o])})
	}
	series("bluegreen_deployments_ended_total", "Deployments ended, by outcome.", "counter", ended)
	triggers := make([]string, 0, len(m.Rollbacks))
	for t := range m.Rollbacks {
		triggers = append(triggers, string(t))
	}
	slices.Sort(triggers)
	var rbs [][2]string
	for _, t := range triggers {
		rbs = append(rbs, [2]string{`,trigger="` + t + `"`, num(m.Rollbacks[Trigger(t)])})
	}
	series("bluegreen_rollbacks_total", "Rolled-back deployments, by trigger.", "counter", rbs)
	series("bluegreen_store_conflicts_total", "Writes refused because another owner had changed the record.", "counter", [][2]string{{"", num(m.StoreConflicts)}})
	series("bluegreen_heartbeats_total", "Heartbeat records written; they keep the leases of all this Deployer's deployments.", "counter", [][2]string{{"", num(m.Heartbeats)}})
	_, err := io.WriteString(w, b.String())
	return err
}

// MetricsHandler serves WritePrometheus, for a platform service to mount
// on its own HTTP server (at /metrics, say).
func (d *Deployer) MetricsHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		_ = d.WritePrometheus(w)
	})
}

// promLabel quotes a label value as the Prometheus text format wants.
func promLabel(v string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)
	return `"` + r.Replace(v) + `"`
}
