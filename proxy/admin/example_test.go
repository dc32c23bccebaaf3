package admin_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"

	"github.com/bluegreen-go/bluegreen"
	"github.com/bluegreen-go/bluegreen/proxy"
	"github.com/bluegreen-go/bluegreen/proxy/admin"
)

// version starts an instance answering with its version.
func version(v string) *httptest.Server {
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, v) }))
}

// A long-running proxy daemon driven by a short-lived deploy command through
// a Client, over a unix socket.
func ExampleClient() {
	dir, err := os.MkdirTemp("", "bgp")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	// The daemon (cmd/bluegreen-proxy runs the same): a Proxy, and its
	// admin API on a unix socket.
	daemon, err := proxy.New(proxy.Options{
		Addr: "127.0.0.1:0", TestAddr: "off",
		StateFile: filepath.Join(dir, "state.json"),
	})
	if err != nil {
		log.Fatal(err)
	}
	if err := daemon.Start(); err != nil {
		log.Fatal(err)
	}
	defer daemon.Close()
	api, err := admin.Start(daemon, admin.ServerOptions{Addr: "unix:" + filepath.Join(dir, "admin.sock")})
	if err != nil {
		log.Fatal(err)
	}
	defer api.Close()

	// The deploy command: a Client is a bluegreen.Router, Verifier and
	// Monitor, to put in a bluegreen.Config.
	c, err := admin.NewClient(admin.ClientOptions{Addr: api.Addr()})
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	v1 := version("v1")
	defer v1.Close()
	if err := c.SetTargets(ctx, "web", bluegreen.SlotA, []string{v1.Listener.Addr().String()}); err != nil {
		log.Fatal(err)
	}
	r := bluegreen.Routes{Production: bluegreen.AllTo(bluegreen.SlotA)}
	if err := c.SetRoutes(ctx, "web", r); err != nil {
		log.Fatal(err)
	}
	inForce, err := c.Verify(ctx, "web", r)
	fmt.Println("in force:", inForce, err)

	// Bad input is refused with the field and the fix.
	err = c.SetTargets(ctx, "web", bluegreen.SlotB, []string{"ftp://nope"})
	fmt.Println(err)
	// Output:
	// in force: true <nil>
	// bluegreen: invalid addrs[0]: "ftp://nope" has a scheme other than http or https (use "host:port" or "http://host:port", such as "127.0.0.1:8001")
}
