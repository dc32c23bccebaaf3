package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/bluegreen-go/bluegreen"
	"github.com/bluegreen-go/bluegreen/local"
	"github.com/bluegreen-go/bluegreen/local/filestore"
	"github.com/bluegreen-go/bluegreen/proxy"
	"github.com/bluegreen-go/bluegreen/proxy/admin"
)

// backends are the parts a deployment is wired from.
type backends struct {
	client  *admin.Client // nil when no -proxy-admin was given (status)
	compute *local.Compute
	store   *filestore.Store
	logDir  string       // the instances' logs, symbolic links resolved
	log     *slog.Logger // warnings, and everything with -v
}

// Subdirectories of -state.
const (
	storeDir     = "store"
	instancesDir = "instances"
	logsDir      = "logs"
)

// openBackends opens the store and the compute backend in o.stateDir and, if
// o.proxyAdmin is set, a client of the proxy daemon, which it checks it can
// reach. rule is the error-rate rule of the client's monitor (zero: default).
func openBackends(ctx context.Context, o commonOptions, rule proxy.ErrorRate, stderr io.Writer) (*backends, error) {
	level := slog.LevelWarn
	if o.verbose {
		level = slog.LevelInfo
	}
	b := &backends{log: slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))}
	if o.proxyAdmin != "" {
		token := os.Getenv("BLUEGREEN_PROXY_TOKEN")
		if o.tokenFile != "" {
			t, err := os.ReadFile(o.tokenFile)
			if err != nil {
				return nil, &flagError{"proxy-token-file", fmt.Sprintf("cannot be read (%v)", err), "name a readable file holding the admin token"}
			}
			token = strings.TrimSpace(string(t))
		}
		c, err := admin.NewClient(admin.ClientOptions{Addr: o.proxyAdmin, Token: token, ErrorRate: rule})
		if err != nil {
			return nil, &flagError{"proxy-admin", fmt.Sprintf("%q: %v", o.proxyAdmin, err), `use "unix:/path/admin.sock" or "127.0.0.1:9090"`}
		}
		if err := ping(ctx, c, o); err != nil {
			return nil, err
		}
		b.client = c
	}
	st, err := filestore.Open(filepath.Join(o.stateDir, storeDir), &filestore.Options{Logger: b.log})
	if err != nil {
		return nil, fmt.Errorf("opening the store in -state %s: %w", o.stateDir, err)
	}
	b.store = st
	opts := local.Options{
		StateDir: filepath.Join(o.stateDir, instancesDir),
		LogDir:   filepath.Join(o.stateDir, logsDir),
		Logger:   b.log,
	}
	if b.client != nil {
		// The client drains addresses it removes before returning, as
		// local.Targets requires.
		opts.Targets = b.client
	}
	c, err := local.New(opts)
	if err != nil {
		return nil, fmt.Errorf("opening the compute backend in -state %s: %w", o.stateDir, err)
	}
	b.compute = c
	b.logDir = opts.LogDir
	if dir, err := filepath.EvalSymlinks(opts.LogDir); err == nil {
		b.logDir = dir // as /proc names a process's open files
	}
	return b, nil
}

// sweepOrphans kills the instances of service that no deployment owns (see
// findOrphans) and reports each on p.
func (b *backends) sweepOrphans(service string, p *progress) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	orphans, err := findOrphans(ctx, b.store, service, b.logDir)
	if err != nil {
		b.log.Warn("looking for orphaned instances", "service", service, "err", err)
		return
	}
	for _, o := range orphans {
		p.line("ORPHAN killing pid %d of deployment %s in slot %s, which no deployment owns (log %s)", o.PID, o.DeploymentID, o.Slot, o.Log)
	}
	sweep(orphans)
}

// close leaves the detached instances running.
func (b *backends) close() {
	if b.compute != nil {
		_ = b.compute.Close()
	}
}

// ping asks the daemon for the service's routes, so that a daemon that is
// down or refuses the token is reported before any lease is taken.
func ping(ctx context.Context, c *admin.Client, o commonOptions) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	_, err := c.Routes(ctx, o.service)
	switch code := bluegreen.ErrorCode(err); {
	case err == nil:
		return nil
	case code == bluegreen.CodePermission:
		return &flagError{"proxy-token-file", fmt.Sprintf("the daemon at %s refused the token (%v)", o.proxyAdmin, err),
			"give the daemon's admin token in the file, or in $BLUEGREEN_PROXY_TOKEN"}
	case code == bluegreen.CodeInvalid:
		return err
	default:
		return fmt.Errorf("cannot reach the proxy daemon at -proxy-admin %s: %w; is bluegreen-proxy running with -admin %s?", o.proxyAdmin, err, o.proxyAdmin)
	}
}

// exitCode maps an error to the command's exit code.
func exitCode(err error) int {
	var fe *flagError
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, bluegreen.ErrRolledBack):
		return exitRolledBack
	case errors.Is(err, bluegreen.ErrInProgress):
		return exitInProgress
	case errors.As(err, &fe), errors.Is(err, bluegreen.ErrInvalid):
		return exitUsage
	}
	return exitFailed
}

// newOwner names this command in the service's lease, so that a second
// command can say who holds it.
func newOwner(command string) string {
	host, err := os.Hostname()
	if err != nil {
		host = "unknown-host"
	}
	return fmt.Sprintf("bluegreen %s on %s, pid %d (%s)", command, host, os.Getpid(), randomHex(3))
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read does not fail on supported platforms
	return hex.EncodeToString(b)
}
