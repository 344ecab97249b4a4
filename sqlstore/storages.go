package sqlstore

import (
	"context"
	"database/sql"
	"strings"

	"github.com/labelhub/labelhub"
)

const storageColumns = `id, org_id, name, provider, bucket, region, endpoint, path_style, account_name, delivery, signed_url_ttl, credential_fields, credentials, created_by, created_at, updated_at`

func scanStorage(row interface{ Scan(...any) error }) (labelhub.StorageRecord, error) {
	var r labelhub.StorageRecord
	var provider, delivery, fields string
	var created, updated int64
	err := row.Scan(&r.ID, &r.OrgID, &r.Name, &provider, &r.Bucket, &r.Region, &r.Endpoint, &r.PathStyle, &r.AccountName,
		&delivery, &r.SignedURLTTL, &fields, &r.SealedCredentials, &r.CreatedBy, &created, &updated)
	r.Provider, r.Delivery = labelhub.StorageProvider(provider), labelhub.Delivery(delivery)
	r.CredentialFields = []string{}
	if fields != "" {
		r.CredentialFields = strings.Split(fields, ",")
	}
	r.CreatedAt, r.UpdatedAt = fromMicros(created), fromMicros(updated)
	return r, err
}

// CreateStorage implements labelhub.StorageStore.
func (s *Store) CreateStorage(ctx context.Context, r labelhub.StorageRecord) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO storages (`+storageColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)`,
		r.ID, r.OrgID, r.Name, string(r.Provider), r.Bucket, r.Region, r.Endpoint, r.PathStyle, r.AccountName, string(r.Delivery),
		r.SignedURLTTL, strings.Join(r.CredentialFields, ","), r.SealedCredentials, r.CreatedBy, micros(r.CreatedAt), micros(r.UpdatedAt))
	return err
}

// GetStorage implements labelhub.StorageStore.
func (s *Store) GetStorage(ctx context.Context, orgID, id string) (labelhub.StorageRecord, error) {
	r, err := scanStorage(s.db.QueryRowContext(ctx, `SELECT `+storageColumns+` FROM storages WHERE org_id = $1 AND id = $2`, orgID, id))
	return r, notFound(err, "storage integration")
}

// ListStorages implements labelhub.StorageStore.
func (s *Store) ListStorages(ctx context.Context, orgID string, p labelhub.PageRequest) (labelhub.Page[labelhub.Storage], error) {
	return page(ctx, s.db, p, `SELECT `+storageColumns+` FROM storages WHERE org_id = $1 AND id > $2 ORDER BY id LIMIT $3`, []any{orgID},
		func(r *sql.Rows) (labelhub.Storage, string, error) {
			rec, err := scanStorage(r)
			return rec.Storage, rec.ID, err
		})
}

// DeleteStorage implements labelhub.StorageStore.
func (s *Store) DeleteStorage(ctx context.Context, orgID, id string) error {
	return s.deleteOne(ctx, `DELETE FROM storages WHERE org_id = $1 AND id = $2`, orgID, id, "storage integration")
}
