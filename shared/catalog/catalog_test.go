package catalog

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/abtest/abtest/shared/experiment"
	"github.com/abtest/abtest/shared/store"
)

// fakeSource serves definitions from a map and counts reads per key.
type fakeSource struct {
	mu    sync.Mutex
	exps  map[string]experiment.Experiment
	err   error // returned for every key when set
	calls map[string]int
}

func newFakeSource(exps ...experiment.Experiment) *fakeSource {
	s := &fakeSource{exps: map[string]experiment.Experiment{}, calls: map[string]int{}}
	for _, e := range exps {
		s.exps[e.Key] = e
	}
	return s
}

func (s *fakeSource) GetExperiment(_ context.Context, key string) (*experiment.Experiment, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls[key]++
	if s.err != nil {
		return nil, s.err
	}
	e, ok := s.exps[key]
	if !ok {
		return nil, fmt.Errorf("get experiment %q: %w", key, store.ErrNotFound)
	}
	return &e, nil
}

func (s *fakeSource) set(e experiment.Experiment) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.exps[e.Key] = e
}

func (s *fakeSource) setErr(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.err = err
}

func (s *fakeSource) count(key string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[key]
}

// fakeClock is a settable clock for the unexported now field.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func exp(key string, status experiment.Status, version int64) experiment.Experiment {
	return experiment.Experiment{Key: key, Status: status, Version: version,
		Variants: []experiment.Variant{{Key: "control", Weight: 1}}, Coverage: 1}
}

func newTestCatalog(src Source, ttl time.Duration) (*Catalog, *fakeClock) {
	c := New(src, ttl)
	clk := &fakeClock{t: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)}
	c.now = clk.now
	return c, clk
}

func TestGetCachesWithinTTL(t *testing.T) {
	src := newFakeSource(exp("a", experiment.Active, 1))
	c, clk := newTestCatalog(src, 3*time.Second)
	ctx := context.Background()
	var first *experiment.Experiment
	for i := 0; i < 10; i++ {
		got, err := c.Get(ctx, "a")
		if err != nil {
			t.Fatalf("Get %d: %v", i, err)
		}
		if first == nil {
			first = got
		} else if got != first {
			t.Errorf("Get %d returned a different snapshot", i)
		}
		clk.advance(299 * time.Millisecond) // stays under 3s in total
	}
	if n := src.count("a"); n != 1 {
		t.Errorf("source reads = %d, want 1", n)
	}
}

func TestGetExpiry(t *testing.T) {
	const ttl = 3 * time.Second
	cases := []struct {
		name      string
		advance   time.Duration
		wantReads int
	}{
		{"just before ttl", ttl - time.Nanosecond, 1},
		{"exactly ttl", ttl, 2},
		{"after ttl", ttl + time.Second, 2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			src := newFakeSource(exp("a", experiment.Active, 1))
			c, clk := newTestCatalog(src, ttl)
			ctx := context.Background()
			if _, err := c.Get(ctx, "a"); err != nil {
				t.Fatal(err)
			}
			src.set(exp("a", experiment.Active, 2))
			clk.advance(tc.advance)
			got, err := c.Get(ctx, "a")
			if err != nil {
				t.Fatal(err)
			}
			if n := src.count("a"); n != tc.wantReads {
				t.Errorf("source reads = %d, want %d", n, tc.wantReads)
			}
			wantVersion := int64(tc.wantReads) // the second read sees version 2
			if got.Version != wantVersion {
				t.Errorf("version = %d, want %d", got.Version, wantVersion)
			}
			// Whatever was served is now cached: a repeat Get does not read.
			if _, err := c.Get(ctx, "a"); err != nil {
				t.Fatal(err)
			}
			if n := src.count("a"); n != tc.wantReads {
				t.Errorf("repeat Get: source reads = %d, want %d", n, tc.wantReads)
			}
		})
	}
}

func TestFreshAlwaysReadsAndRefreshes(t *testing.T) {
	src := newFakeSource(exp("a", experiment.Active, 1))
	c, clk := newTestCatalog(src, time.Minute)
	ctx := context.Background()
	if _, err := c.Get(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	src.set(exp("a", experiment.Paused, 2))
	for i := 0; i < 3; i++ {
		got, err := c.Fresh(ctx, "a")
		if err != nil {
			t.Fatal(err)
		}
		if got.Version != 2 || got.Status != experiment.Paused {
			t.Errorf("Fresh = %+v, want version 2 paused", got)
		}
	}
	if n := src.count("a"); n != 4 {
		t.Errorf("source reads = %d, want 4 (1 Get + 3 Fresh)", n)
	}
	// Get now serves what Fresh stored, without reading.
	clk.advance(30 * time.Second)
	got, err := c.Get(ctx, "a")
	if err != nil {
		t.Fatal(err)
	}
	if got.Version != 2 || src.count("a") != 4 {
		t.Errorf("Get after Fresh: version %d, reads %d", got.Version, src.count("a"))
	}
}

func TestZeroTTLDisablesCaching(t *testing.T) {
	for _, ttl := range []time.Duration{0, -time.Second} {
		t.Run(ttl.String(), func(t *testing.T) {
			src := newFakeSource(exp("a", experiment.Active, 1))
			c, _ := newTestCatalog(src, ttl)
			for i := 0; i < 5; i++ {
				if _, err := c.Get(context.Background(), "a"); err != nil {
					t.Fatal(err)
				}
			}
			if n := src.count("a"); n != 5 {
				t.Errorf("source reads = %d, want 5", n)
			}
			if len(c.entries) != 0 {
				t.Errorf("entries cached with ttl %v", ttl)
			}
		})
	}
}

func TestArchivedIsNotFoundAndDropped(t *testing.T) {
	for _, viaFresh := range []bool{false, true} {
		t.Run(fmt.Sprintf("fresh=%v", viaFresh), func(t *testing.T) {
			src := newFakeSource(exp("a", experiment.Active, 1))
			c, clk := newTestCatalog(src, time.Minute)
			ctx := context.Background()
			if _, err := c.Get(ctx, "a"); err != nil {
				t.Fatal(err)
			}
			src.set(exp("a", experiment.Archived, 2))
			var err error
			if viaFresh {
				_, err = c.Fresh(ctx, "a")
			} else {
				clk.advance(time.Minute) // expire so Get reads the archive
				_, err = c.Get(ctx, "a")
			}
			if !errors.Is(err, ErrNotFound) {
				t.Fatalf("err = %v, want ErrNotFound", err)
			}
			if _, ok := c.entries["a"]; ok {
				t.Errorf("archived experiment still cached")
			}
			// Every later Get reads again and still answers not found.
			reads := src.count("a")
			if _, err := c.Get(ctx, "a"); !errors.Is(err, ErrNotFound) {
				t.Errorf("second Get err = %v", err)
			}
			if src.count("a") != reads+1 {
				t.Errorf("archived answer was cached")
			}
		})
	}
}

func TestArchivedOnFirstRead(t *testing.T) {
	src := newFakeSource(exp("gone", experiment.Archived, 5))
	c, _ := newTestCatalog(src, time.Minute)
	got, err := c.Get(context.Background(), "gone")
	if got != nil || !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get = %v, %v; want nil, ErrNotFound", got, err)
	}
}

func TestSourceErrors(t *testing.T) {
	other := errors.New("throttled")
	cases := []struct {
		name         string
		err          error
		wantNotFound bool
		wantWrapped  error
	}{
		{"store not found wrapped", fmt.Errorf("get experiment %q: %w", "a", store.ErrNotFound), true, store.ErrNotFound},
		{"store not found bare", store.ErrNotFound, true, store.ErrNotFound},
		{"other error", other, false, other},
		{"other error wrapped", fmt.Errorf("dynamodb: %w", other), false, other},
		{"context canceled", context.Canceled, false, context.Canceled},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for _, method := range []string{"Get", "Fresh"} {
				src := newFakeSource(exp("a", experiment.Active, 1))
				c, clk := newTestCatalog(src, time.Minute)
				ctx := context.Background()
				if _, err := c.Get(ctx, "a"); err != nil {
					t.Fatal(err)
				}
				clk.advance(time.Minute)
				src.setErr(tc.err)
				var got *experiment.Experiment
				var err error
				if method == "Get" {
					got, err = c.Get(ctx, "a")
				} else {
					got, err = c.Fresh(ctx, "a")
				}
				if err == nil || got != nil {
					t.Fatalf("%s = %v, %v; want an error", method, got, err)
				}
				if errors.Is(err, ErrNotFound) != tc.wantNotFound {
					t.Errorf("%s: errors.Is(%v, ErrNotFound) = %v, want %v", method, err, !tc.wantNotFound, tc.wantNotFound)
				}
				if !errors.Is(err, tc.wantWrapped) {
					t.Errorf("%s: err %v does not wrap %v", method, err, tc.wantWrapped)
				}
				_, cached := c.entries["a"]
				if tc.wantNotFound && cached {
					t.Errorf("%s: not-found experiment still cached", method)
				}
			}
		})
	}
}

func TestUnknownKey(t *testing.T) {
	src := newFakeSource()
	c, _ := newTestCatalog(src, time.Minute)
	_, err := c.Get(context.Background(), "missing")
	if !errors.Is(err, ErrNotFound) || !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("err = %v, want ErrNotFound wrapping store.ErrNotFound", err)
	}
}

func TestKeysAreCachedSeparately(t *testing.T) {
	src := newFakeSource(exp("a", experiment.Active, 1), exp("b", experiment.Draft, 7))
	c, _ := newTestCatalog(src, time.Minute)
	ctx := context.Background()
	for i := 0; i < 3; i++ {
		a, errA := c.Get(ctx, "a")
		b, errB := c.Get(ctx, "b")
		if errA != nil || errB != nil || a.Key != "a" || b.Key != "b" || b.Version != 7 {
			t.Fatalf("Get a=%v,%v b=%v,%v", a, errA, b, errB)
		}
	}
	if src.count("a") != 1 || src.count("b") != 1 {
		t.Errorf("reads a=%d b=%d, want 1 each", src.count("a"), src.count("b"))
	}
}

func TestNewUsesRealClock(t *testing.T) {
	c := New(newFakeSource(), DefaultTTL)
	if c.now == nil || c.ttl != DefaultTTL || c.entries == nil {
		t.Fatalf("New = %+v", c)
	}
}

func TestConcurrentGets(t *testing.T) {
	src := newFakeSource(exp("a", experiment.Active, 1), exp("b", experiment.Active, 1), exp("z", experiment.Archived, 1))
	c, clk := newTestCatalog(src, time.Second)
	ctx := context.Background()
	var wg sync.WaitGroup
	for g := 0; g < 16; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 200; i++ {
				switch i % 5 {
				case 0:
					if _, err := c.Fresh(ctx, "a"); err != nil {
						t.Errorf("Fresh: %v", err)
					}
				case 1:
					clk.advance(100 * time.Millisecond)
				case 2:
					if _, err := c.Get(ctx, "z"); !errors.Is(err, ErrNotFound) {
						t.Errorf("Get archived: %v", err)
					}
				default:
					key := "a"
					if (g+i)%2 == 0 {
						key = "b"
					}
					e, err := c.Get(ctx, key)
					if err != nil || e.Key != key {
						t.Errorf("Get %s = %v, %v", key, e, err)
					}
				}
			}
		}(g)
	}
	wg.Wait()
}
