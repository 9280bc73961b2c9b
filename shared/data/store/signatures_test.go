package store_test

import (
	"context"
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/abtest/abtest/shared/data/store"
	"github.com/abtest/abtest/shared/data/store/storetest"
)

// TestClaimSignature: a signed request is claimed once; the same key, time
// and signature again is ErrExists; any part different is a new claim; the
// item expires by the table's TTL.
func TestClaimSignature(t *testing.T) {
	st, db, table := storetest.New(t)
	ctx := context.Background()
	exp := time.Unix(1764513600, 0)
	if err := st.ClaimSignature(ctx, "KEYA", 1764513000, "abc", exp); err != nil {
		t.Fatal(err)
	}
	if err := st.ClaimSignature(ctx, "KEYA", 1764513000, "abc", exp); !errors.Is(err, store.ErrExists) {
		t.Fatalf("replay: %v, want ErrExists", err)
	}
	for _, c := range []struct {
		key string
		et  int64
		sig string
	}{{"KEYB", 1764513000, "abc"}, {"KEYA", 1764513001, "abc"}, {"KEYA", 1764513000, "abd"}} {
		if err := st.ClaimSignature(ctx, c.key, c.et, c.sig, exp); err != nil {
			t.Fatalf("%+v: %v", c, err)
		}
	}
	out, err := db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(table), Key: map[string]types.AttributeValue{
		store.AttrPK: &types.AttributeValueMemberS{Value: "SIG#KEYA#1764513000#abc"}, store.AttrSK: &types.AttributeValueMemberS{Value: "SIG"}}})
	if err != nil {
		t.Fatal(err)
	}
	if n, ok := out.Item[store.AttrExpiresAt].(*types.AttributeValueMemberN); !ok || n.Value != strconv.FormatInt(exp.Unix(), 10) {
		t.Fatalf("item %v: want expires_at %d", out.Item, exp.Unix())
	}
}
