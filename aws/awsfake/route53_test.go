package awsfake

import (
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/route53"
	"github.com/aws/aws-sdk-go-v2/service/route53/types"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/document"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func weighted(name, id string, w int64, value string) types.ResourceRecordSet {
	return types.ResourceRecordSet{Name: aws.String(name), Type: types.RRTypeCname, SetIdentifier: aws.String(id), Weight: aws.Int64(w),
		TTL: aws.Int64(60), ResourceRecords: []types.ResourceRecord{{Value: aws.String(value)}}}
}

func change(action types.ChangeAction, rec types.ResourceRecordSet) types.Change {
	return types.Change{Action: action, ResourceRecordSet: &rec}
}

// TestRoute53 drives the fake with the real client over a loopback
// server: a batch applied atomically, PENDING then INSYNC, listing from a
// name and type with pagination, and the InvalidChangeBatch errors.
func TestRoute53(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := t.Context()
		f := NewRoute53(Route53Options{PropagationDelay: 30 * time.Second})
		zone := f.CreateHostedZone("example.com")
		c := route53.NewFromConfig(InProcessConfig(f))
		out, err := c.ChangeResourceRecordSets(ctx, &route53.ChangeResourceRecordSetsInput{HostedZoneId: aws.String("/hostedzone/" + zone),
			ChangeBatch: &types.ChangeBatch{Changes: []types.Change{
				change(types.ChangeActionCreate, weighted("api.example.com", "a", 200, "a.example.net")),
				change(types.ChangeActionCreate, weighted("api.example.com", "b", 55, "b.example.net")),
				change(types.ChangeActionUpsert, types.ResourceRecordSet{Name: aws.String("z.example.com"), Type: types.RRTypeA,
					AliasTarget: &types.AliasTarget{DNSName: aws.String("lb.elb.amazonaws.com"), HostedZoneId: aws.String("Z35"), EvaluateTargetHealth: true}}),
			}}})
		if err != nil {
			t.Fatal(err)
		}
		if out.ChangeInfo.Status != types.ChangeStatusPending {
			t.Errorf("new change status %s, want PENDING", out.ChangeInfo.Status)
		}
		time.Sleep(29 * time.Second)
		got, err := c.GetChange(ctx, &route53.GetChangeInput{Id: out.ChangeInfo.Id})
		if err != nil || got.ChangeInfo.Status != types.ChangeStatusPending {
			t.Fatalf("GetChange after 29s = %v, %v; want PENDING", got, err)
		}
		time.Sleep(time.Second)
		if got, err := c.GetChange(ctx, &route53.GetChangeInput{Id: out.ChangeInfo.Id}); err != nil || got.ChangeInfo.Status != types.ChangeStatusInsync {
			t.Fatalf("GetChange after 30s = %v, %v; want INSYNC", got, err)
		}

		// Page through the weighted group one record at a time.
		in := &route53.ListResourceRecordSetsInput{HostedZoneId: aws.String(zone), StartRecordName: aws.String("api.example.com"),
			StartRecordType: types.RRTypeCname, MaxItems: aws.Int32(1)}
		var ids []string
		for range 5 {
			page, err := c.ListResourceRecordSets(ctx, in)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range page.ResourceRecordSets {
				ids = append(ids, aws.ToString(r.Name)+"/"+aws.ToString(r.SetIdentifier))
			}
			if !page.IsTruncated {
				break
			}
			in.StartRecordName, in.StartRecordType, in.StartRecordIdentifier = page.NextRecordName, page.NextRecordType, page.NextRecordIdentifier
		}
		if diff := cmp.Diff([]string{"api.example.com./a", "api.example.com./b", "z.example.com./"}, ids); diff != "" {
			t.Errorf("listed (-want +got):\n%s", diff)
		}
		page, err := c.ListResourceRecordSets(ctx, &route53.ListResourceRecordSetsInput{HostedZoneId: aws.String(zone), StartRecordName: aws.String("z.example.com")})
		if err != nil {
			t.Fatal(err)
		}
		want := []types.ResourceRecordSet{{Name: aws.String("z.example.com."), Type: types.RRTypeA,
			AliasTarget: &types.AliasTarget{DNSName: aws.String("lb.elb.amazonaws.com"), HostedZoneId: aws.String("Z35"), EvaluateTargetHealth: true}}}
		if diff := cmp.Diff(want, page.ResourceRecordSets, cmpopts.IgnoreTypes(document.NoSerde{})); diff != "" {
			t.Errorf("alias record (-want +got):\n%s", diff)
		}

		// Refused batches change nothing.
		for _, tc := range []struct {
			name    string
			changes []types.Change
		}{
			{"CreateExisting", []types.Change{change(types.ChangeActionCreate, weighted("api.example.com", "a", 1, "a.example.net"))}},
			{"DeleteMismatch", []types.Change{change(types.ChangeActionDelete, weighted("api.example.com", "a", 1, "a.example.net"))}},
			{"WeightRange", []types.Change{change(types.ChangeActionUpsert, weighted("api.example.com", "a", 256, "a.example.net"))}},
			{"SimpleBesideWeighted", []types.Change{change(types.ChangeActionCreate, types.ResourceRecordSet{Name: aws.String("api.example.com"),
				Type: types.RRTypeCname, TTL: aws.Int64(60), ResourceRecords: []types.ResourceRecord{{Value: aws.String("c.example.net")}}})}},
			{"OutsideZone", []types.Change{change(types.ChangeActionCreate, weighted("api.example.org", "a", 1, "a.example.net"))}},
			{"TwiceInBatch", []types.Change{
				change(types.ChangeActionUpsert, weighted("api.example.com", "b", 1, "b.example.net")),
				change(types.ChangeActionUpsert, weighted("api.example.com", "b", 2, "b.example.net"))}},
		} {
			_, err := c.ChangeResourceRecordSets(ctx, &route53.ChangeResourceRecordSetsInput{HostedZoneId: aws.String(zone),
				ChangeBatch: &types.ChangeBatch{Changes: tc.changes}})
			var icb *types.InvalidChangeBatch
			if !errors.As(err, &icb) || len(icb.Messages) == 0 {
				t.Errorf("%s: %v, want InvalidChangeBatch with messages", tc.name, err)
			}
		}
		if a, _ := f.Record(zone, "api.example.com", "CNAME", "a"); *a.Weight != 200 {
			t.Errorf("after refused batches, a's weight = %d, want 200", *a.Weight)
		}
		_, err = c.GetChange(ctx, &route53.GetChangeInput{Id: aws.String("C404")})
		var nsc *types.NoSuchChange
		if !errors.As(err, &nsc) {
			t.Errorf("GetChange of an unknown change = %v, want NoSuchChange", err)
		}
		_, err = c.ListResourceRecordSets(ctx, &route53.ListResourceRecordSetsInput{HostedZoneId: aws.String("Z404")})
		var nsz *types.NoSuchHostedZone
		if !errors.As(err, &nsz) {
			t.Errorf("List in an unknown zone = %v, want NoSuchHostedZone", err)
		}
	})
}

// TestRoute53Loopback checks the fake over a real loopback server, and a
// fault the SDK does not retry.
func TestRoute53Loopback(t *testing.T) {
	f := NewRoute53(Route53Options{})
	f.URL = ServeTest(t, f)
	zone := f.CreateHostedZone("example.com")
	c := route53.NewFromConfig(Config(f.URL))
	f.Faults.Add(Rule{Op: "ListResourceRecordSets", Fault: Fault{Status: 403, Code: "AccessDenied", Message: "no"}, Times: 1})
	_, err := c.ListResourceRecordSets(t.Context(), &route53.ListResourceRecordSetsInput{HostedZoneId: aws.String(zone)})
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != "AccessDenied" {
		t.Errorf("injected fault = %v, want AccessDenied", err)
	}
	if _, err := c.ListResourceRecordSets(t.Context(), &route53.ListResourceRecordSetsInput{HostedZoneId: aws.String(zone)}); err != nil {
		t.Error(err)
	}
	if diff := cmp.Diff(map[string]int{"ListResourceRecordSets": 2}, f.Faults.Calls()); diff != "" {
		t.Errorf("calls (-want +got):\n%s", diff)
	}
}
