package main

import (
	"fmt"
	"io"
	"net/http/httptest"
)

// The app answers with its version; with a fail rate of 0.5 every second
// request fails, deterministically.
func Example() {
	a := newApp(config{version: "web:2", failRate: 0.5})
	h := a.routes()
	for range 4 {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
		body, _ := io.ReadAll(rec.Body)
		fmt.Printf("%d %s", rec.Code, body)
	}
	// Output:
	// 200 web:2
	// 500 injected failure (fail-rate 0.5)
	// 200 web:2
	// 500 injected failure (fail-rate 0.5)
}
