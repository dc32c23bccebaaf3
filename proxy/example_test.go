package proxy_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"

	"github.com/bluegreen-go/bluegreen"
	"github.com/bluegreen-go/bluegreen/proxy"
)

// version starts an instance answering with its version.
func version(v string) *httptest.Server {
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, v) }))
}

// A proxy in the deploying process: v1 in slot A takes all traffic, then v2
// in slot B gets a 10% canary and the test route.
func Example() {
	v1, v2 := version("v1"), version("v2")
	defer v1.Close()
	defer v2.Close()

	p, err := proxy.New(proxy.Options{Addr: "127.0.0.1:0", TestAddr: "127.0.0.1:0"})
	if err != nil {
		log.Fatal(err)
	}
	if err := p.Start(); err != nil {
		log.Fatal(err)
	}
	defer p.Close()

	ctx := context.Background()
	must := func(err error) {
		if err != nil {
			log.Fatal(err)
		}
	}
	must(p.SetTargets(ctx, "web", bluegreen.SlotA, []string{v1.Listener.Addr().String()}))
	must(p.SetRoutes(ctx, "web", bluegreen.Routes{Production: bluegreen.AllTo(bluegreen.SlotA)}))
	must(p.SetTargets(ctx, "web", bluegreen.SlotB, []string{v2.Listener.Addr().String()}))
	must(p.SetRoutes(ctx, "web", bluegreen.Routes{Production: bluegreen.Split(bluegreen.SlotB, bluegreen.Percent(10)), Test: bluegreen.SlotB}))

	counts := map[string]int{}
	for range 1000 {
		res, err := http.Get("http://" + p.Addr() + "/")
		must(err)
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		counts[string(b)]++
	}
	fmt.Println("production:", counts)

	res, err := http.Get("http://" + p.TestAddr() + "/")
	must(err)
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	fmt.Println("test listener:", string(b))
	// Output:
	// production: map[v1:900 v2:100]
	// test listener: v2
}
