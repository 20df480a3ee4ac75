package report

import (
	"encoding/json"
	"io"
)

// JSONWriter writes records as JSON lines, one record per line. Like
// TextWriter it is meant to be called from one goroutine.
type JSONWriter struct {
	enc *json.Encoder
}

// NewJSONWriter returns a writer to w.
func NewJSONWriter(w io.Writer) *JSONWriter {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return &JSONWriter{enc: enc}
}

// Object writes one object record.
func (w *JSONWriter) Object(o *Object) error {
	o.Record = "object"
	return w.enc.Encode(o)
}

// Summary writes the summary record.
func (w *JSONWriter) Summary(s *Summary) error {
	s.Record = "summary"
	return w.enc.Encode(s)
}
