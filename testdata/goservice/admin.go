package main

import (
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"strings"
)

// withProfiles serves net/http/pprof under /debug/pprof/ to requests that arrive on the
// supervisor's private admin listener (its address is in GOSHIFT_ADMIN_ADDR), in front of the
// faults, so that a hung or failing build still hands out its goroutines and heap for an
// incident report. Every other request goes to next; without an admin listener nothing changes.
func withProfiles(next http.Handler) http.Handler {
	admin := os.Getenv("GOSHIFT_ADMIN_ADDR")
	if admin == "" {
		return next
	}
	profiles := http.NewServeMux()
	profiles.HandleFunc("/debug/pprof/", pprof.Index)
	profiles.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	profiles.HandleFunc("/debug/pprof/profile", pprof.Profile)
	profiles.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	profiles.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		local, _ := r.Context().Value(http.LocalAddrContextKey).(net.Addr)
		if local != nil && local.String() == admin && strings.HasPrefix(r.URL.Path, "/debug/pprof/") {
			profiles.ServeHTTP(w, r)
			return
		}
		next.ServeHTTP(w, r)
	})
}
