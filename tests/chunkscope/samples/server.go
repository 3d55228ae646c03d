// Go: methods on pointer and value receivers, grouped types, interfaces.
package server

import "net/http"

type (
	Server struct {
		addr string
	}
	Handler interface {
		Serve(w http.ResponseWriter, r *http.Request)
	}
)

func New(addr string) *Server {
	return &Server{addr: addr}
}

func (s *Server) Start() error {
	return http.ListenAndServe(s.addr, nil)
}

func (s Server) Addr() string { return s.addr }
