package main

import (
	"fmt"
	"log"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// The faults a build can carry, each the failure of a real release that goshift must notice:
//
//   - crash-at-start: exits before taking its sockets;
//   - never-ready: initialisation hangs, READY=1 never comes;
//   - panic-before-ready: panics during initialisation;
//   - http-500: answers 500 to every request (also /healthz);
//   - slow: takes GOSERVICE_SLOW_MS (default 50) per request;
//   - leak: retains GOSERVICE_LEAK_MB_PER_S (default 200) MB of touched memory a second after
//     READY=1, up to GOSERVICE_LEAK_LIMIT_MB (default 1024) so a forgotten build cannot take
//     the machine;
//   - other-port: serves on a port of its own instead of the inherited sockets (which it keeps
//     open and never accepts on) and still says READY=1;
//   - hang-after-ready: after READY=1 every request blocks forever on a lock that is never
//     released, and SIGTERM and SIGINT are ignored;
//   - panic-after-ready: panics GOSERVICE_PANIC_AFTER_MS (default 2000) after READY=1.
type faults struct {
	crashAtStart, neverReady, panicBeforeReady bool
	http500                                    bool
	slow                                       time.Duration
	leakPerSecond, leakLimit                   int
	otherPort                                  bool
	hang                                       bool
	panicAfter                                 time.Duration
}

func parseFault(name string) (faults, error) {
	var f faults
	var err error
	switch name {
	case "":
	case "crash-at-start":
		f.crashAtStart = true
	case "never-ready":
		f.neverReady = true
	case "panic-before-ready":
		f.panicBeforeReady = true
	case "http-500":
		f.http500 = true
	case "slow":
		f.slow, err = msSetting("GOSERVICE_SLOW_MS", 50)
	case "leak":
		f.leakPerSecond, err = intSetting("GOSERVICE_LEAK_MB_PER_S", 200)
		if err == nil {
			f.leakLimit, err = intSetting("GOSERVICE_LEAK_LIMIT_MB", 1024)
		}
	case "other-port":
		f.otherPort = true
	case "hang-after-ready":
		f.hang = true
	case "panic-after-ready":
		f.panicAfter, err = msSetting("GOSERVICE_PANIC_AFTER_MS", 2000)
	default:
		return f, fmt.Errorf("fault %q is unknown: use crash-at-start, never-ready, panic-before-ready, "+
			"http-500, slow, leak, other-port, hang-after-ready or panic-after-ready", name)
	}
	return f, err
}

// intSetting reads a positive integer from the environment, or gives the default.
func intSetting(name string, fallback int) (int, error) {
	text := os.Getenv(name)
	if text == "" {
		return fallback, nil
	}
	value, err := strconv.Atoi(text)
	if err != nil || value <= 0 {
		return 0, fmt.Errorf("%s=%q is not a positive integer", name, text)
	}
	return value, nil
}

// msSetting reads a positive number of milliseconds from the environment, or gives the default.
func msSetting(name string, fallback int) (time.Duration, error) {
	ms, err := intSetting(name, fallback)
	return time.Duration(ms) * time.Millisecond, err
}

// stuck is taken after READY=1 by a hang-after-ready build and never released.
var stuck sync.Mutex

// wrap puts the request faults in front of the service's handler.
func (f faults) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if f.hang {
			stuck.Lock()
			defer stuck.Unlock()
		}
		if f.slow > 0 {
			time.Sleep(f.slow)
		}
		if f.http500 {
			http.Error(w, "internal error (fault build)", http.StatusInternalServerError)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// leaked holds the leak fault's memory so the collector never frees it.
var leaked [][]byte

// afterReady starts the faults that begin once READY=1 was sent.
func (f faults) afterReady() {
	if f.panicAfter > 0 {
		time.AfterFunc(f.panicAfter, func() {
			panic("broken after readiness (fault build)")
		})
	}
	if f.leakPerSecond > 0 {
		go f.leak()
	}
	if f.hang {
		stuck.Lock()
		signal.Ignore(syscall.SIGTERM, syscall.SIGINT)
		log.Print("hangs after readiness (fault build)")
		select {}
	}
}

// leak retains memory at the configured rate, writing every page so it counts in RSS.
func (f faults) leak() {
	const tick = 10 * time.Millisecond
	chunk := f.leakPerSecond << 20 / int(time.Second/tick)
	total := 0
	for range time.Tick(tick) {
		if total+chunk > f.leakLimit<<20 {
			log.Printf("leaked %d MB, the limit; leaking no more (fault build)", total>>20)
			return
		}
		block := make([]byte, chunk)
		for i := 0; i < len(block); i += 4096 {
			block[i] = 1
		}
		leaked = append(leaked, block)
		total += chunk
	}
}
