package local_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/bluegreen-go/bluegreen"
	"github.com/bluegreen-go/bluegreen/local"
)

// Run two instances of a program, wait until they answer their health
// checks, and stop them. In a deployment the Deployer makes these calls;
// pass the Compute to bluegreen.New with a router such as the bluegreen
// proxy, given as Options.Targets too.
func Example() {
	ctx := context.Background()
	c, err := local.New(local.Options{LogDir: "/var/log/web"})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close() // stops whatever still runs

	rev, err := local.Spec{
		Command:   "./bin/web", // listens on 127.0.0.1:$PORT
		Instances: 2,
		Readiness: local.Readiness{Path: "/healthz"},
	}.Revision("web:42")
	if err != nil {
		log.Fatal(err)
	}
	env := bluegreen.Environment{Service: "web", Slot: bluegreen.SlotB, Revision: rev, DeploymentID: "d-42"}
	if err := c.ScaleUp(ctx, env); err != nil {
		log.Fatal(err)
	}
	for {
		st, err := c.Status(ctx, env)
		if err != nil {
			log.Fatal(err)
		}
		if st.Ready() {
			break
		}
		if st.Failed {
			log.Fatal(st.Reason) // names the instance and its log file
		}
		time.Sleep(100 * time.Millisecond)
	}
	fmt.Println("serving on", c.Addrs("web", bluegreen.SlotB))
	if err := c.ScaleDown(ctx, env); err != nil {
		log.Fatal(err)
	}
}
