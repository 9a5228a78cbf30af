package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/pushgate/pushgate/engine/conn"
	"github.com/pushgate/pushgate/engine/fixture"
	"github.com/pushgate/pushgate/engine/netserver"
	"github.com/pushgate/pushgate/engine/transport"
)

func runConformance(args []string) error {
	fs := newFlagSet("conformance-server")
	listen := fs.String("listen", ":3000", "address to listen on (the official suites use localhost:3000)")
	pingInterval := fs.Duration("ping-interval", 300*time.Millisecond, "Engine.IO ping interval")
	pingTimeout := fs.Duration("ping-timeout", 200*time.Millisecond, "Engine.IO ping timeout")
	connectTimeout := fs.Duration("connect-timeout", time.Second, "Socket.IO connect timeout")
	maxPayload := fs.Int64("max-payload", 1_000_000, "Engine.IO maxPayload")
	if err := parseWithEnv(fs, args); err != nil {
		return err
	}
	cfg := transport.SocketConfig{
		Engine: transport.EngineConfig{
			PingInterval: *pingInterval, PingTimeout: *pingTimeout, MaxPayload: *maxPayload,
			CORS: conn.CORS{AllowAll: true},
		},
		ConnectTimeout: *connectTimeout,
	}
	srv, err := netserver.New(netserver.Config{Listen: *listen, MaxMessageBytes: int(*maxPayload)}, fixture.Routes(cfg))
	if err != nil {
		return err
	}
	addr, err := srv.Listen()
	if err != nil {
		return err
	}
	slog.Info("conformance fixture listening", "addr", addr.String())
	fmt.Fprintf(os.Stdout, "listening on %s\n", addr)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx, conn.ReasonShutdown)
	}()
	return srv.Serve()
}
