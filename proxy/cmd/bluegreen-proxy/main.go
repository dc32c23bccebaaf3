// Command bluegreen-proxy runs bluegreen's zero-downtime reverse proxy as a
// long-running daemon. Deploy commands drive it through its admin API with
// admin.Client, so traffic keeps flowing when they exit or crash, and its
// routing state is saved to a file on every change so that a restarted
// daemon routes as before.
//
// Usage:
//
//	bluegreen-proxy -listen :8080 -admin unix:/run/bluegreen-proxy.sock -state /var/lib/bluegreen-proxy/state.json
//
// The admin token, if any, is read from the file named by -token-file or
// from the BLUEGREEN_PROXY_TOKEN environment variable. With -tls-cert and
// -tls-key the production listener speaks HTTPS (HTTP/1.1 and HTTP/2), and
// SIGHUP reloads the certificate files without dropping a connection;
// -redirect-http :80 redirects plain HTTP to it. With -acme-host (one or
// more, comma-separated) and -acme-cache it gets and renews the hosts'
// certificates from Let's Encrypt (or the CA of -acme-directory) itself.
// SIGINT or SIGTERM stops it
// gracefully: listeners close, requests in flight finish.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/bluegreen-go/bluegreen/proxy"
	"github.com/bluegreen-go/bluegreen/proxy/admin"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stderr, nil); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "bluegreen-proxy:", err)
		}
		os.Exit(2)
	}
}

// run parses args, starts the proxy and serves until ctx ends. ready, if
// not nil, receives the proxy once it listens.
func run(ctx context.Context, args []string, stderr io.Writer, ready func(*proxy.Proxy, *admin.Server)) error {
	fs := flag.NewFlagSet("bluegreen-proxy", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		opts       proxy.Options
		adminOpts  admin.ServerOptions
		tokenFile  = fs.String("token-file", "", "file holding the admin token (default: $BLUEGREEN_PROXY_TOKEN)")
		headerRule = fs.String("header-rule", "", `send production requests with this header to the test route, as "Name=Value"`)
		logLevel   = fs.String("log-level", "info", "log level: debug, info, warn or error")
		shutdown   = fs.Duration("shutdown-timeout", 30*time.Second, "how long a graceful stop waits for requests in flight")
		hc         = &opts.Defaults.HealthCheck
		tlsOpts    proxy.TLSOptions
		acmeOpts   proxy.ACMEOptions
		acmeHosts  = fs.String("acme-host", "", "comma-separated host names to get certificates for from an ACME CA (Let's Encrypt by default); needs -acme-cache")
	)
	fs.StringVar(&opts.Addr, "listen", proxy.DefaultAddr, "production listener address")
	fs.StringVar(&opts.TestAddr, "test-listen", proxy.DefaultTestAddr, `test listener address, or "off"`)
	fs.StringVar(&adminOpts.Addr, "admin", "127.0.0.1:9090", `admin API address: "host:port" or "unix:/path"`)
	fs.StringVar(&opts.StateFile, "state", "", "file the routing state is saved to and restored from (none if empty)")
	fs.StringVar(&opts.DefaultService, "default-service", "", "service for requests whose Host matches no service")
	fs.BoolVar(&opts.TrustForwarded, "trust-forwarded", false, "keep clients' X-Forwarded-For/-Proto (behind a trusted proxy)")
	fs.StringVar(&hc.Path, "health-path", "", "health check path, such as /healthz (active checks off if empty)")
	// Zero values leave the proxy's defaults, which fit together (a short
	// interval alone gets a timeout that fits it).
	fs.DurationVar(&hc.Interval, "health-interval", 0, "time between health checks of an instance (default 5s)")
	fs.DurationVar(&hc.Timeout, "health-timeout", 0, "timeout of one health check (default 2s, or half a shorter interval)")
	fs.IntVar(&hc.HealthyThreshold, "healthy-threshold", 0, "consecutive successes that bring an instance back (default 2)")
	fs.IntVar(&hc.UnhealthyThreshold, "unhealthy-threshold", 0, "consecutive failures that take an instance out (default 2)")
	fs.DurationVar(&opts.Defaults.DeregistrationDelay, "drain-delay", proxy.DefaultDeregistrationDelay, "how long draining waits for requests in flight")
	fs.StringVar(&opts.Defaults.Sticky.Cookie, "sticky-cookie", "", "cookie keeping clients on one environment during a shift (off if empty)")
	fs.StringVar(&tlsOpts.CertFile, "tls-cert", "", "PEM certificate file: the production listener speaks HTTPS (reloaded on SIGHUP)")
	fs.StringVar(&tlsOpts.KeyFile, "tls-key", "", "PEM private key file of -tls-cert")
	fs.StringVar(&tlsOpts.RedirectAddr, "redirect-http", "", `with -tls-cert or -acme-host, an HTTP listener (such as ":80") redirecting to HTTPS (and answering ACME's HTTP-01 challenges)`)
	fs.StringVar(&acmeOpts.CacheDir, "acme-cache", "", "directory keeping the ACME account key and certificates between runs")
	fs.StringVar(&acmeOpts.DirectoryURL, "acme-directory", "", "ACME directory URL (default: Let's Encrypt's production directory)")
	fs.StringVar(&acmeOpts.Email, "acme-email", "", "contact address registered with the ACME CA")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q; every setting is a flag (see -h)", fs.Args())
	}
	if *headerRule != "" {
		name, value, ok := strings.Cut(*headerRule, "=")
		if !ok {
			return fmt.Errorf(`-header-rule %q: use "Name=Value", such as "X-Canary=1"`, *headerRule)
		}
		opts.Defaults.HeaderRule = proxy.HeaderRule{Name: name, Value: value}
	}
	adminOpts.Token = os.Getenv("BLUEGREEN_PROXY_TOKEN")
	if *tokenFile != "" {
		b, err := os.ReadFile(*tokenFile)
		if err != nil {
			return fmt.Errorf("-token-file: %w", err)
		}
		adminOpts.Token = strings.TrimSpace(string(b))
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		return fmt.Errorf("-log-level %q: use debug, info, warn or error", *logLevel)
	}
	opts.Logger = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))

	if *acmeHosts != "" || acmeOpts.CacheDir != "" || acmeOpts.DirectoryURL != "" || acmeOpts.Email != "" {
		for h := range strings.SplitSeq(*acmeHosts, ",") {
			if h = strings.TrimSpace(h); h != "" {
				acmeOpts.Hosts = append(acmeOpts.Hosts, h)
			}
		}
		tlsOpts.ACME = &acmeOpts
	}
	if tlsOpts != (proxy.TLSOptions{}) {
		opts.TLS = &tlsOpts
	}
	if err := adminOpts.Validate(); err != nil {
		return err
	}
	p, err := proxy.New(opts)
	if err != nil {
		return err
	}
	if err := p.Start(); err != nil {
		p.Close()
		return err
	}
	api, err := admin.Start(p, adminOpts)
	if err != nil {
		p.Close()
		return err
	}
	opts.Logger.Info("proxy: listening", "listener", "admin", "addr", api.Addr())
	defer api.Close()
	if ready != nil {
		ready(p, api)
	}
	// SIGHUP reloads the certificate files; connections stay open.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	for waiting := true; waiting; {
		select {
		case <-ctx.Done():
			waiting = false
		case <-hup:
			if err := p.ReloadCertificate(); err != nil {
				opts.Logger.Error("SIGHUP: certificate not reloaded; the one in use stays", "err", err)
			}
		}
	}
	opts.Logger.Info("stopping: waiting for requests in flight", "timeout", *shutdown)
	sctx, cancel := context.WithTimeout(context.Background(), *shutdown)
	defer cancel()
	if err := p.Shutdown(sctx); err != nil {
		p.Close()
		return fmt.Errorf("graceful stop: %w", err)
	}
	return nil
}
