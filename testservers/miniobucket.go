package testservers

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// MinIOBucket makes a bucket of the caller's own (named by NewBucketName)
// on the shared MinIO server and puts objects (key → content) in it. It
// returns the server's endpoint and root credentials and the bucket's name.
func MinIOBucket[V string | []byte](t testing.TB, objects map[string]V) (endpoint, accessKey, secretKey, bucket string) {
	t.Helper()
	endpoint, accessKey, secretKey = MinIO(t)
	c := s3.New(s3.Options{Region: "us-east-1", BaseEndpoint: aws.String(endpoint), UsePathStyle: true,
		Credentials: credentials.NewStaticCredentialsProvider(accessKey, secretKey, "")})
	ctx := context.Background()
	bucket = NewBucketName(t)
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatalf("testservers: create bucket %s: %v", bucket, err)
	}
	for k, v := range objects {
		if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(k), Body: bytes.NewReader([]byte(v))}); err != nil {
			t.Fatalf("testservers: put %s/%s: %v", bucket, k, err)
		}
	}
	return endpoint, accessKey, secretKey, bucket
}

// MinIOPutMany puts a tiny object (one byte) at each key of bucket on the
// shared MinIO server, 32 at a time, for tests and benchmarks that need
// many objects.
func MinIOPutMany(t testing.TB, bucket string, keys []string) {
	t.Helper()
	endpoint, accessKey, secretKey := MinIO(t)
	c := s3.New(s3.Options{Region: "us-east-1", BaseEndpoint: aws.String(endpoint), UsePathStyle: true,
		Credentials: credentials.NewStaticCredentialsProvider(accessKey, secretKey, "")})
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		failed error
	)
	work := make(chan string)
	for range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := range work {
				_, err := c.PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(k), Body: bytes.NewReader([]byte("x"))})
				if err != nil {
					mu.Lock()
					failed = fmt.Errorf("put %s/%s: %w", bucket, k, err)
					mu.Unlock()
				}
			}
		}()
	}
	for _, k := range keys {
		work <- k
	}
	close(work)
	wg.Wait()
	if failed != nil {
		t.Fatalf("testservers: %v", failed)
	}
}
