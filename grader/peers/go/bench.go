// The workloads of stage3_stealing/bench/runtime.cpp with goroutines.
// Standard library only; prints one `peer=go bench=... value=... unit=...` line each.
package main

import (
	"fmt"
	"runtime"
	"sync"
	"time"
)

// spawnJoin starts n empty goroutines, then waits for all: ns per goroutine.
func spawnJoin(n int) float64 {
	var wg sync.WaitGroup
	t0 := time.Now()
	wg.Add(n)
	for i := 0; i < n; i++ {
		go func() { wg.Done() }()
	}
	wg.Wait()
	return float64(time.Since(t0).Nanoseconds()) / float64(n)
}

// fib spawns both children as goroutines for every n >= 2 (as BM_FibFine).
func fib(n int) int {
	if n < 2 {
		return n
	}
	var x, y int
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { x = fib(n - 1); wg.Done() }()
	go func() { y = fib(n - 2); wg.Done() }()
	wg.Wait()
	return x + y
}

// yieldNs runs two goroutines calling runtime.Gosched `yields` times each: ns per yield.
func yieldNs(yields int) float64 {
	var wg sync.WaitGroup
	body := func() {
		for i := 0; i < yields; i++ {
			runtime.Gosched()
		}
		wg.Done()
	}
	t0 := time.Now()
	wg.Add(2)
	go body()
	go body()
	wg.Wait()
	return float64(time.Since(t0).Nanoseconds()) / float64(2*yields)
}

func main() {
	cpus := runtime.GOMAXPROCS(0) // one P per CPU, as green's default Runtime
	for _, n := range []int{1000, 10000, 100000, 1000000} {
		var ns float64
		for i := 0; i < 3; i++ { // three rounds, the last reported (as BM_SpawnJoin)
			ns = spawnJoin(n)
		}
		fmt.Printf("peer=go bench=spawn_join n=%d value=%.2f unit=ns\n", n, ns)
	}
	for _, w := range []int{1, 2} {
		runtime.GOMAXPROCS(w)
		t0 := time.Now()
		if fib(32) != 2178309 {
			panic("wrong fib(32)")
		}
		fmt.Printf("peer=go bench=fib_fine workers=%d value=%.4f unit=s\n", w, time.Since(t0).Seconds())
	}
	runtime.GOMAXPROCS(1)
	fmt.Printf("peer=go bench=yield workers=1 value=%.2f unit=ns\n", yieldNs(1000000))
	runtime.GOMAXPROCS(cpus)
}
