// The Go memberlist side of rumour's `seeds` benchmark (issue 16): a cold
// start of N HashiCorp memberlist nodes (Debian's 0.2.2) on 127.0.0.1 in
// one process, DefaultLANConfig, fixed ports, started in random order over
// -spread with the seed started last. Every node is given the seed's
// address at start, as rumour's nodes are.
//
// memberlist uses a seed once: Join fails when the seed is down and is not
// retried. Its users write the retry themselves (MetalLB's and Cortex's
// memberlist clients call Join again on a timer), so each node here runs
// that loop: Join([seed]); on failure wait and call it again, until one
// succeeds. The wait is the same as rumour's retry_join: 1 s after the
// first failure, doubling to at most 30 s, each wait drawn uniformly from
// its upper half ("equal jitter"). rumour additionally pings its seeds
// between attempts and attempts at once when one answers; this loop does
// not (a user's loop could, memberlist has no API for it).
//
// Measured per run: the time from the seed's start (just before
// memberlist.Create) until every node's NumMembers() is N; also until the
// last node's Join succeeded. Medians over -runs runs.
//
// With -seed-first, the other side of rumour's `cold_start` benchmark
// (issue 21): the seed starts first, then the N-1 others all at once (as
// fast as they can be created), each joining the seed through the same
// loop; the times are then from the last node's start.
// Run through core/benches/go/run.sh coldstart; prints a table and one
// JSON line (also written to -json when given).
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math/rand"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/memberlist"
)

// retryDelay is rumour's retry_join_delay: the wait after `attempt` failed
// attempts (1-based), base*2^(attempt-1) capped at max, then jittered into
// its upper half by unit in [0, 1).
func retryDelay(attempt int, base, max time.Duration, unit float64) time.Duration {
	doublings := attempt - 1
	if doublings > 31 {
		doublings = 31
	}
	full := base << uint(doublings)
	if full > max || full <= 0 {
		full = max
	}
	return time.Duration(float64(full) * (0.5 + 0.5*unit))
}

// freePorts finds n distinct ports free for both TCP and UDP on 127.0.0.1,
// below the kernel's ephemeral range (32768 and up by default) so that no
// outgoing connection takes one before its node binds it.
func freePorts(n int, rng *rand.Rand) []int {
	var ports []int
	taken := map[int]bool{}
	for tries := 0; len(ports) < n && tries < 100000; tries++ {
		p := 20000 + rng.Intn(12000)
		if taken[p] {
			continue
		}
		t, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p))
		if err != nil {
			continue
		}
		u, err := net.ListenPacket("udp", fmt.Sprintf("127.0.0.1:%d", p))
		t.Close()
		if err != nil {
			continue
		}
		u.Close()
		taken[p] = true
		ports = append(ports, p)
	}
	if len(ports) < n {
		panic("could not find enough free ports")
	}
	return ports
}

func median(v []float64) float64 {
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	if len(s) == 0 {
		return 0
	}
	if len(s)%2 == 0 {
		return (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	return s[len(s)/2]
}

func minMax(v []float64) (float64, float64) {
	lo, hi := v[0], v[0]
	for _, x := range v {
		if x < lo {
			lo = x
		}
		if x > hi {
			hi = x
		}
	}
	return lo, hi
}

// runResult is what one cold start measured.
type runResult struct {
	// ConvergeS is the limit when the run did not converge (see SawAll).
	ConvergeS  float64 `json:"converge_s"`
	Converged  bool    `json:"converged"`
	SawAll     int     `json:"saw_all"`
	AllJoinedS float64 `json:"all_joined_s"`
	Attempts   int64   `json:"join_attempts"`
}

func coldStart(n int, spread, base, max, limit time.Duration, seedFirst bool, rng *rand.Rand) runResult {
	ports := freePorts(n, rng)
	seed := fmt.Sprintf("127.0.0.1:%d", ports[0])
	create := func(i int) *memberlist.Memberlist {
		c := memberlist.DefaultLANConfig()
		c.Name = fmt.Sprintf("g%d", i)
		c.BindAddr = "127.0.0.1"
		c.BindPort = ports[i]
		c.AdvertiseAddr = "127.0.0.1"
		c.AdvertisePort = ports[i]
		c.LogOutput = io.Discard
		m, err := memberlist.Create(c)
		if err != nil {
			panic(err)
		}
		return m
	}

	var mu sync.Mutex
	nodes := make([]*memberlist.Memberlist, 0, n)
	var lastJoin time.Time
	var attempts int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	// The rejoin loop each non-seed node runs. Bounded: it ends when a Join
	// succeeds, at the end of the run, or after 1,000 attempts.
	rejoin := func(m *memberlist.Memberlist, jitter *rand.Rand) {
		defer wg.Done()
		for attempt := 1; attempt <= 1000; attempt++ {
			atomic.AddInt64(&attempts, 1)
			if _, err := m.Join([]string{seed}); err == nil {
				mu.Lock()
				if now := time.Now(); now.After(lastJoin) {
					lastJoin = now
				}
				mu.Unlock()
				return
			}
			select {
			case <-stop:
				return
			case <-time.After(retryDelay(attempt, base, max, jitter.Float64())):
			}
		}
	}

	startSeed := func() {
		seedNode := create(0)
		mu.Lock()
		nodes = append(nodes, seedNode)
		mu.Unlock()
	}
	// Nodes 1..n-1 in random order, evenly over the spread; the seed
	// (node 0) at its end, or with seedFirst before them all.
	order := rng.Perm(n - 1)
	began := time.Now()
	seedStart := began
	if seedFirst {
		startSeed()
		spread = 0
	}
	for k, j := range order {
		i := j + 1
		time.Sleep(time.Until(began.Add(spread * time.Duration(k) / time.Duration(n-1))))
		m := create(i)
		mu.Lock()
		nodes = append(nodes, m)
		mu.Unlock()
		wg.Add(1)
		go rejoin(m, rand.New(rand.NewSource(rng.Int63())))
	}
	if seedFirst {
		// Times from the last start, as rumour's cold_start reports them.
		seedStart = time.Now()
	} else {
		time.Sleep(time.Until(began.Add(spread)))
		seedStart = time.Now()
		startSeed()
	}

	converged := false
	for !converged && time.Since(seedStart) < limit {
		converged = true
		for _, m := range nodes {
			if m.NumMembers() != n {
				converged = false
				break
			}
		}
		if !converged {
			time.Sleep(5 * time.Millisecond)
		}
	}
	converge := time.Since(seedStart).Seconds()
	sawAll := 0
	for _, m := range nodes {
		if m.NumMembers() == n {
			sawAll++
		}
	}
	close(stop)
	wg.Wait()
	for _, m := range nodes {
		m.Shutdown()
	}
	mu.Lock()
	defer mu.Unlock()
	return runResult{ConvergeS: converge, Converged: converged, SawAll: sawAll, AllJoinedS: lastJoin.Sub(seedStart).Seconds(), Attempts: atomic.LoadInt64(&attempts)}
}

func machine() string {
	cpu := "unknown cpu"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(l, "model name") {
				if i := strings.Index(l, ":"); i >= 0 {
					cpu = strings.TrimSpace(l[i+1:])
				}
				break
			}
		}
	}
	return fmt.Sprintf("%s, %d cores", cpu, runtime.NumCPU())
}

func main() {
	n := flag.Int("nodes", 100, "nodes, the seed included")
	runs := flag.Int("runs", 3, "cold starts (medians reported)")
	spread := flag.Duration("spread", 5*time.Second, "the starts are spread over this long; the seed starts at its end")
	base := flag.Duration("retry", time.Second, "rejoin loop: wait after the first failed Join")
	max := flag.Duration("retry-max", 30*time.Second, "rejoin loop: longest wait")
	limit := flag.Duration("limit", 120*time.Second, "give up when not converged this long after the seed's start (with -seed-first, the last start)")
	seed := flag.Int64("seed", 0, "random seed (0: from the clock)")
	seedFirst := flag.Bool("seed-first", false, "start the seed first, then all others at once; times from the last start")
	out := flag.String("json", "", "also write the JSON line to this file")
	flag.Parse()
	if *n < 2 || *runs < 1 {
		panic("need -nodes >= 2 and -runs >= 1")
	}
	if *seed == 0 {
		*seed = time.Now().UnixNano()
	}
	rng := rand.New(rand.NewSource(*seed))

	order, from := fmt.Sprintf("spread=%v, seed last", *spread), "the seed's start"
	if *seedFirst {
		order, from = "seed first, then all others at once", "the last start"
	}
	var results []runResult
	var converge, joined []float64
	for r := 0; r < *runs; r++ {
		res := coldStart(*n, *spread, *base, *max, *limit, *seedFirst, rng)
		if res.Converged {
			fmt.Printf("run %d: all see all %.3f s after %s; last Join succeeded at %.3f s; %d Join calls\n",
				r, res.ConvergeS, from, res.AllJoinedS, res.Attempts)
		} else {
			fmt.Printf("run %d: NOT converged %.3f s after %s: %d of %d nodes saw all; last Join succeeded at %.3f s; %d Join calls\n",
				r, res.ConvergeS, from, res.SawAll, *n, res.AllJoinedS, res.Attempts)
		}
		results = append(results, res)
		converge = append(converge, res.ConvergeS)
		joined = append(joined, res.AllJoinedS)
		time.Sleep(time.Second)
	}
	cLo, cHi := minMax(converge)
	jLo, jHi := minMax(joined)
	m := machine()
	fmt.Printf("\nmemberlist 0.2.2 cold start  nodes=%d preset=DefaultLANConfig (bind 127.0.0.1, fixed ports) %s, runs=%d\n", *n, order, *runs)
	fmt.Printf("rejoin loop on every node (memberlist does not retry): Join([seed]) until it succeeds, waiting %v after the first failure, doubling to %v, each wait jittered into its upper half\n", *base, *max)
	convergedRuns := 0
	for _, res := range results {
		if res.Converged {
			convergedRuns++
		}
	}
	fmt.Printf("converged in %d of %d runs (a run that did not counts as -limit, %v, below)\n", convergedRuns, *runs, *limit)
	fmt.Printf("machine: %s\n", m)
	fmt.Printf("| metric | median | min | max |\n|---|---|---|---|\n")
	fmt.Printf("| %s until all see all | %.3f s | %.3f s | %.3f s |\n", from, median(converge), cLo, cHi)
	fmt.Printf("| %s until the last Join succeeded | %.3f s | %.3f s | %.3f s |\n", from, median(joined), jLo, jHi)
	doc := map[string]interface{}{
		"bench":               "memberlist_coldstart",
		"memberlist":          "0.2.2 (Debian)",
		"preset":              "DefaultLANConfig",
		"nodes":               *n,
		"runs":                *runs,
		"spread_s":            spread.Seconds(),
		"seed_first":          *seedFirst,
		"retry_s":             base.Seconds(),
		"retry_max_s":         max.Seconds(),
		"retry":               "user rejoin loop: Join([seed]) until success, equal-jitter exponential backoff as rumour's retry_join",
		"converged_runs":      convergedRuns,
		"converge_median_s":   median(converge),
		"converge_max_s":      cHi,
		"all_joined_median_s": median(joined),
		"converge_s":          converge,
		"all_joined_s":        joined,
		"per_run":             results,
		"machine":             m,
		"go":                  runtime.Version(),
		"random_seed":         *seed,
	}
	b, err := json.Marshal(doc)
	if err != nil {
		panic(err)
	}
	fmt.Println(string(b))
	if *out != "" {
		if err := os.MkdirAll(filepath.Dir(*out), 0o755); err == nil {
			_ = os.WriteFile(*out, append(b, '\n'), 0o644)
		}
	}
}
