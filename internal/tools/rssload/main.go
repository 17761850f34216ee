// Command rssload drives a sustained issue load against a running crmmock and prints
// its resident set size every 10 s (issue #8 item 3: RSS stays flat once dead tokens
// hit --keep-dead). Linux only (/proc). Not part of the product; a measuring tool.
//
//	go run ./internal/tools/rssload -bin bin/crmmock -dur 10m -advance 0   # starts the server itself: a login flood (make soak)
//	crmmock serve --addr 127.0.0.1:0 --version R12 --log-level warn &
//	go run ./internal/tools/rssload -url http://127.0.0.1:PORT -pid $! -dur 4m -advance 5s
//	go run ./internal/tools/rssload -url … -pid … -dur 150s -advance 0 -release   # R10: issue + release
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
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

var maxRSS int64 // kB

func rss(pid int) string {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "VmRSS:") {
			v := strings.TrimSpace(strings.TrimPrefix(l, "VmRSS:"))
			var kb int64
			if _, err := fmt.Sscanf(v, "%d kB", &kb); err == nil && kb > maxRSS {
				maxRSS = kb
			}
			return v
		}
	}
	return "?"
}

func main() {
	url := flag.String("url", "", "")
	pid := flag.Int("pid", 0, "")
	dur := flag.Duration("dur", 4*time.Minute, "")
	workers := flag.Int("workers", 4, "")
	advance := flag.Duration("advance", 5*time.Second, "advance the mock clock 2h this often (0: never)")
	release := flag.Bool("release", false, "release each token after issue")
	bin := flag.String("bin", "", "start this crmmock binary (serve --addr 127.0.0.1:0 --release R12 --log-level warn, plus -args) instead of -url/-pid")
	args := flag.String("args", "", "more serve flags with -bin, e.g. --max-tokens 300000")
	flag.Parse()
	if *bin != "" {
		var stopBin func()
		*url, *pid, stopBin = startBin(*bin, *args)
		defer stopBin()
	}
	login := []byte(`{"username":"mpadministrator","password":"1234","organisation":"CRMDEMO"}`)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: *workers}}
	var n atomic.Int64
	stop := time.Now().Add(*dur)
	var wg sync.WaitGroup
	for range *workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			issue(client, *url, login, stop, *release, &n)
		}()
	}
	start := time.Now()
	tick := time.NewTicker(10 * time.Second)
	var adv <-chan time.Time
	if *advance > 0 {
		adv = time.NewTicker(*advance).C
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	fmt.Printf("t=%3.0fs issued=%d rss=%s\n", 0.0, 0, rss(*pid))
	for {
		select {
		case <-done:
			// ?limit=1: the counts without listing (and re-signing) every held token.
			var held struct {
				Counts  map[string]int `json:"counts"`
				Dropped uint64         `json:"dropped"`
			}
			if resp, err := http.Get(*url + "/__admin/tokens?limit=1"); err == nil {
				_ = json.NewDecoder(resp.Body).Decode(&held)
				resp.Body.Close()
			}
			last := rss(*pid) // before maxRSS is read
			fmt.Printf("end t=%3.0fs issued=%d rss=%s held=%v dropped=%d max-rss=%d MB\n", time.Since(start).Seconds(), n.Load(), last, held.Counts, held.Dropped, maxRSS/1024)
			return
		case <-tick.C:
			fmt.Printf("t=%3.0fs issued=%d rss=%s\n", time.Since(start).Seconds(), n.Load(), rss(*pid))
		case <-adv:
			resp, err := http.Post(*url+"/__admin/clock/advance", "application/json", strings.NewReader(`{"duration":"2h"}`))
			if err == nil {
				resp.Body.Close()
			}
		}
	}
}

// startBin starts a crmmock binary on a free port and says its URL, its pid and how to
// stop it.
func startBin(bin, args string) (url string, pid int, stop func()) {
	cmd := exec.Command(bin, append([]string{"serve", "--addr", "127.0.0.1:0", "--release", "R12", "--log-level", "warn"}, strings.Fields(args)...)...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		panic(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		panic(err)
	}
	stop = func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		stop()
		panic(err)
	}
	return strings.TrimSpace(strings.TrimPrefix(line, "crmmock listening on ")), cmd.Process.Pid, stop
}

// issue logs in (and, with release, releases each token) until stop, counting in n.
func issue(client *http.Client, url string, login []byte, stop time.Time, release bool, n *atomic.Int64) {
	for time.Now().Before(stop) {
		resp, err := client.Post(url+"/crmapi/rest/v2/authentication/token", "application/json", bytes.NewReader(login))
		if err != nil {
			panic(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if release {
			i := bytes.Index(body, []byte(`"token":"`))
			j := bytes.LastIndexByte(body, '"')
			tok := body[i+9 : j]
			resp, err := client.Post(url+"/crmapi/rest/v2/authentication/token/release", "application/json", bytes.NewReader([]byte(`{"token":"`+string(tok)+`"}`)))
			if err != nil {
				panic(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
		n.Add(1)
	}
}
