package clamd

import (
	"math"
	"net/http"
	"time"

	"github.com/glassav/glassav/update"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics counts the daemon's work in Prometheus form. Each Metrics has its
// own registry, so tests and several servers in one process do not share
// counters.
type Metrics struct {
	reg         *prometheus.Registry
	scans       *prometheus.CounterVec
	detections  prometheus.Counter
	bytes       prometheus.Counter
	errors      prometheus.Counter
	limitHits   *prometheus.CounterVec
	cacheHits   prometheus.Counter
	latency     prometheus.Histogram
	connections prometheus.Gauge
}

// NewMetrics returns the daemon's metrics, with gauges that read the
// serving rules of db.
func NewMetrics(db *Database) *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		scans: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "glassav_scans_total", Help: "Objects scanned, by how they came (instream, fildes, path, http).",
		}, []string{"source"}),
		detections: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "glassav_detections_total", Help: "Objects found infected.",
		}),
		bytes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "glassav_scanned_bytes_total", Help: "Bytes given to the engine.",
		}),
		errors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "glassav_scan_errors_total", Help: "Scans that ended in an error reply.",
		}),
		limitHits: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "glassav_limit_hits_total", Help: "Objects stopped by a limit, by limit.",
		}, []string{"limit"}),
		cacheHits: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "glassav_verdict_cache_hits_total", Help: "Stream scans answered from the verdict cache.",
		}),
		latency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "glassav_scan_duration_seconds",
			Help:    "Time to scan one object, from having its bytes to the verdict.",
			Buckets: prometheus.ExponentialBuckets(0.0001, 4, 10),
		}),
		connections: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "glassav_connections", Help: "Open clamd protocol connections.",
		}),
	}
	gen := func(f func(g *Generation) float64) func() float64 {
		return func() float64 { return f(db.Current()) }
	}
	m.reg.MustRegister(m.scans, m.detections, m.bytes, m.errors, m.limitHits, m.cacheHits, m.latency, m.connections,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "glassav_rules_generation", Help: "Serving rule generation (1 at start, +1 per reload)."},
			gen(func(g *Generation) float64 { return float64(g.Number) })),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "glassav_rules_signatures", Help: "Signatures in the serving rules."},
			gen(func(g *Generation) float64 { return float64(g.Rules.Signatures()) })),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "glassav_rules_version", Help: "Daily database version of the serving rules (0: none)."},
			gen(func(g *Generation) float64 { return float64(g.Info.Version) })),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "glassav_rules_built_timestamp_seconds", Help: "Build time of the daily database (0: none)."},
			gen(func(g *Generation) float64 {
				if g.Info.Built.IsZero() {
					return 0
				}
				return float64(g.Info.Built.Unix())
			})),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "glassav_rules_loaded_timestamp_seconds", Help: "When the serving rules were loaded."},
			gen(func(g *Generation) float64 { return float64(g.Loaded.UnixNano()) / 1e9 })),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "glassav_rules_age_seconds", Help: "Age of the serving rules: since the daily database was built, or since loading without one."},
			gen(func(g *Generation) float64 {
				t := g.Loaded
				if !g.Info.Built.IsZero() {
					t = g.Info.Built
				}
				return time.Since(t).Seconds()
			})),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "glassav_rules_reloads_total", Help: "Successful reloads."},
			func() float64 { return float64(db.reloads.Load()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "glassav_rules_reload_failures_total", Help: "Reloads that failed; the old rules kept serving."},
			func() float64 { return float64(db.failures.Load()) }),
	)
	return m
}

// WatchUpdates adds glassav_database_age_seconds: how long ago the
// release the updater last verified in stateDir (the directory holding the
// "current" link the daemon loads) was published. It grows when updates
// stop arriving, whatever the reason: a frozen mirror, a dead network, a
// stopped updater. Before the first verified update it is absent (NaN).
func (m *Metrics) WatchUpdates(stateDir string) {
	m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "glassav_database_age_seconds",
		Help: "Time since the last verified signature release was published (NaN before the first update).",
	}, func() float64 {
		age, ok := update.DatabaseAge(stateDir, time.Now())
		if !ok {
			return math.NaN()
		}
		return age.Seconds()
	}))
}

// Handler serves the metrics in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// observe records one scan; a negative d (a file of a path scan, timed as
// part of its walk) is left out of the latency histogram.
func (m *Metrics) observe(source string, size int64, d time.Duration, found, failed bool, limit string) {
	if m == nil {
		return
	}
	m.scans.WithLabelValues(source).Inc()
	m.bytes.Add(float64(size))
	if d >= 0 {
		m.latency.Observe(d.Seconds())
	}
	if found {
		m.detections.Inc()
	}
	if failed {
		m.errors.Inc()
	}
	if limit != "" {
		m.limitHits.WithLabelValues(limit).Inc()
	}
}

// limitHit records a limit met before any scan (StreamMaxLength).
func (m *Metrics) limitHit(limit string) {
	if m != nil {
		m.limitHits.WithLabelValues(limit).Inc()
	}
}

func (m *Metrics) cacheHit() {
	if m != nil {
		m.cacheHits.Inc()
	}
}
