package httphook_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"time"

	"github.com/bluegreen-go/bluegreen"
	"github.com/bluegreen-go/bluegreen/hooks/httphook"
)

// This example serves a smoke test from a Go program and binds it to the
// stage after test traffic reaches green. The receiver and the Deployer
// share a secret; here both run in one process.
func Example() {
	key := []byte("an example secret of 32 bytes!!!") // in production: os.Getenv, a secrets manager

	// The receiver: any Go web service.
	mux := http.NewServeMux()
	mux.Handle("POST /hooks/smoke", httphook.Handler(key, bluegreen.HookFunc(
		func(ctx context.Context, in bluegreen.HookInput) (bluegreen.HookResult, error) {
			var state struct{ Checked int }
			_ = json.Unmarshal(in.Details, &state)
			if state.Checked < 2 { // still working: call again in 10 s
				details, _ := json.Marshal(map[string]int{"Checked": state.Checked + 1})
				return bluegreen.HookResult{Status: bluegreen.HookInProgress, CallbackDelay: 10 * time.Second, Details: details}, nil
			}
			return bluegreen.HookResult{Status: bluegreen.HookSucceeded}, nil
		})))
	srv := httptest.NewTLSServer(mux)
	defer srv.Close()

	// The Deployer's side.
	hook, err := httphook.New(httphook.Options{URL: srv.URL + "/hooks/smoke", Secret: key, Client: srv.Client()})
	if err != nil {
		log.Fatal(err)
	}
	cfg := bluegreen.Config{
		// Compute, Router and Store as for any deployment.
		Hooks: []bluegreen.LifecycleHook{{Name: "smoke", Stages: []bluegreen.Stage{bluegreen.StagePostTestTrafficShift},
			Hook: hook, Timeout: 15 * time.Minute}},
	}
	_ = cfg

	// What the Deployer does at POST_TEST_TRAFFIC_SHIFT, by hand.
	in := bluegreen.HookInput{DeploymentID: "d-1", Service: "web", Stage: bluegreen.StagePostTestTrafficShift, Attempt: 1,
		Green: bluegreen.Environment{Service: "web", Slot: bluegreen.SlotB, Revision: bluegreen.Revision{Name: "web:42"}}}
	for {
		res, err := hook.Run(context.Background(), in)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return
		}
		fmt.Println(res.Status, res.CallbackDelay, string(res.Details))
		if res.Status != bluegreen.HookInProgress {
			break
		}
		in.Attempt++
		in.Details = res.Details
	}
	// Output:
	// IN_PROGRESS 10s {"Checked":1}
	// IN_PROGRESS 10s {"Checked":2}
	// SUCCEEDED 0s
}

// This example checks a request by hand, in a receiver that does not use
// Handler: verify the signature over the raw body first, then decode.
func ExampleVerify() {
	key := []byte("an example secret of 32 bytes!!!")
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, httphook.MaxBodyBytes))
		if err != nil {
			http.Error(w, err.Error(), http.StatusRequestEntityTooLarge)
			return
		}
		if err := httphook.Verify(key, r.Header, body, time.Now(), 5*time.Minute); err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		in, err := httphook.DecodeRequest(body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		fmt.Println("verified", in.Stage, "of", in.DeploymentID)
		_ = json.NewEncoder(w).Encode(httphook.Response{HookStatus: "SUCCEEDED"})
	})
	srv := httptest.NewTLSServer(handler)
	defer srv.Close()
	hook, err := httphook.New(httphook.Options{URL: srv.URL, Secret: key, Client: srv.Client()})
	if err != nil {
		log.Fatal(err)
	}
	res, err := hook.Run(context.Background(), bluegreen.HookInput{DeploymentID: "d-2", Service: "web", Stage: bluegreen.StagePreScaleUp})
	fmt.Println(res.Status, err)
	// Output:
	// verified PRE_SCALE_UP of d-2
	// SUCCEEDED <nil>
}
