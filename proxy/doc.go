// Package proxy is bluegreen's built-in zero-downtime reverse proxy: the
// router of the local backend, and of anyone deploying to a single host.
//
// A Proxy serves two listeners. The production listener splits each
// service's requests between its two slots (blue and green) by the
// production weights of bluegreen.Routes, at 0.1% resolution, with a
// deterministic weighted round robin: a 10% weight sends exactly 100 of every
// 1000 requests to green, evenly spaced, and the slot whose share a change
// of weights grows takes the next request. The test listener (on loopback by
// default) sends every request to the test route's slot; an optional header
// rule sends matching production requests there too. Within a slot, requests
// are balanced round robin across the healthy instances.
//
// Routes change atomically: the routing of every service is an immutable
// table behind an atomic pointer, and SetRoutes publishes a new one. No
// request is refused or lost while weights change; requests in flight finish
// on the instance they started on.
//
// # Instances, health and draining
//
// Compute backends register the instances of a slot with SetTargets. When
// SetTargets removes instances they take no new requests, and it returns
// once their requests in flight (long ones, streams and WebSockets included)
// have finished, up to the service's deregistration delay, as with an ALB
// target group; so a backend stops instances right after removing them.
// Drain does the same for a whole slot while leaving its instances
// registered. The TargetRegistrar interface names these two methods.
//
// Active health checks (path, interval, timeout, healthy and unhealthy
// thresholds) and passive ones (an instance that refuses a connection is
// taken out) decide which instances get requests; an idempotent request
// without a body that meets a refused connection is retried on another
// healthy instance.
//
// # The request path
//
// The listeners Start opens are served by a front end of the proxy's own
// (front.go): it reads each HTTP/1.1 request head straight from the
// connection's buffer, routes it, and carries it to an instance over a
// pooled keep-alive connection, streaming the answer back, all on the
// connection's goroutine and without allocating per request. It takes the
// ordinary request: no upgrade, Expect, TE or transfer coding, a body of
// known length up to 64 KiB, an origin-form target of plain characters, a
// Connection field of at most close or keep-alive, well-formed fields that
// fit 8 KiB. At the first request it does not take, it hands the
// connection to a net/http server running Handler, which serves it from
// then on with httputil.ReverseProxy; so WebSockets, HTTP/1.0, large
// uploads and malformed requests (with net/http's 400 answers) behave as
// with net/http. Handler and TestHandler, served by servers of your own,
// use the same fast path for the ordinary request behind net/http's
// server. Requests to https instances, and every request when
// Options.Transport is set, go through httputil.ReverseProxy.
//
// On Linux the fast path reads and writes plain TCP sockets with raw
// system calls under Go's poller (syscall.RawConn), as an event loop
// would: it waits for a client's next request, and for an instance's
// answer, without first trying a read that finds nothing, and its calls
// never count as blocking ones for the scheduler. Deadlines, Close and
// Shutdown work as on net.Conn; TLS connections and other systems use
// net.Conn itself.
//
// Both paths forward the same request: hop-by-hop fields (and those the
// Connection field names) removed, X-Forwarded-For, -Host and -Proto set
// as httputil.ProxyRequest.SetXForwarded sets them, the client's Host
// kept. Answers pass on with their fields in the instance's order, a Date
// added when missing, bodies without a length re-framed in chunks, and
// informational answers (103) and trailers passed on. Unlike net/http's
// server, the front end does not guess a Content-Type the instance did not
// send.
//
// # Metrics and the error-rate monitor
//
// Each environment counts requests, 5xx answers and a latency histogram,
// readable with Metrics and as Prometheus text (WritePrometheus, and GET
// /metrics on the admin API). ErrorRateMonitor, and Proxy.Check with
// Options.ErrorRate, implement bluegreen.Monitor: green's 5xx rate over its
// latest requests, after a minimum count, rolls a bad release back.
//
// # HTTPS
//
// With Options.TLS the production listener speaks HTTPS: HTTP/1.1 on the
// front end's fast path, HTTP/2 (by ALPN) through net/http. Its
// certificate comes from PEM files, read again by ReloadCertificate (the
// daemon's SIGHUP) without dropping a connection, or from an ACME
// certificate authority such as Let's Encrypt for named hosts
// (TLSOptions.ACME, golang.org/x/crypto's autocert), or both. An optional
// plain listener redirects HTTP to HTTPS and answers ACME's HTTP-01
// challenges.
//
// # In process or as a daemon
//
// A Proxy runs inside the deploying program (New, Start, Shutdown), or as a
// long-running daemon (cmd/bluegreen-proxy) with the admin API of package
// admin on loopback or a unix socket, protected by a token when one is set,
// and a state file saved on every change so that a restarted daemon routes
// as before. An admin.Client drives the daemon over that API and implements
// the same interfaces as the Proxy, so a short-lived deploy command can
// deploy behind it, and traffic survives the command's exit or crash.
//
// # Layout
//
// The wire code (request and response heads, chunked framing, field
// checks) is package proxy/internal/http1, fuzzed against net/http; the
// front end (front*.go), the upstream client (forward.go, upstream.go),
// routing (table.go, router.go), health (health.go, target.go), metrics
// (metrics.go, prometheus.go) and the error-rate monitor (monitor.go) each
// have files of their own, and the admin API lives in proxy/admin, which
// imports this package and never the other way.
package proxy
