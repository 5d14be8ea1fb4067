package main

import (
	"flag"
	"fmt"
	"os"
	"strconv"
	"sync"
	"testing"
)

// The package's parallel tests (the scripts, the docs, the bounds tests)
// take from a few seconds to several minutes each. go test starts waiting
// parallel tests in no particular order, so the longest script could
// start last and run alone at the end, on one core of two. Here they run
// as many at a time as -test.parallel says, the longest first: slowFirst
// names the tests measured slowest, the others follow in the order they
// ask. Set up by TestMain (parallelTests), taken by slot: every parallel
// test of this package calls slot(t) right after t.Parallel() (go test's
// own limit no longer holds them), and every script takes one in Setup.

// slowFirst ranks the slowest tests, slowest first, as measured with
// `go test -json` (their elapsed times).
var slowFirst = []string{
	"TestScript/demo", "TestScript/plan", "TestScript/verify_unnamed", "TestScript/verify_cache",
	"TestScript/sandbox_attacks", "TestScript/verify_npm", "TestScript/verify_demo", "TestDocs",
	"TestScript/verify_errors", "TestScript/verify_impact", "TestScript/verify_verdicts",
	"TestScript/verify_badmanifest", "TestScript/verify_hidden", "TestScript/verify_tags",
	"TestScript/sandbox_npm_scripts", "TestScript/sandbox_npm_npmrc", "TestManifestOverCapRefused",
	"TestShippedBinaryHasOneClock",
}

// scheduler hands out n slots, to the best-ranked test waiting.
type scheduler struct {
	mu      sync.Mutex
	free    int
	waiting map[int][]chan struct{} // by rank
}

var sched *scheduler

// parallelTests takes over -test.parallel (already parsed): the scheduler
// gets its value, and go test a limit high enough never to hold a test
// the scheduler would start.
func parallelTests() {
	f := flag.Lookup("test.parallel")
	if f == nil {
		return
	}
	n, err := strconv.Atoi(f.Value.String())
	if err != nil || n < 1 {
		return
	}
	if err := f.Value.Set("1000"); err != nil {
		fmt.Fprintln(os.Stderr, "test.parallel:", err)
		os.Exit(2)
	}
	sched = &scheduler{free: n, waiting: map[int][]chan struct{}{}}
}

func rank(name string) int {
	for i, s := range slowFirst {
		if s == name {
			return i
		}
	}
	return len(slowFirst)
}

// acquire waits for a slot for the test of this name; release gives it back.
func (s *scheduler) acquire(name string) {
	s.mu.Lock()
	if s.free > 0 {
		s.free--
		s.mu.Unlock()
		return
	}
	r := rank(name)
	ch := make(chan struct{})
	s.waiting[r] = append(s.waiting[r], ch)
	s.mu.Unlock()
	<-ch
}

func (s *scheduler) release() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for r := 0; r <= len(slowFirst); r++ {
		if q := s.waiting[r]; len(q) > 0 {
			s.waiting[r] = q[1:]
			close(q[0]) // the slot passes to it
			return
		}
	}
	s.free++
}

// slot runs the rest of the parallel test t in a slot of the scheduler.
// Call it right after t.Parallel().
func slot(t *testing.T) {
	slotFor(t.Name(), t.Cleanup)
}

// slotFor takes a slot for the test name, and registers its release with
// cleanup.
func slotFor(name string, cleanup func(func())) {
	if sched == nil {
		return
	}
	sched.acquire(name)
	cleanup(sched.release)
}
