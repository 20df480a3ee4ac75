package yara

import (
	"math"
	"strconv"
)

// mathModule is yara's "math" module: byte statistics of a range of the
// scanned data or of a string, and a few integer helpers.
//
// The results are yara 4.2.3's, bit for bit where the arithmetic allows:
// the same operations in the same order, float32 division in percentage,
// unsigned comparison in min and max, the byte argument of count and
// percentage truncated to 8 bits, serial_correlation's wrap-around term
// taken from the last byte twice (later yara versions use the first byte),
// and the string overloads of mean, deviation, serial_correlation and
// monte_carlo_pi reading bytes as C's signed char: a byte 0x80 or above
// counts as negative (and as a huge unsigned number in monte_carlo_pi).
// Explicit float64 conversions keep the compiler from fusing multiplies
// and adds, which would change the last bits. to_string is from yara 4.4.
type mathModule struct{ decl, loaded *Object }

func newMathModule() mathModule { return mathModule{mathObject(false), mathObject(true)} }

func (mathModule) Name() string { return "math" }

func (m mathModule) Declare() *Object { return m.decl }

func (m mathModule) Load(*ScanContext) (*Object, error) { return m.loaded, nil }

// meanBytes is math.MEAN_BYTES, the mean of uniformly random bytes.
const meanBytes = 127.5

func mathObject(loaded bool) *Object {
	mean := scalar(KindFloat)
	if loaded {
		mean = floatObject(meanBytes)
	}
	return structOf(
		member{"MEAN_BYTES", mean},
		member{"in_range", overloads(
			fn("fff", KindInt, func(_ *ScanContext, a []Value) Value {
				return boolValue(a[1].Float <= a[0].Float && a[0].Float <= a[2].Float)
			}),
		)},
		member{"deviation", overloads(
			fn("iif", KindFloat, func(sc *ScanContext, a []Value) Value {
				d, ok := distribution(sc, a[0].Int, a[1].Int)
				if !ok {
					return undefined(KindFloat)
				}
				return floatValue(d.deviation(a[2].Float))
			}),
			fn("sf", KindFloat, func(_ *ScanContext, a []Value) Value {
				return floatValue(stringDeviation(a[0].Str, a[1].Float))
			}),
		)},
		member{"mean", overloads(
			fn("ii", KindFloat, func(sc *ScanContext, a []Value) Value {
				d, ok := distribution(sc, a[0].Int, a[1].Int)
				if !ok {
					return undefined(KindFloat)
				}
				return floatValue(d.mean())
			}),
			fn("s", KindFloat, func(_ *ScanContext, a []Value) Value {
				return floatValue(stringMean(a[0].Str))
			}),
		)},
		member{"serial_correlation", overloads(
			fn("ii", KindFloat, func(sc *ScanContext, a []Value) Value {
				b, ok := dataRange(sc, a[0].Int, a[1].Int)
				if !ok {
					return undefined(KindFloat)
				}
				return floatValue(serialCorrelation(b, unsignedChar))
			}),
			fn("s", KindFloat, func(_ *ScanContext, a []Value) Value {
				return floatValue(serialCorrelation(a[0].Str, signedChar))
			}),
		)},
		member{"monte_carlo_pi", overloads(
			fn("ii", KindFloat, func(sc *ScanContext, a []Value) Value {
				b, ok := dataRange(sc, a[0].Int, a[1].Int)
				if !ok {
					return undefined(KindFloat)
				}
				return monteCarloPi(b, unsignedChar)
			}),
			fn("s", KindFloat, func(_ *ScanContext, a []Value) Value {
				return monteCarloPi(a[0].Str, signedCharAsUint32)
			}),
		)},
		member{"entropy", overloads(
			fn("ii", KindFloat, func(sc *ScanContext, a []Value) Value {
				d, ok := distribution(sc, a[0].Int, a[1].Int)
				if !ok {
					return undefined(KindFloat)
				}
				return floatValue(d.entropy())
			}),
			fn("s", KindFloat, func(_ *ScanContext, a []Value) Value {
				var d byteCounts
				d.add(a[0].Str)
				return floatValue(d.entropyOver(float64(len(a[0].Str))))
			}),
		)},
		member{"min", overloads(
			fn("ii", KindInt, func(_ *ScanContext, a []Value) Value {
				return intValue(int64(min(uint64(a[0].Int), uint64(a[1].Int))))
			}),
		)},
		member{"max", overloads(
			fn("ii", KindInt, func(_ *ScanContext, a []Value) Value {
				return intValue(int64(max(uint64(a[0].Int), uint64(a[1].Int))))
			}),
		)},
		member{"to_number", overloads(
			fn("b", KindInt, func(_ *ScanContext, a []Value) Value {
				return boolValue(a[0].Int != 0)
			}),
		)},
		member{"abs", overloads(
			fn("i", KindInt, func(_ *ScanContext, a []Value) Value {
				i := a[0].Int
				if i < 0 {
					i = -i // the minimum integer stays negative, as llabs gives it
				}
				return intValue(i)
			}),
		)},
		member{"count", overloads(
			fn("iii", KindInt, func(sc *ScanContext, a []Value) Value {
				d, ok := distribution(sc, a[1].Int, a[2].Int)
				if !ok {
					return undefined(KindInt)
				}
				return intValue(int64(d[uint8(a[0].Int)]))
			}),
			fn("i", KindInt, func(sc *ScanContext, a []Value) Value {
				d, ok := wholeDistribution(sc)
				if !ok {
					return undefined(KindInt)
				}
				return intValue(int64(d[uint8(a[0].Int)]))
			}),
		)},
		member{"percentage", overloads(
			fn("iii", KindFloat, func(sc *ScanContext, a []Value) Value {
				d, ok := distribution(sc, a[1].Int, a[2].Int)
				if !ok {
					return undefined(KindFloat)
				}
				return floatValue(d.percentage(uint8(a[0].Int)))
			}),
			fn("i", KindFloat, func(sc *ScanContext, a []Value) Value {
				d, ok := wholeDistribution(sc)
				if !ok {
					return undefined(KindFloat)
				}
				return floatValue(d.percentage(uint8(a[0].Int)))
			}),
		)},
		member{"mode", overloads(
			fn("ii", KindInt, func(sc *ScanContext, a []Value) Value {
				d, ok := distribution(sc, a[0].Int, a[1].Int)
				if !ok {
					return undefined(KindInt)
				}
				return intValue(d.mode())
			}),
			fn("", KindInt, func(sc *ScanContext, _ []Value) Value {
				d, ok := wholeDistribution(sc)
				if !ok {
					return undefined(KindInt)
				}
				return intValue(d.mode())
			}),
		)},
		member{"to_string", overloads(
			fn("i", KindString, func(_ *ScanContext, a []Value) Value {
				return stringValue(strconv.AppendInt(nil, a[0].Int, 10))
			}),
			fn("ii", KindString, func(_ *ScanContext, a []Value) Value {
				switch b := a[1].Int; b {
				case 10:
					return stringValue(strconv.AppendInt(nil, a[0].Int, 10))
				case 8, 16:
					// printf's %llo and %llx: the two's-complement bits.
					return stringValue(strconv.AppendUint(nil, uint64(a[0].Int), int(b)))
				}
				return undefined(KindString)
			}),
		)},
	)
}

// byteCounts is the distribution of byte values of some data.
type byteCounts [256]uint32

func (d *byteCounts) add(b []byte) {
	for _, c := range b {
		d[c]++
	}
}

func (d *byteCounts) total() float64 {
	var n uint64
	for _, c := range d {
		n += uint64(c)
	}
	return float64(n)
}

// distribution returns the byte counts of the data range (off, n): see
// dataRange for when it is undefined. Counts of large ranges are memoised
// per scan (rules often ask for entropy, mean and deviation of one range);
// small ones cost less to count again than to keep.
func distribution(sc *ScanContext, off, n int64) (*byteCounts, bool) {
	b, ok := dataRange(sc, off, n)
	if !ok {
		return nil, false
	}
	count := func() any {
		d := new(byteCounts)
		d.add(b)
		return d
	}
	if len(b) < memoMinRange {
		return count().(*byteCounts), true
	}
	return sc.Cached(distributionKey{off, int64(len(b))}, count).(*byteCounts), true
}

// memoMinRange is the smallest range whose byte counts are memoised.
const memoMinRange = 64 << 10

type distributionKey struct{ off, len int64 }

// wholeDistribution returns the byte counts of all the data, undefined
// for empty data (yara sees no memory block then). The counts are
// memoised per scan: rules call math.count(b) for many bytes b.
func wholeDistribution(sc *ScanContext) (*byteCounts, bool) {
	if len(sc.Data) == 0 {
		return nil, false
	}
	d := sc.Cached(wholeDistributionKey{}, func() any {
		d := new(byteCounts)
		d.add(sc.Data)
		return d
	}).(*byteCounts)
	return d, true
}

type wholeDistributionKey struct{}

func (d *byteCounts) entropy() float64 { return d.entropyOver(d.total()) }

// entropyOver is the Shannon entropy in bits per byte, given the number of
// bytes counted (0 for no bytes).
func (d *byteCounts) entropyOver(n float64) float64 {
	e := 0.0
	for _, c := range d {
		if c != 0 {
			x := float64(c) / n
			e -= float64(x * math.Log2(x))
		}
	}
	return e
}

func (d *byteCounts) mean() float64 {
	sum := 0.0
	for i, c := range d {
		sum += float64(float64(i) * float64(c))
	}
	return sum / d.total()
}

func (d *byteCounts) deviation(mean float64) float64 {
	sum := 0.0
	for i, c := range d {
		sum += float64(math.Abs(float64(i)-mean) * float64(c))
	}
	return sum / d.total()
}

// percentage is count/total in single precision, as yara computes it.
func (d *byteCounts) percentage(b uint8) float64 {
	var n uint64
	for _, c := range d {
		n += uint64(c)
	}
	return float64(float32(int64(d[b])) / float32(int64(n)))
}

// mode is the most frequent byte value, the smallest on ties.
func (d *byteCounts) mode() int64 {
	m := 0
	for i, c := range d {
		if c > d[m] {
			m = i
		}
	}
	return int64(m)
}

// signedChar is a byte as C's (signed) char on x86.
func signedChar(c byte) float64 { return float64(int8(c)) }

func stringMean(s []byte) float64 {
	sum := 0.0
	for _, c := range s {
		sum += signedChar(c)
	}
	return sum / float64(len(s))
}

func stringDeviation(s []byte, mean float64) float64 {
	sum := 0.0
	for _, c := range s {
		sum += math.Abs(signedChar(c) - mean)
	}
	return sum / float64(len(s))
}

// serialCorrelation is the serial correlation coefficient of successive
// bytes (as in the ent program), -100000 when it is undefined for the
// data (all bytes equal, or none). value reads a byte.
func serialCorrelation(b []byte, value func(byte) float64) float64 {
	var last, cur, t1, t2, t3 float64
	for _, c := range b {
		cur = value(c)
		t1 += float64(last * cur)
		t2 += cur
		t3 += float64(cur * cur)
		last = cur
	}
	// yara 4.2.3 closes the cycle with last*last, not last*first.
	t1 += float64(last * cur)
	t2 = float64(t2 * t2)
	n := float64(len(b))
	scc := float64(n*t3) - t2
	if scc == 0 {
		return -100000
	}
	return (float64(n*t1) - t2) / scc
}

// unsignedChar is a byte of the scanned data, read as unsigned.
func unsignedChar(c byte) float64 { return float64(c) }

// signedCharAsUint32 is a signed char converted to unsigned int, as yara's
// string overload of monte_carlo_pi reads its bytes.
func signedCharAsUint32(c byte) float64 { return float64(uint32(int32(int8(c)))) }

// monteCarloPi estimates pi from successive 6-byte groups taken as points
// in a square, and returns the relative error of the estimate; undefined
// when there is no complete group. value reads a byte.
func monteCarloPi(b []byte, value func(byte) float64) Value {
	const inCircle = (256*256*256 - 1) * (256*256*256 - 1)
	var mcount, inmont int
	for i := 0; i+6 <= len(b); i += 6 {
		var x, y float64
		for j := 0; j < 3; j++ {
			x = float64(x*256) + value(b[i+j])
			y = float64(y*256) + value(b[i+j+3])
		}
		mcount++
		// Exact for bytes read unsigned (all terms below 2^53); rounded
		// as in C for the huge values of signed bytes.
		if float64(x*x)+float64(y*y) <= inCircle {
			inmont++
		}
	}
	if mcount == 0 {
		return undefined(KindFloat)
	}
	mpi := 4.0 * (float64(inmont) / float64(mcount))
	return floatValue(math.Abs((mpi - math.Pi) / math.Pi))
}
