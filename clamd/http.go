package clamd

import (
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/glassav/glassav/report"
)

// HTTPOptions configure the HTTP API.
type HTTPOptions struct {
	// Token, when set, is required as "Authorization: Bearer <token>" on
	// every endpoint but /healthz.
	Token string
	// Allow, when not empty, lists the client networks served; others get
	// 403. It applies to every endpoint.
	Allow []netip.Prefix
}

// HTTPHandler returns the HTTP API:
//
//	POST /v1/scan      body = the object; reply = report.Object as JSON
//	GET  /v1/version   versions and rule information as JSON
//	GET  /healthz      "ok" while rules are loaded
//	GET  /metrics      Prometheus text format (when the server has Metrics)
//
// The body of /v1/scan is limited to StreamMaxLength (413 beyond) and is
// read before a scan slot is taken, as an INSTREAM is.
func (s *Server) HTTPHandler(opt HTTPOptions) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/scan", s.httpScan)
	mux.HandleFunc("GET /v1/version", s.httpVersion)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "ok\n")
	})
	if s.metrics != nil {
		mux.Handle("GET /metrics", s.metrics.Handler())
	}
	return &guard{next: mux, opt: opt}
}

// guard applies the allow-list and the bearer token.
type guard struct {
	next http.Handler
	opt  HTTPOptions
}

func (g *guard) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if len(g.opt.Allow) > 0 && !allowed(r.RemoteAddr, g.opt.Allow) {
		httpError(w, http.StatusForbidden, "address not allowed")
		return
	}
	if g.opt.Token != "" && r.URL.Path != "/healthz" {
		tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || subtle.ConstantTimeCompare([]byte(tok), []byte(g.opt.Token)) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="glassav"`)
			httpError(w, http.StatusUnauthorized, "missing or wrong bearer token")
			return
		}
	}
	g.next.ServeHTTP(w, r)
}

func allowed(remote string, allow []netip.Prefix) bool {
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		host = remote
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return false
	}
	ip = ip.Unmap()
	for _, p := range allow {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

func httpError(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(map[string]string{"error": msg})
}

// httpScan scans the request body. The name for the report is the "name"
// query parameter, else "stream".
func (s *Server) httpScan(w http.ResponseWriter, r *http.Request) {
	name := r.URL.Query().Get("name")
	if name == "" {
		name = "stream"
	}
	limit := s.cfg.StreamMaxLength
	if limit <= 0 || limit > maxStream {
		limit = maxStream
	}
	if r.ContentLength > limit {
		s.metrics.limitHit("StreamMaxLength")
		httpError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("body larger than StreamMaxLength (%d bytes)", limit))
		return
	}
	st := &stream{name: name}
	defer st.close()
	body := http.MaxBytesReader(w, r.Body, limit)
	buf := make([]byte, 64<<10)
	rc := http.NewResponseController(w)
	for {
		// As for INSTREAM chunks: a client that stops sending for
		// ReadTimeout is dropped, however long the whole upload takes.
		if s.cfg.ReadTimeout > 0 {
			rc.SetReadDeadline(time.Now().Add(s.cfg.ReadTimeout))
		}
		n, err := body.Read(buf)
		if n > 0 {
			if werr := st.write(buf[:n], s.cfg.TemporaryDirectory); werr != nil {
				httpError(w, http.StatusInternalServerError, "cannot spool the body")
				return
			}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			var mb *http.MaxBytesError
			if errors.As(err, &mb) {
				s.metrics.limitHit("StreamMaxLength")
				httpError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("body larger than StreamMaxLength (%d bytes)", limit))
				return
			}
			httpError(w, http.StatusBadRequest, "reading body: "+err.Error())
			return
		}
	}
	rc.SetReadDeadline(time.Time{})
	if err := s.acquire(r.Context()); err != nil {
		httpError(w, http.StatusServiceUnavailable, "shutting down")
		return
	}
	defer s.release()
	j := s.startJob("HTTP", name)
	defer s.endJob(j)
	g := s.db.Current()
	data, err := st.bytes()
	if err != nil {
		httpError(w, http.StatusInternalServerError, "reading spooled body")
		return
	}
	start := time.Now()
	out := s.scanBytes(r.Context(), g, name, data, false)
	s.metrics.observe("http", int64(len(data)), time.Since(start), len(out.names) > 0, out.errText != "", out.limit)
	s.logVerdict("http("+r.RemoteAddr+") "+name, &out)

	o := report.NewObject(name, report.StatusOK)
	o.Size = int64(len(data))
	switch {
	case out.errText != "":
		o.SetError(report.CodeEngine, out.errText)
	case out.limit != "":
		o.SetLimit(report.Limit(out.limit), s.cfg.AlertExceedsMax)
	case out.result != nil:
		o.SetResult(out.result)
		o.Scanned = max(out.result.Scanned, o.Size)
	case len(out.names) > 0: // from the cache: names only
		o.Status = report.StatusFound
		o.Scanned = o.Size
		for _, n := range out.names {
			o.Detections = append(o.Detections, report.Detection{Name: n, Kind: "cached"})
		}
	default:
		o.Scanned = o.Size
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(o)
}

// VersionInfo is the reply of GET /v1/version.
type VersionInfo struct {
	Version         string    `json:"version"`          // glassav's version
	Clamd           string    `json:"clamd"`            // the VERSION reply
	Signatures      int       `json:"signatures"`       // in the serving rules
	Generation      uint64    `json:"generation"`       // serving rule generation
	Loaded          time.Time `json:"loaded"`           // when it was loaded
	DatabaseVersion int       `json:"database_version"` // daily version, 0 if none
	DatabaseBuilt   time.Time `json:"database_built,omitzero"`
	LastReloadError string    `json:"last_reload_error,omitempty"`
}

func (s *Server) httpVersion(w http.ResponseWriter, r *http.Request) {
	g := s.db.Current()
	v := VersionInfo{
		Version: s.opt.Version, Clamd: s.Version(), Signatures: g.Rules.Signatures(),
		Generation: g.Number, Loaded: g.Loaded, DatabaseVersion: g.Info.Version,
		DatabaseBuilt: g.Info.Built, LastReloadError: s.db.LastError(),
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v)
}
