package aws_test

import (
	"encoding/json"
	"errors"
	"maps"
	"os"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/bluegreen-go/bluegreen"
	"github.com/bluegreen-go/bluegreen/aws/awsfake"
	"github.com/bluegreen-go/bluegreen/aws/cwmetrics"
	"github.com/bluegreen-go/bluegreen/aws/cwmonitor"
	"github.com/bluegreen-go/bluegreen/aws/dynamostore"
	"github.com/bluegreen-go/bluegreen/aws/ecscompute"
	"github.com/bluegreen-go/bluegreen/aws/elbrouter"
	"github.com/bluegreen-go/bluegreen/aws/lambdahook"
	"github.com/bluegreen-go/bluegreen/driver"
	"github.com/google/go-cmp/cmp"
)

// policyActions reads the actions of iam-policy.json, checking that every
// statement allows and that no action is listed twice.
func policyActions(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile("iam-policy.json")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Version   string
		Statement []struct {
			Sid      string
			Effect   string
			Action   []string
			Resource string
		}
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatalf("iam-policy.json: %v", err)
	}
	if doc.Version != "2012-10-17" {
		t.Errorf("iam-policy.json: Version %q, want 2012-10-17", doc.Version)
	}
	var actions []string
	for _, st := range doc.Statement {
		if st.Effect != "Allow" {
			t.Errorf("iam-policy.json: statement %s has Effect %q, want Allow", st.Sid, st.Effect)
		}
		for _, a := range st.Action {
			if slices.Contains(actions, a) {
				t.Errorf("iam-policy.json: %s listed twice", a)
			}
			actions = append(actions, a)
		}
	}
	slices.Sort(actions)
	return actions
}

// adapterActions returns the IAM actions of every method of the client
// interfaces the adapters' options take: all the adapters can ever call.
func adapterActions() []string {
	clients := []struct {
		options reflect.Type
		field   string
		prefix  string
	}{
		{reflect.TypeFor[ecscompute.Options](), "ECS", "ecs"},
		{reflect.TypeFor[ecscompute.Options](), "ELB", "elasticloadbalancing"},
		{reflect.TypeFor[ecscompute.Options](), "AutoScaling", "application-autoscaling"},
		{reflect.TypeFor[elbrouter.Options](), "Client", "elasticloadbalancing"},
		{reflect.TypeFor[lambdahook.Options](), "Client", "lambda"},
		{reflect.TypeFor[cwmonitor.Options](), "Client", "cloudwatch"},
		{reflect.TypeFor[cwmetrics.Options](), "Client", "cloudwatch"},
		{reflect.TypeFor[dynamostore.Options](), "Client", "dynamodb"},
	}
	set := map[string]bool{}
	for _, c := range clients {
		f, ok := c.options.FieldByName(c.field)
		if !ok || f.Type.Kind() != reflect.Interface {
			panic(c.options.String() + "." + c.field + " is not an interface field")
		}
		for m := range f.Type.Methods() {
			set[iamAction(c.prefix, m.Name)] = true
		}
	}
	return slices.Sorted(maps.Keys(set))
}

// TestIAMPolicy checks that iam-policy.json allows exactly the actions of
// the API calls the adapters make: the methods of the client interfaces
// they take, each of which the deployments below are seen to call through
// the fakes (cwmetrics by one Check), and nothing else.
func TestIAMPolicy(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	web := w.addService(t, "web", false) // listener rules
	api := w.addService(t, "api", true)  // listeners' default actions
	d := w.deployer(t, []service{web, api}, tuning{shift: bluegreen.Linear(50, 0)})
	for _, s := range []service{web, api} {
		firstDeployment(t, w, d, s)
	}
	res, err, evs := deploy(t, d, web.name, revision(web.name, 2))
	if err != nil {
		t.Fatalf("web:2: %s, %v (stages %s)", res.Outcome, err, stages(evs))
	}
	// A revision whose tasks cannot start: the adapter reads the stopped
	// tasks to tell, and the deployment rolls back.
	w.ecs.FailTaskDefinition("web:3", "CannotPullContainerError: pull image manifest has been retried 5 time(s)")
	res, err, evs = deploy(t, d, web.name, revision(web.name, 3))
	if !errors.Is(err, bluegreen.ErrRolledBack) || res.Rollback == nil || res.Rollback.Trigger != bluegreen.TriggerHealth {
		t.Fatalf("web:3 with failing tasks: %s, %v (stages %s); want a rollback for health", res.Outcome, err, stages(evs))
	}

	// A metrics monitor on web's green target group, checked once through
	// the same CloudWatch fake.
	metrics, err := cwmetrics.New(cwmetrics.Options{Client: w.cwClient,
		Metrics:      []cwmetrics.Metric{{ID: "errors", Namespace: "AWS/ApplicationELB", MetricName: "HTTPCode_Target_5XX_Count"}},
		TargetGroups: map[bluegreen.Slot]string{bluegreen.SlotA: "targetgroup/web-a/1", bluegreen.SlotB: "targetgroup/web-b/2"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := metrics.Check(t.Context(), bluegreen.MonitorInput{Service: web.name, Green: bluegreen.Environment{Service: web.name, Slot: bluegreen.SlotB}}); err != nil {
		t.Fatalf("cwmetrics: %v", err)
	}

	// A fleet replica (Deployer.Run) lists unfinished deployments from the
	// table's index, as dynamostore's CreateTableInput makes it.
	if err := w.ddb.AddGlobalSecondaryIndex(table, awsfake.GlobalSecondaryIndex{Name: "unfinished", Projection: "KEYS_ONLY",
		Key: []awsfake.KeyAttribute{{Name: "unfinishedShard", Type: "S"}, {Name: "service", Type: "S"}}}); err != nil {
		t.Fatal(err)
	}
	store, err := dynamostore.New(dynamostore.Options{Client: w.ddbClient, Table: table})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.Unfinished(t.Context()); err != nil {
		t.Fatalf("dynamostore: %v", err)
	}
	// A Deployer deletes its heartbeat record once it drives nothing (the
	// root package's tests show when); here the call itself.
	beat := driver.Record{Service: bluegreen.ReplicaKey("r1"), Lease: driver.Lease{Owner: "r1", Expires: time.Now().Add(time.Minute)}}
	v, err := store.Save(t.Context(), beat)
	if err != nil {
		t.Fatalf("dynamostore: %v", err)
	}
	if err := store.Delete(t.Context(), beat.Service, v); err != nil {
		t.Fatalf("dynamostore: %v", err)
	}

	observed := slices.Sorted(maps.Keys(w.calls()))
	derived := adapterActions()
	if diff := cmp.Diff(derived, observed); diff != "" {
		t.Errorf("actions of the adapters' client interfaces (-) against the calls observed (+):\n%s", diff)
	}
	if diff := cmp.Diff(derived, policyActions(t)); diff != "" {
		t.Errorf("actions the adapters call (-) against iam-policy.json (+):\n%s", diff)
	}
}
