package proxy

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bluegreen-go/bluegreen"
)

// ErrClosed is returned by operations on a closed Proxy.
var ErrClosed = errors.New("proxy: closed")

// Proxy is a weighted reverse proxy for blue/green deployments. It is a
// bluegreen.Router, bluegreen.Verifier and bluegreen.Monitor, and a
// TargetRegistrar for compute backends. Create one with New; it is safe for
// concurrent use.
type Proxy struct {
	opts      Options
	log       *slog.Logger
	errorLog  *log.Logger
	transport http.RoundTripper
	fast      bool // ordinary requests take the fast path (no custom Transport)
	date      atomic.Pointer[dateLine]
	buffers   *bufferPool
	health    *http.Client
	certs     *certStore // the production listener's certificate; nil without TLS

	table atomic.Pointer[table]

	mu       sync.Mutex // serializes changes: services, gen, the state file
	services map[string]*service
	gen      uint64
	closed   bool

	done      chan struct{} // closed by Close and Shutdown
	closeOnce sync.Once
	checkers  sync.WaitGroup // active health checkers

	srvMu   sync.Mutex
	servers []*http.Server
	fronts  []*frontServer
	addrs   map[string]net.Addr // "prod", "test"
	cleanup []func()
}

// New returns a Proxy configured by opts. If opts.StateFile exists, the
// routing state saved in it is restored (a corrupt file is an error, never
// overwritten). New does not listen; call Start, or serve Handler and
// TestHandler from servers of your own.
func New(opts Options) (*Proxy, error) {
	opts = opts.withDefaults()
	if err := opts.validate(); err != nil {
		return nil, err
	}
	p := &Proxy{
		opts:     opts,
		log:      opts.Logger,
		buffers:  newBufferPool(),
		services: map[string]*service{},
		done:     make(chan struct{}),
		addrs:    map[string]net.Addr{},
	}
	if p.log == nil {
		p.log = slog.New(slog.DiscardHandler)
	}
	// ReverseProxy logs errors it hands to ErrorHandler and copy errors of
	// clients that went away; those are per request, so they go to Debug.
	p.errorLog = slog.NewLogLogger(p.log.Handler(), slog.LevelDebug)
	p.transport = opts.Transport
	p.fast = opts.Transport == nil
	if p.transport == nil {
		p.transport = newTransport(opts.MaxIdleConnsPerHost)
	}
	p.health = &http.Client{
		Transport: &http.Transport{MaxIdleConnsPerHost: 2, IdleConnTimeout: time.Minute, DisableCompression: true},
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse // a redirect is an answer; 3xx counts as healthy
		},
	}
	if opts.TLS != nil {
		certs, err := newCertStore(opts.TLS)
		if err != nil {
			return nil, err
		}
		p.certs = certs
	}
	if opts.StateFile != "" {
		st, err := loadState(opts.StateFile)
		if err != nil {
			return nil, err
		}
		if err := p.restore(st); err != nil {
			return nil, fmt.Errorf("proxy: restore %s: %w", opts.StateFile, err)
		}
	}
	p.publish()
	return p, nil
}

// newTransport returns the transport to upstream instances: keep-alive
// connections reused generously (MaxIdleConnsPerHost), no transparent
// compression (bodies pass through as they are), no HTTP/2 (instances on
// this host speak HTTP/1.1), and no overall timeout, so long requests and
// streams last as long as they need.
func newTransport(idlePerHost int) *http.Transport {
	d := &net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}
	return &http.Transport{
		DialContext:           d.DialContext,
		MaxIdleConns:          0,
		MaxIdleConnsPerHost:   idlePerHost,
		IdleConnTimeout:       90 * time.Second,
		ExpectContinueTimeout: time.Second,
		DisableCompression:    true,
		ForceAttemptHTTP2:     false,
		WriteBufferSize:       32 << 10,
		ReadBufferSize:        32 << 10,
	}
}

// Handler returns the production listener's handler.
func (p *Proxy) Handler() http.Handler { return prodHandler{p} }

// TestHandler returns the test listener's handler: every request goes to
// the service's test route.
func (p *Proxy) TestHandler() http.Handler { return testHandler{p} }

// Start listens on Options.Addr and Options.TestAddr (unless "off") and
// serves them in the background (the admin API is package admin's). It returns
// once every listener is bound, or the first error, having closed the
// listeners it opened.
func (p *Proxy) Start() error {
	p.srvMu.Lock()
	defer p.srvMu.Unlock()
	select {
	case <-p.done:
		return ErrClosed
	default:
	}
	if len(p.servers) > 0 || len(p.fronts) > 0 {
		return errors.New("proxy: already started")
	}
	type listener struct {
		name string
		ln   net.Listener
		h    http.Handler
	}
	var lns []listener
	fail := func(err error) error {
		for _, l := range lns {
			l.ln.Close()
		}
		p.runCleanup()
		return err
	}
	ln, err := net.Listen("tcp", p.opts.Addr)
	if err != nil {
		return fail(fmt.Errorf("proxy: production listener: %w", err))
	}
	if p.certs != nil {
		ln = tls.NewListener(ln, p.certs.config())
	}
	lns = append(lns, listener{"prod", ln, p.Handler()})
	if p.certs != nil && p.opts.TLS.RedirectAddr != "" {
		rl, err := net.Listen("tcp", p.opts.TLS.RedirectAddr)
		if err != nil {
			return fail(fmt.Errorf("proxy: redirect listener: %w", err))
		}
		_, port, _ := net.SplitHostPort(ln.Addr().String())
		lns = append(lns, listener{"redirect", rl, p.certs.redirect(port)})
	}
	if p.opts.TestAddr != "off" {
		ln, err := net.Listen("tcp", p.opts.TestAddr)
		if err != nil {
			return fail(fmt.Errorf("proxy: test listener: %w", err))
		}
		lns = append(lns, listener{"test", ln, p.TestHandler()})
	}
	for _, l := range lns {
		p.addrs[l.name] = l.ln.Addr()
		p.log.Info("proxy: listening", "listener", l.name, "addr", l.ln.Addr().String())
		if p.fast && l.name != "redirect" {
			// The front end serves ordinary requests itself and hands
			// the rest to a net/http server of its own (front.go).
			fs := newFrontServer(p, l.ln, l.name == "test", l.name == "prod" && p.certs != nil, l.h)
			p.fronts = append(p.fronts, fs)
			go fs.serve()
			continue
		}
		srv := &http.Server{
			Handler:           l.h,
			ReadHeaderTimeout: readHeaderTimeout,
			IdleTimeout:       frontIdleTimeout,
			ErrorLog:          p.errorLog,
		}
		p.servers = append(p.servers, srv)
		go func() {
			if err := srv.Serve(l.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				p.log.Error("proxy: listener failed", "listener", l.name, "err", err)
			}
		}()
	}
	return nil
}

func (p *Proxy) addr(name string) string {
	p.srvMu.Lock()
	defer p.srvMu.Unlock()
	if a := p.addrs[name]; a != nil {
		if a.Network() == "unix" {
			return "unix:" + a.String()
		}
		return a.String()
	}
	return ""
}

// Addr returns the production listener's address once started, such as
// "127.0.0.1:40123"; "" before Start.
func (p *Proxy) Addr() string { return p.addr("prod") }

// TestAddr returns the test listener's address once started; "" before
// Start or when it is off.
func (p *Proxy) TestAddr() string { return p.addr("test") }

// Shutdown stops the listeners, then waits until the requests in flight
// finish (WebSockets and other hijacked connections are not waited for) or
// ctx ends, then stops health checks. Traffic stops; the state file stays.
func (p *Proxy) Shutdown(ctx context.Context) error {
	p.srvMu.Lock()
	servers, fronts := p.servers, p.fronts
	p.srvMu.Unlock()
	var errs []error
	for _, s := range servers {
		if err := s.Shutdown(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	for _, f := range fronts {
		if err := f.shutdown(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	p.stop()
	return errors.Join(errs...)
}

// Close stops the listeners and closes every connection at once, then stops
// health checks. Use Shutdown to let requests finish.
func (p *Proxy) Close() error {
	p.srvMu.Lock()
	servers, fronts := p.servers, p.fronts
	p.srvMu.Unlock()
	var errs []error
	for _, s := range servers {
		if err := s.Close(); err != nil {
			errs = append(errs, err)
		}
	}
	for _, f := range fronts {
		if err := f.close(); err != nil {
			errs = append(errs, err)
		}
	}
	p.stop()
	return errors.Join(errs...)
}

func (p *Proxy) stop() {
	p.closeOnce.Do(func() {
		p.mu.Lock()
		p.closed = true
		p.mu.Unlock()
		close(p.done)
		p.checkers.Wait()
		if t, ok := p.transport.(interface{ CloseIdleConnections() }); ok {
			t.CloseIdleConnections()
		}
		p.health.CloseIdleConnections()
		p.mu.Lock()
		for _, svc := range p.services {
			for _, pl := range svc.pools {
				for _, t := range *pl.targets.Load() {
					t.conns.closeIdle(false)
				}
			}
		}
		p.mu.Unlock()
		p.srvMu.Lock()
		p.runCleanup()
		p.srvMu.Unlock()
	})
}

// runCleanup runs and forgets the cleanups. Call with srvMu held.
func (p *Proxy) runCleanup() {
	for _, f := range p.cleanup {
		f()
	}
	p.cleanup = nil
}

// publish builds and installs a new routing table. Call with p.mu held (or
// before p is shared).
func (p *Proxy) publish() {
	p.gen++
	p.table.Store(buildTable(p.gen, p.services, p.opts.DefaultService))
}

// getService returns the service name, creating it (with Options.Defaults)
// if needed; created reports whether it did. Call with p.mu held.
func (p *Proxy) getService(name string) (svc *service, created bool) {
	if svc := p.services[name]; svc != nil {
		return svc, false
	}
	svc = &service{name: name}
	cfg := p.opts.Defaults
	cfg.Hosts = nil
	svc.config.Store(&cfg)
	for i, s := range slots {
		svc.pools[i] = newPool(p, svc, s)
	}
	p.services[name] = svc
	return svc, true
}

// bufferPool lends ReverseProxy the buffers it copies bodies with, so a
// request does not allocate one. It pools array pointers: converting a
// returned slice back to its array pointer costs no allocation.
type bufferPool struct{ p sync.Pool }

const bufferSize = 32 << 10

func newBufferPool() *bufferPool {
	return &bufferPool{p: sync.Pool{New: func() any { return new([bufferSize]byte) }}}
}

// Get returns a buffer.
func (b *bufferPool) Get() []byte { return b.p.Get().(*[bufferSize]byte)[:] }

// Put returns a buffer to the pool.
func (b *bufferPool) Put(buf []byte) {
	if cap(buf) < bufferSize {
		return
	}
	b.p.Put((*[bufferSize]byte)(buf[:bufferSize]))
}

var (
	_ bluegreen.Router   = (*Proxy)(nil)
	_ bluegreen.Verifier = (*Proxy)(nil)
	_ bluegreen.Monitor  = (*Proxy)(nil)
	_ TargetRegistrar    = (*Proxy)(nil)
)
