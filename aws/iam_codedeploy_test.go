package aws_test

import (
	"context"
	"errors"
	"maps"
	"reflect"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/codedeploy"
	"github.com/bluegreen-go/bluegreen"
	"github.com/bluegreen-go/bluegreen/aws/awsfake"
	"github.com/bluegreen-go/bluegreen/aws/codedeployengine"
	"github.com/google/go-cmp/cmp"
)

// lostCreate loses the first CreateDeployment answer, so that a Reconcile
// finds the deployment by its marker (ListDeployments).
type lostCreate struct {
	*codedeploy.Client
	lost bool
}

func (c *lostCreate) CreateDeployment(ctx context.Context, in *codedeploy.CreateDeploymentInput, optFns ...func(*codedeploy.Options)) (*codedeploy.CreateDeploymentOutput, error) {
	out, err := c.Client.CreateDeployment(ctx, in, optFns...)
	if err == nil && !c.lost {
		c.lost = true
		return nil, errors.New("answer lost")
	}
	return out, err
}

// TestIAMPolicyCodeDeploy checks that iam-policy-codedeploy.json allows
// exactly the actions codedeployengine calls: those of its client
// interface, each seen called through the fake by deployments (one whose
// CreateDeployment answer is lost and is found again by Reconcile, with
// Go hooks at both waits; one rolled back by a failing hook, which stops
// the deployment).
func TestIAMPolicyCodeDeploy(t *testing.T) {
	observed := map[string]int{}
	synctest.Test(t, func(t *testing.T) {
		ctx := t.Context()
		cd := awsfake.NewCodeDeploy(awsfake.CodeDeployOptions{})
		cd.CreateDeploymentGroup(awsfake.CodeDeployGroup{Application: "shop", Name: "web", Cluster: "prod", Service: "web", ReadyWait: time.Hour, TerminationWait: time.Hour})
		e, err := codedeployengine.New(codedeployengine.Options{Client: &lostCreate{Client: codedeploy.NewFromConfig(awsfake.InProcessConfig(cd))},
			Services: map[string]codedeployengine.Service{"web": {Application: "shop", DeploymentGroup: "web", ContainerName: "web", ContainerPort: 8080}}})
		if err != nil {
			t.Fatal(err)
		}
		store := bluegreen.NewMemoryStore()
		hook := func(result bluegreen.HookStatus) bluegreen.Hook {
			return bluegreen.HookFunc(func(context.Context, bluegreen.HookInput) (bluegreen.HookResult, error) {
				return bluegreen.HookResult{Status: result}, nil
			})
		}
		cfg := func(owner string, verdict bluegreen.HookStatus) bluegreen.Config {
			return bluegreen.Config{Engine: e, Store: store, Owner: owner, Shift: bluegreen.Linear(10, time.Minute), BakeTime: 5 * time.Minute,
				Hooks: []bluegreen.LifecycleHook{
					{Name: "smoke", Hook: hook(bluegreen.HookSucceeded), Stages: []bluegreen.Stage{bluegreen.StagePostTestTrafficShift}},
					{Name: "verdict", Hook: hook(verdict), Stages: []bluegreen.Stage{bluegreen.StagePostProductionTrafficShift}},
				}}
		}
		d1, err := bluegreen.New(cfg("one", bluegreen.HookSucceeded))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := d1.Deploy(ctx, "web", bluegreen.Revision{Name: "web:2"}); err == nil {
			t.Fatal("the lost answer went unnoticed")
		}
		time.Sleep(2 * time.Minute)
		if res, err := d1.Reconcile(ctx, "web"); err != nil || res.Outcome != bluegreen.OutcomeSucceeded {
			t.Fatalf("Reconcile: %v %+v", err, res)
		}
		d2, err := bluegreen.New(cfg("two", bluegreen.HookFailed))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := d2.Deploy(ctx, "web", bluegreen.Revision{Name: "web:3"}); !errors.Is(err, bluegreen.ErrRolledBack) {
			t.Fatalf("web:3: %v", err)
		}
		for op, n := range cd.Faults.Calls() {
			observed[iamAction("codedeploy", op)] += n
		}
	})
	derived := interfaceActions(clientField{reflect.TypeFor[codedeployengine.Options](), "Client", "codedeploy"})
	if diff := cmp.Diff(derived, slices.Sorted(maps.Keys(observed))); diff != "" {
		t.Errorf("actions of the client interface (-) against the calls observed (+):\n%s", diff)
	}
	if diff := cmp.Diff(derived, policyFileActions(t, "iam-policy-codedeploy.json")); diff != "" {
		t.Errorf("actions codedeployengine calls (-) against iam-policy-codedeploy.json (+):\n%s", diff)
	}
}
