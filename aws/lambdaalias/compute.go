package lambdaalias

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/bluegreen-go/bluegreen"
)

// ScaleUp publishes the version env runs and records it in env's slot
// alias. With Spec.Version it records that version; otherwise it updates
// the function's code (UpdateFunctionCode), waits for the update to finish
// and publishes a version whose description records env's deployment. It
// is idempotent: a slot alias that already records env's deployment means
// the work is done, and a ScaleUp repeated after a crash between publishing
// and recording gets the same version back, since Lambda publishes no new
// version of unchanged code. A code update that fails is not published:
// Status reports it Failed, with Lambda's reason.
func (b *Backend) ScaleUp(ctx context.Context, env bluegreen.Environment) error {
	fn, err := b.function(env.Service)
	if err != nil {
		return err
	}
	if !env.Slot.Valid() {
		return &bluegreen.ConfigError{Field: "Environment.Slot", Problem: fmt.Sprintf("%q", env.Slot), Fix: `use "A" or "B"`}
	}
	spec, err := ParseSpec(env.Revision)
	if err != nil {
		return err
	}
	rec := slotRecord{DeploymentID: env.DeploymentID, Revision: env.Revision.Name}
	desc, err := rec.describe()
	if err != nil {
		return err
	}
	v, err := b.read(ctx, fn)
	if err != nil {
		return err
	}
	i := slotIndex(env.Slot)
	if v.slots[i] != nil && v.records[i].DeploymentID == env.DeploymentID {
		return nil
	}
	if v.adopted {
		// The first deployment over a production alias made by someone
		// else: record its version in the other slot, so that routes and
		// the environment's status keep telling the two apart.
		if err := b.adopt(ctx, fn, v, env.Slot.Other()); err != nil {
			return err
		}
	}
	key := failKey{fn, string(env.Slot), env.DeploymentID}
	var version string
	if spec.Version != "" {
		out, err := b.opts.Client.GetFunctionConfiguration(ctx, &lambda.GetFunctionConfigurationInput{FunctionName: aws.String(fn), Qualifier: aws.String(spec.Version)})
		if err != nil {
			return fmt.Errorf("lambdaalias: version %s of %s: %w", spec.Version, fn, err)
		}
		version = aws.ToString(out.Version)
	} else {
		var reason string
		version, reason, err = b.publish(ctx, fn, spec, desc)
		if err != nil {
			return err
		}
		if reason != "" {
			b.mu.Lock()
			b.failed[key] = reason
			b.mu.Unlock()
			b.opts.Logger.DebugContext(ctx, "lambda code update failed", "function", fn, "deployment", env.DeploymentID, "reason", reason)
			return nil
		}
	}
	if err := b.putAlias(ctx, fn, b.slotAlias(env.Slot), v.slots[i], version, nil, desc); err != nil {
		return err
	}
	b.opts.Logger.DebugContext(ctx, "lambda version recorded in slot", "function", fn, "slot", env.Slot, "version", version, "deployment", env.DeploymentID)
	return nil
}

// adopt records the version an adopted production alias serves in slot s.
func (b *Backend) adopt(ctx context.Context, fn string, v view, s bluegreen.Slot) error {
	ver, ok := v.version(s)
	if !ok {
		return bluegreen.NewError(bluegreen.CodeFailedPrecondition, fmt.Errorf("lambdaalias: %s: alias %s routes to version %s, taken to be in slot %s, where green would start",
			fn, b.opts.Alias, v.implicit[slotIndex(s.Other())], s.Other()))
	}
	desc, err := slotRecord{DeploymentID: adoptedID(ver), Revision: shortName(fn) + ":" + ver}.describe()
	if err != nil {
		return err
	}
	return b.putAlias(ctx, fn, b.slotAlias(s), nil, ver, nil, desc)
}

// publish installs spec's code and publishes it. reason is set, and no
// version, if the code update failed.
func (b *Backend) publish(ctx context.Context, fn string, spec Spec, desc string) (version, reason string, err error) {
	var out *lambda.UpdateFunctionCodeOutput
	for attempt := 1; ; attempt++ {
		out, err = b.opts.Client.UpdateFunctionCode(ctx, spec.updateInput(fn))
		var conflict *lambdatypes.ResourceConflictException
		if err == nil || !errors.As(err, &conflict) || attempt == 3 {
			break
		}
		// An update is in progress (ours, before a crash, or someone
		// else's): wait for it to end, then update again.
		if _, err := b.settled(ctx, fn); err != nil {
			return "", "", err
		}
	}
	if err != nil {
		return "", "", fmt.Errorf("lambdaalias: UpdateFunctionCode %s: %w", fn, err)
	}
	cfg := configOf(out)
	if cfg.LastUpdateStatus == lambdatypes.LastUpdateStatusInProgress {
		if cfg, err = b.settled(ctx, fn); err != nil {
			return "", "", err
		}
	}
	if cfg.LastUpdateStatus == lambdatypes.LastUpdateStatusFailed {
		return "", fmt.Sprintf("code update of %s failed (%s): %s", fn, cfg.LastUpdateStatusReasonCode, cfg.LastUpdateStatusReason), nil
	}
	pub, err := b.opts.Client.PublishVersion(ctx, &lambda.PublishVersionInput{FunctionName: aws.String(fn),
		CodeSha256: out.CodeSha256, Description: aws.String(desc)})
	if err != nil {
		var pre *lambdatypes.PreconditionFailedException
		if errors.As(err, &pre) {
			return "", "", bluegreen.NewError(bluegreen.CodeConflict,
				fmt.Errorf("lambdaalias: %s: the function's code changed while it was being deployed (someone else updated it): %w", fn, err))
		}
		return "", "", fmt.Errorf("lambdaalias: PublishVersion %s: %w", fn, err)
	}
	return aws.ToString(pub.Version), "", nil
}

// config is what ScaleUp needs of a function configuration.
type config struct {
	LastUpdateStatus           lambdatypes.LastUpdateStatus
	LastUpdateStatusReason     string
	LastUpdateStatusReasonCode lambdatypes.LastUpdateStatusReasonCode
}

func configOf(out *lambda.UpdateFunctionCodeOutput) config {
	return config{out.LastUpdateStatus, aws.ToString(out.LastUpdateStatusReason), out.LastUpdateStatusReasonCode}
}

// settled polls $LATEST until no update is in progress, for at most
// UpdateTimeout.
func (b *Backend) settled(ctx context.Context, fn string) (config, error) {
	deadline := time.Now().Add(b.opts.UpdateTimeout)
	for {
		out, err := b.opts.Client.GetFunctionConfiguration(ctx, &lambda.GetFunctionConfigurationInput{FunctionName: aws.String(fn)})
		if err != nil {
			return config{}, fmt.Errorf("lambdaalias: GetFunctionConfiguration %s: %w", fn, err)
		}
		if out.LastUpdateStatus != lambdatypes.LastUpdateStatusInProgress {
			return config{out.LastUpdateStatus, aws.ToString(out.LastUpdateStatusReason), out.LastUpdateStatusReasonCode}, nil
		}
		if !time.Now().Before(deadline) {
			return config{}, bluegreen.NewError(bluegreen.CodeTimeout,
				fmt.Errorf("lambdaalias: the code update of %s is still in progress after %v", fn, b.opts.UpdateTimeout))
		}
		t := time.NewTimer(b.opts.PollInterval)
		select {
		case <-ctx.Done():
			t.Stop()
			return config{}, ctx.Err()
		case <-t.C:
		}
	}
}

// putAlias points alias name at version with weights and desc, creating it
// if cur (its current state) is nil. It does nothing if it already is so.
func (b *Backend) putAlias(ctx context.Context, fn, name string, cur *alias, version string, weights map[string]float64, desc string) error {
	if cur == nil {
		_, err := b.opts.Client.CreateAlias(ctx, &lambda.CreateAliasInput{FunctionName: aws.String(fn), Name: aws.String(name),
			FunctionVersion: aws.String(version), Description: aws.String(desc), RoutingConfig: nonEmpty(weights)})
		if err != nil {
			return fmt.Errorf("lambdaalias: CreateAlias %s:%s: %w", fn, name, err)
		}
		return nil
	}
	if cur.version == version && cur.description == desc && sameWeights(cur.weights, weights) {
		return nil
	}
	_, err := b.opts.Client.UpdateAlias(ctx, &lambda.UpdateAliasInput{FunctionName: aws.String(fn), Name: aws.String(name),
		FunctionVersion: aws.String(version), Description: aws.String(desc), RoutingConfig: routing(weights), RevisionId: aws.String(cur.revisionID)})
	if err != nil {
		return fmt.Errorf("lambdaalias: UpdateAlias %s:%s: %w", fn, name, err)
	}
	return nil
}

func nonEmpty(weights map[string]float64) *lambdatypes.AliasRoutingConfiguration {
	if len(weights) == 0 {
		return nil
	}
	return routing(weights)
}

func sameWeights(a, b map[string]float64) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || fromFloat(w) != fromFloat(v) {
			return false
		}
	}
	return true
}

// deleteAlias deletes alias name; a missing alias is no error.
func (b *Backend) deleteAlias(ctx context.Context, fn, name string) error {
	_, err := b.opts.Client.DeleteAlias(ctx, &lambda.DeleteAliasInput{FunctionName: aws.String(fn), Name: aws.String(name)})
	var nf *lambdatypes.ResourceNotFoundException
	if err != nil && !errors.As(err, &nf) {
		return fmt.Errorf("lambdaalias: DeleteAlias %s:%s: %w", fn, name, err)
	}
	return nil
}

// Status reports the version env's slot alias records: Desired, Running and
// Healthy are 1 when the version's State is Active and its last update
// Successful; Failed, with the reason, when either failed (or the code
// update ScaleUp ran failed); 0 running while it is Pending. An environment
// whose slot alias records another deployment, or none, reports the zero
// Status.
func (b *Backend) Status(ctx context.Context, env bluegreen.Environment) (bluegreen.Status, error) {
	fn, err := b.function(env.Service)
	if err != nil {
		return bluegreen.Status{}, err
	}
	v, err := b.read(ctx, fn)
	if err != nil {
		return bluegreen.Status{}, err
	}
	version, ok := v.version(env.Slot)
	if !ok || v.deployment(env.Slot) != env.DeploymentID {
		b.mu.Lock()
		reason, failed := b.failed[failKey{fn, string(env.Slot), env.DeploymentID}]
		b.mu.Unlock()
		if failed {
			return bluegreen.Status{Desired: 1, Failed: true, Reason: reason}, nil
		}
		return bluegreen.Status{}, nil
	}
	return b.versionStatus(ctx, fn, version)
}

// versionStatus reads the state of one version.
func (b *Backend) versionStatus(ctx context.Context, fn, version string) (bluegreen.Status, error) {
	out, err := b.opts.Client.GetFunctionConfiguration(ctx, &lambda.GetFunctionConfigurationInput{FunctionName: aws.String(fn), Qualifier: aws.String(version)})
	var nf *lambdatypes.ResourceNotFoundException
	if errors.As(err, &nf) {
		return bluegreen.Status{Desired: 1, Failed: true, Reason: fmt.Sprintf("version %s of %s was deleted", version, fn)}, nil
	}
	if err != nil {
		return bluegreen.Status{}, fmt.Errorf("lambdaalias: GetFunctionConfiguration %s:%s: %w", fn, version, err)
	}
	where := fmt.Sprintf("version %s of %s", version, fn)
	switch {
	case out.State == lambdatypes.StateFailed:
		return bluegreen.Status{Desired: 1, Failed: true, Reason: fmt.Sprintf("%s failed (%s): %s", where, out.StateReasonCode, aws.ToString(out.StateReason))}, nil
	case out.LastUpdateStatus == lambdatypes.LastUpdateStatusFailed:
		return bluegreen.Status{Desired: 1, Failed: true,
			Reason: fmt.Sprintf("%s: update failed (%s): %s", where, out.LastUpdateStatusReasonCode, aws.ToString(out.LastUpdateStatusReason))}, nil
	case out.State == lambdatypes.StateInactive:
		return bluegreen.Status{Desired: 1, Running: 1, Reason: where + " is Inactive (idle); it becomes Active when next invoked"}, nil
	case out.State != "" && out.State != lambdatypes.StateActive,
		out.LastUpdateStatus == lambdatypes.LastUpdateStatusInProgress:
		return bluegreen.Status{Desired: 1, Reason: fmt.Sprintf("%s is %s (last update %s): %s", where, out.State, out.LastUpdateStatus, aws.ToString(out.StateReason))}, nil
	}
	return bluegreen.Status{Desired: 1, Running: 1, Healthy: 1}, nil
}

// ScaleDown removes env's slot alias, if it still records env's deployment
// (aliases that route traffic are the router's), and with
// Options.DeleteVersions deletes its version unless another alias still
// routes to it. It is idempotent.
func (b *Backend) ScaleDown(ctx context.Context, env bluegreen.Environment) error {
	fn, err := b.function(env.Service)
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	b.mu.Lock()
	delete(b.failed, failKey{fn, string(env.Slot), env.DeploymentID})
	b.mu.Unlock()
	v, err := b.read(ctx, fn)
	if err != nil {
		return err
	}
	version, ok := v.version(env.Slot)
	if !ok || v.deployment(env.Slot) != env.DeploymentID {
		return nil
	}
	if v.slots[slotIndex(env.Slot)] != nil {
		if err := b.deleteAlias(ctx, fn, b.slotAlias(env.Slot)); err != nil {
			return err
		}
	}
	b.opts.Logger.DebugContext(ctx, "lambda slot released", "function", fn, "slot", env.Slot, "version", version, "deployment", env.DeploymentID)
	if !b.opts.DeleteVersions {
		return nil
	}
	_, err = b.opts.Client.DeleteFunction(ctx, &lambda.DeleteFunctionInput{FunctionName: aws.String(fn), Qualifier: aws.String(version)})
	var (
		conflict *lambdatypes.ResourceConflictException
		nf       *lambdatypes.ResourceNotFoundException
	)
	switch {
	case err == nil:
		b.opts.Logger.DebugContext(ctx, "lambda version deleted", "function", fn, "version", version)
	case errors.As(err, &conflict): // another alias routes to it: keep it
	case errors.As(err, &nf):
	default:
		return fmt.Errorf("lambdaalias: DeleteFunction %s:%s: %w", fn, version, err)
	}
	return nil
}
