// The workloads of stage3_stealing/bench/runtime.cpp (group "runtime"), of
// phase4_sync/bench/sync.cpp (group "sync", PEER-WORKLOADS.md sections 6-8 and
// 10) and of phase6_tasks/bench/tasks.cpp (group "tasks": skynet, async+get and
// when_all)
// with goroutines; `bench runtime`, `bench sync` or `bench tasks` runs one group, no
// argument every group. BENCH_SCALE=0.01 scales the sync group's sizes down for a
// quick try. Workers = GOMAXPROCS. io.go holds the groups "echo" and "http"
// (phase5_io/bench/echo.cpp and http.cpp, PEER-WORKLOADS.md 5 and 15) and
// their servers.
//
//	mutex_uncontended        one goroutine: 50M Lock/Unlock pairs of a sync.Mutex
//	                         after 5M untimed ones (ns per pair)
//	mutex_contended          64 goroutines share a sync.Mutex and a counter:
//	                         6,400,000 sections in all of `Lock; counter++; Unlock;
//	                         y = lcgWork(y, work)`, work 0 or 90, on 1 and 2 Ps
//	                         (ns per section, creation included); mutex_work_alone:
//	                         the 90 steps alone (ns)
//	pingpong_cv              two goroutines pass a turn through a sync.Mutex and a
//	                         sync.Cond, 1,000,000 times each (ns per hand-off)
//	pingpong_chan            main sends on unbuffered channel ping, a goroutine sends
//	                         back on pong, 1,000,000 round trips (ns per hand-off)
//	threadring               503 goroutines, one unbuffered chan each, pass a token
//	                         10,000,000 times; the answer must be 361 (s; ns per pass)
//	handoff_busy[_p50/_p99]  stage 3's park/unpark across workers: a waits on an
//	                         unbuffered channel, b (never blocking) sends as soon as a
//	                         waits, 50,000 times on 2 Ps (ns per round trip; p50/p99 of
//	                         a's wake-to-wake times)
//	sleepers_*               100,000 goroutines start (a WaitGroup), wait on a gate (a
//	                         channel main closes), sleep 10 ms: s from the gate's
//	                         opening, total s, peak RSS per goroutine (bytes)
//	sleep_overshoot_p50/p99  main sleeps 1 ms 1,000 times: how late, nearest rank (us)
//	skynet workers=W         the reference skynet, 10^6 leaves: each inner node makes
//	                         an unbuffered channel and 10 goroutines that send their
//	                         sums on it, and receives 10 times; one run (ms)
//	async_get [workers=1]    1,000,000 times `c := make(chan int, 1); go func() { c
//	                         <- 0 }(); <-c`: Go's async+get (ns per pair), with one P
//	                         per CPU (as green's default Runtime), and with
//	                         GOMAXPROCS=1 (workers=1)
//	when_all n=10000         PEER-WORKLOADS.md 12: 10,000 futures, each a `chan int`
//	[workers=1]              of capacity 1 on which a goroutine sends its index i;
//	                         all created, then each received in order and summed
//	                         (checked: 49,995,000); one warm-up, then the median of
//	                         21 (us for all 10,000); GOMAXPROCS as async_get's
//
// Standard library only; prints one `peer=go bench=... value=... unit=...` line each.
package main

import (
	"fmt"
	"math"
	"os"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
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

// spawnOnly starts n empty goroutines: ns per go statement, the loop alone
// (their run and the wait come after, untimed); median of 7 rounds.
func spawnOnly(n int) float64 {
	rounds := make([]float64, 0, 7)
	for r := 0; r < 7; r++ {
		var wg sync.WaitGroup
		wg.Add(n)
		t0 := time.Now()
		for i := 0; i < n; i++ {
			go func() { wg.Done() }()
		}
		rounds = append(rounds, nsPer(t0, n))
		wg.Wait()
	}
	sort.Float64s(rounds)
	return rounds[3]
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

// scaled is a sync workload's size n times BENCH_SCALE (default 1).
func scaled(n int) int {
	scale, err := strconv.ParseFloat(os.Getenv("BENCH_SCALE"), 64)
	if err != nil {
		scale = 1
	}
	return int(math.Max(1, math.Round(float64(n)*scale)))
}

func nsPer(t0 time.Time, n int) float64 { return float64(time.Since(t0).Nanoseconds()) / float64(n) }

// lcgWork is PEER-WORKLOADS.md's lcg_work: steps of a 64-bit LCG, one dependent chain.
//
//go:noinline
func lcgWork(x uint64, steps int) uint64 {
	for i := 0; i < steps; i++ {
		x = x*6364136223846793005 + 1442695040888963407
	}
	return x
}

var sink uint64 // keeps the work's results alive

func mutexUncontended(n int) float64 {
	var mu sync.Mutex
	for i := 0; i < n/10; i++ { // warm-up
		mu.Lock()
		mu.Unlock()
	}
	t0 := time.Now()
	for i := 0; i < n; i++ {
		mu.Lock()
		mu.Unlock()
	}
	return nsPer(t0, n)
}

func mutexContended(tasks, total, work int) float64 {
	var mu sync.Mutex
	var wg sync.WaitGroup
	counter := 0
	per := total / tasks
	t0 := time.Now()
	wg.Add(tasks)
	for t := 0; t < tasks; t++ {
		go func(y uint64) {
			for i := 0; i < per; i++ {
				mu.Lock()
				counter++
				mu.Unlock()
				y = lcgWork(y, work)
			}
			atomic.AddUint64(&sink, y)
			wg.Done()
		}(uint64(t))
	}
	wg.Wait()
	ns := nsPer(t0, tasks*per)
	if counter != tasks*per {
		panic("mutex_contended: wrong counter")
	}
	return ns
}

func workAlone(work int) float64 {
	const n = 1000000
	y := uint64(1)
	t0 := time.Now()
	for i := 0; i < n; i++ {
		y = lcgWork(y, work)
	}
	atomic.AddUint64(&sink, y)
	return nsPer(t0, n)
}

func pingPongCond(n int) float64 {
	var mu sync.Mutex
	cond := sync.NewCond(&mu)
	turn := 0
	var wg sync.WaitGroup
	player := func(me int) {
		for i := 0; i < n; i++ {
			mu.Lock()
			for turn != me {
				cond.Wait()
			}
			turn = 1 - me
			cond.Signal()
			mu.Unlock()
		}
		wg.Done()
	}
	t0 := time.Now()
	wg.Add(2)
	go player(0)
	go player(1)
	wg.Wait()
	return nsPer(t0, 2*n)
}

// pingPongChan also returns the p50 and p99 over batches of 64 round trips
// (one clock read per batch), ns per hand-off, as green's BM_ChannelPingPong.
func pingPongChan(n int) (float64, float64, float64) {
	const batch = 64
	ping, pong := make(chan int), make(chan int)
	batches := make([]float64, 0, n/batch+1)
	t0 := time.Now()
	go func() {
		for v := range ping {
			pong <- v
		}
	}()
	b0 := t0
	for i := 0; i < n; i++ {
		ping <- i
		<-pong
		if i%batch == batch-1 {
			b1 := time.Now()
			batches = append(batches, float64(b1.Sub(b0).Nanoseconds())/(2*batch))
			b0 = b1
		}
	}
	close(ping)
	mean := nsPer(t0, 2*n)
	sort.Float64s(batches)
	return mean, batches[len(batches)/2], batches[len(batches)*99/100]
}

// threadRing returns the seconds from the first send to the answer.
func threadRing(passes int) float64 {
	const ring = 503
	chans := make([]chan int, ring) // chans[k-1] is goroutine k's
	for i := range chans {
		chans[i] = make(chan int)
	}
	answer := make(chan int, 1)
	for k := 1; k <= ring; k++ {
		go func(k int) {
			in, out := chans[k-1], chans[k%ring]
			for t := range in {
				if t == 0 { // the token is spent: answer, and close the ring
					answer <- k
					for _, c := range chans {
						close(c)
					}
					return
				}
				out <- t - 1
			}
		}(k)
	}
	t0 := time.Now()
	chans[0] <- passes
	who := <-answer
	s := time.Since(t0).Seconds()
	if who != passes%ring+1 {
		panic(fmt.Sprintf("threadring: answer %d, not %d", who, passes%ring+1))
	}
	return s
}

// statusBytes reads a field of /proc/self/status (VmRSS, VmHWM) in bytes.
func statusBytes(field string) float64 {
	data, _ := os.ReadFile("/proc/self/status")
	for _, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, field+":") {
			kb, _ := strconv.ParseFloat(strings.Fields(line[len(field)+1:])[0], 64)
			return kb * 1024
		}
	}
	return 0
}

// sleepers returns s from the gate's opening to the end, total s, peak RSS per goroutine.
func sleepers(n int) (float64, float64, float64) {
	os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) // VmHWM from here on
	before := statusBytes("VmRSS")
	var started, done sync.WaitGroup
	gate := make(chan struct{})
	t0 := time.Now()
	started.Add(n)
	done.Add(n)
	for i := 0; i < n; i++ {
		go func() {
			started.Done()
			<-gate
			time.Sleep(10 * time.Millisecond)
			done.Done()
		}()
	}
	started.Wait()
	tOpen := time.Now()
	close(gate)
	done.Wait()
	return time.Since(tOpen).Seconds(), time.Since(t0).Seconds(), (statusBytes("VmHWM") - before) / float64(n)
}

func sleepOvershoot(n int) (float64, float64) {
	late := make([]float64, n)
	for i := range late {
		t0 := time.Now()
		time.Sleep(time.Millisecond)
		late[i] = float64((time.Since(t0) - time.Millisecond).Nanoseconds()) / 1e3
	}
	sort.Float64s(late)
	rank := func(p float64) float64 { // nearest rank
		return late[int(math.Max(1, math.Ceil(p*float64(n))))-1]
	}
	return rank(0.5), rank(0.99)
}

func syncGroup() {
	runtime.GOMAXPROCS(2)
	fmt.Printf("peer=go bench=mutex_uncontended value=%.2f unit=ns\n", mutexUncontended(scaled(50000000)))
	for _, work := range []int{0, 90} {
		for _, w := range []int{1, 2} {
			runtime.GOMAXPROCS(w)
			fmt.Printf("peer=go bench=mutex_contended tasks=64 work=%d workers=%d value=%.2f unit=ns\n",
				work, w, mutexContended(64, scaled(6400000), work))
		}
	}
	fmt.Printf("peer=go bench=mutex_work_alone work=90 value=%.2f unit=ns\n", workAlone(90))
	for _, w := range []int{1, 2} {
		runtime.GOMAXPROCS(w)
		fmt.Printf("peer=go bench=pingpong_cv workers=%d value=%.2f unit=ns\n", w, pingPongCond(scaled(1000000)))
		mean, c50, c99 := pingPongChan(scaled(1000000))
		fmt.Printf("peer=go bench=pingpong_chan cap=0 workers=%d value=%.2f unit=ns\n", w, mean)
		fmt.Printf("peer=go bench=pingpong_chan_p50 cap=0 workers=%d value=%.2f unit=ns\n", w, c50)
		fmt.Printf("peer=go bench=pingpong_chan_p99 cap=0 workers=%d value=%.2f unit=ns\n", w, c99)
		passes := scaled(10000000)
		s := threadRing(passes)
		fmt.Printf("peer=go bench=threadring_s workers=%d value=%.4f unit=s\n", w, s)
		fmt.Printf("peer=go bench=threadring workers=%d value=%.2f unit=ns\n", w, s*1e9/float64(passes))
		p50, p99 := sleepOvershoot(scaled(1000))
		fmt.Printf("peer=go bench=sleep_overshoot_p50 workers=%d value=%.1f unit=us\n", w, p50)
		fmt.Printf("peer=go bench=sleep_overshoot_p99 workers=%d value=%.1f unit=us\n", w, p99)
	}
	runtime.GOMAXPROCS(2)
	n := scaled(100000)
	s, total, rss := sleepers(n)
	fmt.Printf("peer=go bench=sleepers_s n=%d workers=2 value=%.4f unit=s\n", n, s)
	fmt.Printf("peer=go bench=sleepers_total_s n=%d workers=2 value=%.4f unit=s\n", n, total)
	fmt.Printf("peer=go bench=sleepers_peak_rss_per_task n=%d workers=2 value=%.0f unit=bytes\n", n, rss)
}

// wants says whether the command line asks for a group (no argument: all).
func wants(group string) bool {
	if len(os.Args) < 2 {
		return true
	}
	for _, a := range os.Args[1:] {
		if a == group {
			return true
		}
	}
	return false
}

func runtimeGroup() {
	for _, n := range []int{1000, 10000, 100000, 1000000} {
		var ns float64
		for i := 0; i < 3; i++ { // three rounds, the last reported (as BM_SpawnJoin)
			ns = spawnJoin(n)
		}
		fmt.Printf("peer=go bench=spawn_join n=%d value=%.2f unit=ns\n", n, ns)
	}
	fmt.Printf("peer=go bench=spawn n=100000 value=%.2f unit=ns\n", spawnOnly(100000))
	for _, w := range []int{1, 2} {
		runtime.GOMAXPROCS(w)
		t0 := time.Now()
		if fib(32) != 2178309 {
			panic("wrong fib(32)")
		}
		fmt.Printf("peer=go bench=fib_fine workers=%d value=%.4f unit=s\n", w, time.Since(t0).Seconds())
	}
	runtime.GOMAXPROCS(2)
	mean, p50, p99 := handoffBusy(50000)
	fmt.Printf("peer=go bench=handoff_busy workers=2 value=%.2f unit=ns\n", mean)
	fmt.Printf("peer=go bench=handoff_busy_p50 workers=2 value=%.2f unit=ns\n", p50)
	fmt.Printf("peer=go bench=handoff_busy_p99 workers=2 value=%.2f unit=ns\n", p99)
	runtime.GOMAXPROCS(1)
	fmt.Printf("peer=go bench=yield workers=1 value=%.2f unit=ns\n", yieldNs(1000000))
}

// handoffBusy is stage 3's park/unpark across workers (bench/ping_pong.hpp,
// AcrossWorkers) on 2 Ps: goroutine a receives on an unbuffered channel; b
// never blocks: it tries to send until a is waiting (a non-blocking send
// succeeds only then), which hands the value to a and makes a runnable on
// b's P, and goes straight back to trying. So a runs only once the other P
// takes it from there. Returns ns per round trip, and the p50 and p99 of a's
// time from one wake-up to the next.
func handoffBusy(n int) (float64, float64, float64) {
	ch := make(chan int)
	woke := make([]time.Time, n)
	done := make(chan struct{})
	t0 := time.Now()
	go func() {
		for i := 0; i < n; i++ {
			<-ch
			woke[i] = time.Now()
		}
		close(done)
	}()
	for i := 0; i < n; i++ {
		for sent := false; !sent; {
			select {
			case ch <- i:
				sent = true
			default:
			}
		}
	}
	<-done
	mean := nsPer(t0, n)
	trips := make([]float64, 0, n-1)
	for i := 1; i < n; i++ {
		trips = append(trips, float64(woke[i].Sub(woke[i-1]).Nanoseconds()))
	}
	sort.Float64s(trips)
	return mean, trips[len(trips)/2], trips[len(trips)*99/100]
}

// skynet is the reference skynet: goroutines and channels.
func skynet(c chan<- int, num, size int) {
	if size == 1 {
		c <- num
		return
	}
	rc := make(chan int)
	for i := 0; i < 10; i++ {
		go skynet(rc, num+i*(size/10), size/10)
	}
	sum := 0
	for i := 0; i < 10; i++ {
		sum += <-rc
	}
	c <- sum
}

func skynetMs() float64 {
	runtime.GC() // the garbage of the run before, not this one's
	c := make(chan int)
	t0 := time.Now()
	go skynet(c, 0, 1000000)
	r := <-c
	ms := float64(time.Since(t0).Nanoseconds()) / 1e6
	if r != 499999500000 {
		panic(fmt.Sprintf("skynet: %d", r))
	}
	return ms
}

// asyncGetNs: a goroutine that sends on a channel of capacity 1, received at once, n times.
func asyncGetNs(n int) float64 {
	t0 := time.Now()
	for i := 0; i < n; i++ {
		c := make(chan int, 1)
		go func() { c <- 0 }()
		<-c
	}
	return nsPer(t0, n)
}

// whenAllUs: n goroutines, each sending its index on a channel of capacity 1 of
// its own (a future), then every channel received in order and summed; one
// warm-up, then the median of 21 (us for all n).
func whenAllUs(n int) float64 {
	var us []float64
	for round := 0; round < 22; round++ {
		t0 := time.Now()
		fs := make([]chan int, n)
		for i := range fs {
			c := make(chan int, 1)
			fs[i] = c
			go func(i int) { c <- i }(i)
		}
		sum := 0
		for _, c := range fs {
			sum += <-c
		}
		t := float64(time.Since(t0).Nanoseconds()) / 1e3
		if sum != n*(n-1)/2 {
			panic(fmt.Sprintf("when_all: %d", sum))
		}
		if round > 0 {
			us = append(us, t)
		}
	}
	sort.Float64s(us)
	return us[len(us)/2]
}

func tasksGroup(cpus int) {
	for _, w := range []int{1, 2} {
		runtime.GOMAXPROCS(w)
		fmt.Printf("peer=go bench=skynet workers=%d value=%.2f unit=ms\n", w, skynetMs())
	}
	runtime.GOMAXPROCS(cpus)
	fmt.Printf("peer=go bench=async_get value=%.2f unit=ns\n", asyncGetNs(1000000))
	runtime.GOMAXPROCS(1)
	fmt.Printf("peer=go bench=async_get workers=1 value=%.2f unit=ns\n", asyncGetNs(1000000))
	runtime.GOMAXPROCS(cpus)
	fmt.Printf("peer=go bench=when_all n=10000 value=%.2f unit=us\n", whenAllUs(10000))
	runtime.GOMAXPROCS(1)
	fmt.Printf("peer=go bench=when_all n=10000 workers=1 value=%.2f unit=us\n", whenAllUs(10000))
}

func main() {
	if len(os.Args) == 4 && os.Args[1] == "echo-server" { // io.go's servers
		echoServer(os.Args[2], os.Args[3])
		return
	}
	if len(os.Args) == 4 && os.Args[1] == "http-server" {
		httpServer(os.Args[2], os.Args[3])
		return
	}
	cpus := runtime.GOMAXPROCS(0) // one P per CPU, as green's default Runtime
	if wants("runtime") {
		runtimeGroup()
		runtime.GOMAXPROCS(cpus)
	}
	if wants("sync") {
		syncGroup()
		runtime.GOMAXPROCS(cpus)
	}
	if wants("tasks") {
		tasksGroup(cpus)
		runtime.GOMAXPROCS(cpus)
	}
	if wants("echo") {
		echoGroup()
	}
	if wants("http") {
		httpGroup()
	}
}
