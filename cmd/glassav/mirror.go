package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
)

const mirrorUsage = `Usage: glassav mirror serve [options] DIR

Serves the static tree that glassav publish writes (checkpoint, tiles,
bundles, proofs) over HTTP. Any static web server does the same; this one
sets cache headers that suit the tree: the checkpoint must be revalidated,
tiles and bundles never change. Byte ranges are served, so interrupted
downloads resume. Nothing served is trusted by clients: they verify it.

Options:
`

func runMirror(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) int {
	var help bool
	listen := "127.0.0.1:8080"
	opts := options{
		{long: "help", short: 'h', flag: &help, help: "show this help"},
		{long: "listen", arg: "ADDR", set: stringVar(&listen), help: "serve HTTP on ADDR (default 127.0.0.1:8080; port 0 picks one)"},
	}
	rest, err := opts.parse(args)
	if err == nil && !help && (len(rest) != 2 || rest[0] != "serve") {
		err = errors.New("usage: glassav mirror serve DIR")
	}
	if err != nil {
		fmt.Fprintf(stderr, "glassav mirror: %v\nRun 'glassav mirror --help' for the options.\n", err)
		return 2
	}
	if help {
		fmt.Fprint(stdout, mirrorUsage+opts.usage())
		return 0
	}
	dir := rest[1]
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		fmt.Fprintf(stderr, "glassav mirror: %s is not a directory\n", dir)
		return 1
	}
	err = serveHTTP(ctx, listen, mirrorHandler(dir), stdout, func(addr string) {
		fmt.Fprintf(stdout, "glassav mirror: serving %s on http://%s\n", dir, addr)
	})
	if err != nil {
		fmt.Fprintf(stderr, "glassav mirror: %v\n", err)
		return 1
	}
	return 0
}

// mirrorHandler serves dir read-only with cache headers by path. Listings
// are not served and dot files (temporary files of a publish in
// progress) are hidden.
func mirrorHandler(dir string) http.Handler {
	fs := http.FileServer(http.Dir(dir))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "read-only mirror", http.StatusMethodNotAllowed)
			return
		}
		p := r.URL.Path
		if strings.HasSuffix(p, "/") || strings.Contains(p, "/.") {
			http.NotFound(w, r)
			return
		}
		switch {
		case p == "/checkpoint":
			w.Header().Set("Cache-Control", "no-cache")
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		case strings.HasPrefix(p, "/tile/"):
			w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
			w.Header().Set("Content-Type", "application/octet-stream")
		case strings.HasPrefix(p, "/bundles/"), strings.HasPrefix(p, "/proofs/"):
			w.Header().Set("Cache-Control", "public, max-age=86400")
		}
		fs.ServeHTTP(w, r)
	})
}
