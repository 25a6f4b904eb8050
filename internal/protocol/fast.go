package protocol

import (
	"bytes"
	"strconv"
)

// decodeFast decodes the messages every test sends, start and done, when
// they are flat: string, number and boolean values and one array of
// numbers (pd), no escapes in strings. ok is false for anything else, and
// the caller decodes with encoding/json; for what it accepts it gives the
// same Message. A run sends two of these per test, and this path costs a
// fraction of the reflective decoder's.
func decodeFast(line []byte) (m *Message, ok bool) {
	if !bytes.HasPrefix(line, []byte(`{"t":"start",`)) && !bytes.HasPrefix(line, []byte(`{"t":"done",`)) {
		return nil, false
	}
	p := &flatParser{b: line}
	m = &Message{}
	if !p.byte('{') {
		return nil, false
	}
	for first := true; ; first = false {
		p.space()
		if p.peek() == '}' {
			if first {
				return nil, false
			}
			p.i++
			break
		}
		if !first && !p.byte(',') {
			return nil, false
		}
		p.space()
		key, ok := p.str()
		if !ok || !p.sep() {
			return nil, false
		}
		var dst *string
		switch string(key) {
		case "t":
			dst = &m.Type
		case "id":
			dst = &m.ID
		case "pp":
			dst = &m.PassedPhases
		}
		if dst != nil {
			v, ok := p.str()
			if !ok {
				return nil, false
			}
			*dst = string(v)
			continue
		}
		switch string(key) {
		case "dur":
			v, ok := p.num()
			if !ok {
				return nil, false
			}
			m.Duration = v
		case "spawned":
			v, ok := p.boolean()
			if !ok {
				return nil, false
			}
			m.Spawned = v
		case "pd":
			v, ok := p.nums()
			if !ok {
				return nil, false
			}
			m.PassedDurations = v
		default:
			return nil, false
		}
	}
	p.space()
	if p.i != len(p.b) || m.Type == "" {
		return nil, false
	}
	return m, true
}

// flatParser reads the flat JSON objects decodeFast accepts.
type flatParser struct {
	b []byte
	i int
}

func (p *flatParser) peek() byte {
	if p.i < len(p.b) {
		return p.b[p.i]
	}
	return 0
}

func (p *flatParser) space() {
	for p.i < len(p.b) && (p.b[p.i] == ' ' || p.b[p.i] == '\t' || p.b[p.i] == '\r' || p.b[p.i] == '\n') {
		p.i++
	}
}

func (p *flatParser) byte(c byte) bool {
	if p.peek() != c {
		return false
	}
	p.i++
	return true
}

func (p *flatParser) sep() bool {
	p.space()
	if !p.byte(':') {
		return false
	}
	p.space()
	return true
}

// str reads a string without escapes or control characters.
func (p *flatParser) str() ([]byte, bool) {
	if !p.byte('"') {
		return nil, false
	}
	start := p.i
	for p.i < len(p.b) {
		c := p.b[p.i]
		switch {
		case c == '"':
			s := p.b[start:p.i]
			p.i++
			return s, true
		case c == '\\' || c < 0x20 || c >= 0x80:
			// Escapes and non-ASCII bytes (invalid UTF-8 needs
			// encoding/json's replacement) go the slow way.
			return nil, false
		}
		p.i++
	}
	return nil, false
}

// num reads a JSON number.
func (p *flatParser) num() (float64, bool) {
	start := p.i
	for p.i < len(p.b) {
		c := p.b[p.i]
		if (c >= '0' && c <= '9') || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E' {
			p.i++
			continue
		}
		break
	}
	tok := p.b[start:p.i]
	if len(tok) == 0 || !validNumber(tok) {
		return 0, false
	}
	v, err := strconv.ParseFloat(string(tok), 64)
	return v, err == nil
}

// validNumber reports whether tok is a number in JSON's grammar, which is
// stricter than ParseFloat's ("+1", ".5", "1." and "01" are not JSON).
func validNumber(tok []byte) bool {
	i := 0
	if tok[i] == '-' {
		i++
	}
	if i >= len(tok) {
		return false
	}
	if tok[i] == '0' {
		i++
	} else if tok[i] >= '1' && tok[i] <= '9' {
		for i < len(tok) && tok[i] >= '0' && tok[i] <= '9' {
			i++
		}
	} else {
		return false
	}
	if i < len(tok) && tok[i] == '.' {
		i++
		d := i
		for i < len(tok) && tok[i] >= '0' && tok[i] <= '9' {
			i++
		}
		if i == d {
			return false
		}
	}
	if i < len(tok) && (tok[i] == 'e' || tok[i] == 'E') {
		i++
		if i < len(tok) && (tok[i] == '+' || tok[i] == '-') {
			i++
		}
		d := i
		for i < len(tok) && tok[i] >= '0' && tok[i] <= '9' {
			i++
		}
		if i == d {
			return false
		}
	}
	return i == len(tok)
}

func (p *flatParser) boolean() (bool, bool) {
	switch {
	case bytes.HasPrefix(p.b[p.i:], []byte("true")):
		p.i += 4
		return true, true
	case bytes.HasPrefix(p.b[p.i:], []byte("false")):
		p.i += 5
		return false, true
	}
	return false, false
}

// nums reads an array of numbers.
func (p *flatParser) nums() ([]float64, bool) {
	if !p.byte('[') {
		return nil, false
	}
	out := []float64{}
	p.space()
	if p.byte(']') {
		return out, true
	}
	for {
		p.space()
		v, ok := p.num()
		if !ok {
			return nil, false
		}
		out = append(out, v)
		p.space()
		if p.byte(']') {
			return out, true
		}
		if !p.byte(',') {
			return nil, false
		}
	}
}
