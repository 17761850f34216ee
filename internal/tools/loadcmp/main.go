// Command loadcmp is the loopback load test of `make bench`: it builds crmmock and a
// bare net/http token server (internal/tools/bareauth), and for each case (issue and use
// on R10 and R12) runs wrk against each in turn, the server pinned to one CPU and wrk to
// another (taskset), alternating rounds so both see the same machine. It prints each
// side's requests per second (median of the rounds) and x-bare = crmmock ÷ bare.
//
//	go run ./internal/tools/loadcmp [-rounds 3] [-dur 5s] [-conns 16] [-server-cpu 0] [-load-cpu 1]
//
// Needs wrk and taskset (Debian: wrk, util-linux).
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

var (
	rounds    = flag.Int("rounds", 3, "alternating rounds per case (the median is printed)")
	dur       = flag.Duration("dur", 5*time.Second, "wrk duration per run")
	conns     = flag.Int("conns", 16, "wrk connections")
	serverCPU = flag.String("server-cpu", "0", "CPU list for the server (taskset -c)")
	loadCPU   = flag.String("load-cpu", "1", "CPU list for wrk (taskset -c)")
	only      = flag.String("run", "", "run only the cases whose name contains this")
	args      = flag.String("crmmock-args", "", "extra crmmock serve flags, e.g. --log-level warn")
	before    = flag.String("before", "", "another crmmock binary (e.g. built from an older commit) run in the same rounds: its req/s and x-bare too")
)

const login = `{"username":"mpadministrator","password":"1234","organisation":"CRMDEMO"}`

func main() {
	flag.Parse()
	for _, tool := range []string{"wrk", "taskset"} {
		if _, err := exec.LookPath(tool); err != nil {
			fatal("loadcmp needs %s (apt-get install wrk util-linux)", tool)
		}
	}
	dir, err := os.MkdirTemp("", "loadcmp")
	check(err)
	defer os.RemoveAll(dir)
	build(dir, "crmmock", "./cmd/crmmock")
	build(dir, "bare", "./internal/tools/bareauth")
	fmt.Printf("loadcmp: wrk -c%d -d%s, server on CPU %s, wrk on CPU %s, %d rounds (median)\n", *conns, *dur, *serverCPU, *loadCPU, *rounds)
	fmt.Printf("%-10s %14s %14s %8s", "case", "crmmock req/s", "bare req/s", "x-bare")
	if *before != "" {
		fmt.Printf(" %14s %8s", "before req/s", "x-bare")
	}
	fmt.Println()
	for _, c := range []struct{ name, release, op string }{
		{"use R10", "R10", "use"}, {"use R12", "R12", "use"}, {"issue R10", "R10", "issue"}, {"issue R12", "R12", "issue"},
	} {
		if *only != "" && !strings.Contains(c.name, *only) {
			continue
		}
		var mock, bare, old []float64
		serveArgs := append([]string{"serve", "--addr", "127.0.0.1:0", "--version", c.release, "--log-level", "info"}, strings.Fields(*args)...)
		for range *rounds {
			mock = append(mock, run(dir, filepath.Join(dir, "crmmock"), serveArgs, c.op))
			bare = append(bare, run(dir, filepath.Join(dir, "bare"), []string{"-release", c.release}, c.op))
			if *before != "" {
				old = append(old, run(dir, *before, serveArgs, c.op))
			}
		}
		m, b := median(mock), median(bare)
		fmt.Printf("%-10s %14.0f %14.0f %8.2f", c.name, m, b, m/b)
		if *before != "" {
			fmt.Printf(" %14.0f %8.2f", median(old), median(old)/b)
		}
		fmt.Println()
	}
}

// run starts a server, prepares the case (a token for use) and runs wrk once: req/s.
func run(dir, bin string, serverArgs []string, op string) float64 {
	cmd := exec.Command("taskset", append([]string{"-c", *serverCPU, bin}, serverArgs...)...)
	out, err := cmd.StdoutPipe()
	check(err)
	cmd.Stderr = io.Discard // crmmock's info log: one line per request, as a user runs it
	check(cmd.Start())
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	line, err := bufio.NewReader(out).ReadString('\n')
	check(err)
	root := strings.TrimSpace(strings.TrimPrefix(line, "crmmock listening on "))
	go func() { _, _ = io.Copy(io.Discard, out) }()
	api := root + "/crmapi/rest/v2"
	script := filepath.Join(dir, "case.lua")
	target := api + "/authentication/token"
	if op == "use" {
		resp, err := http.Post(api+"/authentication/token", "application/json", strings.NewReader(login))
		check(err)
		var env struct{ Data struct{ Token string } }
		check(json.NewDecoder(resp.Body).Decode(&env))
		resp.Body.Close()
		if env.Data.Token == "" {
			fatal("%s: no token", bin)
		}
		target = api + "/contact_information/show?token=" + env.Data.Token
		check(os.WriteFile(script, []byte("wrk.method = \"GET\"\n"), 0o644))
	} else {
		check(os.WriteFile(script, []byte(fmt.Sprintf("wrk.method = \"POST\"\nwrk.body = %q\nwrk.headers[\"Content-Type\"] = \"application/json\"\n", login)), 0o644))
	}
	var stdout bytes.Buffer
	w := exec.Command("taskset", "-c", *loadCPU, "wrk", "-t1", "-c"+strconv.Itoa(*conns), "-d"+dur.String(), "-s", script, target)
	w.Stdout = &stdout
	w.Stderr = os.Stderr
	check(w.Run())
	if m := regexp.MustCompile(`Non-2xx or 3xx responses: (\d+)`).FindStringSubmatch(stdout.String()); m != nil {
		fatal("%s %s: %s non-2xx answers", bin, op, m[1])
	}
	m := regexp.MustCompile(`Requests/sec:\s+([0-9.]+)`).FindStringSubmatch(stdout.String())
	if m == nil {
		fatal("wrk printed no Requests/sec:\n%s", stdout.String())
	}
	v, err := strconv.ParseFloat(m[1], 64)
	check(err)
	return v
}

func build(dir, name, pkg string) {
	cmd := exec.Command("go", "build", "-o", filepath.Join(dir, name), pkg)
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	check(cmd.Run())
}

func median(v []float64) float64 {
	slices.Sort(v)
	return v[len(v)/2]
}

func check(err error) {
	if err != nil {
		fatal("%v", err)
	}
}

func fatal(format string, a ...any) {
	fmt.Fprintf(os.Stderr, "loadcmp: "+format+"\n", a...)
	os.Exit(1)
}
