//go:build !unix

package pluginhub_test

import "time"

// processCPU is not measured here; the cpu-us/run figure reads 0.
func processCPU() time.Duration { return 0 }
