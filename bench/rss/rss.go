package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// status is what /proc/PID/status says of a process's memory, in bytes.
type status struct {
	rss  int64 // VmRSS: resident now
	hwm  int64 // VmHWM: the most ever resident
	anon int64 // RssAnon: the heap and stacks
	file int64 // RssFile: mapped files (the binary)
}

// readStatus reads pid's memory figures.
func readStatus(pid int) (status, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return status{}, err
	}
	var s status
	for line := range bytes.Lines(b) {
		name, rest, ok := strings.Cut(string(line), ":")
		if !ok {
			continue
		}
		var dst *int64
		switch name {
		case "VmRSS":
			dst = &s.rss
		case "VmHWM":
			dst = &s.hwm
		case "RssAnon":
			dst = &s.anon
		case "RssFile":
			dst = &s.file
		default:
			continue
		}
		kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
		if err != nil {
			return status{}, fmt.Errorf("/proc/%d/status: %s: %w", pid, name, err)
		}
		*dst = kb << 10
	}
	if s.rss == 0 {
		return status{}, fmt.Errorf("/proc/%d/status has no VmRSS", pid)
	}
	return s, nil
}

// sample is one reading, t after the sampler started.
type sample struct {
	t time.Duration
	status
}

// sampler reads a process's status at a fixed interval until stopped.
type sampler struct {
	pid   int
	start time.Time
	quit  chan struct{}
	done  chan struct{}

	mu      sync.Mutex
	samples []sample
	err     error // the first failed reading, after which sampling ends
}

func startSampler(pid int, every time.Duration) *sampler {
	s := &sampler{pid: pid, start: time.Now(), quit: make(chan struct{}), done: make(chan struct{})}
	s.read()
	go func() {
		defer close(s.done)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-s.quit:
				return
			case <-t.C:
				if !s.read() {
					return
				}
			}
		}
	}()
	return s
}

func (s *sampler) read() bool {
	st, err := readStatus(s.pid)
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		if s.err == nil {
			s.err = err
		}
		return false
	}
	s.samples = append(s.samples, sample{t: time.Since(s.start), status: st})
	return true
}

// current returns the newest VmRSS.
func (s *sampler) current() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.samples) == 0 {
		return 0
	}
	return s.samples[len(s.samples)-1].rss
}

// stop ends sampling and returns the samples and the first error.
func (s *sampler) stop() ([]sample, error) {
	select {
	case <-s.quit:
	default:
		close(s.quit)
	}
	<-s.done
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.samples, s.err
}

// peak returns the sample with the largest VmRSS.
func peak(samples []sample) sample {
	var p sample
	for _, s := range samples {
		if s.rss > p.rss {
			p = s
		}
	}
	return p
}

// mb formats bytes in MB (10⁶ bytes).
func mb(b int64) string { return fmt.Sprintf("%.0f MB", float64(b)/1e6) }

// memTotal returns MemTotal from /proc/meminfo.
func memTotal() string {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return "?"
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "MemTotal:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				return strings.TrimSpace(rest)
			}
			return fmt.Sprintf("%.1f GiB", float64(kb)/(1<<20))
		}
	}
	return "?"
}

// loadAvg returns the 1, 5 and 15 minute load averages.
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}
