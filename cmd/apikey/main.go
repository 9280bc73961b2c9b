// Command apikey manages API keys directly in the service's table, with the
// operator's own AWS credentials. It is how the first admin key of a
// deployment is made (after that, admins can use the admin API).
//
//	go run ./cmd/apikey create -table <TableName> -name ops -role admin
//	go run ./cmd/apikey list   -table <TableName>
//	go run ./cmd/apikey revoke -table <TableName> -id <key id>
//
// It uses the default AWS credential chain and region (AWS_PROFILE,
// AWS_REGION, ...); AWS_ENDPOINT_URL_DYNAMODB points it at DynamoDB Local.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/user"
	"time"

	"github.com/abtest/abtest/shared/config"
	"github.com/abtest/abtest/shared/data/store"
	"github.com/abtest/abtest/shared/domain/apikey"
	"github.com/abtest/abtest/shared/usecase/keys"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "apikey:", err)
		os.Exit(2)
	}
}

// keyStore is what the command needs from the store.
type keyStore interface {
	keys.Creator
	ListAPIKeys(ctx context.Context, limit int, cursor string) (store.Page[*store.APIKey], error)
	RevokeAPIKey(ctx context.Context, id string, at time.Time) (*store.APIKey, error)
}

func run(ctx context.Context, args []string, out io.Writer) error {
	if len(args) == 0 {
		return errors.New("usage: apikey create|list|revoke -table NAME [flags]")
	}
	fs := flag.NewFlagSet(args[0], flag.ContinueOnError)
	table := fs.String("table", os.Getenv(config.EnvTable), "the service's DynamoDB table (the stack's TableName output)")
	name := fs.String("name", "", "create: a name for the key")
	role := fs.String("role", "admin", "create: admin or client")
	id := fs.String("id", "", "revoke: the key id")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if *table == "" {
		return errors.New("-table is required")
	}
	cfg := config.Config{Table: *table, Endpoint: os.Getenv(config.EnvEndpoint)}
	db, err := cfg.DynamoDB(ctx)
	if err != nil {
		return err
	}
	return act(ctx, store.New(db, *table), args[0], *name, *role, *id, out)
}

func act(ctx context.Context, st keyStore, cmd, name, role, id string, out io.Writer) error {
	switch cmd {
	case "create":
		if name == "" {
			return errors.New("create: -name is required")
		}
		by := "apikey-cli"
		if u, err := user.Current(); err == nil {
			by += ":" + u.Username
		}
		key, k, err := keys.Issue(ctx, st, name, apikey.Role(role), by, time.Now())
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "id:   %s\nrole: %s\nkey:  %s\n(the key is shown once; only its hash is stored)\n", k.ID, k.Role, key)
	case "list":
		cursor := ""
		for {
			page, err := st.ListAPIKeys(ctx, 100, cursor)
			if err != nil {
				return err
			}
			for _, k := range page.Items {
				state := "active"
				if k.Revoked() {
					state = "revoked " + k.RevokedAt.Format(time.RFC3339)
				}
				fmt.Fprintf(out, "%s  %-6s  %-24q  created %s by %s  %s\n", k.ID, k.Role, k.Name, k.CreatedAt.Format(time.RFC3339), k.CreatedBy, state)
			}
			if cursor = page.Next; cursor == "" {
				return nil
			}
		}
	case "revoke":
		if !apikey.ValidKeyID(id) {
			return errors.New("revoke: -id must be a key id")
		}
		k, err := st.RevokeAPIKey(ctx, id, time.Now())
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "revoked %s (%s) at %s\n", k.ID, k.Name, k.RevokedAt.Format(time.RFC3339))
	default:
		return fmt.Errorf("unknown command %q (create, list, revoke)", cmd)
	}
	return nil
}
