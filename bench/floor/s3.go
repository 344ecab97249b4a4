package floor

import (
	"context"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// ListS3 lists every object under prefix in bucket at an S3-compatible
// endpoint (path-style, static credentials) with ListObjectsV2, pages of
// 1000, and counts them; Bytes is the sum of their sizes.
func ListS3(ctx context.Context, endpoint, bucket, prefix, accessKey, secretKey string) (Result, error) {
	start := time.Now()
	c := s3.New(s3.Options{Region: "us-east-1", BaseEndpoint: aws.String(endpoint), UsePathStyle: true,
		Credentials: credentials.NewStaticCredentialsProvider(accessKey, secretKey, "")})
	p := s3.NewListObjectsV2Paginator(c, &s3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String(prefix), MaxKeys: aws.Int32(1000)})
	var res Result
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return Result{}, err
		}
		for _, o := range page.Contents {
			res.Items++
			res.Bytes += aws.ToInt64(o.Size)
		}
	}
	res.Duration = time.Since(start)
	return res, nil
}
