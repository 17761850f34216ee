// Command rssload drives a sustained issue load against a running crmmock and prints
// its resident set size every 10 s (issue #8 item 3: RSS stays flat once dead tokens
// hit --keep-dead). Linux only (/proc). Not part of the product; a measuring tool.
//
//	crmmock serve --addr 127.0.0.1:0 --version R12 --log-level warn &
//	go run ./internal/tools/rssload -url http://127.0.0.1:PORT -pid $! -dur 4m -advance 5s
//	go run ./internal/tools/rssload -url … -pid … -dur 150s -advance 0 -release   # R10: issue + release
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

func rss(pid int) string {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "VmRSS:") {
			return strings.TrimSpace(strings.TrimPrefix(l, "VmRSS:"))
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
	flag.Parse()
	login := []byte(`{"username":"mpadministrator","password":"1234","organisation":"CRMDEMO"}`)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: *workers}}
	var n atomic.Int64
	stop := time.Now().Add(*dur)
	var wg sync.WaitGroup
	for range *workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(stop) {
				resp, err := client.Post(*url+"/crmapi/rest/v2/authentication/token", "application/json", bytes.NewReader(login))
				if err != nil {
					panic(err)
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if *release {
					i := bytes.Index(body, []byte(`"token":"`))
					j := bytes.LastIndexByte(body, '"')
					tok := body[i+9 : j]
					resp, err := client.Post(*url+"/crmapi/rest/v2/authentication/token/release", "application/json", bytes.NewReader([]byte(`{"token":"`+string(tok)+`"}`)))
					if err != nil {
						panic(err)
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
				n.Add(1)
			}
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
			fmt.Printf("end t=%3.0fs issued=%d rss=%s held=%v dropped=%d\n", time.Since(start).Seconds(), n.Load(), rss(*pid), held.Counts, held.Dropped)
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
