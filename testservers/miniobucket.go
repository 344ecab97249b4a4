package testservers

import (
	"bytes"
	"context"
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
