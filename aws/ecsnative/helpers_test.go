package ecsnative_test

import (
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/bluegreen-go/bluegreen"
	"github.com/bluegreen-go/bluegreen/aws/awsfake"
	"github.com/bluegreen-go/bluegreen/aws/ecsnative"
	"github.com/bluegreen-go/bluegreen/bluegreentest"
)

// world is an ECS fake with one ECS-controlled service "web" running
// web:1 behind a load balancer set up for blue/green, reached in process.
type world struct {
	fake   *awsfake.ECS
	client *ecs.Client
	store  bluegreen.Store
}

func newWorld(t *testing.T) *world {
	t.Helper()
	fake := awsfake.NewECSInProcess(awsfake.ECSOptions{})
	client := ecs.NewFromConfig(awsfake.InProcessConfig(fake))
	_, err := client.CreateService(t.Context(), &ecs.CreateServiceInput{Cluster: aws.String("prod"), ServiceName: aws.String("web"),
		TaskDefinition: aws.String("web:1"), DesiredCount: aws.Int32(2), DeploymentController: &ecstypes.DeploymentController{Type: ecstypes.DeploymentControllerTypeEcs},
		LoadBalancers: []ecstypes.LoadBalancer{{TargetGroupArn: aws.String("tg-blue"), ContainerName: aws.String("app"), ContainerPort: aws.Int32(8080),
			AdvancedConfiguration: &ecstypes.AdvancedConfiguration{AlternateTargetGroupArn: aws.String("tg-green"),
				ProductionListenerRule: aws.String("rule-prod"), TestListenerRule: aws.String("rule-test"), RoleArn: aws.String("role-ecs-lb")}}}})
	if err != nil {
		t.Fatal(err)
	}
	return &world{fake: fake, client: client, store: bluegreen.NewMemoryStore()}
}

func (w *world) engine(t *testing.T, mod func(*ecsnative.Options)) *ecsnative.Engine {
	t.Helper()
	o := ecsnative.Options{Client: w.client, Cluster: "prod", Logger: slog.New(slog.DiscardHandler)}
	if mod != nil {
		mod(&o)
	}
	e, err := ecsnative.New(o)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func sequentialIDs() func() string {
	n := 0
	return func() string { n++; return fmt.Sprintf("d%d", n) }
}

func (w *world) config(e bluegreen.Engine, mod func(*bluegreen.Config)) bluegreen.Config {
	cfg := bluegreen.Config{Engine: e, Store: w.store, Owner: "test-owner", NewID: sequentialIDs(),
		Shift: bluegreen.Linear(50, time.Minute), BakeTime: 5 * time.Minute}
	if mod != nil {
		mod(&cfg)
	}
	return cfg
}

func mustNew(t *testing.T, cfg bluegreen.Config) *bluegreen.Deployer {
	t.Helper()
	d, err := bluegreen.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func events(t *testing.T, dep *bluegreen.Deployment) []bluegreen.Event {
	t.Helper()
	var evs []bluegreen.Event
	for ev, err := range dep.Events(t.Context()) {
		if err != nil {
			t.Fatal(err)
		}
		evs = append(evs, ev)
	}
	return evs
}

// summary prints events compactly, as the engine suite does.
func summary(evs []bluegreen.Event) []string { return bluegreentest.EventLines(evs) }

// window returns the run of got that starts with want[0], as long as want.
func window(got, want []string) []string {
	for i := range got {
		if i+len(want) <= len(got) && got[i] == want[0] {
			return got[i : i+len(want)]
		}
	}
	return got
}

func join(lines []string) string { return strings.Join(lines, "\n") }
