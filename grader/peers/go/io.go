// The servers of PEER-WORKLOADS.md sections 5 and 15, and the groups "echo"
// and "http" that measure them with green's own instruments, so that both
// sides are driven by the same load generator (phase5_io/bench/echo.cpp and
// http.cpp; GREEN_IO_BENCH names the directory of those programs, and
// `make bench` sets it):
//
//	go echo-server PORT SECONDS  one goroutine per connection: Read up to 4 KiB,
//	                             Write it back; prints its port first (PORT 0:
//	                             any); exits after SECONDS
//	go http-server PORT SECONDS  net/http; "/" answers "hello" (text/plain,
//	                             plus Go's Date and Content-Length)
//	echo_idle_memory conns=N     a fresh echo server (GOMAXPROCS=2) holding N idle
//	                             connections, each after one round trip: its
//	                             VmRSS growth per connection (bytes)
//	echo workers=W conns=C       the echo server with GOMAXPROCS=W under the load
//	                             generator, C = 100 and 1,000 (round trips per s);
//	                             echo_server_cores: the server's CPU (cores)
//	http[_p99] workers=2 conns=C wrk -t1 -cC -d5s --latency against the http
//	                             server with GOMAXPROCS=2 (requests per s; p99 ms)
//
// Each server is a child process (this program, with GOMAXPROCS set), as green's
// servers are children of its bench programs.
package main

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// listen prints the port first, for whoever started us, and exits after seconds.
func listen(port string, seconds string) net.Listener {
	ln, err := net.Listen("tcp", "127.0.0.1:"+port)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println(ln.Addr().(*net.TCPAddr).Port)
	s, _ := strconv.Atoi(seconds)
	time.AfterFunc(time.Duration(s)*time.Second, func() { os.Exit(0) })
	return ln
}

func echoServer(port, seconds string) {
	ln := listen(port, seconds)
	for {
		c, err := ln.Accept()
		if err != nil {
			time.Sleep(time.Millisecond) // out of descriptors, say
			continue
		}
		go func(c net.Conn) { // Go's net sets TCP_NODELAY by default
			buf := make([]byte, 4096)
			for {
				n, err := c.Read(buf)
				if n > 0 {
					if _, werr := c.Write(buf[:n]); werr != nil {
						break
					}
				}
				if err != nil {
					break
				}
			}
			c.Close()
		}(c)
	}
}

func httpServer(port, seconds string) {
	ln := listen(port, seconds)
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		w.Write([]byte("hello"))
	})
	http.Serve(ln, mux)
}

type child struct {
	cmd  *exec.Cmd
	port string
}

// startServer runs this program as a server (args) with GOMAXPROCS=procs.
func startServer(procs int, args ...string) (*child, error) {
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), fmt.Sprintf("GOMAXPROCS=%d", procs))
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		cmd.Process.Kill()
		cmd.Wait()
		return nil, fmt.Errorf("%s printed no port: %v", args[0], err)
	}
	return &child{cmd, strings.TrimSpace(line)}, nil
}

func (c *child) stop() {
	c.cmd.Process.Kill()
	c.cmd.Wait()
}

func (c *child) pid() string { return strconv.Itoa(c.cmd.Process.Pid) }

// measure runs one of green's bench programs as an instrument and reads the
// key=value figures it prints.
func measure(program string, args ...string) (map[string]float64, error) {
	cmd := exec.Command(filepath.Join(os.Getenv("GREEN_IO_BENCH"), program), args...)
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("%s %s: %v", program, args[0], err)
	}
	figures := map[string]float64{}
	for _, field := range strings.Fields(string(out)) {
		if k, v, ok := strings.Cut(field, "="); ok {
			figures[k], _ = strconv.ParseFloat(v, 64)
		}
	}
	return figures, nil
}

func haveInstruments() bool {
	if os.Getenv("GREEN_IO_BENCH") == "" {
		fmt.Fprintln(os.Stderr, "go: the echo and http groups need GREEN_IO_BENCH=build/release/<stage>/bench "+
			"(green's load generators; make bench sets it)")
		return false
	}
	return true
}

func report(err error) {
	fmt.Fprintln(os.Stderr, "go:", err)
}

func echoGroup() {
	if !haveInstruments() {
		return
	}
	const idle = "10000"
	if s, err := startServer(2, "echo-server", "0", "300"); err != nil {
		report(err)
	} else {
		if f, err := measure("echo", "idle", s.port, idle, s.pid()); err != nil {
			report(err)
		} else {
			fmt.Printf("peer=go bench=echo_idle_memory conns=%.0f value=%.0f unit=bytes\n", f["conns"], f["bytes_per_conn"])
		}
		s.stop()
	}
	for _, procs := range []int{1, 2} {
		s, err := startServer(procs, "echo-server", "0", "300")
		if err != nil {
			report(err)
			continue
		}
		for _, conns := range []int{100, 1000} {
			f, err := measure("echo", "loadgen", s.port, strconv.Itoa(conns), s.pid())
			if err != nil {
				report(err)
				continue
			}
			fmt.Printf("peer=go bench=echo workers=%d conns=%d value=%.0f unit=rt/s\n", procs, conns, f["rt_per_s"])
			fmt.Printf("peer=go bench=echo_server_cores workers=%d conns=%d value=%.3f unit=cores\n", procs, conns,
				f["server_cores"])
		}
		s.stop()
	}
}

func httpGroup() {
	if !haveInstruments() {
		return
	}
	s, err := startServer(2, "http-server", "0", "600")
	if err != nil {
		report(err)
		return
	}
	defer s.stop()
	for _, conns := range []int{100, 1000} {
		f, err := measure("http", "wrk", s.port, strconv.Itoa(conns), s.pid())
		if err != nil {
			report(err)
			continue
		}
		fmt.Printf("peer=go bench=http workers=2 conns=%d value=%.0f unit=req/s\n", conns, f["req_per_s"])
		fmt.Printf("peer=go bench=http_p99 workers=2 conns=%d value=%.3f unit=ms\n", conns, f["p99_ms"])
		fmt.Printf("peer=go bench=http_errors workers=2 conns=%d value=%.0f unit=errors\n", conns, f["errors"])
	}
}
