// Command httphook serves a smoke test for bluegreen deployments over
// HTTPS with hooks/httphook: the Deployer (examples/lambda -hook-url, or
// any program using httphook.New) POSTs the ECS lifecycle-hook payload,
// signed; this receiver checks the signature and calls a smoke test that
// GETs the URL in the hook's details ({"url": "https://…"}) until it
// answers 200, asking to be called again while it answers 5xx, and fails
// the deployment on any other answer or after -attempts calls.
//
//	HOOK_SECRET=... go run ./examples/httphook -listen :8443 -cert cert.pem -key key.pem
//
// Without -cert it serves plain HTTP, for a TLS-terminating proxy in front
// or for loopback tests.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"time"

	"github.com/bluegreen-go/bluegreen"
	"github.com/bluegreen-go/bluegreen/hooks/httphook"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Getenv, nil, os.Stderr))
}

// smokeTest returns the hook: it GETs details.url with client.
func smokeTest(client *http.Client, attempts int) bluegreen.HookFunc {
	return func(ctx context.Context, in bluegreen.HookInput) (bluegreen.HookResult, error) {
		var details struct {
			URL string `json:"url"`
		}
		if err := json.Unmarshal(in.Details, &details); err != nil || details.URL == "" {
			return bluegreen.HookResult{Status: bluegreen.HookFailed, Reason: `hook details need {"url": "…"}`}, nil
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, details.URL, nil)
		if err != nil {
			return bluegreen.HookResult{Status: bluegreen.HookFailed, Reason: err.Error()}, nil
		}
		resp, err := client.Do(req)
		status := 0
		if err == nil {
			status = resp.StatusCode
			_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
			resp.Body.Close()
		}
		switch {
		case status == http.StatusOK:
			return bluegreen.HookResult{Status: bluegreen.HookSucceeded}, nil
		case (err != nil || status >= 500) && in.Attempt < attempts:
			return bluegreen.HookResult{Status: bluegreen.HookInProgress, CallbackDelay: 10 * time.Second, Details: in.Details}, nil
		case err != nil:
			return bluegreen.HookResult{Status: bluegreen.HookFailed, Reason: fmt.Sprintf("GET %s: %v", details.URL, err)}, nil
		}
		return bluegreen.HookResult{Status: bluegreen.HookFailed, Reason: fmt.Sprintf("GET %s: %d after %d attempts", details.URL, status, in.Attempt)}, nil
	}
}

// run serves until ctx is done. ready, if not nil, receives the address
// listened on.
func run(ctx context.Context, args []string, getenv func(string) string, ready chan<- string, stderr io.Writer) int {
	fs := flag.NewFlagSet("httphook", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", "127.0.0.1:8443", "address to listen on")
	cert := fs.String("cert", "", "TLS certificate file (plain HTTP if empty)")
	key := fs.String("key", "", "TLS key file")
	secretEnv := fs.String("secret-env", "HOOK_SECRET", "environment variable holding the signing secret")
	attempts := fs.Int("attempts", 30, "calls answered IN_PROGRESS before failing")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	handler, err := httphook.NewHandler(httphook.HandlerOptions{Secret: []byte(getenv(*secretEnv)),
		Hook: smokeTest(&http.Client{Timeout: 10 * time.Second}, *attempts), Logger: log})
	if err != nil {
		fmt.Fprintln(stderr, "httphook:", err)
		return 2
	}
	mux := http.NewServeMux()
	mux.Handle("POST /hooks/smoke", handler)
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		fmt.Fprintln(stderr, "httphook:", err)
		return 1
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdown)
	}()
	if ready != nil {
		ready <- ln.Addr().String()
	}
	if *cert != "" {
		err = srv.ServeTLS(ln, *cert, *key)
	} else {
		err = srv.Serve(ln)
	}
	if !errors.Is(err, http.ErrServerClosed) {
		fmt.Fprintln(stderr, "httphook:", err)
		return 1
	}
	return 0
}
