package result

import "testing"

func TestDeathReasons(t *testing.T) {
	tests := []struct {
		r             DeathReason
		valid, killed bool
	}{
		{DeathCrash, true, false},
		{DeathHandshake, true, false},
		{DeathTimeout, true, true},
		{DeathCollectTimeout, true, true},
		{DeathStuck, true, true},
		{DeathShutdown, true, true},
		{DeathInterrupt, true, true},
		{"", false, false},
		{"gremlins", false, false},
	}
	for _, tt := range tests {
		if tt.r.Valid() != tt.valid || tt.r.Killed() != tt.killed {
			t.Errorf("%q: Valid %v, Killed %v; want %v, %v", tt.r, tt.r.Valid(), tt.r.Killed(), tt.valid, tt.killed)
		}
	}
}
