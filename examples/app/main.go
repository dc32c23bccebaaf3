// Command app is the sample service of bluegreen's local examples: a tiny
// HTTP server that reports its version and can be told to misbehave, so that
// a bad release can be staged and rolled back.
//
// It listens on 127.0.0.1:$PORT and serves
//
//	/          its version, as text ("v2\n"), also in the X-Version header
//	/healthz   200 "ok", or 503 once it is shutting down (or with -unhealthy)
//	/slow?d=2s a response that takes d (default 1s), for draining tests;
//	           with &flush, the headers come at once and the body after d
//	/sse       a server-sent event stream, one event per ?every (default 1s),
//	           ?n events (default: until the client leaves or the server stops)
//
// Every flag has an environment variable as its default, so a deploy tool
// can configure it through the environment alone:
//
//	-addr              listen address (default 127.0.0.1:$PORT, PORT default 8080)
//	-version           $BLUEGREEN_REVISION, else $VERSION, else "dev"
//	-fail-rate         $FAIL_RATE: share of requests answered 500, 0 to 1; counter
//	                   based, so 0.3 fails exactly 3 requests in every 10
//	-slow              $SLOW: delay added to every request but /healthz, such as 200ms
//	-unhealthy         $UNHEALTHY: /healthz always answers 503
//	-crash-after       $CRASH_AFTER: exit with status 1 this long after starting;
//	                   0 exits at once, before listening
//	-ignore-sigterm    $IGNORE_SIGTERM: ignore SIGTERM (only SIGKILL stops it)
//	-shutdown-timeout  $SHUTDOWN_TIMEOUT: how long SIGTERM waits for requests in
//	                   flight (default 30s)
//
// On SIGTERM or SIGINT it stops accepting connections, ends its event
// streams, lets requests in flight finish, and exits 0.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"
)

func main() {
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	cfg, err := parseConfig(os.Args[1:], os.Getenv, os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		logger.Error("bad configuration", "err", err)
		os.Exit(2)
	}
	signals := []os.Signal{syscall.SIGTERM, os.Interrupt}
	if cfg.ignoreSIGTERM {
		signal.Ignore(syscall.SIGTERM)
		signals = signals[1:]
	}
	ctx, stop := signal.NotifyContext(context.Background(), signals...)
	defer stop()
	if err := run(ctx, cfg, logger); err != nil {
		logger.Error("exiting", "err", err)
		os.Exit(1)
	}
}

// config is the app's configuration, from flags and the environment.
type config struct {
	addr            string
	version         string
	instance        string
	failRate        float64
	slow            time.Duration
	unhealthy       bool
	crashAfter      time.Duration // negative: never
	ignoreSIGTERM   bool
	shutdownTimeout time.Duration
}

// parseConfig reads the flags in args, whose defaults come from getenv.
func parseConfig(args []string, getenv func(string) string, output io.Writer) (config, error) {
	var cfg config
	var envErr error
	envDuration := func(name string, def time.Duration) time.Duration {
		v := getenv(name)
		if v == "" {
			return def
		}
		d, err := time.ParseDuration(v)
		if err != nil {
			envErr = errors.Join(envErr, fmt.Errorf("$%s: %w (use a duration such as 200ms)", name, err))
		}
		return d
	}
	envBool := func(name string) bool {
		v := getenv(name)
		if v == "" {
			return false
		}
		b, err := strconv.ParseBool(v)
		if err != nil {
			envErr = errors.Join(envErr, fmt.Errorf("$%s: %q is not a boolean (use 1 or 0)", name, v))
		}
		return b
	}
	port := getenv("PORT")
	if port == "" {
		port = "8080"
	}
	version := getenv("BLUEGREEN_REVISION")
	if version == "" {
		version = getenv("VERSION")
	}
	if version == "" {
		version = "dev"
	}
	var failRate float64
	if v := getenv("FAIL_RATE"); v != "" {
		var err error
		if failRate, err = strconv.ParseFloat(v, 64); err != nil {
			envErr = errors.Join(envErr, fmt.Errorf("$FAIL_RATE: %q is not a number (use a share such as 0.3)", v))
		}
	}
	instance := getenv("BLUEGREEN_INSTANCE")
	if instance == "" {
		instance = strconv.Itoa(os.Getpid())
	}

	fs := flag.NewFlagSet("app", flag.ContinueOnError)
	fs.SetOutput(output)
	fs.StringVar(&cfg.addr, "addr", net.JoinHostPort("127.0.0.1", port), "listen address")
	fs.StringVar(&cfg.version, "version", version, "version reported at /")
	fs.StringVar(&cfg.instance, "instance", instance, "instance name reported in X-Instance")
	fs.Float64Var(&cfg.failRate, "fail-rate", failRate, "share of requests answered 500, 0 to 1")
	fs.DurationVar(&cfg.slow, "slow", envDuration("SLOW", 0), "delay added to every request but /healthz")
	fs.BoolVar(&cfg.unhealthy, "unhealthy", envBool("UNHEALTHY"), "answer 503 at /healthz")
	fs.DurationVar(&cfg.crashAfter, "crash-after", envDuration("CRASH_AFTER", -1), "exit with status 1 this long after starting (negative: never)")
	fs.BoolVar(&cfg.ignoreSIGTERM, "ignore-sigterm", envBool("IGNORE_SIGTERM"), "ignore SIGTERM")
	fs.DurationVar(&cfg.shutdownTimeout, "shutdown-timeout", envDuration("SHUTDOWN_TIMEOUT", 30*time.Second), "how long shutdown waits for requests in flight")
	if err := fs.Parse(args); err != nil {
		return config{}, err
	}
	if envErr != nil {
		return config{}, envErr
	}
	switch {
	case fs.NArg() > 0:
		return config{}, fmt.Errorf("unexpected arguments %q", fs.Args())
	case cfg.failRate < 0 || cfg.failRate > 1:
		return config{}, fmt.Errorf("-fail-rate %v is out of range: use a share from 0 to 1", cfg.failRate)
	case cfg.slow < 0:
		return config{}, fmt.Errorf("-slow %v is negative", cfg.slow)
	case cfg.shutdownTimeout <= 0:
		return config{}, fmt.Errorf("-shutdown-timeout %v must be positive", cfg.shutdownTimeout)
	}
	return cfg, nil
}

// errCrash is how run reports a crash it was told to stage.
var errCrash = errors.New("crashing as told by -crash-after")

// run serves until ctx is done, then shuts down gracefully.
func run(ctx context.Context, cfg config, logger *slog.Logger) error {
	if cfg.crashAfter == 0 {
		return errCrash
	}
	ln, err := net.Listen("tcp", cfg.addr)
	if err != nil {
		return err
	}
	return serve(ctx, cfg, newApp(cfg), ln, logger)
}

// serve serves on ln until ctx is done, then stops accepting connections,
// ends event streams, and waits up to cfg.shutdownTimeout for requests in
// flight.
func serve(ctx context.Context, cfg config, a *app, ln net.Listener, logger *slog.Logger) error {
	srv := &http.Server{
		Handler:           a.routes(),
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	srv.RegisterOnShutdown(a.stop)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	logger.Info("listening", "addr", ln.Addr().String(), "version", cfg.version,
		"failRate", cfg.failRate, "slow", cfg.slow)

	var crash <-chan time.Time
	if cfg.crashAfter > 0 {
		t := time.NewTimer(cfg.crashAfter)
		defer t.Stop()
		crash = t.C
	}
	select {
	case err := <-served:
		return err
	case <-crash:
		_ = srv.Close()
		return errCrash
	case <-ctx.Done():
	}

	logger.Info("shutting down", "inFlight", a.inFlight.Load())
	a.stop() // fail health checks at once, even before Shutdown runs hooks
	sctx, cancel := context.WithTimeout(context.Background(), cfg.shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		_ = srv.Close()
		return fmt.Errorf("shutdown: %d requests still in flight after %v: %w", a.inFlight.Load(), cfg.shutdownTimeout, err)
	}
	logger.Info("stopped", "served", a.requests.Load())
	return nil
}
