// A ring buffer consumer over cilium/ebpf's ringbuf.Reader, for bench/consumers.bench.ts.
// It opens the ring pinned by the benchmark and reads events of the stream producers
// (aya_node_common::streams::SeqEvent): per event the sequence number (first u64) and the
// last u64, checking that sequence numbers run in order.
//
//	drain PIN SIZE N  reads N waiting events, prints {"events","ns","cpuNs","outOfOrder","sum"}
//	live PIN SIZE     reads until SIGUSR1, then empties the ring and prints the same
package main

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/ringbuf"
)

type result struct {
	Events     int    `json:"events"`
	Ns         int64  `json:"ns"`
	CPUNs      int64  `json:"cpuNs"`
	OutOfOrder int    `json:"outOfOrder"`
	Sum        uint64 `json:"sum"`
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, err)
	os.Exit(1)
}

// cpuNs is the CPU time of the whole process (all its threads) so far.
func cpuNs() int64 {
	var u syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &u); err != nil {
		fail(err)
	}
	return u.Utime.Nano() + u.Stime.Nano()
}

func main() {
	if len(os.Args) < 4 {
		fail(errors.New("usage: consumer drain|live PIN SIZE [N]"))
	}
	mode, pin := os.Args[1], os.Args[2]
	size, err := strconv.Atoi(os.Args[3])
	if err != nil || size < 16 {
		fail(fmt.Errorf("bad size %q", os.Args[3]))
	}
	n := 0
	if mode == "drain" {
		if len(os.Args) < 5 {
			fail(errors.New("drain needs N"))
		}
		if n, err = strconv.Atoi(os.Args[4]); err != nil {
			fail(err)
		}
	}
	m, err := ebpf.LoadPinnedMap(pin, nil)
	if err != nil {
		fail(err)
	}
	defer m.Close()
	rd, err := ringbuf.NewReader(m)
	if err != nil {
		fail(err)
	}
	defer rd.Close()

	var stop atomic.Bool
	signals := make(chan os.Signal, 1)
	signal.Notify(signals, syscall.SIGUSR1)
	go func() {
		<-signals
		stop.Store(true)
	}()

	var r result
	var record ringbuf.Record
	expected := uint64(0)
	fmt.Fprintln(os.Stderr, "ready")
	start, cpuStart := time.Now(), cpuNs()
	if mode == "live" {
		// A deadline so that a wait on an empty ring comes back to look at the stop flag.
		rd.SetDeadline(time.Now().Add(50 * time.Millisecond))
	}
	for mode == "live" || r.Events < n {
		if err := rd.ReadInto(&record); err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) {
				// The ring was empty: after SIGUSR1 (sent once the producer ended) it stays so.
				if stop.Load() {
					break
				}
				rd.SetDeadline(time.Now().Add(50 * time.Millisecond))
				continue
			}
			fail(err)
		}
		sample := record.RawSample
		if len(sample) < size {
			fail(fmt.Errorf("a %d-byte event, expected %d", len(sample), size))
		}
		seq := binary.LittleEndian.Uint64(sample)
		if seq != expected {
			r.OutOfOrder++
		}
		expected = seq + 1
		r.Sum += binary.LittleEndian.Uint64(sample[size-8:])
		r.Events++
	}
	r.Ns = time.Since(start).Nanoseconds()
	r.CPUNs = cpuNs() - cpuStart
	out, _ := json.Marshal(r)
	fmt.Println(string(out))
}
