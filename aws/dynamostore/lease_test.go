package dynamostore_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/bluegreen-go/bluegreen"
	"github.com/bluegreen-go/bluegreen/aws/awsfake"
	"github.com/bluegreen-go/bluegreen/aws/dynamostore"
	"github.com/bluegreen-go/bluegreen/bluegreentest"
)

// TestOneDeploymentPerServiceAcrossOwners: four Deployers, each with its own
// owner name and its own SDK client (as separate processes would have),
// start deploying one service at once against one DynamoDB table. Exactly one
// proceeds; every other one is refused with an error naming the holder, and
// the record is intact afterwards.
func TestOneDeploymentPerServiceAcrossOwners(t *testing.T) {
	fake := awsfake.NewDynamoDB()
	fake.AddTable(table, awsfake.KeyAttribute{Name: "service", Type: "S"})
	url := awsfake.ServeTest(t, fake)
	const owners = 4
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		winners []string
		refused []*bluegreen.InProgressError
		deps    []*bluegreen.Deployment
	)
	for i := range owners {
		store, err := dynamostore.New(dynamostore.Options{Client: dynamodb.NewFromConfig(awsfake.Config(url)), Table: table})
		if err != nil {
			t.Fatal(err)
		}
		d, err := bluegreen.New(bluegreen.Config{
			Compute: bluegreentest.NewCompute(bluegreentest.ComputeOptions{}),
			Router:  bluegreentest.NewRouter(bluegreentest.RouterOptions{}),
			Store:   store, Owner: fmt.Sprintf("owner-%d", i),
			// A pause keeps the winner in flight while the others try.
			Hooks: []bluegreen.LifecycleHook{{Name: "hold", Pause: true, Stages: []bluegreen.Stage{bluegreen.StagePostScaleUp}}},
		})
		if err != nil {
			t.Fatal(err)
		}
		wg.Go(func() {
			dep, err := d.Start(context.Background(), "web", bluegreen.Revision{Name: "web:1"})
			mu.Lock()
			defer mu.Unlock()
			var ip *bluegreen.InProgressError
			switch {
			case err == nil:
				winners = append(winners, fmt.Sprintf("owner-%d", i))
				deps = append(deps, dep)
			case errors.As(err, &ip):
				refused = append(refused, ip)
			default:
				t.Errorf("owner-%d: %v, want success or an InProgressError", i, err)
			}
		})
	}
	wg.Wait()
	if len(winners) != 1 || len(refused) != owners-1 {
		t.Fatalf("%d proceeded (%v), %d refused: want exactly one", len(winners), winners, len(refused))
	}
	for _, ip := range refused {
		if ip.Holder != winners[0] {
			t.Errorf("refusal names %q, want the holder %s: %v", ip.Holder, winners[0], ip)
		}
	}
	dep := deps[0]
	for ev := range dep.Events(t.Context()) {
		if ev.Kind == bluegreen.EventPaused {
			break
		}
	}
	if err := dep.Continue(t.Context()); err != nil {
		t.Fatal(err)
	}
	if res, err := dep.Wait(t.Context()); err != nil || res.Live == nil {
		t.Fatalf("the winner's deployment: %+v %v", res, err)
	}
	store, _ := dynamostore.New(dynamostore.Options{Client: dynamodb.NewFromConfig(awsfake.Config(url)), Table: table})
	st, err := bluegreen.ReadState(t.Context(), store, "web")
	if err != nil {
		t.Fatal(err)
	}
	if st.LeaseOwner != "" || st.Live == nil || st.Live.Revision.Name != "web:1" || st.Deployment.Outcome != bluegreen.OutcomeSucceeded {
		t.Errorf("record after the race: lease %q live %v deployment %+v", st.LeaseOwner, st.Live, st.Deployment)
	}
}
