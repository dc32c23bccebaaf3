//go:build unix

package local

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/bluegreen-go/bluegreen"
	"github.com/bluegreen-go/bluegreen/bluegreentest"
	"github.com/bluegreen-go/bluegreen/proxy"
)

// TestBrownfieldWithProxy runs the brownfield suite over the pair the
// single-host setup uses: instances a previous (detached) Compute started
// and registered in the built-in proxy, which already sends them all
// production traffic. The Deployer adopts them, rolls back to them, or
// replaces them, and the proxy never routes production to nothing.
func TestBrownfieldWithProxy(t *testing.T) {
	bluegreentest.TestBrownfield(t, func(t *testing.T) bluegreentest.BrownfieldHarness {
		px, err := proxy.New(proxy.Options{Addr: "127.0.0.1:0", TestAddr: "127.0.0.1:0"})
		if err != nil {
			t.Fatal(err)
		}
		if err := px.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = px.Close() })
		stateDir := t.TempDir()
		return bluegreentest.BrownfieldHarness{
			Compute: newCompute(t, Options{StateDir: stateDir, Targets: px}),
			Router:  px,
			Service: "web",
			Live: func(ctx context.Context) (bluegreen.Environment, error) {
				previous := newCompute(t, Options{StateDir: stateDir, Targets: px})
				env := appEnv(t, bluegreen.SlotA, "by-hand", nil)
				if err := previous.ScaleUp(ctx, env); err != nil {
					return env, err
				}
				waitStatus(t, previous, env, "ready", ready) // registers its instances in the proxy
				if err := previous.Close(); err != nil {     // detached: leaves them running
					return env, err
				}
				if err := px.SetRoutes(ctx, "web", bluegreen.Routes{Production: bluegreen.AllTo(bluegreen.SlotA), Test: bluegreen.SlotA}); err != nil {
					return env, err
				}
				// It really serves, through the proxy.
				resp, err := http.Get("http://" + px.Addr() + "/")
				if err != nil {
					return env, err
				}
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					t.Fatalf("the live environment answers %s through the proxy", resp.Status)
				}
				return env, nil
			},
			Revision: func() bluegreen.Revision { return revision(t, "web:2", appSpec(nil)) },
			Configure: func(c *bluegreen.Config) {
				c.HealthInterval, c.VerifyInterval = 20*time.Millisecond, 10*time.Millisecond
			},
			Timeout: 30 * time.Second,
		}
	})
}
