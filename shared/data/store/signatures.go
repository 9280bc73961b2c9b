package store

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

const skSignature = "SIG"

func signaturePK(keyID string, et int64, sig string) string {
	return "SIG#" + keyID + "#" + strconv.FormatInt(et, 10) + "#" + sig
}

// ClaimSignature records that a signed request (key id, its time, its
// signature) was served, once: ErrExists when it was recorded before, a
// replay. The item carries the table's TTL at expires, after which the
// request's time is outside the window anyway.
func (s *Store) ClaimSignature(ctx context.Context, keyID string, et int64, sig string, expires time.Time) error {
	_, err := s.db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:                aws.String(s.table),
		Item:                     item{AttrPK: avS(signaturePK(keyID, et, sig)), AttrSK: avS(skSignature), AttrExpiresAt: avN(expires.Unix())},
		ConditionExpression:      aws.String("attribute_not_exists(#pk)"),
		ExpressionAttributeNames: map[string]string{"#pk": AttrPK},
	})
	var ccf *types.ConditionalCheckFailedException
	if asError(err, &ccf) {
		return fmt.Errorf("claim signature of key %q: %w", keyID, ErrExists)
	}
	if err != nil {
		return fmt.Errorf("claim signature of key %q: %w", keyID, err)
	}
	return nil
}
