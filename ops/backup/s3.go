package backup

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// S3 keeps backups in an S3-compatible bucket (AWS, DigitalOcean Spaces,
// MinIO, ...), under a key prefix.
type S3 struct {
	client *minio.Client
	bucket string
	prefix string
}

// S3Options locate the bucket.
type S3Options struct {
	Endpoint  string // host[:port], no scheme
	Bucket    string
	Prefix    string // e.g. "minitwit/"; may be empty
	Region    string
	AccessKey string
	SecretKey string
	Insecure  bool // plain HTTP (a local MinIO)
}

// NewS3 returns the target; it does not contact the server.
func NewS3(o S3Options) (*S3, error) {
	c, err := minio.New(o.Endpoint, &minio.Options{
		Creds:  credentials.NewStaticV4(o.AccessKey, o.SecretKey, ""),
		Secure: !o.Insecure,
		Region: o.Region,
	})
	if err != nil {
		return nil, fmt.Errorf("backup.s3: %w", err)
	}
	return &S3{client: c, bucket: o.Bucket, prefix: o.Prefix}, nil
}

func (s *S3) String() string { return "s3 " + s.bucket + "/" + s.prefix }

func (s *S3) Put(ctx context.Context, name string, r io.Reader, size int64) error {
	_, err := s.client.PutObject(ctx, s.bucket, s.prefix+name, r, size, minio.PutObjectOptions{ContentType: "application/octet-stream"})
	return err
}

func (s *S3) List(ctx context.Context) ([]string, error) {
	var names []string
	for obj := range s.client.ListObjects(ctx, s.bucket, minio.ListObjectsOptions{Prefix: s.prefix}) {
		if obj.Err != nil {
			return nil, obj.Err
		}
		if rest, ok := strings.CutPrefix(obj.Key, s.prefix); ok && !strings.Contains(rest, "/") {
			names = append(names, rest)
		}
	}
	return names, nil
}

func (s *S3) Delete(ctx context.Context, name string) error {
	return s.client.RemoveObject(ctx, s.bucket, s.prefix+name, minio.RemoveObjectOptions{})
}

// Open reads a stored backup (restores from S3).
func (s *S3) Open(ctx context.Context, name string) (io.ReadCloser, error) {
	return s.client.GetObject(ctx, s.bucket, s.prefix+name, minio.GetObjectOptions{})
}

// ParseS3URL splits s3://bucket/key.
func ParseS3URL(u string) (bucket, key string, err error) {
	rest, ok := strings.CutPrefix(u, "s3://")
	if !ok {
		return "", "", fmt.Errorf("%q is not an s3://bucket/key URL", u)
	}
	bucket, key, ok = strings.Cut(rest, "/")
	if !ok || bucket == "" || key == "" || strings.HasSuffix(key, "/") {
		return "", "", fmt.Errorf("%q is not an s3://bucket/key URL", u)
	}
	return bucket, key, nil
}
