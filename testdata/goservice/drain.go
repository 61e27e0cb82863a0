package main

import (
	"context"
	"log"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync/atomic"
	"time"
)

// shutdownAtOnce is what most Go services do on SIGTERM: http.Server.Shutdown straight away.
// Shutdown closes every idle keep-alive connection at once; a client that is sending its next
// request on one at that moment gets its connection closed under the request (a read error, or
// a reset), although nothing was wrong with the new generation. scripts/e2e/52-lame-duck.sh
// counts those per upgrade; docs/lame-duck.md explains them.
func shutdownAtOnce(server *http.Server) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := server.Shutdown(ctx); err != nil {
		log.Printf("shutdown: %v", err)
	}
}

// lameDuck stops accepting (closing our copies of the shared listeners leaves them open in the
// supervisor and the new generation), then waits while every kept-alive connection gets one
// more answer, which carries "Connection: close", and its client closes it: the server never
// closes a kept-alive connection under a client that may be sending on it. Connections that
// stay silent for the whole lame-duck period (GOSERVICE_LAME_DUCK_MS, default 5000) are closed
// by Shutdown.
func lameDuck(server *http.Server, listeners []net.Listener, open *atomic.Int64) {
	for _, l := range listeners {
		l.Close()
	}
	period := 5 * time.Second
	if text := os.Getenv("GOSERVICE_LAME_DUCK_MS"); text != "" {
		if ms, err := strconv.Atoi(text); err == nil {
			period = time.Duration(ms) * time.Millisecond
		}
	}
	deadline := time.Now().Add(period)
	for open.Load() > 0 && time.Now().Before(deadline) {
		time.Sleep(2 * time.Millisecond)
	}
	shutdownAtOnce(server)
}
