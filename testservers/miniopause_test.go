//go:build unix

package testservers

import (
	"context"
	"testing"
	"time"
)

// TestPauseMinIO: while paused the server answers nothing; after resume it
// answers again, with its data intact (the health check says ready).
func TestPauseMinIO(t *testing.T) {
	endpoint, _, _ := MinIO(t)
	resume := PauseMinIO(t)
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	err := wantStatus(ctx, endpoint+"/minio/health/live", 200)
	cancel()
	if err == nil {
		t.Fatal("a paused MinIO answered")
	}
	resume()
	resume() // a second call does nothing
	ctx, cancel = context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := wantStatus(ctx, endpoint+"/minio/health/ready", 200); err != nil {
		t.Fatalf("after resume: %v", err)
	}
}
