package awsfake

import (
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
)

// Serve serves h on a new httptest server listening on 127.0.0.1 and returns
// its URL and a func that closes the server.
func Serve(h http.Handler) (url string, closeFunc func()) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		// Loopback is always there on the machines tests run on; fall back to
		// httptest's own choice rather than fail.
		srv := httptest.NewServer(h)
		return srv.URL, srv.Close
	}
	srv := httptest.NewUnstartedServer(h)
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	return srv.URL, srv.Close
}

// Cleaner registers functions to run at the end: *testing.T, *testing.B and
// *Closers implement it.
type Cleaner interface {
	Cleanup(func())
}

// Closers is a Cleaner for code without a testing.TB, such as examples:
// Close runs the registered functions, the last registered first.
type Closers struct {
	mu  sync.Mutex
	fns []func()
}

// Cleanup registers fn to run on Close.
func (c *Closers) Cleanup(fn func()) {
	c.mu.Lock()
	c.fns = append(c.fns, fn)
	c.mu.Unlock()
}

// Close runs the registered functions, last first, and forgets them.
func (c *Closers) Close() {
	c.mu.Lock()
	fns := c.fns
	c.fns = nil
	c.mu.Unlock()
	for i := len(fns) - 1; i >= 0; i-- {
		fns[i]()
	}
}

// ServeTest is Serve with the server closed by c's cleanup: at the end of
// the test when c is a *testing.T.
func ServeTest(c Cleaner, h http.Handler) string {
	url, closeFunc := Serve(h)
	c.Cleanup(closeFunc)
	return url
}

// Config returns an aws.Config that reaches a fake at url through
// BaseEndpoint: static (fake) credentials, region us-east-1, and the SDK's
// standard retryer with its default attempt count but millisecond backoff and
// no client-side retry quota, so injected faults are retried as in production
// without slowing tests down or exhausting the retry token bucket.
func Config(url string) aws.Config {
	return aws.Config{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDAWSFAKE", "awsfake-secret", ""),
		BaseEndpoint: aws.String(url),
		Retryer: func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) {
				o.Backoff = testBackoff{}
				o.RateLimiter = ratelimit.None
			})
		},
	}
}

// testBackoff is a jittered exponential backoff from 1 ms, capped at 20 ms.
type testBackoff struct{}

// BackoffDelay implements retry.BackoffDelayer.
func (testBackoff) BackoffDelay(attempt int, _ error) (time.Duration, error) {
	d := time.Millisecond << min(attempt, 5)
	d = min(d, 20*time.Millisecond)
	return d/2 + rand.N(d/2+1), nil
}
