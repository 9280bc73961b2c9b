package store

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/abtest/abtest/shared/domain/flag"
)

// Flag definitions: pk FLAG#<key>, sk DEF, listed on gsi1 under FLAGS
// while not archived (newest first); their audit trail beside them, sk
// HIST#<version> as for experiments. Values and rules are stored as JSON
// text: DynamoDB maps would reorder keys and cannot hold every JSON number
// exactly.

const gsiFlags = "FLAGS"

// Statuses of a flag item: a flag is live until archived.
const (
	flagLive     = "live"
	flagArchived = "archived"
)

func flagPK(key string) string { return "FLAG#" + key }

// FlagConflictError: the flag changed since the version the caller read;
// Current is the flag as it is now (nil if it could not be read). It is
// ErrVersionConflict.
type FlagConflictError struct{ Current *flag.Flag }

func (e *FlagConflictError) Error() string {
	if e.Current == nil {
		return ErrVersionConflict.Error()
	}
	return fmt.Sprintf("%v: current version is %d", ErrVersionConflict, e.Current.Version)
}

func (e *FlagConflictError) Is(target error) bool { return target == ErrVersionConflict }

// flagDefs: flags are kept as versioned definitions.
var flagDefs = versioned[*flag.Flag]{what: "flag", pk: flagPK, gsi: gsiFlags, encode: encodeFlag, decode: decodeFlag}

// CreateFlag stores a new flag and its first audit entry. ErrExists if the
// key was ever used, archived flags included.
func (s *Store) CreateFlag(ctx context.Context, f *flag.Flag, change Change) error {
	return flagDefs.create(ctx, s, f.Key, f, change)
}

// GetFlag reads a flag (strongly consistent), archived or not; ErrNotFound
// if the key was never used.
func (s *Store) GetFlag(ctx context.Context, key string) (*flag.Flag, error) {
	return flagDefs.get(ctx, s, key)
}

// SaveFlag replaces a flag that is still at version prev with f (whose
// Version must be prev+1) and appends change to its audit trail, in one
// transaction: a concurrent edit gets *FlagConflictError and writes
// nothing.
func (s *Store) SaveFlag(ctx context.Context, f *flag.Flag, prev int64, change Change) error {
	if f.Version != prev+1 || change.Version != f.Version {
		return fmt.Errorf("save flag %q: version must advance by one from %d", f.Key, prev)
	}
	cur, conflict, err := flagDefs.save(ctx, s, f.Key, f, prev, change)
	if conflict {
		return fmt.Errorf("save flag %q: %w", f.Key, &FlagConflictError{Current: cur})
	}
	return err
}

// ListFlags lists the flags that are not archived, newest first.
func (s *Store) ListFlags(ctx context.Context, limit int, cursor string) (Page[*flag.Flag], error) {
	return flagDefs.list(ctx, s, limit, cursor)
}

// LiveFlags returns every flag that is not archived with one Query of
// gsi1 (more pages only past 1 MB of definitions). Like LiveExperiments it
// reads an eventually consistent index: a flag written a moment ago may
// show its previous version.
func (s *Store) LiveFlags(ctx context.Context) ([]*flag.Flag, error) {
	return flagDefs.live(ctx, s, func(*flag.Flag) bool { return true })
}

// FlagHistory lists a flag's audit trail, newest first.
func (s *Store) FlagHistory(ctx context.Context, key string, limit int, cursor string) (Page[Change], error) {
	return flagDefs.history(ctx, s, key, limit, cursor)
}

func encodeFlag(f *flag.Flag) (item, error) {
	rules, err := flag.MarshalRules(f.Rules)
	if err != nil {
		return nil, err
	}
	status := flagLive
	if f.Archived {
		status = flagArchived
	}
	created := formatTime(f.CreatedAt)
	it := item{
		AttrPK:          avS(flagPK(f.Key)),
		AttrSK:          avS(skDefinition),
		"key":           avS(f.Key),
		"description":   avS(f.Description),
		"type":          avS(string(f.Type)),
		"default_value": avS(string(f.DefaultValue)),
		"enabled":       &types.AttributeValueMemberBOOL{Value: f.Enabled},
		"rules":         avS(string(rules)),
		"status":        avS(status),
		"version":       avN(f.Version),
		"created_at":    avS(created),
		"created_by":    avS(f.CreatedBy),
		"updated_at":    avT(f.UpdatedAt),
		"updated_by":    avS(f.UpdatedBy),
	}
	if !f.Archived {
		it[AttrGSI1PK] = avS(gsiFlags)
		it[AttrGSI1SK] = avS(created + "#" + f.Key)
	}
	return it, nil
}

func decodeFlag(it item) (*flag.Flag, error) {
	f := &flag.Flag{
		Key: getS(it, "key"), Description: getS(it, "description"), Type: flag.Type(getS(it, "type")),
		DefaultValue: json.RawMessage(getS(it, "default_value")),
		Archived:     getS(it, "status") == flagArchived, Version: getN(it, "version"),
		CreatedAt: getT(it, "created_at"), CreatedBy: getS(it, "created_by"),
		UpdatedAt: getT(it, "updated_at"), UpdatedBy: getS(it, "updated_by"),
	}
	if b, ok := it["enabled"].(*types.AttributeValueMemberBOOL); ok {
		f.Enabled = b.Value
	}
	rules, err := flag.UnmarshalRules([]byte(getS(it, "rules")))
	if err != nil {
		return nil, fmt.Errorf("decode flag %q: %w", f.Key, err)
	}
	f.Rules = rules
	return f, nil
}
