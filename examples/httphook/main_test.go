package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/bluegreen-go/bluegreen"
	"github.com/bluegreen-go/bluegreen/hooks/httphook"
	"github.com/google/go-cmp/cmp"
)

// TestServe runs the receiver on loopback and calls it as a Deployer would:
// IN_PROGRESS while the app answers 503, SUCCEEDED once it answers 200, and
// a request signed with another secret refused.
func TestServe(t *testing.T) {
	var healthy atomic.Bool
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if !healthy.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	defer app.Close()
	const secret = "0123456789abcdef0123456789abcdef"
	ctx, cancel := context.WithCancel(t.Context())
	ready := make(chan string, 1)
	done := make(chan int)
	go func() {
		done <- run(ctx, []string{"-listen", "127.0.0.1:0"}, func(string) string { return secret }, ready, io.Discard)
	}()
	addr := <-ready
	hook, err := httphook.New(httphook.Options{URL: "http://" + addr + "/hooks/smoke", Secret: []byte(secret), AllowHTTP: true})
	if err != nil {
		t.Fatal(err)
	}
	details, _ := json.Marshal(map[string]string{"url": app.URL})
	in := bluegreen.HookInput{DeploymentID: "d-1", Service: "orders", Stage: bluegreen.StagePostTestTrafficShift, Attempt: 1, Details: details}
	var got []bluegreen.HookStatus
	for range 3 {
		res, err := hook.Run(t.Context(), in)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, res.Status)
		in.Attempt++
		healthy.Store(in.Attempt == 3)
	}
	if diff := cmp.Diff([]bluegreen.HookStatus{bluegreen.HookInProgress, bluegreen.HookInProgress, bluegreen.HookSucceeded}, got); diff != "" {
		t.Errorf("answers (-want +got):\n%s", diff)
	}
	wrong, err := httphook.New(httphook.Options{URL: "http://" + addr + "/hooks/smoke", Secret: []byte("another secret, also 32 bytes..."), AllowHTTP: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := wrong.Run(t.Context(), in); !bluegreenIsPermission(err) {
		t.Errorf("a request with the wrong secret = %v, want refused", err)
	}
	cancel()
	if code := <-done; code != 0 {
		t.Errorf("run exited %d", code)
	}
}

func bluegreenIsPermission(err error) bool {
	return bluegreen.ErrorCode(err) == bluegreen.CodePermission
}
