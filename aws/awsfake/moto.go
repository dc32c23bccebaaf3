package awsfake

import (
	"context"
	"net"
	"net/http"
	"os/exec"
	"strconv"
	"testing"
	"time"
)

// motoStartTimeout bounds the wait for moto_server to answer: it is a
// Python program that imports every service's model at start.
const motoStartTimeout = 30 * time.Second

// StartMoto starts moto_server (moto's stand-alone server, a second opinion
// on the wire protocols) on a free 127.0.0.1 port for the rest of the test
// and returns its URL, to pass to Config. The server is killed at the end of
// the test. The test is skipped, saying why, under -short or when
// moto_server is not on PATH.
func StartMoto(t testing.TB) string {
	t.Helper()
	if testing.Short() {
		t.Skip("starts moto_server; skipped with -short")
	}
	path, err := exec.LookPath("moto_server")
	if err != nil {
		t.Skip("moto_server not found on PATH: install moto (pip install 'moto[server]') to run this second opinion against moto")
	}
	// Take a free port and give it to moto; the window in which another
	// process could take it is short and only fails this test.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	ln.Close()
	cmd := exec.Command(path, "-H", "127.0.0.1", "-p", port)
	if err := cmd.Start(); err != nil {
		t.Fatalf("start moto_server: %v", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-exited
	})
	base := "http://127.0.0.1:" + port
	ctx, cancel := context.WithTimeout(context.Background(), motoStartTimeout)
	defer cancel()
	client := &http.Client{Timeout: time.Second}
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/moto-api/", nil)
		resp, err := client.Do(req)
		if err == nil {
			resp.Body.Close()
			return base
		}
		select {
		case err := <-exited:
			t.Fatalf("moto_server exited before answering on %s: %v", base, err)
		case <-ctx.Done():
			t.Fatalf("moto_server did not answer on %s within %v: %v", base, motoStartTimeout, err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}
