package bluegreen_test

import (
	"testing"
	"testing/synctest"
	"time"

	"github.com/bluegreen-go/bluegreen"
)

func TestSmoke(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWorld(nil)
		w.deployFirst(t, "web")
		d, err := bluegreen.New(w.config(func(c *bluegreen.Config) {
			c.Shift = bluegreen.Linear(25, time.Minute)
			c.BakeTime = 5 * time.Minute
		}))
		if err != nil {
			t.Fatal(err)
		}
		dep, err := d.Start(t.Context(), "web", rev("web:2"))
		if err != nil {
			t.Fatal(err)
		}
		evs := events(t, dep)
		for _, s := range summary(evs) {
			t.Log(s)
		}
		res, err := dep.Wait(t.Context())
		t.Logf("%+v %v", res, err)
		checkInvariants(t, w, "web", evs, 5*time.Minute)
	})
}
