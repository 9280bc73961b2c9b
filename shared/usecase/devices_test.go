package usecase_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/abtest/abtest/shared/data/store"
	"github.com/abtest/abtest/shared/data/store/storetest"
	"github.com/abtest/abtest/shared/domain/experiment"
	"github.com/abtest/abtest/shared/usecase/assignment"
	"github.com/abtest/abtest/shared/usecase/erasure"
	"github.com/abtest/abtest/shared/usecase/events"
	"github.com/abtest/abtest/shared/usecase/experiments"
	"github.com/abtest/abtest/shared/usecase/results"
)

// TestDeviceUnitExperiment: a logged-out pricing page buckets by device.
// The device is assigned, exposed and counted; a purchase sent after the
// visitor signs up (the user's id with the same device id) converts the
// device's assignment; results and the recount count devices; erasing the
// device removes its items and its counts, and erasing the user does not.
func TestDeviceUnitExperiment(t *testing.T) {
	ctx := context.Background()
	s := newServices(t)
	device := experiment.UnitDevice
	for _, in := range []experiments.NewInput{
		{Key: "pricing", Name: "Pricing page", Variants: variants(), Events: []string{"purchase"}, Targeting: experiments.Targeting{Unit: &device}},
		{Key: "checkout", Name: "Checkout", Variants: variants(), Events: []string{"purchase"}},
	} {
		if _, err := s.exps.Create(ctx, "admin", in); err != nil {
			t.Fatal(err)
		}
		if _, err := s.exps.Transition(ctx, "admin", in.Key, experiment.Start); err != nil {
			t.Fatal(err)
		}
	}
	assign := func(key string, who experiment.Identity) assignment.Result {
		t.Helper()
		r, err := s.asg.Assign(ctx, key, assignment.Request{Identity: who, Enroll: true})
		if err != nil {
			t.Fatalf("assign %s to %+v: %v", key, who, err)
		}
		return r
	}
	visitor := experiment.Identity{UserID: "anon-7", DeviceID: "dev-1"}

	// Without a device id a device experiment cannot bucket; a user one can.
	_, err := s.asg.Assign(ctx, "pricing", assignment.Request{Identity: experiment.Identity{UserID: "anon-7"}, Enroll: true})
	wantCode(t, err, experiment.CodeDeviceIDRequired)
	_, _, err = s.expo.Expose(ctx, experiment.Identity{UserID: "anon-7"}, "pricing", "", "")
	wantCode(t, err, experiment.CodeDeviceIDRequired)

	first := assign("pricing", visitor)
	if !first.Created || !first.InExperiment {
		t.Fatalf("first device assignment: %+v", first)
	}
	// The device decides, whoever is signed in on it.
	for _, who := range []experiment.Identity{visitor, {UserID: "alice", DeviceID: "dev-1"}} {
		if again := assign("pricing", who); again.Created || again.Variant != first.Variant || again.Reason != "sticky" {
			t.Fatalf("device assignment for %+v: %+v, want sticky %s", who, again, first.Variant)
		}
	}
	if _, err := s.st.GetAssignment(ctx, "pricing", experiment.DeviceUnit("dev-1"), true); err != nil {
		t.Fatalf("the device's assignment: %v", err)
	}
	for _, u := range []experiment.UnitRef{experiment.UserUnit("anon-7"), experiment.UserUnit("alice"), experiment.UserUnit("dev-1")} {
		if _, err := s.st.GetAssignment(ctx, "pricing", u, true); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("pricing assignment stored for %s: %v", u, err)
		}
	}
	// A device id that is also some user's id is another unit.
	assign("checkout", experiment.Identity{UserID: "dev-1"})

	if _, created, err := s.expo.Expose(ctx, visitor, "pricing", "", "seen-1"); err != nil || !created {
		t.Fatalf("device exposure: %v %v", created, err)
	}
	// A second device, exposed; its buyer sends no device id, so nothing
	// ties the purchase to it.
	other := experiment.Identity{UserID: "anon-8", DeviceID: "dev-2"}
	assign("pricing", other)
	if _, _, err := s.expo.Expose(ctx, other, "pricing", "", ""); err != nil {
		t.Fatal(err)
	}
	buy := func(who experiment.Identity, id string) events.Batch {
		t.Helper()
		b, err := s.evs.Record(ctx, who, []events.Input{{Name: "purchase", ID: &id}})
		if err != nil || b.Accepted+b.Duplicates != 1 {
			t.Fatalf("purchase of %+v: %+v %v", who, b, err)
		}
		return b
	}
	// The visitor signed up as alice and buys on the same device.
	buy(experiment.Identity{UserID: "alice", DeviceID: "dev-1"}, "order-1")
	if b := buy(experiment.Identity{UserID: "alice", DeviceID: "dev-1"}, "order-1"); b.Duplicates != 1 {
		t.Fatalf("retried purchase: %+v", b)
	}
	buy(experiment.Identity{UserID: "bob"}, "order-2")

	storetest.Drain(t, s.table)
	want := map[string]results.Variant{}
	rep, err := s.res.Results(ctx, "pricing", "purchase")
	if err != nil {
		t.Fatal(err)
	}
	var assigned, exposed, converted int64
	for _, v := range rep.Variants {
		want[v.Variant] = v
		assigned, exposed, converted = assigned+v.AssignedCount, exposed+v.ExposedCount, converted+v.ConvertedCount
	}
	if assigned != 2 || exposed != 2 || converted != 1 || want[first.Variant].ConvertedCount != 1 {
		t.Fatalf("device results: %+v", rep.Variants)
	}
	if rc, err := s.res.Recount(ctx, "pricing", true); err != nil || !rc.Matched {
		t.Fatalf("recount of a device experiment: %+v %v", rc, err)
	}

	erase := erasure.New(s.st, time.Now)
	if r, err := erase.Erase(ctx, experiment.UserUnit("alice"), "admin", "req-1"); err != nil || r.Erased.Assignments != 0 || r.Erased.Events != 1 {
		t.Fatalf("erasing the user: %+v %v", r, err)
	}
	r, err := erase.Erase(ctx, experiment.DeviceUnit("dev-1"), "admin", "req-2")
	if err != nil || r.Erased.Assignments != 1 || r.Erased.Exposures != 1 || r.Erased.Events != 1 {
		t.Fatalf("erasing the device: %+v %v", r, err)
	}
	_, err = erase.Erase(ctx, experiment.UnitRef{Kind: "cookie", ID: "x"}, "admin", "req-3")
	wantCode(t, err, "VALIDATION_FAILED")
	storetest.Drain(t, s.table)
	rep, err = s.res.Results(ctx, "pricing", "purchase")
	if err != nil {
		t.Fatal(err)
	}
	assigned, converted = 0, 0
	for _, v := range rep.Variants {
		assigned, converted = assigned+v.AssignedCount, converted+v.ConvertedCount
	}
	if assigned != 1 || converted != 0 {
		t.Fatalf("results after erasing the device: %+v", rep.Variants)
	}
	if _, err := s.st.GetAssignment(ctx, "checkout", experiment.UserUnit("dev-1"), true); err != nil {
		t.Fatalf("erasing device dev-1 touched user dev-1: %v", err)
	}
}
