package engine

import "fmt"

// logStart says where everything is: the mode, the source, every route and (development mode) a
// ready-to-copy token command.
func (s *Server) logStart() {
	u := s.cfg.PublicURL
	src := "embedded"
	if s.Control.Kafka != nil {
		src = "kafka"
	}
	mode := "production"
	if s.cfg.DevMode() {
		mode = "development"
	}
	s.log.Info("pushgate listening", "addr", s.Addr().String(), "mode", mode, "source", src)
	if s.cfg.DevMode() {
		s.log.Warn("development mode: any origin is accepted and the development token issuer is on; set --oidc-base and --allowed-origins in production")
	}
	if a := s.cfg.ADSP; a.Enabled() {
		s.log.Info("ADSP platform services", "directory", a.DirectoryURL, "tenant_service", a.TenantServiceURL,
			"event_service", a.EventServiceURL, "service_account", a.ClientID, "token", a.ClientSecret != "")
	}
	if s.cfg.ReflectOrigins {
		s.log.Warn("--allowed-origins reflect: any origin may read answers and open WebSockets (without credentials); list the origins when you can")
	}
	for _, r := range []string{"/", "/health", "/readyz", "/metrics", "/swagger/docs/v1", "/stream/v1/streams", "/stream/v1/streams/{stream}", "/socket.io/", "/event/v1/events", "/tenant/v2/tenants", "/configuration/v2/configuration/platform/push-service"} {
		s.log.Info("route", "url", u+r)
	}
	if s.cfg.ConsoleEnabled() {
		s.log.Info("web console", "url", u+"/console")
	}
	if s.cfg.DevMode() {
		s.log.Info("get a token", "command", fmt.Sprintf("pushgate token --data-dir %s --tenant demo --roles stream-listener,urn:ads:platform:event-service:event-sender,urn:ads:platform:configuration-service:configuration-admin", s.cfg.DataDir))
	}
}
