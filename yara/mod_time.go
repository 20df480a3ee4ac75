package yara

import "time"

// timeModule is yara's "time" module: time.now(), the scan's start time in
// seconds since the Unix epoch.
type timeModule struct{ obj *Object }

func newTimeModule() timeModule { return timeModule{timeObject()} }

func (timeModule) Name() string { return "time" }

func (m timeModule) Declare() *Object { return m.obj }

func (m timeModule) Load(*ScanContext) (*Object, error) { return m.obj, nil }

func timeObject() *Object {
	return structOf(
		member{"now", overloads(fn("", KindInt, func(sc *ScanContext, _ []Value) Value {
			now := sc.Now
			if now.IsZero() {
				now = time.Now()
			}
			return intValue(now.Unix())
		}))},
	)
}
