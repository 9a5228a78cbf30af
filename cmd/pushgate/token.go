package main

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/pushgate/pushgate/engine/devissuer"
)

// runToken prints a development token. It reads only the data dir's key and issuer files, so it
// works while the server runs (contract.md "Development tokens").
func runToken(args []string) error {
	fs := newFlagSet("token")
	dataDir := fs.String("data-dir", "./data", "data dir of the server (holds dev-signing-key.pem and dev-issuer.json)")
	tenant := fs.String("tenant", "", "tenant name: the token's realm is the tenant's realm")
	core := fs.Bool("core", false, "a core-realm token (cross-tenant)")
	roles := fs.String("roles", "", "comma list; a role with ':' is a client role split at the last ':'")
	sub := fs.String("sub", "", "subject (random when empty)")
	name := fs.String("name", "", "display name")
	ttl := fs.Duration("ttl", time.Hour, "lifetime; negative gives an already-expired token")
	if err := parseWithEnv(fs, args); err != nil {
		return err
	}
	if (*tenant == "") == !*core {
		return errors.New("give exactly one of --tenant NAME or --core")
	}
	iss, err := devissuer.Load(*dataDir)
	if err != nil {
		return fmt.Errorf("%w (start the server once with this --data-dir to create the development key)", err)
	}
	realm := "core"
	if *tenant != "" {
		realm = devissuer.RealmForTenantName(*tenant)
	}
	var rs []string
	for _, r := range strings.Split(*roles, ",") {
		if r = strings.TrimSpace(r); r != "" {
			rs = append(rs, r)
		}
	}
	d := *ttl
	if d == 0 {
		d = time.Hour
	}
	tok, err := iss.Mint(devissuer.Claims{Realm: realm, Roles: rs, Subject: *sub, Name: *name, TTL: d})
	if err != nil {
		return err
	}
	fmt.Fprintln(os.Stdout, tok)
	return nil
}
