// The comparison peer for rumour's `loopback` benchmark: N HashiCorp
// memberlist nodes (Debian's 0.2.2) on 127.0.0.1 in one process with
// DefaultLANConfig, measured the same way: joins (64 in flight) until all
// see all, CPU per node over a steady window, and the time from a crash
// until every survivor reports the node gone (median of -crashes, 30 by
// default as in rumour's loopback benchmark).
// Run through core/benches/go/run.sh; prints a table and one JSON line.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/memberlist"
)

type watcher struct {
	mu    *sync.Mutex
	gone  map[string][]time.Time
	count *int64
}

func (w watcher) NotifyJoin(*memberlist.Node)   {}
func (w watcher) NotifyUpdate(*memberlist.Node) {}
func (w watcher) NotifyLeave(n *memberlist.Node) {
	w.mu.Lock()
	w.gone[n.Name] = append(w.gone[n.Name], time.Now())
	w.mu.Unlock()
}

// cpuSeconds is user+system time of this process, from /proc/self/stat.
func cpuSeconds() float64 {
	b, _ := os.ReadFile("/proc/self/stat")
	s := string(b)
	f := strings.Fields(s[strings.LastIndex(s, ")")+1:])
	u, _ := strconv.ParseFloat(f[11], 64)
	k, _ := strconv.ParseFloat(f[12], 64)
	return (u + k) / 100
}

func median(v []float64) float64 {
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	if len(s) == 0 {
		return 0 // -crashes 0: the idle benchmark measures CPU only
	}
	if len(s)%2 == 0 {
		return (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	return s[len(s)/2]
}

func main() {
	n := flag.Int("nodes", 100, "nodes")
	steady := flag.Int("steady", 60, "steady window, seconds")
	crashes := flag.Int("crashes", 30, "crashes, one at a time (victims every third node from the end)")
	flag.Parse()
	if max := (*n - 2) / 3; *crashes > max {
		*crashes = max
	}

	mu := &sync.Mutex{}
	gone := map[string][]time.Time{}
	startNode := func(i, port int) *memberlist.Memberlist {
		c := memberlist.DefaultLANConfig()
		c.Name = fmt.Sprintf("g%d", i)
		c.BindAddr = "127.0.0.1"
		c.BindPort = port
		c.LogOutput = io.Discard
		c.Events = watcher{mu: mu, gone: gone}
		m, err := memberlist.Create(c)
		if err != nil {
			panic(err)
		}
		return m
	}
	nodes := make([]*memberlist.Memberlist, *n)
	for i := range nodes {
		nodes[i] = startNode(i, 0)
	}
	seed := nodes[0].LocalNode().Address()

	start := time.Now()
	var next int64 = 1
	var wg sync.WaitGroup
	for w := 0; w < 64 && w < *n-1; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(atomic.AddInt64(&next, 1) - 1)
				if i >= *n {
					return
				}
				if _, err := nodes[i].Join([]string{seed}); err != nil {
					panic(err)
				}
			}
		}()
	}
	wg.Wait()
	allSeeAll := func(limit time.Duration) bool {
		began := time.Now()
		for {
			all := true
			for _, m := range nodes {
				if m.NumMembers() != *n {
					all = false
					break
				}
			}
			if all || time.Since(began) > limit {
				return all
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	allSeeAll(60 * time.Second)
	converge := time.Since(start).Seconds()

	time.Sleep(5 * time.Second)
	cpu0, t0 := cpuSeconds(), time.Now()
	time.Sleep(time.Duration(*steady) * time.Second)
	cpuPct := (cpuSeconds() - cpu0) / time.Since(t0).Seconds() / float64(*n) * 100

	// As in rumour's benchmark: each victim restarts on its port and
	// rejoins before the next crash, so every crash happens at N.
	var detections []float64
	for c := 0; c < *crashes; c++ {
		victim := *n - 1 - c*3
		name := fmt.Sprintf("g%d", victim)
		port := int(nodes[victim].LocalNode().Port)
		t := time.Now()
		nodes[victim].Shutdown()
		live := *n - 1
		for {
			mu.Lock()
			got := gone[name]
			mu.Unlock()
			if len(got) >= live {
				last := got[0]
				for _, g := range got {
					if g.After(last) {
						last = g
					}
				}
				detections = append(detections, last.Sub(t).Seconds())
				break
			}
			if time.Since(t) > 120*time.Second {
				panic("crash not detected by all in 120 s")
			}
			time.Sleep(5 * time.Millisecond)
		}
		nodes[victim] = startNode(victim, port)
		if _, err := nodes[victim].Join([]string{seed}); err != nil {
			panic(err)
		}
		if !allSeeAll(60 * time.Second) {
			panic(name + " not alive everywhere again in 60 s")
		}
	}
	fmt.Printf("\nmemberlist 0.2.2 loopback  nodes=%d preset=DefaultLANConfig steady=%ds\n", *n, *steady)
	fmt.Printf("| joins until all see all | %.3f s |\n| crash detected by all, median of %d | %.2f s |\n| CPU per node, steady | %.4f %% of a core |\n", converge, *crashes, median(detections), cpuPct)
	fmt.Printf("{\"bench\":\"memberlist_loopback\",\"nodes\":%d,\"converge_s\":%.4f,\"crash_detect_median_s\":%.3f,\"cpu_pct_per_node\":%.5f,\"detections_s\":%v}\n", *n, converge, median(detections), cpuPct, detections)
	for _, m := range nodes {
		m.Shutdown()
	}
}
