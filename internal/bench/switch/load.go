package main

import (
	"context"
	"io"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
)

// stats summarize one load run.
type stats struct {
	Requests uint64   `json:"requests"`
	Failures uint64   `json:"failures"`
	P50Ms    float64  `json:"p50Ms"`
	P99Ms    float64  `json:"p99Ms"`
	MaxMs    float64  `json:"maxMs"`
	Rate     float64  `json:"achievedRate"`
	Errors   []string `json:"errors,omitempty"`
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// attack is a running vegeta attack.
type attack struct {
	atk  *vegeta.Attacker
	done chan stats
}

// startAttack sends GET url at rate per second until stop. Every request is
// recorded: any status but 200 or any transport error is a failure.
func startAttack(url string, rate int) *attack {
	return startAttackFor(url, rate, 0, 0)
}

// startAttackFor attacks for du (0: until stop); rate 0 means as fast as
// workers allow.
func startAttackFor(url string, rate int, du time.Duration, workers uint64) *attack {
	opts := []func(*vegeta.Attacker){vegeta.KeepAlive(true), vegeta.Timeout(30 * time.Second)}
	if workers > 0 {
		opts = append(opts, vegeta.Workers(workers), vegeta.MaxWorkers(workers), vegeta.Connections(int(workers)))
	}
	a := &attack{atk: vegeta.NewAttacker(opts...), done: make(chan stats, 1)}
	tr := vegeta.NewStaticTargeter(vegeta.Target{Method: http.MethodGet, URL: url})
	pace := vegeta.Rate{Freq: rate, Per: time.Second}
	go func() {
		var m vegeta.Metrics
		var failures uint64
		var errs []string
		for res := range a.atk.Attack(tr, pace, du, "load") {
			m.Add(res)
			if res.Code != http.StatusOK || res.Error != "" {
				failures++
				if len(errs) < 5 {
					e := res.Error
					if e == "" {
						e = http.StatusText(int(res.Code))
					}
					if !slices.Contains(errs, e) {
						errs = append(errs, e)
					}
				}
			}
		}
		m.Close()
		a.done <- stats{Requests: m.Requests, Failures: failures, P50Ms: ms(m.Latencies.P50), P99Ms: ms(m.Latencies.P99),
			MaxMs: ms(m.Latencies.Max), Rate: float64(int(m.Throughput*10)) / 10, Errors: errs}
	}()
	return a
}

// stop ends the attack and returns its stats.
func (a *attack) stop() stats {
	a.atk.Stop()
	return <-a.done
}

// attackFor runs an attack for du and returns its stats.
func attackFor(url string, rate int, du time.Duration) stats {
	return startAttackFor(url, rate, du, 0).wait()
}

func (a *attack) wait() stats { return <-a.done }

// longStats count the long requests.
type longStats struct {
	Requests int64 `json:"requests"`
	Failures int64 `json:"failures"`
}

// longLoad keeps n long requests in flight.
type longLoad struct {
	cancel context.CancelFunc
	wg     sync.WaitGroup
	ok     atomic.Int64
	failed atomic.Int64
}

func startLong(ctx context.Context, url string, n int) *longLoad {
	ctx, cancel := context.WithCancel(ctx)
	l := &longLoad{cancel: cancel}
	c := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: n}}
	for range n {
		l.wg.Go(func() {
			for ctx.Err() == nil {
				req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
				res, err := c.Do(req)
				if err == nil {
					_, err = io.Copy(io.Discard, res.Body)
					res.Body.Close()
					if err == nil && res.StatusCode != http.StatusOK {
						err = io.ErrUnexpectedEOF
					}
				}
				switch {
				case ctx.Err() != nil: // stopped by us: not a failure
				case err != nil:
					l.failed.Add(1)
				default:
					l.ok.Add(1)
				}
			}
		})
	}
	return l
}

// stop cancels the long requests in flight (the benchmark's own doing, not
// failures) and returns the counts of those that ended before.
func (l *longLoad) stop() longStats {
	l.cancel()
	l.wg.Wait()
	return longStats{Requests: l.ok.Load() + l.failed.Load(), Failures: l.failed.Load()}
}
